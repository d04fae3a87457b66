"""``wsi2rek detect-slide`` and ``wsi2rek evaluate-detections`` end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from wsi2rek.cli import main
from wsi2rek.inference import read_detections
from wsi2rek.testing import make_image


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_pipeline_gives_f1_one(
    cell_slide: Path,
    cell_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    border_cells: tuple[tuple[int, int], ...],
) -> None:
    out = tmp_path / "detections.geojson"
    code, stdout, _ = _run(
        capsys,
        "detect-slide", str(cell_slide), "--demo-detector",
        "--tile-size", "512", "--overlap", "64", "--all-tiles",
        "--out", str(out), "--json",
    )  # fmt: skip
    assert code == 0
    summary = json.loads(stdout)
    assert summary["detections"] == len(border_cells)
    assert summary["tiles"]["total"] == 20
    assert summary["out"] == str(out)
    assert len(read_detections(out)) == len(border_cells)

    code, stdout, _ = _run(
        capsys,
        "evaluate-detections", str(out), "--db", str(cell_db), "--slide", "cells.svs",
        "--label", "mitotic figure=2", "--json",
    )  # fmt: skip
    assert code == 0
    result = json.loads(stdout)
    assert result["f1"] == 1.0
    assert (result["tp"], result["fp"], result["fn"]) == (len(border_cells), 0, 0)
    assert result["labels"]["mitotic figure"]["best_threshold"] is not None
    assert result["slide"] == "cells.svs"


@pytest.mark.parametrize("suffix", [".csv", ".sqlite"])
def test_other_output_formats_evaluate_the_same(
    suffix: str,
    cell_slide: Path,
    cell_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / f"detections{suffix}"
    code, stdout, _ = _run(
        capsys,
        "detect-slide", str(cell_slide), "--demo-detector", "--tile-size", "512",
        "--overlap", "64", "--all-tiles", "--out", str(out),
    )  # fmt: skip
    assert code == 0
    assert "13 detections" in stdout
    assert "20 total, 20 run" in stdout
    code, stdout, _ = _run(
        capsys,
        "evaluate-detections", str(out), "--db", str(cell_db), "--slide", "cells.svs",
        "--label", "mitotic figure=2",
    )  # fmt: skip
    assert code == 0
    assert "mitotic figure" in stdout
    assert "1.000" in stdout


def test_the_old_tile_flag_still_sets_the_tile_size(
    cell_slide: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--tile`` (0.1's name) is an alias of ``--tile-size``: 512 px tiles, 20 of them."""
    code, stdout, _ = _run(
        capsys,
        "detect-slide", str(cell_slide), "--demo-detector", "--tile", "512", "--overlap", "64",
        "--all-tiles", "--out", str(tmp_path / "d.csv"), "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(stdout)["tiles"]["total"] == 20


def test_cache_and_rate_limit_options(
    cell_slide: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache.jsonl"
    args = [
        "detect-slide", str(cell_slide), "--demo-detector", "--tile-size", "512", "--overlap", "64",
        "--all-tiles", "--tps", "200", "--workers", "2", "--cache", str(cache),
        "--out", str(tmp_path / "d.csv"), "--json",
    ]  # fmt: skip
    assert _run(capsys, *args)[0] == 0
    code, stdout, _ = _run(capsys, *args)
    assert code == 0
    summary = json.loads(stdout)
    assert summary["tiles"]["cached"] == 20
    assert summary["tiles"]["run"] == 0
    assert summary["max_tps"] == 200.0


def test_detector_from_a_module(
    cell_slide: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "my_detectors.py").write_text(
        "from wsi2rek.inference import BlobDetector\n"
        "class Cells(BlobDetector):\n"
        "    pass\n"
        "def nothing(image):\n"
        "    return []\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    base = ["detect-slide", str(cell_slide), "--tile-size", "512", "--overlap", "64", "--all-tiles"]
    code, stdout, _ = _run(
        capsys,
        *base,
        "--detector",
        "my_detectors:Cells",
        "--out",
        str(tmp_path / "a.csv"),
        "--json",
    )
    assert code == 0
    assert json.loads(stdout)["detections"] == 13
    code, stdout, _ = _run(
        capsys,
        *base,
        "--detector",
        "my_detectors:nothing",
        "--out",
        str(tmp_path / "b.csv"),
        "--json",
    )
    assert code == 0
    assert json.loads(stdout)["detections"] == 0
    code, _, err = _run(
        capsys, *base, "--detector", "my_detectors:missing", "--out", str(tmp_path / "c.csv")
    )
    assert code == 2
    assert "has no attribute 'missing'" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--out", "x.txt"], "unknown format"),
        (["--out", "x.csv", "--overlap", "600", "--tile-size", "512"], "overlap"),
        (["--out", "x.csv", "--roi", "1,2,3"], "--roi"),
        (["--out", "x.csv", "--copy-db", "a.sqlite"], "--copy-db"),
    ],
)
def test_bad_arguments_give_one_line_errors(
    cell_slide: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    # Every case fails before anything is written, so no output file appears.
    code, _, err = _run(capsys, "detect-slide", str(cell_slide), "--demo-detector", *extra)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_a_malformed_model_arn_is_refused_before_any_call(
    cell_slide: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(
        capsys, "detect-slide", str(cell_slide), "--model", "not-an-arn", "--out", "x.csv"
    )
    assert code == 2
    assert "--model" in err
    assert "expected a Custom Labels model ARN" in err


def test_evaluate_with_an_unknown_slide_fails_cleanly_in_a_subprocess(
    cell_db: Path, tmp_path: Path
) -> None:
    dets = tmp_path / "d.csv"
    dets.write_text("label,confidence,left,top,right,bottom\n")
    proc = subprocess.run(
        [
            sys.executable, "-m", "wsi2rek", "evaluate-detections", str(dets),
            "--db", str(cell_db), "--slide", "nope.svs", "--label", "mitotic figure=2",
        ],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "nope.svs" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def _detections_csv(path: Path, labels: list[str], cells: tuple[tuple[int, int], ...]) -> Path:
    from wsi2rek.detection import Detection
    from wsi2rek.geometry import Box
    from wsi2rek.inference import write_csv

    dets = [
        Detection(labels[i % len(labels)], 90.0, Box(x - 10, y - 10, x + 10, y + 10))
        for i, (x, y) in enumerate(cells)
    ]
    return write_csv(dets, path)


def test_a_label_no_detection_carries_is_refused_naming_the_labels_present(
    cell_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    border_cells: tuple[tuple[int, int], ...],
) -> None:
    # The issue: a wrong --label printed F1 0.000 and exited 0.
    dets = _detections_csv(tmp_path / "d.csv", ["mitosis"], border_cells)
    code, stdout, stderr = _run(
        capsys,
        "evaluate-detections", str(dets), "--db", str(cell_db), "--slide", "cells.svs",
        "--label", "mitotic figure=2",
    )  # fmt: skip
    assert code == 2
    assert stdout == ""
    assert stderr.count("\n") == 1
    assert "'mitosis' (13)" in stderr
    assert "--label 'mitosis=IDS'" in stderr


def test_one_unmatched_label_among_several_is_a_warning_naming_the_labels_present(
    cell_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    border_cells: tuple[tuple[int, int], ...],
) -> None:
    dets = _detections_csv(tmp_path / "d.csv", ["mitotic figure"], border_cells)
    code, stdout, stderr = _run(
        capsys,
        "evaluate-detections", str(dets), "--db", str(cell_db), "--slide", "cells.svs",
        "--label", "mitotic figure=2", "--label", "look-alike=1",
    )  # fmt: skip
    assert code == 0
    assert "warning: no detection is labelled 'look-alike'" in stderr
    assert "'mitotic figure' (13)" in stderr
    # No look-alike in the truth and none detected: precision and recall are 0/0.
    (row,) = [line for line in stdout.splitlines() if line.startswith("look-alike")]
    assert row.split()[4:6] == ["n/a", "n/a"]


def test_no_detection_for_the_slide_gives_a_warning_and_undefined_precision(
    cell_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dets = _detections_csv(tmp_path / "d.csv", ["mitotic figure"], ())
    code, stdout, stderr = _run(
        capsys,
        "evaluate-detections", str(dets), "--db", str(cell_db), "--slide", "cells.svs",
        "--label", "mitotic figure=2", "--json",
    )  # fmt: skip
    assert code == 0
    assert "holds no detection for slide cells.svs; check --slide" in stderr
    result = json.loads(stdout)
    assert result["precision"] is None  # 0/0 is undefined, not 0
    assert result["recall"] == 0.0
    assert result["f1"] == 0.0


def test_detect_slide_preview_and_hotspot_count(
    cell_slide: Path,
    cell_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    border_cells: tuple[tuple[int, int], ...],
) -> None:
    """--preview writes the picture; the summary's hotspot count equals a direct count of
    the detection centres inside the reported field."""
    out, picture = tmp_path / "d.geojson", tmp_path / "preview.png"
    code, stdout, _ = _run(
        capsys,
        "detect-slide", str(cell_slide), "--demo-detector", "--all-tiles",
        "--tile-size", "512", "--overlap", "64", "--out", str(out), "--json",
        "--preview", str(picture), "--truth", str(cell_db), "--truth-label", "mitotic figure=2",
    )  # fmt: skip
    assert code == 0
    summary = json.loads(stdout)
    assert summary["preview"] == str(picture)
    with Image.open(picture) as image:
        assert image.width > image.height  # slide panel and density panel side by side
    left, top, right, bottom = summary["hotspot"]["box"]
    centres = [d.box.center for d in read_detections(out)]
    inside = [c for c in centres if left <= c.x < right and top <= c.y < bottom]
    assert summary["hotspot"]["count"] == len(inside) > 0
    assert summary["hotspot"]["area_mm2"] == 2.37


def test_detect_slide_without_mpp_says_why_there_is_no_hotspot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = make_image(tmp_path / "plain.png", 600, 400, cells=[(300, 200)])
    code, stdout, _ = _run(
        capsys,
        "detect-slide", str(image), "--demo-detector", "--all-tiles",
        "--out", str(tmp_path / "d.csv"),
    )  # fmt: skip
    assert code == 0
    assert "hotspot: not computed: the slide records no resolution (MPP)" in stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--truth", "t.sqlite", "--truth-label", "m=2"], "--truth needs --preview"),
        (["--preview", "p.png", "--truth", "t.sqlite"], "--truth and --truth-label go together"),
        (["--preview", "p.jpg"], "name it *.png"),
    ],
)
def test_bad_picture_arguments_fail_before_detection(
    cell_slide: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    out = tmp_path / "d.csv"
    code, _, err = _run(
        capsys, "detect-slide", str(cell_slide), "--demo-detector", "--out", str(out), *extra
    )
    assert code == 2
    assert message in err
    assert not out.exists()
