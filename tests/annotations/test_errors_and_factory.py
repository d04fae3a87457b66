"""Bad inputs to the reader and the factory, lifecycle, pickling, and a round-trip property."""

from __future__ import annotations

import pickle
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hypothesis_profiles import examples
from wsi2rek.annotations import Annotation, AnnotationKind, SlideRecord, SlideRunnerDB
from wsi2rek.errors import (
    DatabaseError,
    DatabaseNotFoundError,
    SchemaError,
    SlideLookupError,
    Wsi2RekError,
)
from wsi2rek.geometry import Point
from wsi2rek.testing import make_sliderunner_db, polygon, spot

CLASSES = {1: "a", 2: "b"}


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return make_sliderunner_db(
        tmp_path / "small.sqlite",
        ["a.svs", "b.svs"],
        [spot(1, 1, 1), spot(2, 2, 2, 2)],
        classes=CLASSES,
    )


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sqlite"
    with pytest.raises(DatabaseNotFoundError, match="not found") as info:
        SlideRunnerDB(missing)
    assert isinstance(info.value, FileNotFoundError)
    assert info.value.path == missing
    assert str(missing) in str(info.value)


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_text("these are not the annotations you are looking for\n")
    with pytest.raises(SchemaError, match="is not an SQLite database") as info:
        SlideRunnerDB(path)
    assert isinstance(info.value, ValueError)
    assert info.value.path == path


def test_a_folder_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="is not a file"):
        SlideRunnerDB(tmp_path)


def test_empty_file_reports_the_missing_table(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    path.touch()
    with pytest.raises(SchemaError, match="has no table") as info:
        SlideRunnerDB(path)
    assert info.value.table is not None
    assert path.stat().st_size == 0


def test_missing_table_is_named(small: Path) -> None:
    conn = sqlite3.connect(small)
    conn.execute("DROP TABLE Annotations_label")
    conn.close()
    with pytest.raises(SchemaError, match="no table 'Annotations_label'") as info:
        SlideRunnerDB(small)
    assert info.value.table == "Annotations_label"
    assert info.value.column is None
    assert "Annotations_coordinates" in str(info.value)  # lists what it found


def test_missing_required_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nocol.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE Slides (uid INTEGER PRIMARY KEY, filename TEXT);
        CREATE TABLE Classes (uid INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE Persons (uid INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE Annotations (uid INTEGER PRIMARY KEY, slide INTEGER, agreedClass INTEGER);
        """
    )
    conn.close()
    with pytest.raises(SchemaError, match="no column 'type'") as info:
        SlideRunnerDB(path)
    assert (info.value.table, info.value.column) == ("Annotations", "type")
    assert info.value.path == path


def test_context_manager_closes_and_closed_use_is_an_error(small: Path) -> None:
    with SlideRunnerDB(small) as db:
        assert "schema_version=3" in repr(db)
        assert str(small) in repr(db)
    assert "closed" in repr(db)
    db.close()  # idempotent
    with pytest.raises(DatabaseError, match="is closed"):
        db.classes()


def test_pickles_by_path_and_reopens(small: Path) -> None:
    with SlideRunnerDB(small) as db:
        clone = pickle.loads(pickle.dumps(db))
    with clone:
        assert clone.path == small
        assert [a.uid for a in clone.annotations()] == [1, 2]


def test_slide_lookup_rejects_other_types(small: Path) -> None:
    with SlideRunnerDB(small) as db:
        with pytest.raises(SlideLookupError, match="by its uid"):
            db.slide(True)  # a bool is not a uid
        with pytest.raises(SlideLookupError, match="empty slide name"):
            db.slide("")
        assert db.slide(Path("/x/B.SVS")) == SlideRecord(2, "b.svs")


def test_reads_a_database_other_tools_write_to_while_open(small: Path) -> None:
    with SlideRunnerDB(small) as db:
        assert len(db.annotations()) == 2
        conn = sqlite3.connect(small)
        conn.create_function("pycurrent_time", 0, lambda: 0.0)
        conn.execute("UPDATE Annotations SET deleted = 1 WHERE uid = 1")
        conn.commit()
        conn.close()
        assert [a.uid for a in db.annotations()] == [2]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"schema_version": 4}, "schema_version must be one of"),
        ({"annotations": [spot(3, 1, 1)]}, "no slide with uid 3"),
        ({"annotations": [spot(1, 1, 1, 5)]}, "label 5 is not a class"),
        ({"annotations": [spot(1, 1, 1, person=7)], "persons": {1: "p"}}, "unknown person 7"),
        ({"annotations": [spot(1, 1, 1, uid=4), spot(1, 2, 2, uid=4)]}, "uids must be unique"),
        ({"classes": {0: "none"}}, "class uid 0"),
        (
            {"annotations": [spot(1, 1, 1, deleted=True)], "schema_version": 0},
            "schema version 0 has no 'deleted'",
        ),
    ],
)
def test_factory_rejects_inconsistent_input(
    tmp_path: Path, kwargs: dict[str, object], match: str
) -> None:
    args: dict[str, object] = {"annotations": [spot(1, 1, 1)], "classes": CLASSES}
    args.update(kwargs)
    target = tmp_path / "bad.sqlite"
    with pytest.raises(DatabaseError, match=match) as info:
        make_sliderunner_db(target, ["a.svs"], **args)  # type: ignore[arg-type]
    assert isinstance(info.value, Wsi2RekError)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_factory_replaces_an_existing_file_and_keeps_given_uids(tmp_path: Path) -> None:
    target = tmp_path / "db.sqlite"
    target.write_text("old")
    records = [SlideRecord(7, "x.svs", "/data", 100, 80)]
    make_sliderunner_db(
        target,
        records,
        [spot(7, 1, 1, uid=40), spot(7, 2, 2)],
        classes=CLASSES,
        persons={1: "ann", 2: "bob"},
    )
    with SlideRunnerDB(target) as db:
        assert db.slides() == tuple(records)
        assert [a.uid for a in db.annotations()] == [40, 41]
        assert db.persons() == {1: "ann", 2: "bob"}


coordinate = st.integers(min_value=0, max_value=200_000)
point = st.tuples(coordinate, coordinate)


@st.composite
def annotation_lists(draw: st.DrawFn) -> list[Annotation]:
    result = []
    for _ in range(draw(st.integers(0, 6))):
        label = draw(st.sampled_from([None, 1, 2]))
        slide = draw(st.sampled_from([1, 2]))
        if draw(st.booleans()):
            x, y = draw(point)
            result.append(spot(slide, x, y, label, person=draw(st.sampled_from([1, 2]))))
        else:
            result.append(polygon(slide, draw(st.lists(point, min_size=3, max_size=8)), label))
    return result


@examples(25)
@given(annos=annotation_lists(), version=st.sampled_from([0, 3]))
def test_factory_and_reader_round_trip(annos: list[Annotation], version: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = make_sliderunner_db(
            Path(folder) / "db.sqlite",
            ["a.svs", "b.svs"],
            annos,
            classes=CLASSES,
            schema_version=version,
        )
        with SlideRunnerDB(path) as db:
            loaded = db.annotations()
            per_slide = [len(db.annotations(uid)) for uid in (1, 2)]
    assert len(loaded) == len(annos)
    assert per_slide == [sum(a.slide == s for a in annos) for s in (1, 2)]
    for want, got in zip(annos, loaded, strict=True):
        assert (got.kind, got.slide, got.class_id, got.points) == (
            want.kind,
            want.slide,
            want.class_id,
            want.points,
        )
        assert got.votes == want.votes
    assert all(isinstance(p, Point) for a in loaded for p in a.points)
    assert {a.kind for a in loaded} <= {AnnotationKind.SPOT, AnnotationKind.POLYGON}
