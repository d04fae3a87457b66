"""Example-based pins for window placement and the edge policies: one behaviour per test.

They reach what the property tests in ``test_window.py`` rarely generate (found by mutation
testing, see docs/contributing.md): the ``accepted`` flag of each refusal, a fully visible
object in the margin band under ``clip``, ``BoxIndex`` queries on a filled index, draws
from several ranges that do not start at 0, windows with room on one axis only, and the
height half of the Rekognition minimum box size (the developer guide's rule that a box must
stay larger than 1 x 1 px after training rescales an image's long side to 1280 px).
"""

from __future__ import annotations

import numpy as np
import pytest

from wsi2rek.geometry import Box
from wsi2rek.sampling import (
    BoxIndex,
    LabeledBox,
    Placement,
    apply_edge_policy,
    box_large_enough,
    classify,
    draw_window,
    inner_window,
    placement_starts,
)
from wsi2rek.sampling._window import draw_start, grid_starts, roi_starts

WINDOW = Box(0, 0, 100, 100)


def _obj(box: Box, label: str = "mitosis") -> LabeledBox:
    return LabeledBox(label, box)


def test_reject_verdict_is_not_accepted() -> None:
    verdict = apply_edge_policy(WINDOW, [_obj(Box(95, 10, 105, 20))], margin=0, policy="reject")
    assert verdict.accepted is False


def test_low_visibility_verdict_is_not_accepted() -> None:
    verdict = apply_edge_policy(WINDOW, [_obj(Box(98, 10, 108, 20))], margin=0, policy="clip")
    assert (verdict.accepted, verdict.reason) == (False, "low_visibility")


def test_too_small_verdict_is_not_accepted() -> None:
    # 2000 px window: rescale 0.64; the visible part is 1.5 px wide -> 0.96 px after rescale.
    window = Box(0, 0, 2000, 2000)
    obj = _obj(Box(1998.5, 10, 2000.5, 20))  # 75% visible, so min_visible passes
    verdict = apply_edge_policy(window, [obj], margin=0, policy="clip")
    assert (verdict.accepted, verdict.reason, verdict.culprit) == (False, "too_small", obj)


def test_too_many_boxes_verdict_is_not_accepted() -> None:
    objects = [_obj(Box(i, 0, i + 1.5, 2)) for i in range(0, 60, 2)]
    verdict = apply_edge_policy(WINDOW, objects, margin=0, max_boxes=29)
    assert (verdict.accepted, verdict.reason) == (False, "too_many_boxes")


def test_exactly_max_boxes_is_accepted() -> None:
    objects = [_obj(Box(i, 0, i + 1.5, 2)) for i in range(0, 60, 2)]
    assert apply_edge_policy(WINDOW, objects, margin=0, max_boxes=30).accepted


def test_clip_labels_a_fully_visible_object_in_the_margin_band_once_unclipped() -> None:
    obj = _obj(Box(92, 40, 98, 46))  # inside the window, inside the 10 px margin band
    verdict = apply_edge_policy(WINDOW, [obj], margin=10, policy="clip")
    assert verdict.accepted
    assert verdict.boxes == (obj,)


def test_clip_marks_the_visible_part_as_clipped() -> None:
    verdict = apply_edge_policy(WINDOW, [_obj(Box(90, 0, 110, 20))], margin=0, policy="clip")
    assert verdict.boxes == (LabeledBox("mitosis", Box(90, 0, 100, 20), clipped=True),)


def test_clip_accepts_exactly_min_visible() -> None:
    verdict = apply_edge_policy(
        WINDOW, [_obj(Box(90, 0, 110, 20))], margin=0, policy="clip", min_visible=0.5
    )
    assert verdict.accepted


def test_drop_keeps_the_inside_objects_and_reports_the_rest() -> None:
    inside, crossing = _obj(Box(10, 10, 20, 20)), _obj(Box(95, 10, 105, 20))
    verdict = apply_edge_policy(WINDOW, [inside, crossing], margin=0, policy="drop")
    assert (verdict.accepted, verdict.boxes, verdict.dropped) == (True, (inside,), (crossing,))


def test_objects_outside_the_window_are_ignored_by_every_policy() -> None:
    for policy in ("reject", "clip", "drop"):
        verdict = apply_edge_policy(WINDOW, [_obj(Box(200, 0, 210, 10))], margin=5, policy=policy)
        assert (verdict.accepted, verdict.boxes, verdict.dropped) == (True, (), ())


def test_box_large_enough_checks_the_height_too() -> None:
    assert not box_large_enough(Box(0, 0, 100, 1), 512, 512)
    assert box_large_enough(Box(0, 0, 100, 1.5), 512, 512)


def test_box_large_enough_applies_the_rescale_of_a_long_side_over_1280() -> None:
    # 2560 px long side: rescale 0.5, so 2 px becomes 1 px, which is not larger than 1.
    assert not box_large_enough(Box(0, 0, 2, 10), 2560, 100)
    assert box_large_enough(Box(0, 0, 2.1, 10), 2560, 100)


def test_box_index_near_returns_only_overlapping_objects() -> None:
    a, b, c = _obj(Box(0, 0, 10, 10)), _obj(Box(50, 50, 60, 60)), _obj(Box(100, 0, 110, 10))
    index = BoxIndex([a, b, c])
    assert index.near(Box(5, 5, 55, 55)) == [a, b]
    assert len(index) == 3


@pytest.mark.parametrize(
    "window",
    [Box(10, 0, 20, 10), Box(-10, 0, 0, 10), Box(0, 10, 10, 20), Box(0, -10, 10, 0)],
    ids=["right", "left", "below", "above"],
)
def test_box_index_touching_is_not_near(window: Box) -> None:
    index = BoxIndex([_obj(Box(0, 0, 10, 10))])
    assert index.near(window) == []
    assert not index.any_near(window)


def test_box_index_any_near_on_a_filled_index() -> None:
    index = BoxIndex([_obj(Box(0, 0, 10, 10)), _obj(Box(500, 500, 510, 510))])
    assert index.any_near(Box(505, 505, 600, 600))
    assert not index.any_near(Box(100, 100, 200, 200))


def test_inner_window_keeps_sides_on_the_slide_edge_only() -> None:
    bounds = Box(0, 0, 1000, 1000)
    assert inner_window(Box(0, 500, 100, 600), 10, bounds) == Box(0, 510, 90, 590)
    assert inner_window(Box(900, 0, 1000, 100), 10, bounds) == Box(910, 0, 1000, 90)
    assert inner_window(Box(900, 900, 1000, 1000), 10, bounds) == Box(910, 910, 1000, 1000)


def test_inner_window_with_a_margin_over_half_collapses_to_a_line() -> None:
    inner = inner_window(Box(0, 0, 10, 10), 6)
    assert inner.is_empty


def test_classify_margin_band_is_crossing() -> None:
    assert classify(Box(2, 40, 8, 50), WINDOW, margin=10) is Placement.CROSSING
    assert classify(Box(12, 40, 18, 50), WINDOW, margin=10) is Placement.INSIDE


def test_placement_starts_interior_range() -> None:
    # Object [500, 520] in a 100 px window with a 10 px margin on a 10,000 px axis.
    assert placement_starts(500, 520, 100, 10, 10_000) == ((430, 490),)


def test_placement_starts_merge_with_the_zero_edge() -> None:
    # Object [3, 13]: the margin cannot fit on the left, but at start 0 it is waived.
    assert placement_starts(3, 13, 100, 10, 1000) == ((0, 0),)


def test_placement_starts_merge_with_the_far_edge() -> None:
    assert placement_starts(995, 999, 100, 10, 1000) == ((900, 900),)


def test_placement_starts_object_near_the_edge_joins_the_edge_start() -> None:
    # Starts 0..5 keep [15, 25] 10 px inside; start 0 is also allowed: one merged range.
    assert placement_starts(15, 25, 100, 10, 1000) == ((0, 5),)


def test_placement_starts_none_when_object_longer_than_the_window() -> None:
    assert placement_starts(100, 250, 100, 0, 1000) == ()


def test_placement_starts_none_when_the_slide_is_smaller_than_the_window() -> None:
    assert placement_starts(10, 20, 100, 0, 99) == ()


def test_roi_starts_clamp_to_the_slide() -> None:
    assert roi_starts(-50, 150, 100, 1000) == ((0, 50),)
    assert roi_starts(950, 2000, 100, 1000) == ((900, 900),)


def test_roi_shorter_than_the_window_is_covered() -> None:
    assert roi_starts(40, 60, 100, 1000) == ((0, 40),)


def test_draw_start_stays_inside_ranges_that_do_not_start_at_zero() -> None:
    ranges = ((10, 12), (100, 101))
    rng = np.random.default_rng(0)
    draws = {draw_start(ranges, rng) for _ in range(500)}
    assert draws == {10, 11, 12, 100, 101}


def test_draw_start_of_empty_ranges_is_none() -> None:
    assert draw_start((), np.random.default_rng(0)) is None


def test_draw_window_none_when_no_room_on_one_axis_only() -> None:
    # Plenty of room in x; in y the slide is 90 px, smaller than the 100 px window.
    window = draw_window(
        Box(500, 10, 510, 20),
        size=100,
        margin=0,
        slide_size=(10_000, 90),
        rng=np.random.default_rng(0),
    )
    assert window is None


def test_draw_window_holds_the_target_with_its_margin() -> None:
    target = Box(500, 600, 520, 630)
    rng = np.random.default_rng(1)
    for _ in range(50):
        window = draw_window(target, size=100, margin=16, slide_size=(10_000, 10_000), rng=rng)
        assert window is not None
        assert window.contains(target, margin=16)


def test_draw_window_in_a_roi_stays_inside_it() -> None:
    roi = Box(400, 500, 700, 800)
    rng = np.random.default_rng(2)
    for _ in range(50):
        window = draw_window(
            Box(550, 650, 560, 660),
            size=100,
            margin=0,
            slide_size=(10_000, 10_000),
            roi=roi,
            rng=rng,
        )
        assert window is not None
        assert roi.contains(window)


def test_grid_starts_step_by_stride_and_end_flush() -> None:
    assert grid_starts(0, 250, 100, 100) == [0, 100, 150]
    assert grid_starts(10, 210, 100, 100) == [10, 110]
    assert grid_starts(0, 99, 100, 50) == []


def test_placement_starts_object_near_the_far_edge_keeps_the_whole_range() -> None:
    # [960, 980] with a 10 px margin: starts 890..900 hold it; 900 is also the edge start.
    assert placement_starts(960, 980, 100, 10, 1000) == ((890, 900),)


def test_rekognition_scale_of_an_empty_image_is_one() -> None:
    from wsi2rek.sampling._window import rekognition_scale

    assert rekognition_scale(0, 0) == 1.0


def test_box_large_enough_scales_the_height_down_not_up() -> None:
    # 2560 px window: rescale 0.5; a 1.5 px tall box becomes 0.75 px.
    assert not box_large_enough(Box(0, 0, 10, 1.5), 2560, 2560)


def test_reject_is_the_default_policy() -> None:
    verdict = apply_edge_policy(WINDOW, [_obj(Box(95, 10, 105, 20))], margin=0)
    assert (verdict.accepted, verdict.reason) == (False, "crossing")


def test_bounds_waive_the_margin_on_the_slide_edge() -> None:
    obj = _obj(Box(0, 40, 5, 50))  # in the margin band, but on the slide's left edge
    assert apply_edge_policy(WINDOW, [obj], margin=10, bounds=Box(0, 0, 1000, 1000)).accepted
    assert not apply_edge_policy(WINDOW, [obj], margin=10).accepted


def test_an_outside_object_does_not_stop_the_check_of_the_next() -> None:
    outside, crossing = _obj(Box(200, 0, 210, 10)), _obj(Box(95, 10, 105, 20))
    verdict = apply_edge_policy(WINDOW, [outside, crossing], margin=0)
    assert (verdict.accepted, verdict.culprit) == (False, crossing)


def test_low_visibility_names_the_culprit() -> None:
    obj = _obj(Box(98, 10, 108, 20))
    verdict = apply_edge_policy(WINDOW, [obj], margin=0, policy="clip")
    assert verdict.culprit == obj


def test_clip_of_a_tiny_box_uses_its_real_visible_fraction() -> None:
    # A 1 x 0.5 px box, 60% visible: enough shows, but it is too small to label.
    obj = _obj(Box(99.4, 10, 100.4, 10.5))
    verdict = apply_edge_policy(WINDOW, [obj], margin=0, policy="clip")
    assert verdict.reason == "too_small"


def test_clip_keeps_checking_after_a_fully_visible_band_object() -> None:
    band, crossing = _obj(Box(92, 40, 98, 46)), _obj(Box(98, 60, 108, 70))
    verdict = apply_edge_policy(WINDOW, [band, crossing], margin=10, policy="clip")
    assert (verdict.accepted, verdict.reason) == (False, "low_visibility")


def test_box_index_of_no_objects_finds_nothing() -> None:
    index = BoxIndex([])
    assert (len(index), index.near(WINDOW), index.any_near(WINDOW)) == (0, [], False)


def test_box_index_tall_object_left_of_the_window_is_not_near() -> None:
    # Overlaps the window's rows but ends (right = 10) before the window starts (left = 20).
    index = BoxIndex([_obj(Box(0, 0, 10, 100))])
    assert index.near(Box(20, 0, 30, 10)) == []
