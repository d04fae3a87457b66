"""Example-based pins for ``merge_detections``: one behaviour per test.

These reach the cases the property tests rarely generate (found by mutation testing, see
docs/contributing.md): a partial box with several kept neighbours, the exact cover
boundary, a zero IoU threshold, the ``class_aware`` default and thin boxes whose centres
lie further apart than their short side.
"""

from __future__ import annotations

import pytest

from wsi2rek.detection import Detection
from wsi2rek.geometry import Box
from wsi2rek.inference import merge_detections, merge_indices
from wsi2rek.inference._merge import PARTIAL_COVER


def _det(box: Box, conf: float = 50.0, label: str = "cell") -> Detection:
    return Detection(label, conf, box)


# A kept whole box A covers the partial box P entirely; a second kept whole box B, visited
# after A, does not touch P. P must be dropped whichever grid cell B falls in (the search
# must stop at the first duplicate instead of letting B's verdict overwrite A's).
_A = Box(0, 0, 20, 20)  # centre (10, 10): grid cell (0, 0) with a 20 px cell
_P = Box(0, 10, 10, 20)  # partial, inside A; centre (5, 15): cell (0, 0)


@pytest.mark.parametrize(
    "b",
    [
        Box(12, 0, 19, 5),  # same cell as A (kept, IoU with A below 0.3)
        Box(0, 25, 19, 45),  # the cell below A's
        Box(25, -15, 45, 5),  # the next column of cells, one row up
    ],
    ids=["same-cell", "next-row", "next-column"],
)
def test_partial_box_dropped_when_a_later_neighbour_does_not_cover_it(b: Box) -> None:
    dets = [_det(_A, 90), _det(b, 80), _det(_P, 99)]
    assert merge_indices(dets, partial=[False, False, True]) == [0, 1]


def test_partial_box_half_inside_a_kept_box_is_a_duplicate() -> None:
    kept = _det(Box(0, 0, 10, 10), 90)
    half = _det(Box(5, 0, 15, 10), 99)  # IoU 1/3 > 0.3 would merge it anyway: raise it
    assert PARTIAL_COVER == 0.5
    assert merge_indices([kept, half], iou_threshold=0.9, partial=[False, True]) == [0]


def test_partial_box_less_than_half_inside_is_kept() -> None:
    kept = _det(Box(0, 0, 10, 10), 90)
    mostly_out = _det(Box(6, 0, 16, 10), 99)  # 40% inside
    assert merge_indices([kept, mostly_out], iou_threshold=0.9, partial=[False, True]) == [0, 1]


def test_partial_box_that_only_touches_a_kept_box_is_kept() -> None:
    kept = _det(Box(0, 0, 10, 10), 90)
    touching = _det(Box(10, 0, 20, 10), 99)
    assert merge_indices([kept, touching], partial=[False, True]) == [0, 1]


def test_whole_box_is_not_judged_by_the_cover_rule() -> None:
    kept = _det(Box(0, 0, 10, 10), 90)
    inside = _det(Box(0, 0, 10, 4), 80)  # IoU 0.4 < 0.5 threshold, fully inside
    assert merge_indices([kept, inside], iou_threshold=0.5) == [0, 1]


def test_whole_boxes_outrank_partial_ones_whatever_the_confidence() -> None:
    partial = _det(Box(0, 0, 10, 10), 99)
    whole = _det(Box(1, 1, 11, 11), 10)
    assert merge_indices([partial, whole], partial=[True, False]) == [1]


def test_zero_iou_threshold_keeps_disjoint_boxes() -> None:
    dets = [_det(Box(0, 0, 10, 10), 90), _det(Box(10, 0, 20, 10), 80)]
    assert merge_indices(dets, iou_threshold=0.0) == [0, 1]


def test_zero_iou_threshold_merges_any_overlap() -> None:
    dets = [_det(Box(0, 0, 10, 10), 90), _det(Box(9, 9, 19, 19), 80)]
    assert merge_indices(dets, iou_threshold=0.0) == [0]


def test_iou_equal_to_threshold_is_not_a_duplicate() -> None:
    dets = [_det(Box(0, 0, 10, 10), 90), _det(Box(5, 0, 15, 10), 80)]  # IoU exactly 1/3
    assert merge_indices(dets, iou_threshold=1 / 3) == [0, 1]


def test_class_aware_is_the_default() -> None:
    dets = [_det(Box(0, 0, 10, 10), 90, "a"), _det(Box(0, 0, 10, 10), 80, "b")]
    assert merge_indices(dets) == [0, 1]
    assert merge_indices(dets, class_aware=False) == [0]


def test_higher_confidence_is_kept_regardless_of_input_order() -> None:
    dets = [_det(Box(0, 0, 10, 10), 10), _det(Box(1, 1, 11, 11), 90)]
    assert merge_detections(dets) == [dets[1]]


def test_equal_confidence_keeps_the_first() -> None:
    dets = [_det(Box(0, 0, 10, 10), 50), _det(Box(1, 1, 11, 11), 50)]
    assert merge_indices(dets) == [0]


def test_thin_overlapping_boxes_far_apart_centres_are_merged() -> None:
    # 100 x 2 boxes 40 px apart: IoU 0.43, centres 40 px apart, far more than the short side.
    dets = [_det(Box(0, 0, 100, 2), 90), _det(Box(40, 0, 140, 2), 80)]
    assert merge_indices(dets) == [0]


def test_distance_rule_merges_close_centres_without_overlap() -> None:
    dets = [_det(Box(0, 0, 4, 4), 90), _det(Box(6, 0, 10, 4), 80)]  # centres 6 px apart
    assert merge_indices(dets, distance=7.0) == [0]
    assert merge_indices(dets, distance=6.0) == [0, 1]  # strictly closer than distance
    assert merge_indices(dets) == [0, 1]


def test_distance_larger_than_boxes_reaches_neighbouring_cells() -> None:
    dets = [_det(Box(0, 0, 2, 2), 90), _det(Box(48, 0, 50, 2), 80)]  # centres 48 px apart
    assert merge_indices(dets, distance=50.0) == [0]


def test_partial_box_of_zero_area_is_kept_when_not_overlapping() -> None:
    dets = [_det(Box(0, 0, 10, 10), 90), _det(Box(5, 5, 5, 8), 80)]
    assert merge_indices(dets, partial=[False, True]) == [0, 1]


@pytest.mark.parametrize(
    ("kept", "candidate"),
    [
        (Box(15, 0, 35, 20), Box(5, 0, 25, 20)),  # the kept box's centre is one cell right
        (Box(0, 15, 20, 35), Box(0, 5, 20, 25)),  # one cell down
    ],
    ids=["right", "down"],
)
def test_duplicate_found_in_the_next_cell_right_or_down(kept: Box, candidate: Box) -> None:
    # 20 px cells: the candidate's centre lies in cell 0, the kept box's in cell 1; IoU 1/3.
    assert merge_indices([_det(kept, 90), _det(candidate, 80)]) == [0]


def test_iou_threshold_one_is_allowed_and_merges_nothing() -> None:
    same = [_det(Box(0, 0, 10, 10), 90), _det(Box(0, 0, 10, 10), 80)]
    assert merge_indices(same, iou_threshold=1.0) == [0, 1]


def test_distance_zero_and_below_one_are_allowed() -> None:
    dets = [_det(Box(0, 0, 4, 4), 90), _det(Box(0, 0, 4, 4), 80)]
    assert merge_indices(dets, distance=0.0) == [0]
    assert merge_indices(dets, distance=0.5) == [0]


def test_detections_without_area_do_not_break_the_grid() -> None:
    points = [_det(Box(5, 5, 5, 5), 90), _det(Box(5, 5, 5, 5), 80)]
    assert merge_indices(points) == [0, 1]


def test_tiny_partial_box_inside_a_kept_box_is_a_duplicate() -> None:
    dets = [_det(Box(0, 0, 10, 10), 90), _det(Box(2, 2, 3, 3), 99)]  # area exactly 1
    assert merge_indices(dets, iou_threshold=0.9, partial=[False, True]) == [0]
