"""The :class:`SlideSource` contract shared by every slide backend."""

from __future__ import annotations

import abc
import math
import operator
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self, SupportsIndex

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from wsi2rek.errors import ImplausibleMppWarning, RegionError

__all__ = ["MAX_REGION_PIXELS", "PLAUSIBLE_MPP", "SlideSource"]

#: Largest region one :meth:`SlideSource.read_region` call returns, in pixels of the
#: requested level: 2**28 pixels is 768 MiB as RGB (OpenSlide needs another 1 GiB for its
#: RGBA buffer). Larger requests raise :class:`~wsi2rek.errors.RegionError` before any
#: memory is allocated; read large areas in tiles or from a lower-resolution level. A
#: source's ``max_region_pixels`` attribute overrides it.
MAX_REGION_PIXELS = 2**28

#: Pixel sizes (micrometres per pixel) a microscope slide can have: from 0.01 (beyond any
#: optical objective) to 20 (a 0.5x overview). Values outside, such as the 352.78 um/px of
#: a TIFF saved at the 72 dpi default, describe a screen or a printer, not the specimen,
#: and are treated as absent (with an :class:`~wsi2rek.errors.ImplausibleMppWarning`).
PLAUSIBLE_MPP = (0.01, 20.0)

#: Tolerance when comparing downsample factors (OpenSlide reports e.g. 4.000123).
_DOWNSAMPLE_TOLERANCE = 1e-3
#: Thumbnails read levels up to this size in one go, larger ones in strips.
_THUMBNAIL_DIRECT_PIXELS = 64 * 2**20
_THUMBNAIL_STRIP_ROWS = 2048


class SlideSource(abc.ABC):
    """A read-only, multi-resolution view of one slide file.

    Coordinates passed to :meth:`read_region` are level-0 pixels; sizes are in pixels of
    the requested level. Pixels outside the slide read as white. A ``SlideSource`` is a
    context manager and is picklable: it pickles its path and reopens lazily, so a patch
    plan can be executed in worker processes.
    """

    #: Short backend name, e.g. ``"openslide"`` or ``"pillow"``.
    backend: str = ""

    #: The pixel budget of one :meth:`read_region` call (default :data:`MAX_REGION_PIXELS`).
    max_region_pixels: int = MAX_REGION_PIXELS

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
        self,
        x: SupportsIndex | float,
        y: SupportsIndex | float,
        width: SupportsIndex | float,
        height: SupportsIndex | float,
        level: SupportsIndex = 0,
    ) -> NDArray[np.uint8]:
        """Read an RGB ``uint8`` array of shape ``(height, width, 3)``.

        ``(x, y)`` is the top-left corner in level-0 pixels; ``width`` and ``height`` are
        in pixels of ``level``. Parts outside the slide (including negative ``x``/``y``)
        are white. Integers of any kind (``int``, numpy integers) and integral floats are
        accepted; a fractional value, a zero or negative size, a region of more than
        ``max_region_pixels`` pixels (:data:`MAX_REGION_PIXELS`) or an unknown level raise
        :class:`~wsi2rek.errors.RegionError` (a ``ValueError``) before any pixel is read.
        """

    def best_level_for_downsample(self, downsample: float) -> int:
        """The lowest-resolution level whose downsample is at most ``downsample``.

        That is the cheapest level that still has at least the requested resolution;
        level 0 for any ``downsample`` up to the first level's factor (including values
        below 1).
        """
        best = 0
        for level, factor in enumerate(self.level_downsamples):
            if factor <= downsample * (1.0 + _DOWNSAMPLE_TOLERANCE):
                best = level
        return best

    def thumbnail(self, max_size: int | tuple[int, int] = 1024) -> Image.Image:
        """An RGB thumbnail fitting in ``max_size`` pixels, aspect ratio kept.

        It is read from the best pyramid level for the size (never level 0 when a
        smaller level exists) and is never larger than level 0.
        """
        max_w, max_h = _fit_size(max_size)
        w, h = self.dimensions
        level = self.best_level_for_downsample(max(w / max_w, h / max_h))
        lw, lh = self.level_dimensions[level]
        # a sparse pyramid can leave a big best level: read it in strips, box-reducing
        # each by a whole factor that keeps it at least as large as the target
        factor = max(1, min(lw // max_w, lh // max_h))
        budget = self.max_region_pixels
        if lw * lh <= min(_THUMBNAIL_DIRECT_PIXELS, budget) or (factor == 1 and lw * lh <= budget):
            image = Image.fromarray(self.read_region(0, 0, lw, lh, level))
        else:
            down = self.level_downsamples[level]
            rows = min(_THUMBNAIL_STRIP_ROWS, max(1, self.max_region_pixels // lw))
            strip = factor * max(1, rows // factor)
            parts = []
            for y in range(0, lh, strip):
                rows = min(strip, lh - y)
                part = self.read_region(0, round(y * down), lw, rows, level)
                parts.append(np.asarray(Image.fromarray(part).reduce(factor)))
            image = Image.fromarray(np.concatenate(parts))
        image.thumbnail((max_w, max_h), Image.Resampling.LANCZOS)
        return image

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


# --- helpers shared by the backends ------------------------------------------------------


def _as_int(name: str, value: SupportsIndex | float) -> int:
    """``value`` as an int; integral floats are accepted, fractional ones are an error."""
    if isinstance(value, float):
        if not (math.isfinite(value) and value.is_integer()):
            raise RegionError(
                f"{name} must be a whole number of pixels, got {value!r}; round it first"
            )
        return int(value)
    try:
        return operator.index(value)
    except TypeError:
        raise RegionError(
            f"{name} must be an integer number of pixels, got {type(value).__name__} {value!r}"
        ) from None


def check_region(
    x: SupportsIndex | float,
    y: SupportsIndex | float,
    width: SupportsIndex | float,
    height: SupportsIndex | float,
    level: SupportsIndex,
    *,
    source: SlideSource,
) -> tuple[int, int, int, int, int]:
    """Validate a :meth:`SlideSource.read_region` request and return it as ints.

    Raises:
        RegionError: A size is zero or negative, a value is not integral, or ``level`` is
            not one of the slide's levels.
    """
    xi, yi = _as_int("x", x), _as_int("y", y)
    wi, hi = _as_int("width", width), _as_int("height", height)
    li = _as_int("level", level)
    if wi <= 0 or hi <= 0:
        raise RegionError(
            f"region size must be positive, got width={wi}, height={hi} at ({xi}, {yi}) "
            f"in {source.path}"
        )
    if wi * hi > source.max_region_pixels:
        raise RegionError(
            f"region {wi} x {hi} = {wi * hi} pixels at ({xi}, {yi}), level {li} of "
            f"{source.path} is more than the {source.max_region_pixels}-pixel budget of one "
            f"read_region (it would need about {wi * hi * 3 / 2**30:.1f} GiB); read it in "
            "tiles, or from a lower-resolution level"
        )
    if not 0 <= li < source.level_count:
        raise RegionError(
            f"level {li} does not exist in {source.path}: it has {source.level_count} "
            f"level(s), 0 to {source.level_count - 1}"
        )
    return xi, yi, wi, hi, li


def plausible_mpp(
    mpp: tuple[float, float] | None, *, path: Path, source: str
) -> tuple[float, float] | None:
    """``mpp`` if both values lie in :data:`PLAUSIBLE_MPP`, else None with a warning.

    Args:
        mpp: Micrometres per pixel ``(x, y)`` as the file states it, or None.
        path: The file, for the warning.
        source: Where the value came from, for the warning (e.g. ``"TIFF resolution"``).
    """
    if mpp is None:
        return None
    low, high = PLAUSIBLE_MPP
    if all(low <= v <= high for v in mpp):
        return mpp
    warnings.warn(
        f"{path}: the pixel size from the {source}, {mpp[0]:.6g} x {mpp[1]:.6g} um/px, is "
        f"outside the {low:g}-{high:g} um/px of microscope slides (a 72-dpi default gives "
        "352.78), so it is ignored: options in micrometres need a slide with a real pixel "
        "size; use pixel options instead",
        ImplausibleMppWarning,
        stacklevel=3,
    )
    return None


def _fit_size(max_size: int | tuple[int, int]) -> tuple[int, int]:
    size = (max_size, max_size) if isinstance(max_size, int) else tuple(max_size)
    if len(size) != 2 or any(int(v) <= 0 for v in size):
        raise RegionError(f"thumbnail max_size must be positive, got {max_size!r}")
    return int(size[0]), int(size[1])


def rgba_on_white(rgba: Image.Image) -> NDArray[np.uint8]:
    """Composite an RGBA image on white and return a writable RGB ``uint8`` array.

    Only pixels with alpha below 255 are blended (integer arithmetic, no float round
    trip), so the common fully opaque read costs one conversion.
    """
    rgb = np.array(rgba.convert("RGB"), dtype=np.uint8)
    alpha = np.asarray(rgba.getchannel("A"))
    if alpha.min() == 255:
        return rgb
    rgb[alpha == 0] = 255  # outside the slide: the common case at edges, no arithmetic
    partial = (alpha > 0) & (alpha < 255)
    if partial.any():
        a = alpha[partial].astype(np.uint16)[:, None]
        blended = (rgb[partial].astype(np.uint16) * a + 255 * (255 - a) + 127) // 255
        rgb[partial] = blended.astype(np.uint8)
    return rgb
