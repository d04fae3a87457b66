"""``ArraySlide``: the in-memory slide reads what the Pillow backend reads from the same
pixels written to a PNG file (the reference), validates regions as every backend does, and
refuses arrays it cannot serve."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from wsi2rek.errors import ImplausibleMppWarning, ParameterError, RegionError
from wsi2rek.slides import ArraySlide, PillowSlideSource, SlideSource
from wsi2rek.testing import make_image

W, H = 320, 200


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[ArraySlide, PillowSlideSource]:
    path = make_image(tmp_path_factory.mktemp("array") / "a.png", W, H, cells=((50, 60),))
    pixels = np.asarray(Image.open(path).convert("RGB"))
    return ArraySlide(pixels, name="a.png", mpp=0.25), PillowSlideSource(path)


@given(
    x=st.integers(-400, 400),
    y=st.integers(-300, 300),
    w=st.integers(1, 500),
    h=st.integers(1, 400),
)
def test_regions_equal_the_pillow_backend(
    pair: tuple[ArraySlide, PillowSlideSource], x: int, y: int, w: int, h: int
) -> None:
    array, pillow = pair
    assert np.array_equal(array.read_region(x, y, w, h), pillow.read_region(x, y, w, h))


def test_metadata(pair: tuple[ArraySlide, PillowSlideSource]) -> None:
    array, _ = pair
    assert isinstance(array, SlideSource)
    assert array.backend == "array"
    assert array.dimensions == (W, H)
    assert array.level_count == 1
    assert array.mpp == (0.25, 0.25)
    assert array.path == Path("a.png")
    assert array.vendor is None
    assert array.associated_images == ()


def test_thumbnail_equals_the_pillow_backend(pair: tuple[ArraySlide, PillowSlideSource]) -> None:
    array, pillow = pair
    pillow.read_region(0, 0, 1, 1)  # decoded: both thumbnails start from the same pixels
    assert np.array_equal(np.asarray(array.thumbnail(100)), np.asarray(pillow.thumbnail(100)))


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0, 0, 0, 10), "must be positive"),
        ((0.5, 0, 10, 10), "whole number"),
        ((0, 0, 10, 10, 1), "level 1 does not exist"),
        ((0, 0, 2**15, 2**14), "pixel budget"),
    ],
)
def test_bad_regions_are_refused_like_every_backend(
    pair: tuple[ArraySlide, PillowSlideSource], args: tuple[Any, ...], match: str
) -> None:
    array, pillow = pair
    with pytest.raises(RegionError, match=match):
        array.read_region(*args)
    with pytest.raises(RegionError, match=match):
        pillow.read_region(*args)


def test_pixels_are_copied_and_read_only() -> None:
    pixels = np.zeros((4, 5, 3), np.uint8)
    slide = ArraySlide(pixels)
    pixels[:] = 9
    assert slide.read_region(0, 0, 5, 4).max() == 0
    out = slide.read_region(0, 0, 5, 4)
    out[:] = 7  # the returned array is the caller's to write
    assert slide.read_region(0, 0, 5, 4).max() == 0


def test_pickles_with_its_pixels() -> None:
    slide = ArraySlide(np.full((3, 3, 3), 40, np.uint8), name="s", mpp=(0.5, 0.25))
    back = pickle.loads(pickle.dumps(slide))
    assert np.array_equal(back.read_region(0, 0, 3, 3), slide.read_region(0, 0, 3, 3))
    assert back.mpp == (0.5, 0.25)


@pytest.mark.parametrize(
    "pixels",
    [
        np.zeros((4, 4), np.uint8),
        np.zeros((4, 4, 4), np.uint8),
        np.zeros((4, 4, 3), np.float32),
        np.zeros((0, 4, 3), np.uint8),
    ],
    ids=["grey", "rgba", "float", "empty"],
)
def test_arrays_it_cannot_serve_are_refused(pixels: np.ndarray) -> None:
    with pytest.raises(ParameterError, match="ArraySlide needs"):
        ArraySlide(pixels)


@pytest.mark.parametrize("mpp", [0, -1.0, float("nan"), (0.25,), "x", (0.25, 0)])
def test_bad_mpp_is_refused(mpp: object) -> None:
    with pytest.raises(ParameterError, match="mpp must be positive"):
        ArraySlide(np.zeros((2, 2, 3), np.uint8), mpp=mpp)  # type: ignore[arg-type]


def test_implausible_mpp_is_dropped_with_a_warning() -> None:
    with pytest.warns(ImplausibleMppWarning, match="352.78"):
        slide = ArraySlide(np.zeros((2, 2, 3), np.uint8), mpp=352.78)
    assert slide.mpp is None
