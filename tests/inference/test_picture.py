"""Whole-slide detection pictures: the hotspot (exact, checked by brute force) and the
preview's marks at the expected places in the expected colours."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray
from PIL import Image

from tests.hypothesis_profiles import examples
from wsi2rek.detection import Detection
from wsi2rek.errors import ParameterError
from wsi2rek.geometry import Box, Point
from wsi2rek.inference import HOTSPOT_MM2, hotspot, write_detection_preview
from wsi2rek.inference._picture import (
    DETECTION_COLOUR,
    FALSE_POSITIVE_COLOUR,
    HIT_COLOUR,
    HOTSPOT_COLOUR,
    MISS_COLOUR,
)
from wsi2rek.testing import make_image, make_slide


def brute_force(points: list[Point], side: float, width: int, height: int) -> int:
    """Best count over every square whose left/top edges sit on a point's x/y, plus a
    fine grid of positions: the field can never hold more than the best of these."""
    best = 0
    lefts = {p.x for p in points} | {float(x) for x in range(0, width, 7)}
    tops = {p.y for p in points} | {float(y) for y in range(0, height, 7)}
    for x in lefts:
        for y in tops:
            n = sum(1 for p in points if x <= p.x < x + side and y <= p.y < y + side)
            best = max(best, n)
    return best


@examples(40)
@given(
    st.lists(
        st.tuples(st.integers(0, 299), st.integers(0, 199)).map(lambda t: Point(*t)),
        max_size=25,
    )
)
def test_hotspot_count_equals_a_brute_force_count(points: list[Point]) -> None:
    # mpp chosen so that the field's side is 60 px: sqrt(2.37) mm / 60 px
    mpp = math.sqrt(HOTSPOT_MM2) * 1000 / 60
    spot = hotspot(points, (300, 200), mpp)
    assert spot.count == brute_force(points, 60.0, 300, 200)
    b = spot.box
    assert b.right - b.left == pytest.approx(60.0)
    assert b.left >= 0
    assert b.top >= 0
    assert b.right <= 300
    assert b.bottom <= 200
    inside = sum(1 for p in points if b.left <= p.x < b.right and b.top <= p.y < b.bottom)
    assert inside == spot.count


def test_hotspot_area_is_ten_high_power_fields() -> None:
    spot = hotspot([Point(10_000, 10_000)], (40_000, 40_000), 0.25)
    side_mm = (spot.box.right - spot.box.left) * 0.25 / 1000
    assert side_mm**2 == pytest.approx(2.37)
    assert spot.count == 1


def test_hotspot_needs_the_mpp() -> None:
    with pytest.raises(ParameterError, match="needs the slide's resolution"):
        hotspot([Point(1, 1)], (100, 100), None)


def colour_at(
    pixels: NDArray[np.uint8], x: float, y: float, r: int = 4
) -> set[tuple[int, int, int]]:
    window = pixels[int(y) - r : int(y) + r + 1, int(x) - r : int(x) + r + 1].reshape(-1, 3)
    return {(int(px[0]), int(px[1]), int(px[2])) for px in window}


def test_preview_marks_hits_misses_and_false_positives(tmp_path: Path) -> None:
    slide = make_slide(tmp_path / "s.svs", 4000, 3000, mpp=0.25, seed=3, tissue="full")
    hit_truth, miss = Point(1000, 1000), Point(3000, 1000)
    detections = [
        Detection("m", 90.0, Box(990, 990, 1010, 1010)),  # hits hit_truth
        Detection("m", 80.0, Box(1990, 1990, 2010, 2010)),  # nothing there: false positive
    ]
    out = tmp_path / "preview.png"
    spot = write_detection_preview(
        slide, detections, out, truth=[hit_truth, miss], max_size=400, radius_px=25
    )
    assert spot is not None
    assert spot.count == 2  # the 1.54 mm field (6158 px) holds both detections
    pixels = np.asarray(Image.open(out).convert("RGB"))
    scale, top = 400 / 4000, 22
    assert HIT_COLOUR in colour_at(pixels, 1000 * scale, 1000 * scale + top)
    assert FALSE_POSITIVE_COLOUR in colour_at(pixels, 2000 * scale, 2000 * scale + top)
    assert MISS_COLOUR in colour_at(pixels, 3000 * scale, 1000 * scale + top)
    # each mark only where it belongs
    assert HIT_COLOUR not in colour_at(pixels, 2000 * scale, 2000 * scale + top)
    assert FALSE_POSITIVE_COLOUR not in colour_at(pixels, 1000 * scale, 1000 * scale + top)
    # the hotspot outline on the density panel (right of the slide panel)
    assert (pixels[:, 410:] == HOTSPOT_COLOUR).all(axis=-1).sum() > 100


def test_preview_without_truth_or_mpp(tmp_path: Path) -> None:
    image = make_image(tmp_path / "plain.png", 800, 600, seed=1)
    detections = [Detection("m", 90.0, Box(390, 290, 410, 310))]
    out = tmp_path / "preview.png"
    assert write_detection_preview(image, detections, out, max_size=400) is None
    pixels = np.asarray(Image.open(out).convert("RGB"))
    assert DETECTION_COLOUR in colour_at(pixels, 200, 150 + 22)
    assert (pixels == HOTSPOT_COLOUR).all(axis=-1).sum() == 0
