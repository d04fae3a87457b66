"""A dataset folder works from any working directory, and after being moved or copied.

``plan.json`` and ``dataset.json`` store slide paths relative to the dataset folder; a
folder moved without its slides finds them again through ``--slides`` / ``slides=``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.dataset.test_build import make_plan, snapshot
from wsi2rek.cli import main
from wsi2rek.dataset import build_dataset
from wsi2rek.errors import SamplingError
from wsi2rek.sampling import PatchPlan
from wsi2rek.testing import make_slide


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A dataset built from ``work/`` with relative paths, as ``wsi2rek build`` users do."""
    work = tmp_path / "work"
    (work / "slides").mkdir(parents=True)
    make_slide(work / "slides" / "alpha.svs", 1600, 1200, cells=[(300, 300)], seed=1)
    make_slide(work / "slides" / "beta.svs", 1200, 1000, cells=[(500, 500)], seed=2)
    monkeypatch.chdir(work)
    plan = make_plan({"alpha.svs": "slides/alpha.svs", "beta.svs": "slides/beta.svs"}, 6)
    build_dataset(plan, "dataset", workers=0)
    return work / "dataset"


def preview(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["preview", *args])
    return code, capsys.readouterr().err


def test_saved_slide_paths_are_relative_to_the_dataset_folder(built: Path) -> None:
    plan = json.loads((built / "plan.json").read_text(encoding="utf-8"))
    assert plan["slide_paths"] == {
        "alpha.svs": "../slides/alpha.svs",
        "beta.svs": "../slides/beta.svs",
    }
    info = json.loads((built / "dataset.json").read_text(encoding="utf-8"))
    assert info["slides"] == plan["slide_paths"]


def test_preview_works_from_another_working_directory(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, err = preview(capsys, str(built))
    assert code == 0, err
    assert sorted(p.name for p in (built / "preview").iterdir()) == ["alpha.png", "beta.png"]


def test_a_folder_moved_with_its_slides_needs_nothing(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    moved = tmp_path / "copy" / "project"
    shutil.copytree(built.parent, moved)
    shutil.rmtree(built.parent)  # the original is gone
    code, err = preview(capsys, str(moved / "dataset"))
    assert code == 0, err


def test_a_folder_moved_without_its_slides_finds_them_through_slides(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other_machine = tmp_path / "other"
    shutil.copytree(built, other_machine / "datasets" / "mitosis")
    shutil.copytree(built.parent / "slides", other_machine / "wsi")
    shutil.rmtree(built.parent)
    dataset = other_machine / "datasets" / "mitosis"

    code, err = preview(capsys, str(dataset))
    assert code == 2
    assert "give the folder that holds them as --slides" in err
    assert err.count("\n") == 1

    code, err = preview(capsys, str(dataset), "--slides", str(other_machine / "wsi"))
    assert code == 0, err
    code, err = preview(capsys, str(dataset), "--slides", str(tmp_path))
    assert code == 2
    assert "alpha.svs" in err


def test_a_moved_folder_resumes_writing_only_what_is_missing(built: Path, tmp_path: Path) -> None:
    before = snapshot(built)
    moved = tmp_path / "moved" / "dataset"
    shutil.copytree(built, moved)
    shutil.copytree(built.parent / "slides", tmp_path / "wsi")
    shutil.rmtree(built.parent)
    lost = min((moved / "images").rglob("*.png"))
    lost.unlink()

    plan = PatchPlan.load(moved / "plan.json", slides=tmp_path / "wsi")
    summary = build_dataset(plan, moved, workers=0)
    assert summary.written == 1
    after = snapshot(moved)
    # Same images and manifests; only the plan's relative paths and the build time moved.
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert changed <= {"plan.json", "dataset.json"}


def test_load_with_a_folder_missing_slides_names_them(built: Path, tmp_path: Path) -> None:
    with pytest.raises(SamplingError, match=r"2 slide\(s\) of the plan are not in .*alpha.svs"):
        PatchPlan.load(built / "plan.json", slides=tmp_path)
