"""The OpenSlide backend: every format OpenSlide reads (SVS, NDPI, MRXS, tiled TIFF, ...)."""

from __future__ import annotations

import os
import threading
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, SupportsIndex

import attrs
import numpy as np
import openslide
from numpy.typing import NDArray

from wsi2rek.errors import SlideNotFoundError, SlideReadError, UnsupportedSlideError
from wsi2rek.slides._base import SlideSource, check_region, plausible_mpp, rgba_on_white

__all__ = ["OpenSlideSource"]


@attrs.frozen
class _Meta:
    """What a slide says about itself; read once, kept across close() and pickling."""

    level_dimensions: tuple[tuple[int, int], ...]
    level_downsamples: tuple[float, ...]
    properties: Mapping[str, str]
    associated_images: tuple[str, ...]
    mpp: tuple[float, float] | None


def _parse_mpp(properties: Mapping[str, str]) -> tuple[float, float] | None:
    def value(key: str) -> float | None:
        try:
            v = float(properties.get(key, ""))
        except ValueError:
            return None
        return v if v > 0 and np.isfinite(v) else None

    x, y = value(openslide.PROPERTY_NAME_MPP_X), value(openslide.PROPERTY_NAME_MPP_Y)
    if x is None and y is None:
        return None
    # one axis only: square pixels are the only sensible reading
    return (x or y or 0.0, y or x or 0.0)


class OpenSlideSource(SlideSource):
    """A slide read through OpenSlide.

    The OpenSlide handle is opened on construction (so a bad file fails early), reopened
    lazily after :meth:`close`, after unpickling, and in a forked child process (a handle
    is never shared across processes). Reads are thread-safe within a process.

    Args:
        path: The slide file (for MRXS, the ``.mrxs`` file next to its data folder).

    Raises:
        SlideNotFoundError: ``path`` does not exist.
        UnsupportedSlideError: OpenSlide does not recognise or cannot open the file.
    """

    backend = "openslide"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path).absolute()
        self._init_state()
        self._handle_for_pid()

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._handle: Any = None  # openslide.OpenSlide (untyped library)
        self._pid = 0
        self._meta: _Meta | None = None

    # --- handle management -------------------------------------------------------------

    def _open(self) -> Any:
        if not self._path.exists():
            raise SlideNotFoundError(
                f"slide file not found: {self._path}; check the path and that the file "
                "was copied completely",
                path=self._path,
            )
        try:
            handle = openslide.OpenSlide(self._path)
        except openslide.OpenSlideUnsupportedFormatError:
            raise UnsupportedSlideError(
                f"OpenSlide does not recognise {self._path} as a slide format it reads "
                "(SVS, NDPI, MRXS, tiled TIFF, ...)",
                path=self._path,
                tried=("openslide: format not recognised",),
            ) from None
        except openslide.OpenSlideError as exc:
            raise UnsupportedSlideError(
                f"OpenSlide recognised {self._path} but could not open it: {exc}; the file "
                "may be truncated or corrupt",
                path=self._path,
                tried=(f"openslide: {exc}",),
            ) from exc
        return handle

    def _handle_for_pid(self) -> Any:
        """The OpenSlide handle of this process, (re)opened when needed."""
        pid = os.getpid()
        with self._lock:
            if self._handle is None or self._pid != pid:
                # a handle inherited through fork belongs to the parent: drop, never close
                self._handle = self._open()
                self._pid = pid
                if self._meta is None:
                    self._meta = self._read_meta(self._handle, self._path)
            return self._handle

    @staticmethod
    def _read_meta(handle: Any, path: Path) -> _Meta:
        dims = tuple((int(w), int(h)) for w, h in handle.level_dimensions)
        downs = tuple(float(d) for d in handle.level_downsamples)
        props = types.MappingProxyType({str(k): str(v) for k, v in handle.properties.items()})
        assoc = tuple(sorted(str(name) for name in handle.associated_images))
        mpp = plausible_mpp(_parse_mpp(props), path=path, source="slide metadata")
        return _Meta(dims, downs, props, assoc, mpp)

    def _metadata(self) -> _Meta:
        if self._meta is None:
            self._handle_for_pid()
        assert self._meta is not None
        return self._meta

    def close(self) -> None:
        """Release the OpenSlide handle (it is reopened on next use)."""
        with self._lock:
            if self._handle is not None and self._pid == os.getpid():
                self._handle.close()
            self._handle = None
            self._pid = 0

    def __getstate__(self) -> dict[str, object]:
        return {"path": str(self._path)}

    def __setstate__(self, state: dict[str, object]) -> None:
        self._path = Path(str(state["path"]))
        self._init_state()

    # --- the contract ------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The slide file (absolute)."""
        return self._path

    @property
    def level_dimensions(self) -> tuple[tuple[int, int], ...]:
        """``(width, height)`` of every pyramid level, level 0 first."""
        return self._metadata().level_dimensions

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        """Downsample factor of every level relative to level 0."""
        return self._metadata().level_downsamples

    @property
    def mpp(self) -> tuple[float, float] | None:
        """``(openslide.mpp-x, openslide.mpp-y)`` in micrometres, or None.

        None when absent, or outside :data:`~wsi2rek.slides.PLAUSIBLE_MPP` (then an
        :class:`~wsi2rek.errors.ImplausibleMppWarning` is emitted once, on opening).
        """
        return self._metadata().mpp

    @property
    def vendor(self) -> str | None:
        """OpenSlide's ``openslide.vendor`` (``"aperio"``, ``"generic-tiff"``, ...)."""
        return self._metadata().properties.get(openslide.PROPERTY_NAME_VENDOR)

    @property
    def properties(self) -> Mapping[str, str]:
        """Every OpenSlide property (read-only mapping)."""
        return self._metadata().properties

    @property
    def associated_images(self) -> tuple[str, ...]:
        """Names of the associated images (``"label"``, ``"macro"``, ``"thumbnail"``...)."""
        return self._metadata().associated_images

    def read_region(
        self,
        x: SupportsIndex | float,
        y: SupportsIndex | float,
        width: SupportsIndex | float,
        height: SupportsIndex | float,
        level: SupportsIndex = 0,
    ) -> NDArray[np.uint8]:
        """Read an RGB ``uint8`` array of shape ``(height, width, 3)``.

        ``(x, y)`` is the top-left corner in level-0 pixels (negative values are fine);
        ``width`` and ``height`` are in pixels of ``level``. Pixels outside the slide,
        transparent in OpenSlide, come back white.

        Raises:
            RegionError: A size is zero or negative or ``level`` does not exist.
            SlideReadError: OpenSlide could not decode the region (e.g. a corrupt tile);
                ``region`` holds ``(x, y, width, height, level)``.
        """
        region = check_region(x, y, width, height, level, source=self)
        xi, yi, wi, hi, li = region
        handle = self._handle_for_pid()
        try:
            image = handle.read_region((xi, yi), li, (wi, hi))
        except openslide.OpenSlideError as exc:
            # after an error an OpenSlide handle fails every call: drop it, reopen next time
            self.close()
            raise SlideReadError(
                f"could not decode region x={xi}, y={yi}, width={wi}, height={hi}, "
                f"level={li} of {self._path}: {exc}; the file is probably corrupt or "
                "truncated",
                path=self._path,
                region=region,
            ) from exc
        return rgba_on_white(image)
