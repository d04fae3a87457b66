"""``summarise_annotations``: what ``wsi2rek info`` prints, as a library value.

The expected counts come from outside wsi2rek: the real TUPAC databases' figures in
``shared/data/sliderunner/README.md`` (written from SlideRunner's files, checked here
against SQL over the file itself), and the QuPath export of ``test_qupath.py``, built
after QuPath's own writer (``QuPathTypeAdapters.java``, ``ROITypeAdapters.java``).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.annotations.test_qupath import EXPORT
from wsi2rek.annotations import (
    Annotation,
    AnnotationKind,
    AnnotationSource,
    QuPathGeoJSON,
    SlideRunnerDB,
    count_annotations,
    summarise_annotations,
)
from wsi2rek.errors import SkippedAnnotationWarning
from wsi2rek.geometry import Point
from wsi2rek.testing import make_sliderunner_db, spot


def _copy(sliderunner_dir: Path, name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copyfile(sliderunner_dir / name, target)
    return target


def test_tupac_al_counts_match_the_readme_and_sql(sliderunner_dir: Path, tmp_path: Path) -> None:
    """README: schema 3, 73 slides, 12,482 spots (1,999 Mitose + 10,483 Hard negative),
    3 persons, 1,379 annotations whose votes disagree with agreedClass."""
    path = _copy(sliderunner_dir, "TUPAC_AL.sqlite", tmp_path)
    # closing(): sqlite3's own context manager commits but does not close (3.13 warns)
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as sql:
        per_class = dict(
            sql.execute("SELECT agreedClass, COUNT(*) FROM Annotations GROUP BY agreedClass")
        )
    before = path.read_bytes()
    with SlideRunnerDB(path) as db:
        summary = summarise_annotations(db)
    assert path.read_bytes() == before  # only read
    assert (summary.kind, summary.schema_version, len(summary.slide_names)) == (
        "sliderunner",
        3,
        73,
    )
    assert summary.classes == {1: "Mitose", 2: "Hard negative"}
    assert summary.persons == {1: "Christof", 2: "Robert", 3: "Consensus"}
    counts = summary.annotations
    assert (counts.total, counts.deleted, counts.skipped) == (12_482, 0, 0)
    assert counts.by_class == {"1": per_class[1], "2": per_class[2], "unknown": 0}
    assert counts.by_class == {"1": 1_999, "2": 10_483, "unknown": 0}
    assert counts.by_kind["SPOT"] == 12_482
    assert summary.vote_disagreements == 1_379


def test_tupac_slide_names_are_sorted_and_complete(sliderunner_dir: Path, tmp_path: Path) -> None:
    """README: TUPAC.sqlite is schema 2, 656 slides, 1,552 Mitosis spots."""
    path = _copy(sliderunner_dir, "TUPAC.sqlite", tmp_path)
    with SlideRunnerDB(path) as db:
        summary = summarise_annotations(db)
    assert summary.schema_version == 2
    assert len(summary.slide_names) == 656
    assert list(summary.slide_names) == sorted(summary.slide_names)
    assert summary.annotations.by_class == {"1": 1_552, "unknown": 0}


def test_a_qupath_export_is_summarised_with_its_skipped_line(tmp_path: Path) -> None:
    """Three Points in one MultiPoint, a rectangle, a derived-class cell, a string-class
    detection and a LineString: six annotations, one skipped (with its warning)."""
    path = tmp_path / "slide-1.svs.geojson"
    path.write_text(json.dumps(EXPORT), encoding="utf-8")
    with (
        QuPathGeoJSON(path) as source,
        pytest.warns(SkippedAnnotationWarning, match="1 lines"),
    ):
        summary = summarise_annotations(source)
    assert summary.kind == "qupath"
    assert summary.slide_names == ("slide-1.svs",)
    assert (summary.schema_version, summary.persons, summary.vote_disagreements) == (None,) * 3
    assert summary.classes == {1: "Mitotic figure", 2: "Stroma", 3: "Tumor", 4: "Tumor: Positive"}
    counts = summary.annotations
    assert (counts.total, counts.deleted, counts.skipped) == (6, 0, 1)
    assert counts.by_class == {"1": 3, "2": 1, "3": 1, "4": 1, "unknown": 0}
    assert {k: n for k, n in counts.by_kind.items() if n} == {"SPOT": 4, "AREA": 1, "POLYGON": 1}
    data = summary.to_dict()
    assert list(data) == ["kind", "path", "slides", "slide_names", "classes", "annotations"]


def test_deleted_unknown_and_unlisted_classes_are_counted_apart() -> None:
    """Every known class listed (0 too), an id not in the classes under itself, None as
    ``unknown``, deleted annotations only in ``deleted``."""
    annotations = [
        spot(1, 10, 10, 1),
        spot(1, 20, 20, 7),
        spot(1, 30, 30, None),
        spot(1, 40, 40, 1, deleted=True),
        Annotation(
            uid=9, slide=1, kind=AnnotationKind.AREA, class_id=1, points=(Point(0, 0), Point(5, 5))
        ),
    ]
    counts = count_annotations(annotations, {1: "a", 2: "b"}, skipped=4)
    assert (counts.total, counts.deleted, counts.skipped) == (4, 1, 4)
    assert counts.by_class == {"1": 2, "2": 0, "7": 1, "unknown": 1}
    assert counts.by_kind == {
        "SPOT": 3,
        "AREA": 1,
        "POLYGON": 0,
        "SPECIAL_SPOT": 0,
        "CIRCLE": 0,
    }


def test_to_dict_is_the_json_of_info_for_a_database(tmp_path: Path) -> None:
    """The keys and their order are ``wsi2rek info --json``'s (a schema users parse)."""
    db_path = make_sliderunner_db(
        tmp_path / "c.sqlite",
        ["b.svs", "a.svs"],
        [spot(1, 10, 10, 2), spot(2, 20, 20, 1, person=2)],
        classes={1: "look-alike", 2: "mitotic figure"},
        persons={1: "A", 2: "B"},
    )
    with SlideRunnerDB(db_path) as db:
        data = summarise_annotations(db).to_dict()
    assert list(data) == [
        "kind",
        "path",
        "schema_version",
        "slides",
        "slide_names",
        "classes",
        "persons",
        "annotations",
        "vote_disagreements",
    ]
    assert data["slide_names"] == ["a.svs", "b.svs"]
    assert data["persons"] == {"1": "A", "2": "B"}
    assert list(data["annotations"]) == ["total", "deleted", "by_kind", "by_class", "skipped"]
    assert json.loads(json.dumps(data)) == data


class _Wrapped:
    """An AnnotationSource of a user's own: delegates to a QuPathGeoJSON, is not one."""

    def __init__(self, inner: QuPathGeoJSON) -> None:
        self.inner = inner
        self.path = inner.path
        self.slides = inner.slides
        self.slide = inner.slide
        self.classes = inner.classes
        self.annotations = inner.annotations
        self.read_annotations = inner.read_annotations
        self.close = inner.close


def test_another_source_is_named_by_its_class(tmp_path: Path) -> None:
    """A custom AnnotationSource is not reported as QuPath GeoJSON or SlideRunner."""
    path = tmp_path / "s.svs.geojson"
    path.write_text(json.dumps([EXPORT["features"][0]]), encoding="utf-8")
    with QuPathGeoJSON(path) as inner:
        source = _Wrapped(inner)
        assert isinstance(source, AnnotationSource)
        summary = summarise_annotations(source)
    assert summary.kind == "_Wrapped"
    assert summary.annotations.total == 3
    assert "schema_version" not in summary.to_dict()
