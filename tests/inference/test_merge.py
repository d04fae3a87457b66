"""merge_detections: greedy NMS, class awareness, and the partial-box rule."""

from __future__ import annotations

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from tests.hypothesis_profiles import examples
from wsi2rek.detection import Detection
from wsi2rek.errors import DetectionError
from wsi2rek.geometry import Box
from wsi2rek.inference import merge_detections, merge_indices

LABELS = ("a", "b")


@st.composite
def detections(draw: st.DrawFn, centre: tuple[int, int] | None = None) -> Detection:
    """One detection, anywhere or jittered around ``centre`` (so that boxes overlap)."""
    if centre is None:
        x, y = draw(st.integers(0, 200)), draw(st.integers(0, 200))
    else:
        x = centre[0] + draw(st.integers(-12, 12))
        y = centre[1] + draw(st.integers(-12, 12))
    w = draw(st.integers(1, 40))
    h = draw(st.integers(1, 40))
    conf = draw(st.sampled_from([10.0, 50.0, 50.0, 75.5, 99.0]))
    return Detection(draw(st.sampled_from(LABELS)), conf, Box.from_xywh(x, y, w, h))


@st.composite
def clustered_detections(draw: st.DrawFn) -> list[Detection]:
    """Detections around a few object centres, as a detector reports them across tiles.

    Most boxes sit within a dozen pixels of a shared centre, so overlaps, merges and
    partial boxes next to several kept ones are common rather than rare; a few lie
    anywhere. ``event()`` in the tests reports how often a merge actually happens.
    """
    centres = draw(
        st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200)), min_size=1, max_size=5)
    )
    near = st.sampled_from(centres).flatmap(lambda c: detections(centre=c))
    return draw(st.lists(st.one_of(near, near, near, detections()), max_size=40))


dets_lists = clustered_detections()
thresholds = st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.9])


@examples(60)
@given(dets_lists, thresholds, st.booleans())
def test_result_is_a_subset_in_input_order(dets: list[Detection], iou: float, aware: bool) -> None:
    keep = merge_indices(dets, iou_threshold=iou, class_aware=aware)
    event("some box merged" if len(keep) < len(dets) else "nothing merged")
    assert keep == sorted(set(keep))
    assert merge_detections(dets, iou_threshold=iou, class_aware=aware) == [dets[i] for i in keep]


@pytest.mark.slow
@examples(60)
@given(dets_lists, thresholds, st.sampled_from([None, 5.0, 20.0]))
def test_no_two_kept_same_label_boxes_overlap_above_threshold(
    dets: list[Detection], iou: float, distance: float | None
) -> None:
    kept = merge_detections(dets, iou_threshold=iou, distance=distance)
    for i, a in enumerate(kept):
        for b in kept[i + 1 :]:
            if a.label == b.label:
                assert a.box.iou(b.box) <= iou
                if distance is not None:
                    assert a.box.center.distance(b.box.center) >= distance


@examples(60)
@given(dets_lists, thresholds, st.lists(st.booleans(), min_size=40, max_size=40))
def test_merging_is_idempotent(dets: list[Detection], iou: float, flags: list[bool]) -> None:
    partial = flags[: len(dets)]
    keep = merge_indices(dets, iou_threshold=iou, partial=partial)
    dropped_partial = any(p and i not in keep for i, p in enumerate(partial))
    event("a partial box merged" if dropped_partial else "no partial box merged")
    again = merge_indices(
        [dets[i] for i in keep], iou_threshold=iou, partial=[partial[i] for i in keep]
    )
    assert again == list(range(len(keep)))


@examples(40)
@given(dets_lists)
def test_every_dropped_box_has_a_kept_duplicate(dets: list[Detection]) -> None:
    keep = set(merge_indices(dets, iou_threshold=0.3))
    for i, d in enumerate(dets):
        if i not in keep:
            assert any(dets[k].label == d.label and dets[k].box.iou(d.box) > 0.3 for k in keep), (
                "a box was dropped without a kept box of its label overlapping it"
            )


def test_highest_confidence_wins() -> None:
    low = Detection("a", 40, Box(0, 0, 10, 10))
    high = Detection("a", 90, Box(1, 0, 11, 10))
    assert merge_detections([low, high]) == [high]


def test_class_aware_keeps_overlapping_boxes_of_other_labels() -> None:
    a = Detection("a", 90, Box(0, 0, 10, 10))
    b = Detection("b", 80, Box(0, 0, 10, 10))
    assert merge_detections([a, b]) == [a, b]
    assert merge_detections([a, b], class_aware=False) == [a]


def test_distance_merges_small_offset_boxes_with_low_iou() -> None:
    a = Detection("a", 90, Box(0, 0, 10, 10))
    b = Detection("a", 80, Box(6, 6, 16, 16))  # IoU ~0.09, centres 8.5 px apart
    assert merge_detections([a, b]) == [a, b]
    assert merge_detections([a, b], distance=10.0) == [a]


def test_partial_box_yields_to_a_whole_one_even_with_higher_confidence() -> None:
    whole = Detection("a", 60, Box(100, 100, 124, 124))
    partial = Detection("a", 99, Box(100, 100, 106, 124))  # a sliver: IoU 0.25
    assert merge_detections([partial, whole], partial=[True, False]) == [whole]
    # Without the flag, plain NMS keeps both (IoU below the threshold).
    assert merge_detections([partial, whole]) == [partial, whole]


def test_partial_box_alone_is_kept() -> None:
    partial = Detection("a", 50, Box(0, 0, 5, 20))
    assert merge_detections([partial], partial=[True]) == [partial]


def test_bad_arguments_are_refused() -> None:
    d = Detection("a", 50, Box(0, 0, 5, 5))
    with pytest.raises(DetectionError, match="IoU threshold"):
        merge_detections([d], iou_threshold=1.5)
    with pytest.raises(DetectionError, match="distance"):
        merge_detections([d], distance=-1)
    with pytest.raises(DetectionError, match="one to one"):
        merge_detections([d], partial=[True, False])
