"""Fixtures for the sampling tests: an in-memory slide over a numpy array."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import SupportsIndex

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from wsi2rek.slides._base import SlideSource


class ArraySlide(SlideSource):
    """A one-level slide held in memory (like openslide's ``ImageSlide``), for pure tests."""

    backend = "array"

    def __init__(
        self,
        pixels: NDArray[np.uint8],
        *,
        name: str = "array.tif",
        mpp: tuple[float, float] | None = None,
    ) -> None:
        self._pixels = pixels
        self._path = Path(name)
        self._mpp = mpp

    @property
    def path(self) -> Path:
        return self._path

    @property
    def level_dimensions(self) -> tuple[tuple[int, int], ...]:
        rows, cols = self._pixels.shape[:2]
        return ((int(cols), int(rows)),)

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        return (1.0,)

    @property
    def mpp(self) -> tuple[float, float] | None:
        return self._mpp

    @property
    def vendor(self) -> str | None:
        return None

    @property
    def properties(self) -> Mapping[str, str]:
        return {}

    @property
    def associated_images(self) -> tuple[str, ...]:
        return ()

    def read_region(
        self,
        x: SupportsIndex | float,
        y: SupportsIndex | float,
        width: SupportsIndex | float,
        height: SupportsIndex | float,
        level: SupportsIndex = 0,
    ) -> NDArray[np.uint8]:
        x, y, width, height = (int(v) for v in (x, y, width, height))
        out = np.full((height, width, 3), 255, dtype=np.uint8)
        rows, cols = self._pixels.shape[:2]
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + width, cols), min(y + height, rows)
        if x1 > x0 and y1 > y0:
            out[y0 - y : y1 - y, x0 - x : x1 - x] = self._pixels[y0:y1, x0:x1]
        return out

    def best_level_for_downsample(self, downsample: float) -> int:
        return 0

    def thumbnail(self, max_size: int | tuple[int, int] = 1024) -> Image.Image:
        size = (max_size, max_size) if isinstance(max_size, int) else max_size
        image = Image.fromarray(self._pixels)
        image.thumbnail(size, Image.Resampling.BOX)
        return image

    def close(self) -> None:
        pass


@pytest.fixture
def array_slide() -> type[ArraySlide]:
    """The :class:`ArraySlide` class, to build in-memory slides in a test."""
    return ArraySlide
