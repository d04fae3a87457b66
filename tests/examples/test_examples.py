"""Run each example the way a user does (a subprocess with the venv's python), in fast mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CMC_TEST_SLIDES = ["2d56d1902ca533a5b509.svs", "69a02453620ade0edefd.svs"]


def run(
    script: str, *args: str, cwd: Path, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("AWS_PROFILE", None)
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def json_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr[-3000:]
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.mark.slow
def test_mitosis_workflow_synthetic_until_build_then_resume_detect_and_score(
    tmp_path: Path,
) -> None:
    # One test on purpose: the second run must find the first run's dataset (under
    # pytest-xdist, separate tests may run in separate processes and folders).
    built = json_of(
        run("mitosis_workflow.py", "--synthetic", "--out", "run", "--until", "build", "--json",
            cwd=tmp_path)
    )  # fmt: skip
    assert built["test_slides"] == CMC_TEST_SLIDES
    splits = built["build"]["splits"]
    assert set(splits) == {"train", "test"}
    assert splits["train"]["labels"]["mitotic figure"] > 0
    assert splits["train"]["labels"]["look-alike"] > 0
    assert built["build"]["written"] == built["build"]["images"] > 0
    assert "validate" not in built
    assert "detection" not in built
    dataset = tmp_path / "run" / "dataset"
    assert (dataset / "train.manifest").is_file()
    assert (dataset / "test.manifest").is_file()

    summary = json_of(
        run("mitosis_workflow.py", "--synthetic", "--out", "run", "--json", cwd=tmp_path)
    )
    assert summary["build"]["written"] == 0  # the rerun resumes: nothing rewritten
    assert summary["validate"]["train"]["ok"] is True
    assert summary["validate"]["test"]["ok"] is True
    detection = summary["detection"]
    assert detection["f1"] == 1.0
    assert set(detection["per_slide"]) == set(CMC_TEST_SLIDES)
    assert detection["published_f1"] == {"MEL": 0.684, "ODAEL": 0.699, "CODAEL": 0.726}


@pytest.mark.slow
def test_mitosis_workflow_dry_run_plans_upload_and_trains_nothing(tmp_path: Path) -> None:
    summary = json_of(
        run("mitosis_workflow.py", "--synthetic", "--out", "run", "--fake-aws", "--dry-run",
            "--json", cwd=tmp_path)
    )  # fmt: skip
    upload = summary["upload"]
    assert upload["dry_run"] is True
    assert upload["planned"] > 0
    assert upload["uploaded"] == 0
    assert summary["dry_run"] is True
    assert "training" not in summary
    assert "detection" not in summary


@pytest.mark.slow
def test_mitosis_workflow_aws_steps_against_moto_and_fake_rekognition(tmp_path: Path) -> None:
    summary = json_of(
        run("mitosis_workflow.py", "--synthetic", "--out", "run", "--fake-aws", "--tps", "100",
            "--json", cwd=tmp_path)
    )  # fmt: skip
    assert summary["fake_aws"] is True
    assert summary["upload"]["uploaded"] == summary["upload"]["planned"] > 0
    assert set(summary["upload"]["manifests"]) == {"train", "test"}
    assert ":project/wsi2rek-mitotic-figures/version/v1/" in summary["training"]["arn"]
    assert summary["evaluation"]["f1"] == pytest.approx(0.8)  # the fake's F1
    assert summary["model_status_after"] == "STOPPED"  # running() stopped the model
    # The fake answers no labels: every annotated mitosis is a false negative.
    assert summary["detection"]["fn"] == 24
    assert summary["detection"]["tp"] == 0


def test_mitosis_workflow_real_mode_needs_slides_folder(tmp_path: Path) -> None:
    result = run("mitosis_workflow.py", "--db", "x.sqlite", cwd=tmp_path)
    assert result.returncode == 2
    assert "--db needs --slides" in result.stderr
    assert "Traceback" not in result.stderr


def test_mitosis_workflow_refuses_a_database_without_the_cmc_test_slides(tmp_path: Path) -> None:
    from wsi2rek.testing import make_sliderunner_db, spot

    make_sliderunner_db(tmp_path / "db.sqlite", ["other.svs"], [spot(1, 10, 10, 2)],
                        classes={1: "look-alike", 2: "mitotic figure"})  # fmt: skip
    (tmp_path / "slides").mkdir()
    result = run("mitosis_workflow.py", "--db", "db.sqlite", "--slides", "slides", cwd=tmp_path)
    assert result.returncode != 0
    assert "lacks test slides" in result.stderr
    assert "2d56d1902ca533a5b509.svs" in result.stderr


@pytest.mark.slow
def test_dask_scale_out_matches_a_local_build_byte_for_byte(tmp_path: Path) -> None:
    summary = json_of(
        run("dask_scale_out.py", "--synthetic", "--out", "dask", "--workers", "2",
            "--check-local", "--json", cwd=tmp_path)
    )  # fmt: skip
    assert summary["ok"] is True
    assert summary["images"] == summary["patches"] > 0
    assert summary["identical_to_local_build"] is True
    assert summary["scheduler"] == "LocalCluster on 127.0.0.1"


def test_examples_readme_lists_every_example() -> None:
    text = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for path in EXAMPLES.iterdir():
        if path.name == "README.md" or path.name.startswith((".", "_")):
            continue
        assert path.name in text, f"examples/README.md does not mention {path.name}"
