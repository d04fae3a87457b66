"""``wsi2rek info``: slides and SlideRunner databases, JSON and table, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wsi2rek.annotations import Annotation, AnnotationKind
from wsi2rek.cli import main
from wsi2rek.geometry import Point
from wsi2rek.testing import (
    area,
    make_image,
    make_slide,
    make_sliderunner_db,
    polygon,
    sliderunner_connection,
    special_spot,
    spot,
)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(["info", *argv, "--json"]) == 0
    out = capsys.readouterr().out
    data: dict[str, Any] = json.loads(out)
    return data


@pytest.fixture
def mixed_db(tmp_path: Path) -> Path:
    """Two slides, every kind, one deleted spot, one disagreement, one image annotation."""
    # agreed class 2, but the second annotator voted for class 1
    disagreeing = Annotation(
        uid=0,
        slide=1,
        kind=AnnotationKind.SPOT,
        class_id=2,
        points=(Point(30, 30),),
        votes={1: 2, 2: 1},
    )
    path = make_sliderunner_db(
        tmp_path / "mixed.sqlite",
        ["a.svs", "b.svs"],
        [
            spot(1, 10, 10, 2),
            disagreeing,
            spot(1, 50, 50, 1, deleted=True),
            area(2, (0, 0), (20, 20), 1),
            polygon(2, [(0, 0), (9, 0), (9, 9)], None, person=None),
            special_spot(2, 5, 5),
        ],
        classes={1: "look-alike", 2: "mitotic figure", 3: "unused"},
        persons={1: "ann", 2: "bob"},
    )
    with sliderunner_connection(path) as conn:
        conn.execute("INSERT INTO Annotations (uid, slide, agreedClass, type) VALUES (99, 1, 0, 6)")
    return path


def test_database_json(capsys: pytest.CaptureFixture[str], mixed_db: Path) -> None:
    before = hashlib.sha256(mixed_db.read_bytes()).hexdigest()
    info = run_json(capsys, str(mixed_db))
    assert hashlib.sha256(mixed_db.read_bytes()).hexdigest() == before
    assert info == {
        "kind": "sliderunner",
        "path": str(mixed_db),
        "schema_version": 3,
        "slides": 2,
        "slide_names": ["a.svs", "b.svs"],
        "classes": {"1": "look-alike", "2": "mitotic figure", "3": "unused"},
        "persons": {"1": "ann", "2": "bob"},
        "annotations": {
            "total": 5,
            "deleted": 1,
            "skipped": 1,
            "by_kind": {"SPOT": 2, "AREA": 1, "POLYGON": 1, "SPECIAL_SPOT": 1, "CIRCLE": 0},
            "by_class": {"1": 1, "2": 2, "3": 0, "unknown": 2},
        },
        "vote_disagreements": 1,
    }


def test_skipped_annotations_are_reported_on_stderr(
    capsys: pytest.CaptureFixture[str], mixed_db: Path
) -> None:
    assert main(["info", str(mixed_db)]) == 0
    captured = capsys.readouterr()
    assert "warning:" in captured.err
    assert "1 image annotations (uids 99)" in captured.err
    assert "Traceback" not in captured.err


def test_database_table(capsys: pytest.CaptureFixture[str], mixed_db: Path) -> None:
    assert main(["info", str(mixed_db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{mixed_db}  (SlideRunner database)"
    rows = dict(re.split(r"\s{2,}", line.strip()) for line in lines[1:] if "  " in line.strip())
    assert rows["annotations"] == "5 (not counted: 1 deleted, 1 skipped)"
    assert rows["1 look-alike"] == "1"
    assert rows["2 mitotic figure"] == "2"
    assert rows["unknown"] == "2"
    assert rows["SPOT"] == "2"
    assert rows["vote disagreements"] == "1"
    # the names --test-slides and --slide need
    assert rows["slide files"] == "a.svs, b.svs"
    assert "CIRCLE" not in rows  # kinds without annotations are left out of the table
    # values line up in one column
    value_columns = set()
    for line in lines[1:]:
        parts = re.split(r"\s{2,}", line.strip())
        if len(parts) == 2:
            value_columns.add(line.rindex(parts[1]))
    assert len(value_columns) == 1


def test_real_tupac_al(
    capsys: pytest.CaptureFixture[str], sliderunner_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "TUPAC_AL.sqlite"
    shutil.copyfile(sliderunner_dir / "TUPAC_AL.sqlite", path)
    info = run_json(capsys, str(path))
    assert info["schema_version"] == 3
    assert info["slides"] == 73
    assert info["annotations"]["total"] == 12_482
    assert info["annotations"]["by_class"] == {"1": 1_999, "2": 10_483, "unknown": 0}
    assert info["annotations"]["by_kind"]["SPOT"] == 12_482
    assert info["vote_disagreements"] == 1_379


def test_version_0_database(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = make_sliderunner_db(
        tmp_path / "old.db",
        ["x.tif"],
        [spot(1, 1, 1), spot(1, 2, 2, 2)],
        classes={1: "a", 2: "b"},
        schema_version=0,
    )
    info = run_json(capsys, str(path))
    assert info["schema_version"] == 0
    assert info["annotations"]["total"] == 2
    assert info["annotations"]["deleted"] == 0


def test_svs_slide_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = make_slide(tmp_path / "tiny.svs", 1200, 900, mpp=0.25, kind="svs", tile=256)
    info = run_json(capsys, str(path))
    assert info["kind"] == "slide"
    assert info["backend"] == "tifffile"  # chosen automatically for an exact JPEG SVS
    assert info["vendor"] == "aperio"
    assert info["dimensions"] == [1200, 900]
    assert info["level_count"] == len(info["level_dimensions"]) >= 1
    assert info["level_dimensions"][0] == [1200, 900]
    assert info["mpp"] == pytest.approx([0.25, 0.25])


def test_plain_image_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = make_image(tmp_path / "field.png", 320, 200)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "(slide)" in out
    assert "320 x 200 px" in out
    assert "pillow" in out


def test_missing_file_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["info", str(tmp_path / "gone.sqlite")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("wsi2rek info: error: SlideRunner database not found:")
    assert "gone.sqlite" in err


def test_database_without_tables_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "blank.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert "has no table 'Slides'" in err
    assert err.count("\n") == 1


def test_subprocess_bad_input_has_no_traceback(tmp_path: Path) -> None:
    junk = tmp_path / "junk.svs"
    junk.write_bytes(b"\x00not a slide\x00" * 10)
    env = {k: v for k, v in os.environ.items() if k != "WSI2REK_DEBUG"}
    result = subprocess.run(
        [sys.executable, "-m", "wsi2rek", "info", str(junk)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("wsi2rek info: error:")
    assert "junk.svs" in result.stderr
    assert "Traceback" not in result.stderr


def test_backend_option_forces_the_reader(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = make_slide(tmp_path / "tiny.svs", 1200, 900, mpp=0.25, kind="svs", tile=256)
    forced = run_json(capsys, str(path), "--backend", "openslide")
    auto = run_json(capsys, str(path))
    assert forced["backend"] == "openslide"
    assert {k: v for k, v in forced.items() if k != "backend"} == {
        k: v for k, v in auto.items() if k != "backend"
    }


def test_long_slide_lists_are_shortened_in_the_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    names = [f"s{i:02d}.svs" for i in range(25)]
    path = make_sliderunner_db(
        tmp_path / "many.sqlite", names, [spot(1, 10, 10, 1)], classes={1: "mitotic figure"}
    )
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "s00.svs, s01.svs" in out
    assert "s19.svs, ... and 5 more (--json lists all)" in out
    assert run_json(capsys, str(path))["slide_names"] == names
