"""Every annotation kind, odd rows and every schema version, on databases the tests build."""

from __future__ import annotations

import hashlib
import sqlite3
import warnings
from pathlib import Path

import pytest

from wsi2rek.annotations import Annotation, AnnotationKind, SkippedAnnotation, SlideRunnerDB
from wsi2rek.errors import AnnotationError, SkippedAnnotationWarning
from wsi2rek.geometry import Box, Point
from wsi2rek.testing import (
    area,
    circle,
    make_sliderunner_db,
    polygon,
    sliderunner_connection,
    special_spot,
    spot,
)

CLASSES = {1: "look-alike", 2: "mitotic figure"}
OPTIONAL_COLUMNS = {
    "Annotations": {"deleted", "guid", "lastModified", "description"},
    "Classes": {"color"},
    "Annotations_coordinates": {"coordinateZ"},
    "Annotations_label": {"exact_id"},
    "Slides": {"uuid", "exactImageID"},
}


def columns(path: Path, table: str) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    finally:
        conn.close()


def load(path: Path, **kwargs: object) -> list[Annotation]:
    with SlideRunnerDB(path) as db:
        return db.annotations(**kwargs)  # type: ignore[arg-type]


def every_kind() -> list[Annotation]:
    return [
        spot(1, 100, 200, 2),
        area(1, (50, 60), (10, 20), 1),  # corners in the "wrong" order
        polygon(2, [(0, 0), (40, 0), (40, 30), (0, 30)], 2),
        special_spot(2, 7, 8),
        circle(2, 500, 500, 20, 1),
    ]


@pytest.mark.parametrize("version", [0, 1, 2, 3])
def test_every_kind_round_trips_through_every_version(tmp_path: Path, version: int) -> None:
    path = make_sliderunner_db(
        tmp_path / "db.sqlite",
        ["a.svs", "b.svs"],
        every_kind(),
        classes=CLASSES,
        schema_version=version,
    )
    with SlideRunnerDB(path) as db:
        assert db.schema_version == version
        loaded = db.annotations()
    assert [a.kind for a in loaded] == [
        AnnotationKind.SPOT,
        AnnotationKind.AREA,
        AnnotationKind.POLYGON,
        AnnotationKind.SPECIAL_SPOT,
        AnnotationKind.CIRCLE,
    ]
    assert [a.uid for a in loaded] == [1, 2, 3, 4, 5]
    assert [a.class_id for a in loaded] == [2, 1, 2, None, 1]
    assert loaded[0].points == (Point(100, 200),)
    assert loaded[1].box() == Box(10, 20, 50, 60)
    assert loaded[2].box() == Box(0, 0, 40, 30)
    assert loaded[2].points[2] == Point(40, 30)
    assert loaded[3].box(10) == Box(-3, -2, 17, 18)
    assert loaded[4].box() == Box(480, 480, 520, 520)
    assert loaded[0].votes == {1: 2}
    assert loaded[3].votes == {}


def test_version_0_lacks_the_optional_columns(tmp_path: Path) -> None:
    path = make_sliderunner_db(
        tmp_path / "v0.sqlite", ["a.svs"], [spot(1, 1, 1)], classes=CLASSES, schema_version=0
    )
    for table, optional in OPTIONAL_COLUMNS.items():
        assert not columns(path, table) & optional, table
    with SlideRunnerDB(path) as db:
        assert not db.has_column("Annotations", "deleted")
        (anno,) = db.annotations(include_deleted=True)
    assert anno.deleted is False
    assert anno.description is None


def test_version_3_has_sliderunners_columns_and_triggers(tmp_path: Path) -> None:
    path = make_sliderunner_db(tmp_path / "v3.sqlite", ["a.svs"], [spot(1, 1, 1)], classes=CLASSES)
    for table, optional in OPTIONAL_COLUMNS.items():
        assert optional <= columns(path, table), table
    conn = sqlite3.connect(path)
    try:
        triggers = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
        }
        guid, color = conn.execute(
            "SELECT a.guid, c.color FROM Annotations a, Classes c WHERE c.uid = 1"
        ).fetchone()
        # A plain connection cannot write: the triggers call unregistered functions.
        with pytest.raises(sqlite3.OperationalError, match="no such function"):
            conn.execute("INSERT INTO Classes (name) VALUES ('new')")
    finally:
        conn.close()
    assert {
        "updateAnnotation_ins",
        "setRandomcolor",
        "updateAnnotation_fromCoordsINSERT",
    } <= triggers
    assert len(triggers) == 8
    assert len(str(guid)) == 36
    assert str(color).startswith("#")
    with sliderunner_connection(path) as conn:
        conn.execute("INSERT INTO Classes (name) VALUES ('new')")
    with SlideRunnerDB(path) as db:
        assert db.classes()[3] == "new"


def test_factory_output_is_reproducible(tmp_path: Path) -> None:
    a = make_sliderunner_db(
        tmp_path / "a.sqlite", ["s.svs", "t.svs"], every_kind(), classes=CLASSES
    )
    b = make_sliderunner_db(
        tmp_path / "b.sqlite", ["s.svs", "t.svs"], every_kind(), classes=CLASSES
    )
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.sqlite", "b.sqlite"]  # no temp left


def test_polygon_points_follow_order_idx_not_row_order(tmp_path: Path) -> None:
    square = [(0, 0), (10, 0), (10, 10), (0, 10), (5, 15)]
    path = make_sliderunner_db(
        tmp_path / "p.sqlite", ["a.svs"], [polygon(1, square)], classes=CLASSES
    )
    with sliderunner_connection(path) as conn:
        # Reverse the stored order: orderIdx 5, 4, ... for rows inserted first.
        conn.execute("UPDATE Annotations_coordinates SET orderIdx = 6 - orderIdx")
    (anno,) = load(path)
    assert anno.points == tuple(Point(x, y) for x, y in reversed(square))


def test_polygon_with_null_order_idx_follows_coordinate_uid(tmp_path: Path) -> None:
    square = [(0, 0), (10, 0), (10, 10), (0, 10)]
    path = make_sliderunner_db(
        tmp_path / "p.sqlite", ["a.svs"], [polygon(1, square)], classes=CLASSES
    )
    with sliderunner_connection(path) as conn:
        conn.execute("UPDATE Annotations_coordinates SET orderIdx = NULL")
    (anno,) = load(path)
    assert anno.points == tuple(Point(x, y) for x, y in square)


def test_image_and_unknown_and_degenerate_annotations_are_skipped_with_one_warning(
    tmp_path: Path,
) -> None:
    path = make_sliderunner_db(
        tmp_path / "odd.sqlite",
        ["a.svs"],
        [
            spot(1, 5, 5, uid=1),
            polygon(1, [(0, 0), (1, 0), (1, 1)], uid=2),
            area(1, (0, 0), (3, 3), uid=3),
        ],
        classes=CLASSES,
    )
    with sliderunner_connection(path) as conn:
        # SlideRunner's insertNewImageAnnotation: type 6, one NULL coordinate row, a vote.
        conn.execute("INSERT INTO Annotations (uid, slide, agreedClass, type) VALUES (10, 1, 0, 6)")
        conn.execute(
            "INSERT INTO Annotations_coordinates (coordinateX, coordinateY, slide, annoId, "
            "orderIdx) VALUES (NULL, NULL, 1, 10, 1)"
        )
        conn.execute("INSERT INTO Annotations_label (person, class, annoId) VALUES (1, 2, 10)")
        conn.execute("INSERT INTO Annotations (uid, slide, agreedClass, type) VALUES (11, 1, 1, 9)")
        conn.execute("INSERT INTO Annotations (uid, slide, agreedClass, type) VALUES (12, 1, 1, 1)")
        conn.execute("DELETE FROM Annotations_coordinates WHERE annoId = 2 AND orderIdx = 3")
        conn.execute("DELETE FROM Annotations_coordinates WHERE annoId = 3 AND orderIdx = 2")
    with SlideRunnerDB(path) as db:
        with pytest.warns(SkippedAnnotationWarning) as record:
            read = db.read_annotations()
        loaded, skipped = read.annotations, read.skipped
    assert len(record) == 1
    message = str(record[0].message)
    assert "skipped 5 of 6 annotations" in message
    assert "1 image annotations (uids 10)" in message
    assert "2 with too few points (uids 2, 3)" in message
    assert [a.uid for a in loaded] == [1]
    assert {s.uid: s.type for s in skipped} == {2: 3, 3: 2, 10: 6, 11: 9, 12: 1}
    by_uid = {s.uid: s for s in skipped}
    assert by_uid[10] == SkippedAnnotation(10, 1, 6, "image annotation (type 6)")
    assert by_uid[11].reason == "unknown annotation type 9"
    assert by_uid[12].reason == "spot without coordinates"
    assert by_uid[2].reason == "polygon with 2 point(s), needs at least 3"


def test_skips_belong_to_their_call_and_a_clean_call_does_not_warn(tmp_path: Path) -> None:
    path = make_sliderunner_db(tmp_path / "odd.sqlite", ["a.svs"], [spot(1, 5, 5)], classes=CLASSES)
    with sliderunner_connection(path) as conn:
        conn.execute("INSERT INTO Annotations (uid, slide, agreedClass, type) VALUES (10, 1, 0, 6)")
    with SlideRunnerDB(path) as db:
        with pytest.warns(SkippedAnnotationWarning):
            first = db.read_annotations()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            clean = db.read_annotations(kinds=[AnnotationKind.SPOT])
    assert [s.uid for s in first.skipped] == [10]
    assert len(clean) == 1
    assert clean.skipped == ()
    assert [s.uid for s in first.skipped] == [10]  # a later call does not change it


def test_deleted_annotations_are_excluded_by_default(tmp_path: Path) -> None:
    path = make_sliderunner_db(
        tmp_path / "d.sqlite",
        ["a.svs"],
        [spot(1, 1, 1), spot(1, 2, 2, deleted=True), area(1, (0, 0), (5, 5), deleted=True)],
        classes=CLASSES,
    )
    assert [a.uid for a in load(path)] == [1]
    everything = load(path, include_deleted=True)
    assert [(a.uid, a.deleted) for a in everything] == [(1, False), (2, True), (3, True)]


def test_null_deleted_counts_as_not_deleted(tmp_path: Path) -> None:
    path = make_sliderunner_db(tmp_path / "d.sqlite", ["a.svs"], [spot(1, 1, 1)], classes=CLASSES)
    with sliderunner_connection(path) as conn:
        conn.execute("UPDATE Annotations SET deleted = NULL")
    assert len(load(path)) == 1


def test_label_zero_or_null_is_none_and_votes_keep_disagreement(tmp_path: Path) -> None:
    anno = Annotation(
        uid=0,
        slide=1,
        kind=AnnotationKind.SPOT,
        class_id=None,
        points=(Point(1, 2),),
        votes={1: 1, 2: 2},
    )
    path = make_sliderunner_db(
        tmp_path / "v.sqlite", ["a.svs"], [anno, spot(1, 3, 3, 2)], classes=CLASSES
    )
    with sliderunner_connection(path) as conn:
        conn.execute("UPDATE Annotations SET agreedClass = NULL WHERE uid = 2")
    first, second = load(path)
    assert first.class_id is None
    assert first.votes == {1: 1, 2: 2}
    assert second.class_id is None
    assert second.votes == {1: 2}


def test_a_second_vote_by_the_same_person_wins(tmp_path: Path) -> None:
    path = make_sliderunner_db(
        tmp_path / "v.sqlite", ["a.svs"], [spot(1, 3, 3, 1)], classes=CLASSES
    )
    with sliderunner_connection(path) as conn:
        conn.execute("INSERT INTO Annotations_label (person, class, annoId) VALUES (1, 2, 1)")
    (anno,) = load(path)
    assert anno.votes == {1: 2}


def test_kinds_and_labels_filters(tmp_path: Path) -> None:
    path = make_sliderunner_db(
        tmp_path / "k.sqlite", ["a.svs", "b.svs"], every_kind(), classes=CLASSES
    )
    assert [a.uid for a in load(path, kinds=[AnnotationKind.SPOT, AnnotationKind.CIRCLE])] == [1, 5]
    assert [a.uid for a in load(path, labels=[2])] == [1, 3]
    assert [a.uid for a in load(path, labels=[None])] == [4]
    assert [a.uid for a in load(path, slide="b.svs", labels=[1, 2])] == [3, 5]


def test_description_is_read_when_the_column_exists(tmp_path: Path) -> None:
    anno = Annotation(
        uid=0,
        slide=1,
        kind=AnnotationKind.SPOT,
        class_id=1,
        points=(Point(1, 2),),
        description="check again",
    )
    path = make_sliderunner_db(tmp_path / "t.sqlite", ["a.svs"], [anno], classes=CLASSES)
    (loaded,) = load(path)
    assert loaded.description == "check again"


def test_columns_in_any_order_and_case(tmp_path: Path) -> None:
    path = tmp_path / "shuffled.sqlite"
    conn = sqlite3.connect(path)
    try:
        conn.executescript(
            """
            CREATE TABLE Slides (height INTEGER, FILENAME TEXT, uid INTEGER PRIMARY KEY);
            CREATE TABLE Classes (name TEXT, uid INTEGER PRIMARY KEY);
            CREATE TABLE Persons (name TEXT, uid INTEGER PRIMARY KEY);
            CREATE TABLE annotations (agreedClass INTEGER, Type INTEGER, deleted INTEGER,
                                      slide INTEGER, uid INTEGER PRIMARY KEY);
            CREATE TABLE Annotations_coordinates (orderIdx INTEGER, annoId INTEGER,
                coordinateY INTEGER, coordinateX INTEGER, uid INTEGER PRIMARY KEY);
            CREATE TABLE Annotations_label (class INTEGER, annoId INTEGER, person INTEGER,
                                            uid INTEGER PRIMARY KEY);
            INSERT INTO Slides VALUES (300, 'x.svs', 4);
            INSERT INTO Classes VALUES ('tumour', 3);
            INSERT INTO Persons VALUES ('pat', 9);
            INSERT INTO annotations VALUES (3, 2, 0, 4, 7);
            INSERT INTO Annotations_coordinates VALUES (2, 7, 40, 30, 1);
            INSERT INTO Annotations_coordinates VALUES (1, 7, 20, 10, 2);
            INSERT INTO Annotations_label VALUES (3, 7, 9, 1);
            """
        )
    finally:
        conn.close()
    with SlideRunnerDB(path) as db:
        (slide,) = db.slides()
        (anno,) = db.annotations("X.SVS")
        assert db.persons() == {9: "pat"}
    assert (slide.uid, slide.filename, slide.height, slide.width, slide.directory) == (
        4,
        "x.svs",
        300,
        None,
        None,
    )
    assert anno == Annotation(7, 4, AnnotationKind.AREA, 3, (Point(10, 20), Point(30, 40)))
    assert anno.votes == {9: 3}


def test_rows_without_slide_or_with_text_coordinates_are_skipped(tmp_path: Path) -> None:
    path = make_sliderunner_db(
        tmp_path / "odd.sqlite", ["a.svs"], [spot(1, 5, 5), spot(1, 6, 6)], classes=CLASSES
    )
    with sliderunner_connection(path) as conn:
        conn.execute("UPDATE Annotations SET slide = NULL WHERE uid = 1")
        conn.execute("UPDATE Annotations_coordinates SET coordinateX = 'left' WHERE annoId = 2")
    with (
        SlideRunnerDB(path) as db,
        pytest.warns(SkippedAnnotationWarning, match="1 without slide"),
    ):
        read = db.read_annotations()
    assert read.annotations == ()
    reasons = {s.uid: s.reason for s in read.skipped}
    assert reasons == {1: "no slide uid", 2: "coordinate ('left', 6) is not a finite number"}


def test_coordinates_without_order_column_follow_row_uid(tmp_path: Path) -> None:
    path = tmp_path / "noorder.sqlite"
    conn = sqlite3.connect(path)
    try:
        conn.executescript(
            """
            CREATE TABLE Slides (uid INTEGER PRIMARY KEY, filename TEXT);
            CREATE TABLE Classes (uid INTEGER PRIMARY KEY, name TEXT);
            CREATE TABLE Persons (uid INTEGER PRIMARY KEY, name TEXT);
            CREATE TABLE Annotations (uid INTEGER PRIMARY KEY, slide INTEGER, type INTEGER,
                                      agreedClass INTEGER);
            CREATE TABLE Annotations_coordinates (uid INTEGER PRIMARY KEY, annoId INTEGER,
                                                  coordinateX REAL, coordinateY REAL);
            CREATE TABLE Annotations_label (uid INTEGER PRIMARY KEY, annoId INTEGER,
                                            person INTEGER, class INTEGER);
            INSERT INTO Slides VALUES (1, 'a.svs');
            INSERT INTO Annotations VALUES (1, 1, 3, 0);
            INSERT INTO Annotations_coordinates VALUES (3, 1, 2.5, 0), (1, 1, 0, 0), (2, 1, 1, 1);
            """
        )
    finally:
        conn.close()
    (anno,) = load(path)
    assert anno.points == (Point(0, 0), Point(1, 1), Point(2.5, 0))
    assert anno.class_id is None
    assert anno.votes == {}


def test_kinds_must_be_annotation_kinds(tmp_path: Path) -> None:
    path = make_sliderunner_db(tmp_path / "k.sqlite", ["a"], [spot(1, 1, 1)], classes=CLASSES)
    assert len(load(path, kinds=[1])) == 1
    with pytest.raises(AnnotationError, match="kinds= takes annotation kinds"):
        load(path, kinds=[6])
