from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.hypothesis_profiles import examples
from wsi2rek.geometry import Box
from wsi2rek.sampling import LabeledBox
from wsi2rek.sampling._window import (
    BoxIndex,
    EdgePolicy,
    Placement,
    apply_edge_policy,
    box_large_enough,
    classify,
    draw_start,
    draw_window,
    grid_starts,
    inner_window,
    placement_starts,
    rekognition_scale,
    roi_starts,
)

SLIDE = Box(0, 0, 4000, 3000)


def obj(left: float, top: float, right: float, bottom: float, uid: int = 1) -> LabeledBox:
    return LabeledBox(label="mitotic figure", box=Box(left, top, right, bottom), annotation=uid)


# --- classification ------------------------------------------------------------------------


def test_classify_inside_band_crossing_outside() -> None:
    window = Box(1000, 1000, 1512, 1512)
    assert classify(Box(1100, 1100, 1150, 1150), window, 16) is Placement.INSIDE
    assert classify(Box(1016, 1016, 1066, 1066), window, 16) is Placement.INSIDE  # on the band
    assert classify(Box(1010, 1100, 1060, 1150), window, 16) is Placement.CROSSING  # in the band
    assert classify(Box(980, 1100, 1030, 1150), window, 16) is Placement.CROSSING  # cut
    assert classify(Box(900, 1100, 950, 1150), window, 16) is Placement.OUTSIDE
    assert classify(Box(950, 1100, 1000, 1150), window, 16) is Placement.OUTSIDE  # touches only


def test_no_margin_along_slide_edges() -> None:
    window = Box(0, 0, 512, 512)
    near_edge = Box(0, 5, 40, 45)
    assert inner_window(window, 16, SLIDE) == Box(0, 0, 496, 496)
    assert classify(near_edge, window, 16, SLIDE) is Placement.INSIDE
    assert classify(near_edge, window, 16) is Placement.CROSSING  # without slide bounds


# --- edge policies -------------------------------------------------------------------------

WINDOW = Box(1000, 1000, 1512, 1512)
TARGET = obj(1200, 1200, 1250, 1250, uid=1)
CUT = obj(1490, 1200, 1540, 1250, uid=2)  # 22 of 50 px visible
MOSTLY = obj(1470, 1200, 1520, 1250, uid=3)  # 42 of 50 px visible
BAND = obj(1005, 1300, 1055, 1350, uid=4)  # fully visible, inside the margin band


def test_reject_refuses_a_window_that_cuts_an_object() -> None:
    verdict = apply_edge_policy(WINDOW, [TARGET, CUT], margin=16, policy="reject")
    assert not verdict.accepted
    assert verdict.reason == "crossing"
    assert verdict.culprit == CUT


def test_reject_accepts_a_clean_window() -> None:
    verdict = apply_edge_policy(WINDOW, [TARGET], margin=16, policy="reject")
    assert verdict.accepted
    assert verdict.boxes == (TARGET,)


def test_clip_keeps_the_visible_part_when_enough_shows() -> None:
    verdict = apply_edge_policy(WINDOW, [TARGET, MOSTLY, BAND], margin=16, policy="clip")
    assert verdict.accepted
    assert verdict.boxes[0] == TARGET
    clipped = verdict.boxes[1]
    assert clipped.clipped
    assert clipped.box == Box(1470, 1200, 1512, 1250)
    assert clipped.annotation == 3
    assert verdict.boxes[2] == BAND  # fully visible: kept whole, not marked clipped


def test_clip_rejects_when_too_little_shows() -> None:
    verdict = apply_edge_policy(WINDOW, [TARGET, CUT], margin=16, policy="clip", min_visible=0.5)
    assert not verdict.accepted
    assert verdict.reason == "low_visibility"
    ok = apply_edge_policy(WINDOW, [TARGET, CUT], margin=16, policy="clip", min_visible=0.4)
    assert ok.accepted


def test_drop_leaves_objects_out_and_reports_them() -> None:
    verdict = apply_edge_policy(WINDOW, [TARGET, CUT, BAND], margin=16, policy="drop")
    assert verdict.accepted
    assert verdict.boxes == (TARGET,)
    assert verdict.dropped == (CUT, BAND)


def test_too_many_boxes_refuses_the_window() -> None:
    many = [obj(1100 + 6 * i, 1100, 1104 + 6 * i, 1104, uid=i) for i in range(51)]
    assert not apply_edge_policy(WINDOW, many, margin=16).accepted
    assert apply_edge_policy(WINDOW, many[:50], margin=16).accepted
    assert apply_edge_policy(WINDOW, many, margin=16).reason == "too_many_boxes"


def test_clipped_sliver_too_small_for_rekognition_is_refused() -> None:
    big = Box(0, 0, 4000, 4000)
    sliver = obj(3990, 100, 4002, 160)  # 10 of 12 px visible, x 1280/4000 -> 3.2 px
    assert apply_edge_policy(big, [sliver], margin=0, policy="clip", bounds=None).accepted
    thin = obj(3998, 100, 4000.5, 160)  # 2 px visible -> 0.64 px after the rescale
    verdict = apply_edge_policy(big, [thin], margin=0, policy="clip", min_visible=0.1)
    assert verdict.reason == "too_small"


def test_rekognition_scale_and_min_size() -> None:
    assert rekognition_scale(512, 512) == 1.0
    assert rekognition_scale(2560, 1000) == 0.5
    assert box_large_enough(Box(0, 0, 2, 2), 512, 512)
    assert not box_large_enough(Box(0, 0, 1, 5), 512, 512)
    # a 2560 px patch is halved by training: 2 px -> 1 px (too small), 3 px -> 1.5 px (fine)
    assert not box_large_enough(Box(0, 0, 2, 2), 2560, 2560)
    assert box_large_enough(Box(0, 0, 3, 3), 2560, 2560)


def test_box_index_finds_overlapping_objects_in_order() -> None:
    objects = [obj(0, 0, 10, 10, 1), obj(100, 100, 110, 110, 2), obj(5, 5, 20, 20, 3)]
    index = BoxIndex(objects)
    assert [o.annotation for o in index.near(Box(0, 0, 15, 15))] == [1, 3]
    assert index.near(Box(10, 10, 12, 12)) == [objects[2]]
    assert not BoxIndex([]).any_near(Box(0, 0, 1, 1))


# --- placement -----------------------------------------------------------------------------


def test_placement_starts_with_room() -> None:
    # object [1000, 1050] in a 512 window with 16 margin: start in [1050-496, 984]
    assert placement_starts(1000, 1050, 512, 16, 4000) == ((554, 984),)


def test_placement_starts_at_the_slide_edge_waive_the_margin() -> None:
    assert placement_starts(5, 55, 512, 16, 4000) == ((0, 0),)
    assert placement_starts(3990, 4000, 512, 16, 4000) == ((3488, 3488),)


def test_placement_on_a_slide_exactly_the_patch_size() -> None:
    assert placement_starts(0, 10, 512, 16, 512) == ((0, 0),)
    assert placement_starts(0, 10, 512, 16, 511) == ()


def test_roi_starts_inside_or_covering() -> None:
    assert roi_starts(100, 2000, 512, 4000) == ((100, 1488),)
    assert roi_starts(100, 300, 512, 4000) == ((0, 100),)  # window covers the small ROI
    assert roi_starts(3900, 4100, 512, 4000) == ((3488, 3488),)


def test_draw_window_respects_roi_and_returns_none_without_room() -> None:
    rng = np.random.default_rng(0)
    roi = Box(1000, 1000, 2000, 2000)
    for _ in range(20):
        w = draw_window(Box(1400, 1400, 1450, 1450), size=512, margin=16,
                        slide_size=(4000, 3000), roi=roi, rng=rng)  # fmt: skip
        assert w is not None
        assert roi.contains(w)
    assert draw_window(Box(100, 100, 150, 150), size=512, margin=16,
                       slide_size=(4000, 3000), roi=roi, rng=rng) is None  # fmt: skip


def test_draw_start_is_uniform_over_all_ranges() -> None:
    rng = np.random.default_rng(1)
    draws = [draw_start(((0, 1), (10, 11)), rng) for _ in range(4000)]
    counts = {v: draws.count(v) for v in (0, 1, 10, 11)}
    assert set(draws) == {0, 1, 10, 11}
    assert all(900 < c < 1100 for c in counts.values())
    assert draw_start((), rng) is None


def test_grid_starts_cover_the_interval() -> None:
    assert grid_starts(0, 1000, 512, 448) == [0, 448, 488]
    assert grid_starts(0, 512, 512, 448) == [0]
    assert grid_starts(0, 960, 512, 448) == [0, 448]
    assert grid_starts(0, 500, 512, 448) == []


# --- properties ----------------------------------------------------------------------------

extent = st.integers(64, 3000)


@st.composite
def targets(draw: st.DrawFn) -> tuple[Box, int, int, tuple[int, int]]:
    size = draw(st.integers(64, 600))
    margin = draw(st.integers(0, size // 2 - 1))
    width = draw(st.integers(size, 3000))
    height = draw(st.integers(size, 3000))
    w = draw(st.floats(0.5, max(0.5, size - 2 * margin)))
    h = draw(st.floats(0.5, max(0.5, size - 2 * margin)))
    x = draw(st.floats(0, max(0.0, width - w)))
    y = draw(st.floats(0, max(0.0, height - h)))
    return Box(x, y, min(x + w, width), min(y + h, height)), size, margin, (width, height)


@examples(150)
@given(case=targets(), seed=st.integers(0, 2**32 - 1))
def test_drawn_windows_hold_the_target_inside_the_slide(
    case: tuple[Box, int, int, tuple[int, int]], seed: int
) -> None:
    target, size, margin, (width, height) = case
    # whole-pixel windows: the target's pixel span plus both margins must fit
    for low, high in ((target.left, target.right), (target.top, target.bottom)):
        assume(math.ceil(high) - math.floor(low) + 2 * margin <= size)
    window = draw_window(target, size=size, margin=margin, slide_size=(width, height),
                         rng=np.random.default_rng(seed))  # fmt: skip
    assert window is not None  # a target that fits always has a place
    bounds = Box(0, 0, width, height)
    assert bounds.contains(window)
    assert window.width == size
    assert window.height == size
    assert float(window.left).is_integer()
    assert float(window.top).is_integer()
    assert classify(target, window, margin, bounds) is Placement.INSIDE


@pytest.mark.slow
@examples(150)
@given(
    low=st.floats(0, 2000),
    length=st.floats(0, 500),
    size=st.integers(64, 700),
    margin=st.integers(0, 100),
    extent=st.integers(64, 3000),
)
def test_every_placement_start_keeps_the_interval_inside(
    low: float, length: float, size: int, margin: int, extent: int
) -> None:
    assume(2 * margin < size)
    high = min(low + length, extent)
    assume(low <= high)
    ranges = placement_starts(low, high, size, margin, extent)
    bounds = Box(0, 0, extent, 10)
    for lo, hi in ranges:
        for s in {lo, hi, (lo + hi) // 2}:
            window = Box(s, 0, s + size, 10)
            assert bounds.contains(window)
            assert inner_window(window, margin, bounds).left <= low
            assert high <= inner_window(window, margin, bounds).right
    # and no valid start was missed (check every start on small extents)
    if extent - size <= 300:
        starts = {s for lo, hi in ranges for s in range(lo, hi + 1)}
        for s in range(extent - size + 1):
            inner = inner_window(Box(s, 0, s + size, 10), margin, bounds)
            assert (inner.left <= low and high <= inner.right) == (s in starts)


object_boxes = st.builds(
    lambda x, y, w, h: Box(x, y, x + w, y + h),
    st.floats(0, 1500), st.floats(0, 1500), st.floats(2, 120), st.floats(2, 120),
)  # fmt: skip


@pytest.mark.slow
@examples(150)
@given(
    boxes=st.lists(object_boxes, max_size=30),
    x=st.integers(0, 1200),
    y=st.integers(0, 1200),
    policy=st.sampled_from(["reject", "clip", "drop"]),
    margin=st.integers(0, 40),
    min_visible=st.floats(0.05, 1.0),
)
def test_edge_policy_invariants(
    boxes: list[Box], x: int, y: int, *, policy: EdgePolicy, margin: int, min_visible: float
) -> None:
    window = Box(x, y, x + 400, y + 400)
    objects = [LabeledBox("a", b, annotation=i) for i, b in enumerate(boxes)]
    verdict = apply_edge_policy(
        window,
        objects,
        margin=margin,
        policy=policy,
        min_visible=min_visible,
    )
    if not verdict.accepted:
        assert verdict.reason in {"crossing", "low_visibility", "too_small", "too_many_boxes"}
        assert policy != "drop" or verdict.reason == "too_many_boxes"
        return
    # every kept box lies inside its window
    assert all(window.contains(b.box) for b in verdict.boxes)
    assert len(verdict.boxes) <= 50
    kept = {b.annotation for b in verdict.boxes}
    dropped = {b.annotation for b in verdict.dropped}
    assert not kept & dropped
    for o in objects:
        where = classify(o.box, window, margin)
        if where is Placement.INSIDE:
            assert o.annotation in kept
        elif where is Placement.CROSSING:
            # with reject no kept window cuts a labelled box; with drop it is counted
            assert policy != "reject"
            assert (o.annotation in kept) == (policy == "clip")
            assert (o.annotation in dropped) == (policy == "drop")
        else:
            assert o.annotation not in kept | dropped
    for b in verdict.boxes:
        original = objects[b.annotation or 0].box
        assert b.clipped == (b.box != original)
        if b.clipped:
            assert b.box.area >= min_visible * original.area - 1e-6


@pytest.mark.parametrize("policy", ["reject", "clip", "drop"])
def test_empty_object_list_is_accepted(policy: str) -> None:
    verdict = apply_edge_policy(WINDOW, [], margin=16, policy=policy)  # type: ignore[arg-type]
    assert verdict.accepted
    assert verdict.boxes == ()
