"""The SlideRunner package against SlideRunner itself, and the writer's promises.

SlideRunner's own data-access layer (``SlideRunner_dataAccess`` on PyPI, GPL-3) is a
test-only dependency: it is installed by ``.ci/run`` and these tests skip without it.
Its ``Database.create()`` + ``Database.open()`` define the schema we must write, and its
``Database.loadIntoMemory()`` must load what we export.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wsi2rek.annotations import SlideRunnerDB
from wsi2rek.annotations.sliderunner import TABLES, register_functions, write_sliderunner
from wsi2rek.detection import Detection
from wsi2rek.errors import DatabaseError, DetectionError
from wsi2rek.geometry import Box
from wsi2rek.testing import make_sliderunner_db, spot

HAVE_SLIDERUNNER = importlib.util.find_spec("SlideRunner_dataAccess") is not None
needs_sliderunner = pytest.mark.skipif(
    not HAVE_SLIDERUNNER,
    reason="SlideRunner_dataAccess (GPL-3, test-only) is not installed; .ci/run installs it",
)

DETS = [
    Detection("mitotic figure", 97.531, Box(100, 200, 124, 226)),
    Detection("mitotic figure", 55.0, Box(1000.5, 40, 1020.5, 60)),
    Detection("look-alike", 81.25, Box(300, 300, 350, 340)),
]


@pytest.fixture(autouse=True)
def _keep_pillow_limit() -> Iterator[None]:
    """Put back PIL.Image.MAX_IMAGE_PIXELS, which SlideRunner_dataAccess sets on import.

    Its ``slide`` module assigns 933,120,000 process-wide; without this, the Pillow-limit
    tests that later run in the same worker process see SlideRunner's value, not Pillow's.
    """
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    yield
    Image.MAX_IMAGE_PIXELS = limit


def _sliderunner_database() -> Any:
    # Imported by name: optional, untyped, and absent from a plain dev install.
    return importlib.import_module("SlideRunner_dataAccess.database").Database()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # SlideRunner prints "Successfully migrated DB to version N" on open().
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def _layout(path: Path) -> dict[str, Any]:
    """Columns (name, type, notnull, default, pk), triggers and version of a database."""
    con = sqlite3.connect(path)
    try:
        tables = {
            table: [
                # lastModified's default is the creation time in SlideRunner.
                (r[1], r[2], r[3], None if r[1] == "lastModified" else r[4], r[5])
                for r in con.execute(f"PRAGMA table_info(`{table}`)")
            ]
            for table in TABLES
        }
        triggers = sorted(
            name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
        )
        version = con.execute("PRAGMA user_version").fetchone()[0]
    finally:
        con.close()
    return {"tables": tables, "triggers": triggers, "version": version}


@needs_sliderunner
def test_the_schema_we_write_is_the_one_sliderunner_creates(tmp_path: Path) -> None:
    """SlideRunner_dataAccess 1.0.9: Database.create() then Database.open() (which migrates
    to version 3 and appends Slides.EXACTUSER) is the reference layout."""
    theirs = tmp_path / "sliderunner.sqlite"
    with _quiet():
        db = _sliderunner_database()
        db.create(str(theirs))
        db.db.commit()
        db.db.close()
        reopened = _sliderunner_database().open(str(theirs))
        reopened.db.commit()
        reopened.db.close()
    ours = write_sliderunner([], tmp_path / "ours.sqlite", slide_name="a.svs")
    factory = make_sliderunner_db(tmp_path / "factory.sqlite", ["a.svs"], [], classes={1: "a"})
    assert _layout(ours) == _layout(theirs)
    assert _layout(factory) == _layout(theirs)


@needs_sliderunner
def test_sliderunner_loads_exported_detections_into_their_own_classes(tmp_path: Path) -> None:
    """SlideRunner_dataAccess Database.open() + loadIntoMemory() reads our export."""
    out = write_sliderunner(DETS, tmp_path / "det.sqlite", slide_name="cells.svs")
    copy = tmp_path / "opened-by-sliderunner.sqlite"
    shutil.copyfile(out, copy)  # SlideRunner's open() may migrate: give it a copy
    with _quiet():
        db = _sliderunner_database().open(str(copy))
        slide_uid = db.findSlideWithFilename("cells.svs", "")
        db.loadIntoMemory(slide_uid)
    classes = {uid: name for name, uid, _color, _clickable in db.getAllClasses()}
    annos = sorted(db.annotations.values(), key=lambda a: a.uid)
    assert [(a.x1, a.y1) for a in annos] == [(112, 213), (1010, 50), (325, 320)]
    assert [classes[a.agreedClass] for a in annos] == [
        "mitotic figure (detected)",
        "mitotic figure (detected)",
        "look-alike (detected)",
    ]
    assert [a.text for a in annos] == ["confidence=97.53", "confidence=55.00", "confidence=81.25"]
    assert all(len(a.labels) == 1 for a in annos)


def _truth_db(path: Path) -> Path:
    # 36 ground-truth mitotic figures, as in the report.
    return make_sliderunner_db(
        path,
        ["slide.svs"],
        [spot(1, 100 + 10 * i, 100, 1) for i in range(36)],
        classes={1: "mitotic figure"},
    )


def test_detections_never_land_in_the_ground_truth_class(tmp_path: Path) -> None:
    truth = _truth_db(tmp_path / "truth.sqlite")
    dets = [Detection("mitotic figure", 90.0, Box(i, i, i + 20, i + 20)) for i in range(12)]
    out = write_sliderunner(dets, tmp_path / "out.sqlite", slide_name="slide.svs", copy_from=truth)
    with SlideRunnerDB(out) as db:
        names = db.classes()
        counts: dict[str, int] = {}
        for a in db.annotations():
            counts[names[a.class_id or 0]] = counts.get(names[a.class_id or 0], 0) + 1
    assert counts == {"mitotic figure": 36, "mitotic figure (detected)": 12}


def test_class_name_puts_every_detection_into_one_named_class(tmp_path: Path) -> None:
    out = write_sliderunner(
        DETS, tmp_path / "out.sqlite", slide_name="s.svs", class_name="model v2"
    )
    with SlideRunnerDB(out) as db:
        assert list(db.classes().values()) == ["model v2"]
        assert len(db.annotations()) == 3
    with pytest.raises(DetectionError, match="class name"):
        write_sliderunner(DETS, tmp_path / "x.sqlite", slide_name="s.svs", class_name=" ")


def test_copy_reads_annotations_still_in_the_write_ahead_log(tmp_path: Path) -> None:
    """SQLite keeps committed changes in ``-wal`` until a checkpoint; a file copy of the main
    file alone loses them, the backup API reads through the log."""
    source = _truth_db(tmp_path / "truth.sqlite")
    writer = sqlite3.connect(source)
    register_functions(writer)
    try:
        assert writer.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute(
            "INSERT INTO Annotations (uid, slide, type, agreedClass) VALUES (500, 1, 1, 1)"
        )
        writer.execute(
            "INSERT INTO Annotations_coordinates (coordinateX, coordinateY, slide, annoId, "
            "orderIdx) VALUES (7, 7, 1, 500, 1)"
        )
        writer.commit()
        assert Path(f"{source}-wal").stat().st_size > 0  # the new row lives in the log
        out = write_sliderunner(
            DETS[:1], tmp_path / "out.sqlite", slide_name="slide.svs", copy_from=source
        )
    finally:
        writer.close()
    with SlideRunnerDB(out) as db:
        uids = [a.uid for a in db.annotations()]
    assert 500 in uids
    assert len(uids) == 36 + 1 + 1
    assert not Path(f"{out}-wal").exists()


def test_the_writer_matches_slides_with_the_readers_rule(tmp_path: Path) -> None:
    first = write_sliderunner(DETS[:1], tmp_path / "a.sqlite", slide_name="Folder/Slide.SVS")
    second = write_sliderunner(
        DETS[1:], tmp_path / "b.sqlite", slide_name="C:\\scans\\slide.svs", copy_from=first
    )
    with SlideRunnerDB(second) as db:
        assert [s.filename for s in db.slides()] == ["Slide.SVS"]
        assert len(db.annotations(slide="slide.svs")) == 3


def test_an_ambiguous_slide_name_is_refused(tmp_path: Path) -> None:
    from wsi2rek.annotations import SlideRecord

    twice = make_sliderunner_db(
        tmp_path / "twice.sqlite",
        [SlideRecord(1, "s.svs", "one"), SlideRecord(2, "s.svs", "two")],
        [],
        classes={1: "a"},
    )
    with pytest.raises(DatabaseError, match="2 slides are named"):
        write_sliderunner(DETS, tmp_path / "o.sqlite", slide_name="s.svs", copy_from=twice)
    out = write_sliderunner(DETS, tmp_path / "o.sqlite", slide_name="two/s.svs", copy_from=twice)
    with SlideRunnerDB(out) as db:
        assert len(db.annotations(slide=2)) == 3
