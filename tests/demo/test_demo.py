from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from wsi2rek.demo import make_demo_inputs


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
    assert (overall["tp"], overall["fp"], overall["fn"]) == (12, 0, 0)
    assert overall["f1"] == 1.0
    geojson = json.loads((out / "detections" / "demo_3.geojson").read_text())
    assert len(geojson["features"]) == 12


def test_demo_inputs_paint_every_annotated_mitosis(tmp_path: Path) -> None:
    inputs = make_demo_inputs(tmp_path, slides=2, per_slide=3, seed=5)
    assert inputs.test_slides == ("demo_2.svs",)
    assert all(len(points) == 3 for points in inputs.mitoses.values())
    assert inputs.db.is_file()


def test_demo_inputs_reject_a_single_slide(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=">= 2 slides"):
        make_demo_inputs(tmp_path, slides=1)
