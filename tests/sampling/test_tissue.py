from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hypothesis_profiles import examples
from wsi2rek.errors import SamplingError
from wsi2rek.geometry import Box, Point
from wsi2rek.slides import open_slide
from wsi2rek.testing import make_slide
from wsi2rek.tissue import TissueMask, clean_mask, mask_from_rgb, otsu_threshold, tissue_mask

PINK = (230, 150, 200)
WHITE = (245, 245, 245)


def _slide_pixels(width: int, height: int, tissue: tuple[int, int, int, int]) -> np.ndarray:
    """White glass with a pink tissue rectangle (left, top, right, bottom)."""
    pixels = np.full((height, width, 3), WHITE, dtype=np.uint8)
    left, top, right, bottom = tissue
    pixels[top:bottom, left:right] = PINK
    return pixels


def test_otsu_separates_two_populations() -> None:
    values = np.array([10] * 100 + [200] * 50, dtype=np.uint8)
    t = otsu_threshold(values)
    assert 10 <= t < 200


def test_otsu_of_constant_image_is_its_value() -> None:
    assert otsu_threshold(np.full(20, 7, dtype=np.uint8)) == 7


def test_mask_from_rgb_finds_the_pink_rectangle() -> None:
    pixels = _slide_pixels(40, 30, (10, 5, 30, 25))
    mask, level = mask_from_rgb(pixels)
    assert mask[5:25, 10:30].all()
    assert not mask[:, :10].any()
    assert not mask[:5].any()
    assert level >= 20.0


def test_min_saturation_keeps_glass_noise_out() -> None:
    rng = np.random.default_rng(0)
    pixels = np.full((32, 32, 3), 240, dtype=np.uint8)
    pixels[..., 0] = 240 - rng.integers(0, 8, size=(32, 32))  # faint tint, saturation < 10
    mask, level = mask_from_rgb(pixels)
    assert not mask.any()
    assert level == 20.0


def test_fixed_threshold_is_used() -> None:
    pixels = _slide_pixels(20, 20, (0, 0, 10, 20))
    _, level = mask_from_rgb(pixels, threshold=100)
    assert level == 100.0


def test_bad_threshold_is_an_error() -> None:
    with pytest.raises(SamplingError, match=r"0\.\.255"):
        mask_from_rgb(np.zeros((4, 4, 3), dtype=np.uint8), threshold=300)


def test_clean_mask_removes_specks_and_fills_pinholes() -> None:
    mask = np.zeros((20, 20), dtype=bool)
    mask[2, 2] = True  # an isolated speck
    mask[8:18, 8:18] = True
    mask[12, 12] = False  # a pinhole
    cleaned = clean_mask(mask)
    assert not cleaned[2, 2]
    assert cleaned[12, 12]
    assert cleaned[9:17, 9:17].all()


def test_clean_mask_keeps_tissue_touching_the_border() -> None:
    mask = np.zeros((10, 10), dtype=bool)
    mask[:, :4] = True
    assert clean_mask(mask)[:, :4].all()


def test_tissue_mask_of_a_slide(array_slide: Any) -> None:
    slide = array_slide(_slide_pixels(4000, 2000, (0, 0, 2000, 2000)))
    tm = tissue_mask(slide, max_size=400)
    assert tm.shape == (200, 400)
    assert tm.downsample == (10.0, 10.0)
    assert tm.fraction(Box(0, 0, 2000, 2000)) == pytest.approx(1.0)
    assert tm.fraction(Box(2000, 0, 4000, 2000)) == pytest.approx(0.0)
    assert tm.fraction(Box(1000, 0, 3000, 2000)) == pytest.approx(0.5, abs=0.02)
    assert tm.contains(Point(100, 100))
    assert not tm.contains(Point(3000, 100))
    assert "TissueMask(400x200" in repr(tm)


def test_tissue_mask_rejects_tiny_max_size(array_slide: Any) -> None:
    slide = array_slide(_slide_pixels(100, 100, (0, 0, 50, 50)), name="tiny.svs")
    with pytest.raises(SamplingError, match=r"tiny\.svs.*at least 8"):
        tissue_mask(slide, max_size=4)


def test_fraction_outside_the_slide_is_zero() -> None:
    tm = TissueMask(mask=np.ones((10, 10), dtype=bool), downsample=(1.0, 1.0), threshold=20)
    assert tm.fraction(Box(20, 20, 30, 30)) == 0.0
    assert tm.fraction(Box(-10, -10, -1, -1)) == 0.0
    assert tm.fraction(Box(5, 5, 5, 9)) == 0.0
    # half the box hangs off the right edge: only the part on the slide counts
    assert tm.fraction(Box(5, 0, 15, 10)) == pytest.approx(0.5)
    assert not tm.contains(Point(-1, 3))
    assert not tm.contains(Point(10, 3))


def test_fraction_weights_partial_pixels() -> None:
    mask = np.array([[True, False]])
    tm = TissueMask(mask=mask, downsample=(10.0, 10.0), threshold=20)
    assert tm.fraction(Box(5, 0, 15, 10)) == pytest.approx(0.5)
    assert tm.fraction(Box(5, 0, 10, 10)) == pytest.approx(1.0)
    assert tm.fraction(Box(0, 0, 20, 10)) == pytest.approx(0.5)


def test_mask_is_read_only_and_validated() -> None:
    tm = TissueMask(mask=np.ones((3, 3), dtype=bool), downsample=(2, 2), threshold=20)
    with pytest.raises(ValueError, match="read-only"):
        tm.mask[0, 0] = False
    with pytest.raises(SamplingError, match="2-D"):
        TissueMask(mask=np.ones(3, dtype=bool), downsample=(1, 1), threshold=20)
    with pytest.raises(SamplingError, match="positive"):
        TissueMask(mask=np.ones((3, 3), dtype=bool), downsample=(0, 1), threshold=20)


def test_to_image_is_black_and_white() -> None:
    mask = np.array([[True, False], [False, True]])
    image = TissueMask(mask=mask, downsample=(1, 1), threshold=20).to_image()
    assert image.mode == "L"
    assert np.array_equal(np.asarray(image), mask.astype(np.uint8) * 255)


@examples(60)
@given(
    mask=st.lists(st.lists(st.booleans(), min_size=6, max_size=6), min_size=5, max_size=5),
    coords=st.tuples(*(st.floats(-30, 90, allow_nan=False) for _ in range(4))),
)
def test_fraction_is_a_fraction_and_matches_pixel_mean(
    mask: list[list[bool]], coords: tuple[float, float, float, float]
) -> None:
    array = np.array(mask)
    tm = TissueMask(mask=array, downsample=(10.0, 10.0), threshold=20)
    x0, x1 = sorted(coords[:2])
    y0, y1 = sorted(coords[2:])
    f = tm.fraction(Box(x0, y0, x1, y1))
    assert 0.0 <= f <= 1.0
    # on whole mask pixels the fraction is the plain mean
    c0, c1 = sorted((int(coords[0]) // 10 % 6, int(coords[1]) // 10 % 6))
    r0, r1 = sorted((int(coords[2]) // 10 % 5, int(coords[3]) // 10 % 5))
    whole = Box(c0 * 10, r0 * 10, (c1 + 1) * 10, (r1 + 1) * 10)
    assert tm.fraction(whole) == pytest.approx(array[r0 : r1 + 1, c0 : c1 + 1].mean())


def test_fraction_of_a_box_whose_area_underflows_is_judged_by_its_centre() -> None:
    mask = TissueMask(mask=np.ones((4, 4), dtype=bool), downsample=(16.0, 16.0), threshold=0.0)
    tiny = Box(0.0, 0.0, 1e-180, 1e-180)  # not empty, but its area underflows to 0
    assert mask.fraction(tiny) == 1.0
    assert TissueMask(np.zeros((4, 4), dtype=bool), (16.0, 16.0), 0.0).fraction(tiny) == 0.0


@pytest.mark.parametrize(("tissue", "low", "high"), [("full", 0.97, 1.0), ("blobs", 0.35, 0.8)])
def test_tissue_mask_on_synthetic_slides(
    tmp_path: Path, tissue: Literal["full", "blobs"], low: float, high: float
) -> None:
    # Edge-to-edge tissue has no glass class: Otsu alone would split tissue from its dark
    # cells and call most of the tissue background.
    cells = [(300 + 180 * i, 400 + 90 * (i % 5)) for i in range(12)]
    path = make_slide(tmp_path / f"{tissue}.svs", 2400, 1600, tissue=tissue, cells=cells)
    with open_slide(path) as slide:
        mask = tissue_mask(slide, max_size=512)
    assert low <= mask.tissue_fraction <= high
