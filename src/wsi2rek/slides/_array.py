"""An in-memory slide over a numpy array, as openslide-python's ``ImageSlide``."""

from __future__ import annotations

import math
import types
from collections.abc import Mapping
from pathlib import Path
from typing import SupportsIndex

import numpy as np
from numpy.typing import NDArray

from wsi2rek.errors import ParameterError
from wsi2rek.slides._base import SlideSource, check_region, plausible_mpp

__all__ = ["ArraySlide"]


class ArraySlide(SlideSource):
    """A one-level slide held in memory: an RGB ``uint8`` array seen through the contract.

    Use it to plan, build or detect on pixels you already have (a crop, a synthetic
    image, a frame from another reader) and in tests. It behaves like every other backend:
    ``read_region`` validates its arguments the same way and pads with white outside the
    array; ``thumbnail`` is computed from the pixels. Unlike file backends it pickles its
    pixels (not a path), so keep it small when handing it to worker processes.

    Args:
        pixels: ``(height, width, 3)`` RGB ``uint8`` array. It is copied and the copy is
            read-only, so later changes to ``pixels`` do not leak into the slide.
        name: What :attr:`path` reports (a slide name for plans, errors and manifests); no
            file is read or written.
        mpp: Micrometres per pixel, one value or ``(x, y)``; ``None`` when unknown.
            Implausible values (outside :data:`~wsi2rek.slides.PLAUSIBLE_MPP`) are
            dropped with a warning, as for files.
        properties: Metadata strings reported by :attr:`properties`.

    Raises:
        ParameterError: ``pixels`` is not an ``(H, W, 3)`` ``uint8`` array with H, W >= 1,
            or ``mpp`` is not positive.
    """

    backend = "array"

    def __init__(
        self,
        pixels: NDArray[np.uint8],
        *,
        name: str = "array",
        mpp: float | tuple[float, float] | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> None:
        array = np.asarray(pixels)
        if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
            raise ParameterError(
                f"ArraySlide needs an (height, width, 3) RGB uint8 array, got shape "
                f"{array.shape} of {array.dtype}; convert it first, e.g. "
                "np.asarray(Image.open(path).convert('RGB'))"
            )
        if array.shape[0] < 1 or array.shape[1] < 1:
            raise ParameterError(f"ArraySlide needs at least one pixel, got shape {array.shape}")
        self._pixels = np.array(array, dtype=np.uint8, copy=True)
        self._pixels.flags.writeable = False
        self._path = Path(name)
        self._properties = dict(properties or {})
        self._mpp = (
            None if mpp is None else plausible_mpp(_mpp_pair(mpp), path=self._path, source="mpp=")
        )

    @property
    def path(self) -> Path:
        """``Path(name)``: a name, not a file."""
        return self._path

    @property
    def level_dimensions(self) -> tuple[tuple[int, int], ...]:
        """One level: ``(width, height)`` of the array."""
        rows, cols = self._pixels.shape[:2]
        return ((int(cols), int(rows)),)

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        """``(1.0,)``."""
        return (1.0,)

    @property
    def mpp(self) -> tuple[float, float] | None:
        """As given (when plausible), else None."""
        return self._mpp

    @property
    def vendor(self) -> str | None:
        """None: an array has no vendor."""
        return None

    @property
    def properties(self) -> Mapping[str, str]:
        """The ``properties`` given, read-only."""
        return types.MappingProxyType(self._properties)

    @property
    def associated_images(self) -> tuple[str, ...]:
        """Always empty."""
        return ()

    def read_region(
        self,
        x: SupportsIndex | float,
        y: SupportsIndex | float,
        width: SupportsIndex | float,
        height: SupportsIndex | float,
        level: SupportsIndex = 0,
    ) -> NDArray[np.uint8]:
        """Read an RGB ``uint8`` array of shape ``(height, width, 3)``; outside is white.

        Raises:
            RegionError: As every backend: non-integral values, a zero or negative size, a
                region over the pixel budget, or a level other than 0.
        """
        xi, yi, wi, hi, _ = check_region(x, y, width, height, level, source=self)
        out = np.full((hi, wi, 3), 255, dtype=np.uint8)
        rows, cols = self._pixels.shape[:2]
        x0, y0 = max(xi, 0), max(yi, 0)
        x1, y1 = min(xi + wi, cols), min(yi + hi, rows)
        if x1 > x0 and y1 > y0:
            out[y0 - yi : y1 - yi, x0 - xi : x1 - xi] = self._pixels[y0:y1, x0:x1]
        return out

    def close(self) -> None:
        """Nothing to release (the pixels live as long as the object)."""


def _mpp_pair(mpp: float | tuple[float, float]) -> tuple[float, float]:
    """``mpp`` as ``(x, y)`` positive floats."""
    try:
        pair = (mpp, mpp) if isinstance(mpp, int | float) else tuple(mpp)
        x, y = (float(v) for v in pair)
    except (TypeError, ValueError):
        x = y = math.nan
    if not (x > 0 and y > 0 and math.isfinite(x) and math.isfinite(y)):
        raise ParameterError(f"mpp must be positive micrometres per pixel, got {mpp!r}")
    return x, y
