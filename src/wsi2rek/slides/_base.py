"""The :class:`SlideSource` contract shared by every slide backend."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np
from numpy.typing import NDArray
from PIL import Image

__all__ = ["SlideSource"]


class SlideSource(abc.ABC):
    """A read-only, multi-resolution view of one slide file.

    Coordinates passed to :meth:`read_region` are level-0 pixels; sizes are in pixels of
    the requested level. Pixels outside the slide read as white. A ``SlideSource`` is a
    context manager and is picklable: it pickles its path and reopens lazily, so a patch
    plan can be executed in worker processes.
    """

    #: Short backend name, e.g. ``"openslide"`` or ``"pillow"``.
    backend: str = ""

    @property
    @abc.abstractmethod
    def path(self) -> Path:
        """The slide file."""

    @property
    @abc.abstractmethod
    def level_dimensions(self) -> tuple[tuple[int, int], ...]:
        """``(width, height)`` of every pyramid level, level 0 first."""

    @property
    @abc.abstractmethod
    def level_downsamples(self) -> tuple[float, ...]:
        """Downsample factor of every level relative to level 0."""

    @property
    @abc.abstractmethod
    def mpp(self) -> tuple[float, float] | None:
        """Micrometres per level-0 pixel ``(x, y)``, or None when the file does not say."""

    @property
    @abc.abstractmethod
    def vendor(self) -> str | None:
        """The format vendor as the backend names it (``"aperio"``, ...), or None."""

    @property
    @abc.abstractmethod
    def properties(self) -> Mapping[str, str]:
        """Backend metadata as strings."""

    @property
    @abc.abstractmethod
    def associated_images(self) -> tuple[str, ...]:
        """Names of associated images (label, macro, thumbnail), possibly empty."""

    @property
    def dimensions(self) -> tuple[int, int]:
        """``(width, height)`` of level 0."""
        return self.level_dimensions[0]

    @property
    def level_count(self) -> int:
        """Number of pyramid levels."""
        return len(self.level_dimensions)

    @abc.abstractmethod
    def read_region(
        self, x: int, y: int, width: int, height: int, level: int = 0
    ) -> NDArray[np.uint8]:
        """Read an RGB ``uint8`` array of shape ``(height, width, 3)``.

        ``(x, y)`` is the top-left corner in level-0 pixels; ``width`` and ``height`` are
        in pixels of ``level``. Parts outside the slide are white.
        """

    @abc.abstractmethod
    def best_level_for_downsample(self, downsample: float) -> int:
        """The highest-resolution level whose downsample is at most ``downsample``."""

    @abc.abstractmethod
    def thumbnail(self, max_size: int | tuple[int, int] = 1024) -> Image.Image:
        """An RGB thumbnail fitting in ``max_size`` pixels, aspect ratio kept."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the file handle (reopened on next use)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        w, h = self.dimensions
        return f"{type(self).__name__}({str(self.path)!r}, {w}x{h}, levels={self.level_count})"
