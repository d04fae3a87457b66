"""evaluate_slide: one slide scored label by label, the overall sums, the ignored count and
the refusal when no detection carries an evaluated label; MITOS_MATCH_RADIUS_PX."""

from __future__ import annotations

import subprocess
import sys

import pytest

from wsi2rek.detection import Detection
from wsi2rek.errors import AnnotationError, ParameterError
from wsi2rek.geometry import Box, Point
from wsi2rek.inference import (
    MITOS_MATCH_RADIUS_PX,
    SlideDetections,
    evaluate_detections,
    evaluate_slide,
)


def _at(label: str, x: float, y: float, confidence: float = 90.0) -> Detection:
    return Detection(label, confidence, Box.around(Point(x, y), 10))


DETS = [
    _at("mitotic figure", 100, 100),  # hit
    _at("mitotic figure", 500, 500, 60.0),  # false positive
    _at("look-alike", 300, 300),  # hit
    _at("tumour cell", 700, 700),  # not evaluated
]
TRUTH = {
    "mitotic figure": [Point(105, 100), Point(900, 900)],  # the second is missed
    "look-alike": [Point(300, 310)],
}


def test_each_label_is_scored_with_its_own_detections_and_truth() -> None:
    found = evaluate_slide(DETS, TRUTH, slide="a.svs")
    assert list(found.labels) == ["mitotic figure", "look-alike"]
    mitosis = found.labels["mitotic figure"].overall
    assert (mitosis.tp, mitosis.fp, mitosis.fn) == (1, 1, 1)
    alike = found.labels["look-alike"].overall
    assert (alike.tp, alike.fp, alike.fn) == (1, 0, 0)


def test_overall_sums_the_labels_counts() -> None:
    found = evaluate_slide(DETS, TRUTH)
    assert (found.overall.tp, found.overall.fp, found.overall.fn) == (2, 1, 1)
    assert found.overall.f1 == pytest.approx(4 / 6)


def test_detections_of_other_labels_are_counted_as_ignored() -> None:
    found = evaluate_slide(DETS, TRUTH)
    assert found.ignored == 1
    assert found.label_counts == {"look-alike": 1, "mitotic figure": 2, "tumour cell": 1}


def test_each_label_matches_as_evaluate_detections_does() -> None:
    found = evaluate_slide(DETS, TRUTH, slide="a.svs", radius_px=8.0, min_confidence=70.0)
    alone = evaluate_detections(
        {"a.svs": DETS},
        {"a.svs": TRUTH["mitotic figure"]},
        radius_px=8.0,
        min_confidence=70.0,
        label="mitotic figure",
    )
    assert found.labels["mitotic figure"] == alone
    assert (found.radius_px, found.min_confidence) == (8.0, 70.0)


def test_the_default_radius_is_the_mitos_protocols() -> None:
    assert MITOS_MATCH_RADIUS_PX == 25.0
    truth = {"cell": [Point(0, 0)]}
    just_inside = [_at("cell", MITOS_MATCH_RADIUS_PX, 0)]
    just_outside = [_at("cell", MITOS_MATCH_RADIUS_PX + 0.01, 0)]
    assert evaluate_slide(just_inside, truth).overall.tp == 1
    assert evaluate_slide(just_outside, truth).overall.tp == 0
    assert evaluate_slide(just_inside, truth).radius_px == MITOS_MATCH_RADIUS_PX
    assert evaluate_detections(just_outside, truth["cell"]).radius_px == MITOS_MATCH_RADIUS_PX


def test_the_slide_name_comes_from_slide_detections() -> None:
    found = SlideDetections("cells.svs", tuple(DETS), 1, 1, 0, 0)
    result = evaluate_slide(found, TRUTH)
    assert result.slide == "cells.svs"
    assert list(result.labels["look-alike"].per_slide) == ["cells.svs"]


def test_to_dict_has_the_overall_scores_and_each_label_without_per_slide() -> None:
    data = evaluate_slide(DETS, TRUTH, slide="a.svs").to_dict()
    assert data["slide"] == "a.svs"
    assert data["radius_px"] == MITOS_MATCH_RADIUS_PX
    assert data["min_confidence"] is None
    assert (data["tp"], data["fp"], data["fn"]) == (2, 1, 1)
    assert data["ignored_detections"] == 1
    assert list(data["labels"]) == ["mitotic figure", "look-alike"]
    assert "per_slide" not in data["labels"]["look-alike"]
    assert data["labels"]["look-alike"]["best_threshold"] == 90.0


def test_labels_no_detection_carries_are_listed() -> None:
    found = evaluate_slide(DETS[:2], TRUTH)
    assert found.undetected_labels == ("look-alike",)
    assert evaluate_slide(DETS, TRUTH).undetected_labels == ()


def test_no_detection_at_all_scores_every_truth_as_missed() -> None:
    found = evaluate_slide([], TRUTH)
    assert found.overall.fn == 3
    assert found.overall.precision is None  # 0/0
    assert found.undetected_labels == ()  # nothing carries anything: not a label mix-up


def test_detections_none_of_which_carries_a_label_are_refused() -> None:
    with pytest.raises(ParameterError) as caught:
        evaluate_slide([_at("mitosis", 1, 1), _at("mitosis", 9, 9)], TRUTH, slide="a.svs")
    assert str(caught.value) == (
        "no detection of slide a.svs has a label of truth_by_label ('mitotic figure', "
        "'look-alike'); the detections carry 'mitosis' (2): key truth_by_label by one of these"
    )
    assert caught.value.parameters == ("truth_by_label",)


def test_an_empty_truth_by_label_is_refused() -> None:
    with pytest.raises(ParameterError, match="truth_by_label is empty"):
        evaluate_slide(DETS, {})


def test_a_bad_radius_is_refused() -> None:
    with pytest.raises(AnnotationError, match="positive"):
        evaluate_slide(DETS, TRUTH, radius_px=0.0)


def test_evaluate_detections_help_shows_the_protocols_radius() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "wsi2rek", "evaluate-detections", "--help"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert f"match radius, px (default {MITOS_MATCH_RADIUS_PX:g})" in " ".join(proc.stdout.split())
