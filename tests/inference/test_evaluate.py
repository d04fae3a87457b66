"""evaluate_detections: the MITOS_WSI matching protocol, the threshold curve, ground truth."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hypothesis_profiles import examples
from wsi2rek.annotations import SlideRunnerDB
from wsi2rek.detection import Detection
from wsi2rek.errors import AnnotationError, LabelMapError
from wsi2rek.geometry import Box, Point
from wsi2rek.inference import (
    Metrics,
    evaluate_detections,
    ground_truth_from_db,
    match_detections,
)
from wsi2rek.testing import make_sliderunner_db, spot


def det(x: float, y: float, conf: float = 90.0, label: str = "mf") -> Detection:
    return Detection(label, conf, Box.around(Point(x, y), 10))


def test_perfect_detections_give_f1_one() -> None:
    truth = [Point(100, 100), Point(300, 300)]
    result = evaluate_detections([det(105, 98), det(290, 310)], truth)
    assert (result.overall.tp, result.overall.fp, result.overall.fn) == (2, 0, 0)
    assert result.f1 == 1.0


def test_radius_is_inclusive_and_outside_is_a_false_positive() -> None:
    truth = [Point(0, 0), Point(1000, 0)]
    result = evaluate_detections([det(25, 0), det(1025.5, 0)], truth, radius_px=25)
    assert (result.overall.tp, result.overall.fp, result.overall.fn) == (1, 1, 1)


def test_matching_is_one_to_one_and_greedy_by_confidence() -> None:
    # Two detections near one ground-truth point: only the more confident one counts.
    truth = [Point(0, 0)]
    dets = [det(5, 0, conf=40), det(-3, 0, conf=95)]
    assert match_detections(dets, truth, 25.0) == [False, True]


def test_each_detection_takes_its_nearest_free_point() -> None:
    truth = [Point(0, 0), Point(30, 0)]
    dets = [det(28, 0, conf=90), det(10, 0, conf=80)]
    assert match_detections(dets, truth, 25.0) == [True, True]


def test_curve_and_best_threshold() -> None:
    truth = [Point(0, 0), Point(100, 0)]
    dets = [det(0, 0, 90), det(100, 0, 60), det(500, 500, 30), det(800, 800, 95)]
    result = evaluate_detections(dets, truth)
    by_threshold = {p.threshold: p.metrics for p in result.curve}
    assert [p.threshold for p in result.curve] == [30.0, 60.0, 90.0, 95.0]
    assert by_threshold[95.0] == Metrics(tp=0, fp=1, fn=2)
    assert by_threshold[60.0] == Metrics(tp=2, fp=1, fn=0)
    assert by_threshold[30.0] == Metrics(tp=2, fp=2, fn=0)
    assert result.best_threshold == 60.0
    assert result.best is not None
    assert result.best.metrics.f1 == pytest.approx(0.8)


@examples(40)
@given(
    st.lists(st.tuples(st.integers(0, 300), st.integers(0, 300), st.integers(1, 100)), max_size=25),
    st.lists(st.tuples(st.integers(0, 300), st.integers(0, 300)), max_size=25),
)
def test_curve_points_equal_a_fresh_evaluation_at_that_threshold(
    raw: list[tuple[int, int, int]], gt: list[tuple[int, int]]
) -> None:
    dets = [det(x, y, float(c)) for x, y, c in raw]
    truth = [Point(x, y) for x, y in gt]
    result = evaluate_detections(dets, truth)
    for point in result.curve:
        again = evaluate_detections(dets, truth, min_confidence=point.threshold)
        assert again.overall == point.metrics
    m = result.overall
    assert m.tp + m.fn == len(truth)
    assert m.tp + m.fp == len(dets)


def test_several_slides_are_scored_separately_and_summed() -> None:
    result = evaluate_detections(
        {"a.svs": [det(0, 0)], "b.svs": [det(0, 0)]},
        {"a.svs": [Point(0, 0)], "b.svs": [Point(500, 500)]},
    )
    assert result.per_slide["a.svs"] == Metrics(1, 0, 0)
    assert result.per_slide["b.svs"] == Metrics(0, 1, 1)
    assert result.overall == Metrics(1, 1, 1)


def test_mismatched_slide_names_are_refused() -> None:
    with pytest.raises(LabelMapError, match=r"only in detections: \['a.svs'\]"):
        evaluate_detections({"a.svs": []}, {"b.svs": []})
    with pytest.raises(LabelMapError, match="same shape"):
        evaluate_detections({"a.svs": []}, [])


def test_radius_in_micrometres_needs_mpp() -> None:
    truth = [Point(0, 0)]
    near = [det(30, 0)]
    assert evaluate_detections(near, truth, radius_um=10, mpp=0.25).f1 == 1.0  # 40 px
    assert evaluate_detections(near, truth, radius_um=5, mpp=(0.25, 0.25)).f1 == 0.0  # 20 px
    with pytest.raises(AnnotationError, match="mpp"):
        evaluate_detections(near, truth, radius_um=10)
    with pytest.raises(AnnotationError, match="not both"):
        evaluate_detections(near, truth, radius_um=10, radius_px=5, mpp=0.25)


def test_label_filter_and_min_confidence() -> None:
    truth = [Point(0, 0)]
    dets = [det(0, 0, 90, label="other"), det(0, 0, 20, label="mf")]
    assert evaluate_detections(dets, truth, label="mf").overall == Metrics(1, 0, 0)
    assert evaluate_detections(dets, truth, label="mf", min_confidence=50).overall == Metrics(
        0, 0, 1
    )


def test_empty_cases() -> None:
    nothing = evaluate_detections([], [])
    # 0/0 ratios are undefined (None), not a score; F1 is 1 with nothing to get wrong.
    assert (nothing.overall.precision, nothing.overall.recall, nothing.f1) == (None, None, 1.0)
    assert nothing.best is None
    missed = evaluate_detections([], [Point(0, 0)])
    assert (missed.overall.precision, missed.overall.recall, missed.f1) == (None, 0.0, 0.0)
    found_nothing_real = evaluate_detections([det(0, 0, 90)], [])
    assert found_nothing_real.overall.precision == 0.0
    assert found_nothing_real.overall.recall is None


def test_to_dict_is_json_ready_and_repr_is_short() -> None:
    result = evaluate_detections([det(0, 0)], [Point(0, 0)])
    assert repr(result) == (
        "EvaluationResult(tp=1, fp=0, fn=0, precision=1.000, recall=1.000, f1=1.000, "
        "best_threshold=90, slides=1, radius_px=25)"
    )
    d = result.to_dict()
    assert d["f1"] == 1.0
    assert d["best_threshold"] == 90.0
    assert d["curve"][0]["tp"] == 1


def test_ground_truth_accepts_label_map_text_and_refuses_malformed_text(tmp_path: Path) -> None:
    db = _db(tmp_path)
    as_text = ground_truth_from_db(db, "one.svs", "mitotic figure=2;look-alike=1")
    as_map = ground_truth_from_db(db, "one.svs", {"mitotic figure": [2], "look-alike": [1]})
    assert as_text == as_map
    for bad in ("nolabel", "=2", "a=x", ""):
        with pytest.raises(LabelMapError):
            ground_truth_from_db(db, "one.svs", bad)


def _db(tmp_path: Path) -> Path:
    return make_sliderunner_db(
        tmp_path / "gt.sqlite",
        ["one.svs", "two.svs"],
        [
            spot(1, 100, 100, 2),
            spot(1, 200, 200, 1),
            spot(1, 300, 300, 2, deleted=True),
            spot(2, 50, 50, 2),
        ],
        classes={1: "look-alike", 2: "mitotic figure"},
    )


def test_ground_truth_from_a_database_by_label(tmp_path: Path) -> None:
    path = _db(tmp_path)
    truth = ground_truth_from_db(path, "one.svs", {"mitotic figure": [2], "look-alike": [1]})
    assert truth == {"mitotic figure": [Point(100, 100)], "look-alike": [Point(200, 200)]}
    with SlideRunnerDB(path) as db:
        assert ground_truth_from_db(db, "ONE.svs", "mitotic figure=2", include_deleted=True) == {
            "mitotic figure": [Point(100, 100), Point(300, 300)]
        }


def test_ground_truth_refuses_unknown_class_ids(tmp_path: Path) -> None:
    with pytest.raises(LabelMapError, match=r"\[9\].*its classes are: 1 \(look-alike\)"):
        ground_truth_from_db(_db(tmp_path), "one.svs", {"mitotic figure": [9]})
