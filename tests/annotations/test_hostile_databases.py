"""Damaged values and unreadable states of SlideRunner databases: one clear error or a
counted skip, never a traceback, and advice that fits what is actually wrong."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from wsi2rek.annotations import SlideRunnerDB
from wsi2rek.annotations.sliderunner import register_functions
from wsi2rek.errors import DatabaseError, SkippedAnnotationWarning
from wsi2rek.testing import make_sliderunner_db, sliderunner_connection, spot


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return make_sliderunner_db(
        tmp_path / "cells.sqlite",
        ["a.svs"],
        [spot(1, 10, 10, 1, uid=1), spot(1, 20, 20, 1, uid=2), spot(1, 30, 30, 1, uid=3)],
        classes={1: "mitotic figure"},
    )


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("UPDATE Annotations SET agreedClass = 'two' WHERE uid = 2", "agreedClass 'two'"),
        ("UPDATE Annotations SET agreedClass = 9e999 WHERE uid = 2", "agreedClass inf"),
        ("UPDATE Annotations SET slide = 'first' WHERE uid = 2", "slide 'first'"),
        ("UPDATE Annotations_label SET class = 'x' WHERE annoId = 2", "class 'x'"),
    ],
)
def test_text_in_integer_columns_of_annotations_is_a_counted_skip(
    db: Path, sql: str, reason: str
) -> None:
    with sliderunner_connection(db) as conn:
        conn.execute(sql)
    with (
        SlideRunnerDB(db) as reader,
        pytest.warns(SkippedAnnotationWarning, match="1 with bad"),
    ):
        read = reader.read_annotations()
    annotations = read.annotations
    (skipped,) = read.skipped
    assert [a.uid for a in annotations] == [1, 3]
    assert skipped.uid == 2
    assert reason in skipped.reason


@pytest.mark.parametrize("value", ["'wide'", "9e999"])
def test_text_in_slide_dimensions_is_one_clear_error(db: Path, value: str) -> None:
    with sliderunner_connection(db) as conn:
        conn.execute(f"UPDATE Slides SET width = {value}")
    with SlideRunnerDB(db) as reader, pytest.raises(DatabaseError) as info:
        reader.slides()
    message = str(info.value)
    assert "'Slides'" in message
    assert "width" in message
    assert "whole number" in message
    assert "\n" not in message


def test_the_cli_reports_bad_values_in_one_line(db: Path) -> None:
    with sliderunner_connection(db) as conn:
        conn.execute("UPDATE Slides SET width = 'wide'")
        conn.execute("UPDATE Annotations SET agreedClass = 'two' WHERE uid = 2")
    proc = subprocess.run(
        [sys.executable, "-m", "wsi2rek", "info", str(db)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "width" in lines[0]


@pytest.fixture
def exclusive_lock(db: Path) -> Iterator[Path]:
    holder = sqlite3.connect(db)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("DELETE FROM Annotations WHERE uid = 3")
    try:
        yield db
    finally:
        holder.rollback()
        holder.close()


def test_a_locked_database_says_it_is_locked(exclusive_lock: Path) -> None:
    with pytest.raises(DatabaseError) as info:
        SlideRunnerDB(exclusive_lock)
    message = str(info.value)
    assert "locked by another program" in message
    assert "pass a SlideRunner" not in message


def test_a_leftover_journal_of_a_killed_writer_is_named(db: Path) -> None:
    # A writer killed mid-transaction leaves a "hot" rollback journal (SQLite's docs,
    # "Atomic Commit In SQLite", section 4.2); only a writer may roll it back.
    with sliderunner_connection(db) as conn:
        conn.executemany(
            "INSERT INTO Annotations (slide, type, agreedClass, description) VALUES (1, 1, 1, ?)",
            [("x" * 1000,)] * 2000,
        )
    before = db.read_bytes()
    script = (
        "import os, sqlite3, sys\n"
        "from wsi2rek.annotations.sliderunner import register_functions\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "register_functions(c)\n"
        "c.execute('PRAGMA cache_size = 1')\n"
        "c.execute('BEGIN')\n"
        "c.execute('UPDATE Annotations SET description = hex(randomblob(600))')\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(db)], check=True, timeout=120)
    journal = Path(f"{db}-journal")
    assert journal.stat().st_size > 0
    assert db.read_bytes() != before  # the killed writer left changed pages behind
    with pytest.raises(DatabaseError) as info:
        SlideRunnerDB(db)
    message = str(info.value)
    assert "leftover rollback journal" in message
    assert journal.name in message
    assert "pass a SlideRunner" not in message
    assert journal.exists()  # never deleted or rolled back by us


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody can create files in, root included (``chattr +i`` on ext4)."""
    folder = tmp_path / "media"
    folder.mkdir()
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("chattr is not available to make a read-only folder")
    yield folder
    subprocess.run([chattr, "-i", str(folder)], check=False)


def _freeze(folder: Path) -> None:
    proc = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"cannot make {folder} immutable here: {proc.stderr.decode().strip()}")


def _wal_database(folder: Path, *, pending: bool) -> Path:
    source = make_sliderunner_db(
        folder.parent / "src.sqlite", ["a.svs"], [spot(1, 5, 5, 1)], classes={1: "a"}
    )
    writer = sqlite3.connect(source)
    register_functions(writer)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("INSERT INTO Classes (uid, name) VALUES (2, 'b')")
    writer.commit()
    if not pending:
        writer.close()  # the last connection checkpoints and removes -wal
    shutil.copyfile(source, folder / "cells.sqlite")
    if pending:
        shutil.copyfile(f"{source}-wal", folder / "cells.sqlite-wal")
        writer.close()
    return folder / "cells.sqlite"


def test_a_wal_database_on_read_only_media_is_read(read_only_folder: Path) -> None:
    path = _wal_database(read_only_folder, pending=False)
    _freeze(read_only_folder)
    with SlideRunnerDB(path) as reader:
        assert reader.classes() == {1: "a", 2: "b"}
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert len(reader.annotations()) == 1


def test_a_wal_database_with_pending_changes_on_read_only_media_says_what_to_do(
    read_only_folder: Path,
) -> None:
    path = _wal_database(read_only_folder, pending=True)
    _freeze(read_only_folder)
    with pytest.raises(DatabaseError) as info:
        SlideRunnerDB(path)
    message = str(info.value)
    assert "WAL-mode database" in message
    assert "cells.sqlite-wal" in message
    assert "writable folder" in message
    assert "pass a SlideRunner" not in message
