"""Example-based pins for the MITOS_WSI matching and scores: one behaviour per test.

The protocol (Aubreville et al., Sci Data 7, 417, 2020; SEED_WORKFLOW.md): a detection
counts when its centre lies within 25 px of a not yet matched ground-truth centre. These
tests reach what the property tests rarely generate (found by mutation testing, see
docs/contributing.md): neighbours in the grid row above or to the left, negative
coordinates, counts with both false positives and false negatives, the best-threshold tie
break and bad radii.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from wsi2rek.detection import Detection
from wsi2rek.errors import AnnotationError
from wsi2rek.geometry import Box, Point
from wsi2rek.inference import evaluate_detections, match_detections
from wsi2rek.inference._evaluate import Metrics


def _at(x: float, y: float, conf: float = 50.0, label: str = "cell") -> Detection:
    return Detection(label, conf, Box.around(Point(x, y), 5))


@pytest.mark.parametrize(
    ("det", "truth"),
    [
        ((100, 100), (100, 90)),  # ground truth in the grid row above
        ((100, 100), (100, 110)),  # the row below
        ((100, 100), (90, 100)),  # the column to the left
        ((100, 100), (110, 100)),  # the column to the right
        ((100, 100), (93, 93)),  # diagonally up-left
        ((100, 100), (107, 93)),  # diagonally up-right
        ((-10, -10), (-20, -20)),  # negative coordinates (floor, not truncation)
        ((24.9, 24.9), (25.1, 25.1)),  # either side of a cell border
    ],
)
def test_match_within_radius_in_any_neighbouring_cell(
    det: tuple[float, float], truth: tuple[float, float]
) -> None:
    assert match_detections([_at(*det)], [Point(*truth)], radius=25) == [True]


def test_match_radius_is_inclusive() -> None:
    assert match_detections([_at(0, 0)], [Point(0, 25)], radius=25) == [True]


def test_no_match_just_outside_radius() -> None:
    assert match_detections([_at(0, 0)], [Point(0, 25.01)], radius=25) == [False]


def test_no_match_two_cells_away() -> None:
    assert match_detections([_at(0, 0)], [Point(60, 0)], radius=25) == [False]


def test_one_truth_matches_one_detection_only() -> None:
    assert match_detections([_at(0, 0, 90), _at(1, 0, 80)], [Point(0, 0)], 25) == [True, False]


def test_higher_confidence_matches_first() -> None:
    assert match_detections([_at(1, 0, 10), _at(0, 0, 90)], [Point(0, 0)], 25) == [False, True]


def test_detection_takes_the_nearest_unmatched_truth() -> None:
    # The first detection takes the nearer point (x=20), leaving x=-20 for the second.
    dets = [_at(10, 0, 90), _at(-10, 0, 80)]
    assert match_detections(dets, [Point(-20, 0), Point(20, 0)], 25) == [True, True]


def test_metrics_with_false_positives_and_negatives() -> None:
    m = Metrics(tp=3, fp=1, fn=2)
    assert m.precision == pytest.approx(3 / 4)
    assert m.recall == pytest.approx(3 / 5)
    assert m.f1 == pytest.approx(6 / 9)


def test_metrics_add_counts() -> None:
    assert Metrics(1, 2, 3) + Metrics(10, 20, 30) == Metrics(11, 22, 33)


def test_evaluate_counts_fp_and_fn_on_one_slide() -> None:
    dets = [_at(0, 0, 90), _at(500, 500, 80)]
    truth = [Point(0, 0), Point(1000, 1000), Point(2000, 2000)]
    result = evaluate_detections(dets, truth)
    assert (result.overall.tp, result.overall.fp, result.overall.fn) == (1, 1, 2)


def test_evaluate_sums_counts_over_slides() -> None:
    result = evaluate_detections(
        {"a": [_at(0, 0)], "b": [_at(0, 0)]}, {"a": [Point(0, 0)], "b": [Point(100, 100)]}
    )
    assert result.overall == Metrics(tp=1, fp=1, fn=1)
    assert result.per_slide["b"] == Metrics(tp=0, fp=1, fn=1)


def test_slide_without_ground_truth_counts_every_detection_as_false_positive() -> None:
    result = evaluate_detections([_at(0, 0), _at(100, 0)], [])
    assert result.overall == Metrics(tp=0, fp=2, fn=0)
    assert result.overall.precision == 0.0
    assert result.overall.recall is None  # no ground truth: 0/0 is undefined


def test_label_filter_scores_only_that_label() -> None:
    dets = [_at(0, 0, label="mitosis"), _at(100, 0, label="look-alike")]
    result = evaluate_detections(dets, [Point(0, 0)], label="mitosis")
    assert result.overall == Metrics(tp=1, fp=0, fn=0)


def test_min_confidence_is_inclusive() -> None:
    dets = [_at(0, 0, 50), _at(100, 0, 49.9)]
    result = evaluate_detections(dets, [Point(0, 0)], min_confidence=50)
    assert result.overall == Metrics(tp=1, fp=0, fn=0)


def test_curve_has_one_point_per_distinct_confidence_ascending() -> None:
    dets = [_at(0, 0, 90), _at(100, 0, 50), _at(200, 0, 50)]
    result = evaluate_detections(dets, [Point(0, 0)])
    assert [p.threshold for p in result.curve] == [50, 90]
    assert result.curve[0].metrics == Metrics(tp=1, fp=2, fn=0)
    assert result.curve[1].metrics == Metrics(tp=1, fp=0, fn=0)


def test_best_threshold_is_the_highest_among_equal_f1() -> None:
    # Threshold 90: tp 1, fp 0, fn 1 -> F1 2/3. Threshold 10: tp 2, fp 2, fn 0 -> F1 2/3.
    dets = [_at(0, 0, 90), _at(500, 0, 50), _at(1000, 0, 30), _at(100, 100, 10)]
    result = evaluate_detections(dets, [Point(0, 0), Point(100, 100)])
    f1s = {p.threshold: p.metrics.f1 for p in result.curve}
    assert f1s[90] == pytest.approx(f1s[10])
    assert result.best_threshold == 90


def test_best_threshold_is_none_without_detections() -> None:
    assert evaluate_detections([], [Point(0, 0)]).best_threshold is None


def test_radius_um_converts_with_the_mean_pixel_size() -> None:
    result = evaluate_detections([], [], radius_um=10.0, mpp=(0.2, 0.3))
    assert result.radius_px == pytest.approx(40.0)


def test_default_radius_is_25_px() -> None:
    assert evaluate_detections([], []).radius_px == 25.0


@pytest.mark.parametrize("radius", [0.0, -1.0, math.nan, math.inf])
def test_bad_radius_px_is_refused(radius: float) -> None:
    with pytest.raises(AnnotationError, match="positive"):
        evaluate_detections([], [], radius_px=radius)


@pytest.mark.parametrize("mpp", [0.0, -0.25, (0.25, 0.0)])
def test_non_positive_mpp_is_refused(mpp: float | tuple[float, float]) -> None:
    with pytest.raises(AnnotationError, match="mpp must be positive"):
        evaluate_detections([], [], radius_um=7.5, mpp=mpp)


def test_radius_um_without_mpp_is_refused() -> None:
    with pytest.raises(AnnotationError, match="microns per pixel"):
        evaluate_detections([], [], radius_um=7.5)


def test_radius_px_and_um_together_are_refused() -> None:
    with pytest.raises(AnnotationError, match="not both"):
        evaluate_detections([], [], radius_px=25, radius_um=7.5, mpp=0.25)


def test_a_used_truth_does_not_hide_the_next_one_in_its_cell() -> None:
    # Both points share one grid cell; the first detection takes (0, 0), the second must
    # still find (5, 0) behind it.
    dets = [_at(0, 0, 90), _at(5, 0, 80)]
    assert match_detections(dets, [Point(0, 0), Point(5, 0)], 25) == [True, True]


def test_annotations_are_matched_by_their_centre() -> None:
    from wsi2rek.annotations import Annotation, AnnotationKind

    ann = Annotation(
        uid=1,
        slide=1,
        kind=AnnotationKind.AREA,
        class_id=2,
        points=(Point(100, 100), Point(200, 200)),
    )
    result = evaluate_detections([_at(150, 150)], [ann])
    assert result.overall == Metrics(tp=1, fp=0, fn=0)


def test_slide_detections_are_scored_under_their_slide_name() -> None:
    from wsi2rek.inference import SlideDetections

    found = SlideDetections(
        slide="a.svs",
        detections=(_at(0, 0),),
        tiles_total=1,
        tiles_run=1,
        tiles_cached=0,
        tiles_skipped=0,
    )
    result = evaluate_detections(found, [Point(0, 0)])
    assert dict(result.per_slide) == {"a.svs": Metrics(tp=1, fp=0, fn=0)}


def test_a_plain_list_is_scored_as_one_slide_named_slide() -> None:
    assert list(evaluate_detections([_at(0, 0)], [Point(0, 0)]).per_slide) == ["slide"]


def test_curve_counts_missed_truth_of_every_slide() -> None:
    result = evaluate_detections(
        {"a": [_at(0, 0, 90)], "b": []}, {"a": [Point(0, 0)], "b": [Point(5, 5), Point(90, 90)]}
    )
    assert result.curve[0].metrics == Metrics(tp=1, fp=0, fn=2)


def test_result_records_min_confidence() -> None:
    assert evaluate_detections([], [], min_confidence=42.0).min_confidence == 42.0


def test_result_to_dict_keys_are_the_json_contract() -> None:
    result = evaluate_detections([_at(0, 0, 90), _at(500, 0, 50)], [Point(0, 0), Point(9, 900)])
    data = result.to_dict()
    assert set(data) == {
        "tp",
        "fp",
        "fn",
        "precision",
        "recall",
        "f1",
        "radius_px",
        "min_confidence",
        "best_threshold",
        "best_f1",
        "per_slide",
        "curve",
    }
    assert data["best_f1"] == pytest.approx(2 / 3)
    assert data["per_slide"]["slide"]["fp"] == 1
    assert data["curve"][0]["threshold"] == 50
    assert (data["fn"], data["precision"], data["recall"]) == (1, 0.5, 0.5)


def test_result_without_detections_has_no_best_f1() -> None:
    data = evaluate_detections([], [Point(0, 0)]).to_dict()
    assert (data["best_threshold"], data["best_f1"]) == (None, None)


def test_repr_names_a_missing_best_threshold() -> None:
    assert "best_threshold=None" in repr(evaluate_detections([], [Point(0, 0)]))


def test_radius_below_one_pixel_is_allowed() -> None:
    assert evaluate_detections([], [], radius_px=0.5).radius_px == 0.5


@pytest.mark.parametrize("mpp", [(0.0, 0.25), (0.25, -1.0)])
def test_each_axis_of_mpp_must_be_positive(mpp: tuple[float, float]) -> None:
    with pytest.raises(AnnotationError, match="mpp must be positive"):
        evaluate_detections([], [], radius_um=7.5, mpp=mpp)


def test_ground_truth_from_db_error_names_the_database(tmp_path: Path) -> None:
    from wsi2rek.errors import LabelMapError
    from wsi2rek.inference import ground_truth_from_db
    from wsi2rek.testing import make_sliderunner_db, spot

    db = make_sliderunner_db(
        tmp_path / "gt.sqlite", ["a.svs"], [spot(1, 10, 10, 2)], classes={2: "Mitotic figure"}
    )
    with pytest.raises(LabelMapError, match=r"gt\.sqlite"):
        ground_truth_from_db(db, "a.svs", {"mitotic figure": [7]})


def test_ground_truth_from_db_path_honours_include_deleted(tmp_path: Path) -> None:
    import attrs

    from wsi2rek.inference import ground_truth_from_db
    from wsi2rek.testing import make_sliderunner_db, spot

    gone = attrs.evolve(spot(1, 50, 50, 2), deleted=True)
    db = make_sliderunner_db(
        tmp_path / "gt.sqlite", ["a.svs"], [spot(1, 10, 10, 2), gone], classes={2: "Mitotic figure"}
    )
    kept = ground_truth_from_db(db, "a.svs", {"m": [2]})
    everything = ground_truth_from_db(db, "a.svs", {"m": [2]}, include_deleted=True)
    assert (len(kept["m"]), len(everything["m"])) == (1, 2)
