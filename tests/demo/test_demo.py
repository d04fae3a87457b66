from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from wsi2rek.annotations import SlideRunnerDB
from wsi2rek.demo import make_demo_inputs
from wsi2rek.slides import open_slide


def test_demo_cli_runs_the_whole_local_pipeline(tmp_path: Path) -> None:
    out = tmp_path / "demo out"
    proc = subprocess.run(
        [sys.executable, "-m", "wsi2rek", "demo", str(out), "--workers", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # --json is quiet: no steps, no progress bars
    result = json.loads(proc.stdout)
    dataset = result["dataset"]
    assert dataset["ok"] is True
    assert set(dataset["splits"]) == {"train", "test"}
    assert dataset["splits"]["test"]["slides"] == ["demo_3.svs"]
    assert "demo_3.svs" not in dataset["splits"]["train"]["slides"]
    for split in ("train", "test"):
        assert (out / "dataset" / f"{split}.manifest").stat().st_size > 0
    assert len(list((out / "dataset" / "preview").glob("*.png"))) == 3
    overall = result["evaluation"]
    # Counting every detection, the 12 painted look-alikes are the false positives ...
    assert (overall["tp"], overall["fp"], overall["fn"]) == (12, 12, 0)
    assert overall["f1"] == pytest.approx(2 / 3)
    # ... and the best confidence threshold leaves exactly them out.
    assert overall["best_f1"] == 1.0
    best = next(p for p in overall["curve"] if p["threshold"] == overall["best_threshold"])
    assert (best["tp"], best["fp"], best["fn"]) == (12, 0, 0)
    geojson = json.loads((out / "detections" / "demo_3.geojson").read_text())
    assert len(geojson["features"]) == 24
    for split in ("train", "test"):
        codes = {w["code"] for w in dataset["validation"][split]["warnings"]}
        assert codes == {"WARNING_NO_ANNOTATIONS"}  # the background patches, and only them


def test_demo_text_says_what_the_warnings_are_and_both_f1s(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "wsi2rek", "demo", str(tmp_path / "out"), "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    manifest_lines = [ln for ln in proc.stdout.splitlines() if ".manifest: ok" in ln]
    assert len(manifest_lines) == 2
    for line in manifest_lines:
        assert "x WARNING_NO_ANNOTATIONS (background patches without boxes" in line
    assert "every detection counted:   TP 12, FP 12, FN 0" in proc.stdout
    assert "TP 12, FP 0, FN 0, precision 1.000, recall 1.000, F1 1.000 (best F1)" in proc.stdout


def test_demo_lookalikes_are_painted_where_annotated(tmp_path: Path) -> None:
    """Each class-1 annotation of the demo DB frames a painted look-alike: dark pixels
    (channel mean <= 110, the cells' darkness) at its centre, paler than a mitosis."""
    inputs = make_demo_inputs(tmp_path, slides=2, per_slide=3, seed=5)
    with SlideRunnerDB(inputs.db) as db:
        for name in inputs.slides:
            spots = [a for a in db.annotations(slide=name) if a.class_id == 1]
            assert len(spots) == 3
            with open_slide(inputs.slides_dir / name) as slide:
                for spot in spots:
                    (p,) = spot.points
                    patch = slide.read_region(int(p.x) - 3, int(p.y) - 3, 6, 6)
                    mean = float(patch.astype(float).mean())
                    assert 75 < mean <= 110, (name, p, mean)


def test_demo_inputs_paint_every_annotated_mitosis(tmp_path: Path) -> None:
    inputs = make_demo_inputs(tmp_path, slides=2, per_slide=3, seed=5)
    assert inputs.test_slides == ("demo_2.svs",)
    assert all(len(points) == 3 for points in inputs.mitoses.values())
    assert inputs.db.is_file()


def test_demo_inputs_reject_a_single_slide(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=">= 2 slides"):
        make_demo_inputs(tmp_path, slides=1)
