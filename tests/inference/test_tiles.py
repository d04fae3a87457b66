"""Tile grids: coverage, overlap, clamping, interior edges and errors."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hypothesis_profiles import examples
from wsi2rek.errors import RegionError
from wsi2rek.geometry import Box
from wsi2rek.inference import plan_tiles
from wsi2rek.inference._tiles import axis_starts


@examples(80)
@given(st.integers(0, 50), st.integers(1, 5000), st.integers(16, 600), st.data())
def test_axis_starts_cover_with_overlap(
    start: int, length: int, tile: int, data: st.DataObject
) -> None:
    overlap = data.draw(st.integers(0, tile - 1))
    stop = start + length
    starts = axis_starts(start, stop, tile, overlap)
    size = min(tile, length)
    assert starts[0] == start
    assert starts[-1] + size == stop
    assert all(start <= s and s + size <= stop for s in starts)
    for a, b in itertools.pairwise(starts):
        assert a < b
        assert a + size - b >= overlap  # neighbours overlap by at least `overlap`


def test_grid_is_clamped_inside_the_slide_and_marks_interior_edges() -> None:
    tiles = plan_tiles((1000, 600), tile_size=512, overlap=64)
    assert [(t.x, t.y, t.width, t.height) for t in tiles] == [
        (0, 0, 512, 512),
        (448, 0, 512, 512),
        (488, 0, 512, 512),
        (0, 88, 512, 512),
        (448, 88, 512, 512),
        (488, 88, 512, 512),
    ]
    first, last = tiles[0], tiles[-1]
    assert first.edges == (False, False, True, True)
    assert last.edges == (True, True, False, False)


def test_small_slide_gives_one_tile_of_its_size() -> None:
    (only,) = plan_tiles((300, 200), tile_size=1024, overlap=128)
    assert (only.x, only.y, only.width, only.height) == (0, 0, 300, 200)
    assert only.edges == (False, False, False, False)


def test_level_tiles_map_to_level0_with_the_downsample() -> None:
    tiles = plan_tiles((500, 400), tile_size=256, overlap=32, level=1, downsample=4.0)
    assert tiles[1].x == round(224 * 4.0)
    assert tiles[0].l0_box == Box(0, 0, 1024, 1024)
    assert tiles[0].key == (0, 0, 256, 256, 1)


def test_roi_is_respected_and_clipped_to_the_slide() -> None:
    tiles = plan_tiles((1000, 1000), tile_size=256, overlap=32, roi=Box(900, 100, 1400, 300))
    assert all(t.x >= 900 and t.x + t.width <= 1000 for t in tiles)
    assert all(t.y >= 100 and t.y + t.height <= 300 for t in tiles)
    assert {(t.width, t.height) for t in tiles} == {(100, 200)}


@pytest.mark.parametrize(("tile", "overlap"), [(0, 0), (256, 256), (256, -1), (256, 300)])
def test_bad_tile_or_overlap_is_refused(tile: int, overlap: int) -> None:
    with pytest.raises(RegionError):
        plan_tiles((1000, 1000), tile_size=tile, overlap=overlap)


def test_roi_outside_the_slide_is_refused() -> None:
    with pytest.raises(RegionError, match="does not overlap"):
        plan_tiles((100, 100), tile_size=64, overlap=8, roi=Box(200, 200, 300, 300))
