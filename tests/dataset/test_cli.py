"""``wsi2rek build``, ``validate`` and ``preview`` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wsi2rek.cli import main
from wsi2rek.testing import make_slide, make_sliderunner_db, spot

CELLS = {
    "one.svs": [(400, 400, 2), (900, 500, 1), (1300, 900, 2)],
    "two.svs": [(500, 600, 2), (1000, 300, 1)],
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli")
    slides = root / "slides"
    slides.mkdir()
    annotations = []
    for uid, (name, cells) in enumerate(CELLS.items(), start=1):
        make_slide(slides / name, 1600, 1200, cells=[(x, y) for x, y, _ in cells], seed=uid)
        annotations += [spot(uid, x, y, label) for x, y, label in cells]
    db = make_sliderunner_db(
        root / "cells.sqlite",
        list(CELLS),
        annotations,
        classes={1: "look-alike", 2: "mitotic figure"},
    )
    return db, slides


def _build(inputs: tuple[Path, Path], out: Path, *extra: str) -> list[str]:
    db, slides = inputs
    return [
        "build",
        "--db",
        str(db),
        "--slides",
        str(slides),
        "--out",
        str(out),
        "--label",
        "mitotic figure=2",
        "--label",
        "look-alike=1",
        "--test-slides",
        "two.svs",
        "--patch-size",
        "256",
        "--workers",
        "0",
        *extra,
    ]


def test_build_json_then_validate_and_preview(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ds"
    assert main(_build(inputs, out, "--json")) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert captured.err == ""  # no progress bar with --json
    assert data["ok"] is True
    assert data["images"] == 5
    assert data["splits"]["test"]["slides"] == ["two.svs"]
    assert data["splits"]["train"]["labels"] == {"look-alike": 1, "mitotic figure": 2}

    assert (
        main(
            [
                "validate",
                str(out / "test.manifest"),
                "--train",
                str(out / "train.manifest"),
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= {"ok", "lines", "errors", "warnings", "labels"}
    assert report["ok"] is True
    assert report["lines"] == 2

    # one look-alike image is too few for Rekognition to split the training set itself
    assert main(["validate", str(out / "train.manifest"), "--distribute", "--json"]) == 1
    codes = [e["code"] for e in json.loads(capsys.readouterr().out)["errors"]]
    assert codes == ["ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE"]

    for f in (out / "preview").iterdir():
        f.unlink()
    assert main(["preview", str(out), "--max-size", "200"]) == 0
    printed = capsys.readouterr().out.split()
    assert sorted(Path(p).name for p in printed) == ["one.png", "two.png"]


def test_build_text_output_and_mismatch_exit_code(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ds"
    assert main(_build(inputs, out, "--format", "jpeg")) == 0
    text = capsys.readouterr().out
    assert "train: 3 images" in text
    assert "train.manifest: ok" in text
    assert main(_build(inputs, out, "--format", "png")) == 2
    err = capsys.readouterr().err
    assert err.startswith("wsi2rek build: error: ")
    assert "--overwrite" in err
    assert main(_build(inputs, out, "--format", "png", "--overwrite", "--json")) == 0


def test_validate_reports_errors_with_exit_code_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "bad.manifest"
    manifest.write_text('{"source-ref": "x.png"}\n')
    assert main(["validate", str(manifest), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert [(e["line"], e["code"]) for e in report["errors"]] == [
        (1, "ERROR_NO_LABEL_ATTRIBUTES"),
        (0, "ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST"),
        (0, "ERROR_MANIFEST_TOO_FEW_LABELS"),
    ]
    assert main(["validate", str(manifest)]) == 1
    assert "line 1: ERROR_NO_LABEL_ATTRIBUTES" in capsys.readouterr().out


def test_validate_missing_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path / "none.manifest")]) == 2
    assert "cannot read manifest" in capsys.readouterr().err


def test_preview_of_a_non_dataset_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["preview", str(tmp_path)]) == 2
    assert "plan.json" in capsys.readouterr().err


def test_validate_a_dataset_folder_as_a_pair(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ds"
    assert main([*_build(inputs, out), "--json"]) == 0
    capsys.readouterr()
    assert main(["validate", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True
    assert set(data) == {"ok", "folder", "train", "test"}
    # put a training image into the test manifest: the pair rule fires on its line
    train_lines = (out / "train.manifest").read_text(encoding="utf-8").splitlines()
    test_text = (out / "test.manifest").read_text(encoding="utf-8")
    (out / "test.manifest").write_text(test_text + train_lines[0] + "\n", encoding="utf-8")
    n = len(test_text.splitlines()) + 1
    assert main(["validate", str(out)]) == 1
    text = capsys.readouterr().out
    assert f"line {n}: WSI2REK_TRAIN_TEST_OVERLAP" in text
    assert "also in the training manifest (line 1)" in text


def test_validate_a_folder_without_manifests_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "has no train.manifest" in err
    assert len(err.strip().splitlines()) == 1


def test_build_whose_only_slides_are_test_slides_fails_clearly(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """limits page, Training: "Minimum number of images per label is 1." Before, the
    build said ok and wrote no train.manifest."""
    args = _build(inputs, tmp_path / "ds")
    i = args.index("--test-slides")
    args[i + 1] = "one.svs,two.svs"
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "no training patch" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "ds" / "train.manifest").exists()
