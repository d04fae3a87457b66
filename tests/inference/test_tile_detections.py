"""tile_detections_to_slide returns a TileDetections: level-0 boxes with one partial flag
each, named rather than a (detections, flags) pair."""

from __future__ import annotations

import pytest

from wsi2rek.detection import Detection
from wsi2rek.errors import DetectionError, ParameterError
from wsi2rek.geometry import Box
from wsi2rek.inference import Tile, TileDetections, tile_detections_to_slide

#: A level-1 tile (downsample 2) at level-0 (1000, 500) whose left and top edges are
#: shared with neighbouring tiles.
TILE = Tile(x=1000, y=500, width=256, height=256, level=1, downsample=2.0,
            edges=(True, True, False, False))  # fmt: skip


def _det(box: Box, confidence: float = 90.0) -> Detection:
    return Detection("cell", confidence, box)


def test_boxes_are_mapped_to_level_zero_pixels() -> None:
    mapped = tile_detections_to_slide(TILE, [_det(Box(10, 20, 30, 40))])
    assert mapped.detections == (_det(Box(1020, 540, 1060, 580)),)


def test_boxes_on_an_interior_edge_are_partial_and_others_whole() -> None:
    found = [
        _det(Box(0, 100, 10, 120)),  # on the shared left edge
        _det(Box(100, 1, 120, 20)),  # within 2 px of the shared top edge
        _det(Box(240, 100, 256, 120)),  # on the right edge: the slide's own, not shared
        _det(Box(100, 100, 120, 120)),  # inside
    ]
    assert tile_detections_to_slide(TILE, found).partial == (True, True, False, False)


def test_boxes_are_clipped_to_the_tile_and_empty_ones_dropped() -> None:
    found = [_det(Box(250, 250, 300, 300)), _det(Box(300, 300, 310, 310))]
    mapped = tile_detections_to_slide(TILE, found)
    assert len(mapped) == 1
    assert mapped.detections[0].box == Box(1500, 1000, 1512, 1012)
    assert len(mapped.partial) == 1


def test_above_keeps_detections_and_flags_in_step() -> None:
    found = [_det(Box(0, 100, 10, 120), 40.0), _det(Box(100, 100, 120, 120), 95.0)]
    mapped = tile_detections_to_slide(TILE, found)
    kept = mapped.above(50.0)
    assert [d.confidence for d in kept.detections] == [95.0]
    assert kept.partial == (False,)
    assert mapped.above(None) == mapped


def test_flags_must_match_the_detections_one_to_one() -> None:
    with pytest.raises(ParameterError, match="one partial flag per detection"):
        TileDetections((_det(Box(0, 0, 1, 1)),), ())


def test_something_other_than_detections_is_refused_naming_the_tile() -> None:
    with pytest.raises(DetectionError) as caught:
        tile_detections_to_slide(TILE, [(1, 2, 3, 4)])  # type: ignore[list-item]
    assert caught.value.tile == TILE.window
