"""SlideRunnerDB on the three real databases: counts agree with direct SQL, files unchanged."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from wsi2rek.annotations import AnnotationKind, SlideRunnerDB
from wsi2rek.errors import SlideLookupError

REAL = ("TUPAC.sqlite", "TUPAC_AL.sqlite", "TUPAC_stitched.sqlite")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sql(path: Path, query: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


@pytest.fixture(params=REAL)
def real_copy(request: pytest.FixtureRequest, sliderunner_dir: Path, tmp_path: Path) -> Path:
    """A copy of one real database in tmp_path (the originals stay untouched)."""
    target = tmp_path / str(request.param)
    shutil.copyfile(sliderunner_dir / str(request.param), target)
    return target


@pytest.fixture
def al(sliderunner_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "TUPAC_AL.sqlite"
    shutil.copyfile(sliderunner_dir / "TUPAC_AL.sqlite", target)
    return target


def test_schema_version_matches_pragma(real_copy: Path) -> None:
    (expected,) = sql(real_copy, "PRAGMA user_version")[0]
    with SlideRunnerDB(real_copy) as db:
        assert db.schema_version == expected
        assert expected in (2, 3)


def test_counts_match_direct_sql(real_copy: Path) -> None:
    with SlideRunnerDB(real_copy) as db:
        read = db.read_annotations()
        slides = db.slides()
        classes = db.classes()
    (n_annos,) = sql(real_copy, "SELECT COUNT(*) FROM Annotations WHERE deleted = 0")[0]
    annotations = read.annotations
    assert len(annotations) == n_annos
    assert read.skipped == ()
    assert len(slides) == sql(real_copy, "SELECT COUNT(*) FROM Slides")[0][0]
    assert classes == dict(sql(real_copy, "SELECT uid, name FROM Classes"))
    by_class = Counter(a.class_id for a in annotations)
    expected = dict(
        sql(
            real_copy,
            "SELECT agreedClass, COUNT(*) FROM Annotations WHERE deleted = 0 GROUP BY agreedClass",
        )
    )
    assert by_class == expected
    # one vote per (annotation, person); label rows of missing annotations do not count
    (pairs,) = sql(
        real_copy,
        "SELECT COUNT(*) FROM (SELECT DISTINCT l.annoId, l.person FROM Annotations_label l "
        "JOIN Annotations a ON a.uid = l.annoId WHERE a.deleted = 0 AND l.class IS NOT NULL)",
    )[0]
    assert sum(len(a.votes) for a in annotations) == pairs
    assert all(a.kind is AnnotationKind.SPOT and len(a.points) == 1 for a in annotations)


def test_points_match_coordinate_rows(real_copy: Path) -> None:
    with SlideRunnerDB(real_copy) as db:
        loaded = {a.uid: (a.slide, a.points[0].x, a.points[0].y) for a in db.annotations()}
    rows = sql(
        real_copy,
        "SELECT a.uid, a.slide, c.coordinateX, c.coordinateY FROM Annotations a "
        "JOIN Annotations_coordinates c ON c.annoId = a.uid",
    )
    assert {uid: (s, float(x), float(y)) for uid, s, x, y in rows} == loaded


def test_tupac_al_numbers_from_the_readme(al: Path) -> None:
    with SlideRunnerDB(al) as db:
        annotations = db.annotations()
        assert db.classes() == {1: "Mitose", 2: "Hard negative"}
        assert db.persons() == {1: "Christof", 2: "Robert", 3: "Consensus"}
        assert len(db.slides()) == 73
    assert len(annotations) == 12_482
    assert Counter(a.class_id for a in annotations) == {1: 1_999, 2: 10_483}
    assert sql(al, "SELECT COUNT(*) FROM Annotations_label")[0][0] == 31_284
    disagreements = [a for a in annotations if any(v != a.class_id for v in a.votes.values())]
    assert len(disagreements) == 1_379


def test_tupac_slides_without_dimensions_read_as_none(
    sliderunner_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "TUPAC.sqlite"
    shutil.copyfile(sliderunner_dir / "TUPAC.sqlite", path)
    with SlideRunnerDB(path) as db:
        slides = db.slides()
    assert len(slides) == 656
    assert sum(s.dimensions is None for s in slides) == 653
    assert all(s.width is None and s.height is None for s in slides if s.dimensions is None)


def test_files_stay_byte_for_byte_unchanged(real_copy: Path) -> None:
    before = sha256(real_copy)
    listing_before = sorted(p.name for p in real_copy.parent.iterdir())
    with SlideRunnerDB(real_copy) as db:
        db.annotations(include_deleted=True)
        db.slides()
        db.classes()
        db.persons()
        db.annotations(db.slides()[0].uid)
    assert sha256(real_copy) == before
    assert sorted(p.name for p in real_copy.parent.iterdir()) == listing_before  # no -journal


def test_originals_match_the_published_checksums(sliderunner_dir: Path) -> None:
    # Reading the shared originals in place must never change them either.
    for name in ("TUPAC.sqlite", "TUPAC_AL.sqlite"):
        with SlideRunnerDB(sliderunner_dir / name) as db:
            db.annotations()
    assert sha256(sliderunner_dir / "TUPAC.sqlite") == (
        "c3cbe5b94d30cd76ad158e3a3974d9604cf4ebecb49535fcdf6f611477fc043b"
    )
    assert sha256(sliderunner_dir / "TUPAC_AL.sqlite") == (
        "cd8e500196a475a866017609e450a5f98cfed5c4b24035fde74a003cfe6b5184"
    )


@pytest.mark.parametrize(
    "name", ["with space.sqlite", "what?.sqlite", "hash#1.sqlite", "50%.sqlite"]
)
def test_uri_special_characters_in_the_path(al: Path, name: str) -> None:
    target = al.with_name(name)
    shutil.copyfile(al, target)
    before = sha256(target)
    with SlideRunnerDB(target) as db:
        assert len(db.annotations()) == 12_482
    assert sha256(target) == before


def test_filter_by_slide_name_uid_and_path(al: Path) -> None:
    with SlideRunnerDB(al) as db:
        by_name = db.annotations("01_stitched1.tif")
        by_upper = db.annotations("01_STITCHED1.TIF")
        by_path = db.annotations("/some/where/else/01_stitched1.tif")
        by_uid = db.annotations(1)
        by_record = db.annotations(db.slide(1))
    (expected,) = sql(al, "SELECT COUNT(*) FROM Annotations WHERE slide = 1 AND deleted = 0")[0]
    assert len(by_name) == expected > 0
    assert by_name == by_upper == by_path == by_uid == by_record
    assert {a.slide for a in by_name} == {1}
    assert all(a.votes for a in by_name)


def test_ambiguous_base_name_lists_candidates_and_folders_disambiguate(
    sliderunner_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "TUPAC.sqlite"
    shutil.copyfile(sliderunner_dir / "TUPAC.sqlite", path)
    with SlideRunnerDB(path) as db:
        same_name = [s for s in db.slides() if s.filename == "25.tif"]
        assert len(same_name) > 1
        with pytest.raises(SlideLookupError, match=r"slides are named '25.tif'") as info:
            db.slide("25.tif")
        assert len(info.value.candidates) == len(same_name)
        target = same_name[0]
        assert db.slide(f"D:/data/{target.directory}/25.tif") == target
        annotations = db.annotations(f"{target.directory}\\25.tif")
    assert {a.slide for a in annotations} <= {target.uid}


def test_unknown_name_suggests_near_names(al: Path) -> None:
    with SlideRunnerDB(al) as db, pytest.raises(SlideLookupError) as info:
        db.annotations("01_stiched1.tif")
    assert "01_stitched1.tif" in info.value.candidates
    assert "did you mean" in str(info.value)
    assert isinstance(info.value, LookupError)
    assert info.value.path == al


def test_unknown_uid_is_a_lookup_error(al: Path) -> None:
    with SlideRunnerDB(al) as db, pytest.raises(SlideLookupError, match=r"no slide with uid 999"):
        db.slide(999)
