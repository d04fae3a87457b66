from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from wsi2rek.detection import Detection, Detector
from wsi2rek.errors import SamplingError
from wsi2rek.geometry import Box
from wsi2rek.sampling._plan import LabeledBox, PatchPlan, PatchSpec, Skip


def _plan() -> PatchPlan:
    spec = PatchSpec(
        slide="a b.svs",
        window=Box(100, 200, 612, 712),
        split="train",
        boxes=[LabeledBox("mitotic figure", Box(150, 250, 200, 300), annotation=7)],
        target=7,
    )
    return PatchPlan(
        patches=[spec],
        slide_paths={"a b.svs": "/data/a b.svs"},
        labels=("mitotic figure", "look-alike"),
        params={"seed": 0},
        skipped=[Skip("window_rejected", slide="a b.svs", annotation=9, detail="cut box")],
        objects={"a b.svs": (LabeledBox("look-alike", Box(0, 0, 50, 50)),)},
    )


def test_patch_spec_name_and_patch_frame() -> None:
    spec = _plan().patches[0]
    assert spec.name == "a_b_x100_y200_512x512"
    assert spec.patch_boxes() == [("mitotic figure", Box(50, 50, 100, 100))]


def test_patch_spec_rejects_fractional_window_and_bad_split() -> None:
    with pytest.raises(SamplingError, match="whole-pixel"):
        PatchSpec(slide="a", window=Box(0.5, 0, 10, 10), split="train")
    with pytest.raises(SamplingError, match="split"):
        PatchSpec(slide="a", window=Box(0, 0, 10, 10), split="validation")


def test_plan_round_trips_through_json(tmp_path: Path) -> None:
    plan = _plan()
    path = tmp_path / "plan.json"
    plan.save(path)
    loaded = PatchPlan.load(path)
    assert loaded == plan
    assert loaded.fingerprint() == plan.fingerprint()
    assert json.loads(path.read_text())["labels"] == ["mitotic figure", "look-alike"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_fingerprint_changes_with_params_not_slide_location() -> None:
    plan = _plan()
    moved = PatchPlan(
        patches=plan.patches,
        slide_paths={"a b.svs": "/elsewhere/a b.svs"},
        labels=plan.labels,
        params=plan.params,
    )
    reseeded = PatchPlan(
        patches=plan.patches, slide_paths=plan.slide_paths, labels=plan.labels, params={"seed": 1}
    )
    assert moved.fingerprint() == plan.fingerprint()
    assert reseeded.fingerprint() != plan.fingerprint()
    assert plan.class_ids == {"mitotic figure": 0, "look-alike": 1}
    assert plan.split("test") == ()


def test_detection_validates_confidence() -> None:
    with pytest.raises(ValueError, match="percent"):
        Detection("x", 101, Box(0, 0, 1, 1))
    assert Detection("x", "55.5", Box(0, 0, 1, 1)).confidence == 55.5


def test_any_object_with_detect_is_a_detector() -> None:
    class Fixed:
        def detect(self, image: np.ndarray) -> list[Detection]:
            return [Detection("cell", 90, Box(0, 0, image.shape[1], image.shape[0]))]

    assert isinstance(Fixed(), Detector)
    assert not isinstance(object(), Detector)
