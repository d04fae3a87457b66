"""Exporters: QuPath GeoJSON, CSV, SlideRunner (new and copied databases), and reading back."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from wsi2rek.annotations import AnnotationKind, SlideRunnerDB
from wsi2rek.detection import Detection
from wsi2rek.errors import DatabaseError, DetectionError
from wsi2rek.geometry import Box, Point
from wsi2rek.inference import (
    CSV_COLUMNS,
    label_color,
    read_detections,
    to_geojson,
    write_csv,
    write_geojson,
    write_sliderunner,
)

DETS = [
    Detection("mitotic figure", 97.531, Box(100, 200, 124, 226)),
    Detection("mitotic figure", 55.0, Box(1000.5, 40, 1020.5, 60)),
    Detection("look-alike", 81.25, Box(300, 300, 350, 340)),
]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_geojson_is_a_qupath_feature_collection(tmp_path: Path) -> None:
    path = write_geojson(DETS, tmp_path / "out.geojson")
    data = json.loads(path.read_text())
    assert data["type"] == "FeatureCollection"
    assert len(data["features"]) == 3
    first = data["features"][0]
    assert first["type"] == "Feature"
    assert first["geometry"]["type"] == "Polygon"
    ring = first["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1]
    assert ring == [[100, 200], [124, 200], [124, 226], [100, 226], [100, 200]]
    props = first["properties"]
    assert props["objectType"] == "detection"
    assert props["classification"]["name"] == "mitotic figure"
    assert props["classification"]["color"] == list(label_color("mitotic figure"))
    assert all(0 <= c <= 255 for c in props["classification"]["color"])
    assert props["measurements"] == {"confidence": 97.531}
    ids = {f["id"] for f in data["features"]}
    assert len(ids) == 3


def test_geojson_colours_can_be_chosen() -> None:
    data = to_geojson(DETS[:1], colors={"mitotic figure": (255, 0, 0)})
    assert data["features"][0]["properties"]["classification"]["color"] == [255, 0, 0]


def test_geojson_round_trip(tmp_path: Path) -> None:
    path = write_geojson(DETS, tmp_path / "out.geojson")
    assert read_detections(path) == DETS


def test_geojson_from_qupath_with_list_measurements_and_points(tmp_path: Path) -> None:
    path = tmp_path / "qupath.json"
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [50, 60]},
            "properties": {
                "classification": {"name": "cell"},
                "measurements": [{"name": "Confidence", "value": 42.0}],
            },
        }
    ]
    path.write_text(json.dumps(features))
    (only,) = read_detections(path, spot_radius_px=10)
    assert only == Detection("cell", 42.0, Box(40, 50, 60, 70))


def test_csv_has_the_documented_columns_and_round_trips(tmp_path: Path) -> None:
    path = write_csv(DETS, tmp_path / "out.csv")
    lines = path.read_text().splitlines()
    assert lines[0].split(",") == list(CSV_COLUMNS)
    assert (
        lines[1] == "mitotic figure,97.5310,100.00,200.00,124.00,226.00,24.00,26.00,112.00,213.00"
    )
    assert read_detections(path) == DETS


def test_csv_with_xywh_columns_is_read(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("label,left,top,width,height\ncell,1,2,3,4\n")
    assert read_detections(path) == [Detection("cell", 100.0, Box(1, 2, 4, 6))]


def test_bad_csv_and_unknown_formats_are_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("label,x\ncell,1\n")
    with pytest.raises(DetectionError, match="expected CSV columns"):
        read_detections(bad)
    other = tmp_path / "x.txt"
    other.write_text("")
    with pytest.raises(DetectionError, match="unknown detections format"):
        read_detections(other)
    with pytest.raises(FileNotFoundError):
        read_detections(tmp_path / "missing.csv")


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path: Path) -> None:
    write_csv(DETS, tmp_path / "a.csv")
    write_geojson(DETS, tmp_path / "a.geojson")
    write_sliderunner(DETS, tmp_path / "a.sqlite", slide_name="s.svs")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.geojson", "a.sqlite"]


def test_new_sliderunner_database_reads_back(tmp_path: Path) -> None:
    path = write_sliderunner(
        DETS, tmp_path / "det.sqlite", slide_name="cells.svs", slide_size=(2000, 1500)
    )
    with SlideRunnerDB(path) as db:
        assert db.schema_version == 3
        (slide,) = db.slides()
        assert (slide.filename, slide.width, slide.height) == ("cells.svs", 2000, 1500)
        classes = db.classes()
        assert sorted(classes.values()) == ["look-alike (detected)", "mitotic figure (detected)"]
        anns = db.annotations(slide="cells.svs")
        assert [a.kind for a in anns] == [AnnotationKind.SPOT] * 3
        assert [classes[a.class_id] for a in anns if a.class_id is not None] == [
            "mitotic figure (detected)",
            "mitotic figure (detected)",
            "look-alike (detected)",
        ]
        assert anns[0].points == (Point(112, 213),)
        assert anns[0].description == "confidence=97.53"
        assert all(len(a.votes) == 1 for a in anns)
        assert "wsi2rek" in db.persons().values()
    back = read_detections(path)
    assert [d.label for d in back] == [d.label for d in DETS]
    assert [d.confidence for d in back] == [97.53, 55.0, 81.25]
    assert back[0].box.center == Point(112, 213)
    # SlideRunner's triggers ran (they need the registered SQL functions).
    con = sqlite3.connect(path)
    try:
        guids = [row[0] for row in con.execute("SELECT guid FROM Annotations")]
        stamps = [row[0] for row in con.execute("SELECT lastModified FROM Annotations")]
    finally:
        con.close()
    assert all(g for g in guids)
    assert all(s > 0 for s in stamps)


def test_existing_output_is_not_replaced_without_overwrite(tmp_path: Path) -> None:
    path = write_sliderunner(DETS, tmp_path / "det.sqlite", slide_name="s.svs")
    with pytest.raises(DetectionError, match="already exists"):
        write_sliderunner(DETS, path, slide_name="s.svs")
    write_sliderunner(DETS[:1], path, slide_name="s.svs", overwrite=True)
    assert len(read_detections(path)) == 1


def test_copy_of_a_real_database_gets_the_spots_and_the_original_is_untouched(
    sliderunner_dir: Path, tmp_path: Path
) -> None:
    original = tmp_path / "TUPAC_AL.sqlite"
    shutil.copyfile(sliderunner_dir / "TUPAC_AL.sqlite", original)
    before = _sha(original)
    with SlideRunnerDB(original) as db:
        slide = db.slides()[0]
        count_before = len(db.annotations(slide=slide.uid))
        total_before = len(db.annotations())
    out = write_sliderunner(
        DETS,
        tmp_path / "with_detections.sqlite",
        slide_name=slide.filename,
        copy_from=original,
        classes={"mitotic figure": 1},
    )
    assert _sha(original) == before
    with SlideRunnerDB(out) as db:
        classes = db.classes()
        anns = db.annotations(slide=slide.uid)
        assert len(anns) == count_before + 3
        assert len(db.annotations()) == total_before + 3
        new = anns[-3:]
        assert [a.class_id for a in new][:2] == [1, 1]  # mapped onto the existing "Mitose"
        assert classes[new[2].class_id or 0] == "look-alike (detected)"  # a new class
        assert len(db.slides()) == 73


def test_copy_adds_a_missing_slide(tmp_path: Path) -> None:
    first = write_sliderunner(DETS[:1], tmp_path / "a.sqlite", slide_name="a.svs")
    second = write_sliderunner(DETS[1:], tmp_path / "b.sqlite", slide_name="b.svs", copy_from=first)
    with SlideRunnerDB(second) as db:
        assert [s.filename for s in db.slides()] == ["a.svs", "b.svs"]
    assert len(read_detections(second, slide="b.svs")) == 2
    with pytest.raises(DetectionError, match="2 slides"):
        read_detections(second)


def test_writing_into_the_source_database_itself_is_refused(tmp_path: Path) -> None:
    src = write_sliderunner(DETS, tmp_path / "a.sqlite", slide_name="a.svs")
    before = _sha(src)
    with pytest.raises(DetectionError, match="refusing"):
        write_sliderunner(DETS, src, slide_name="a.svs", copy_from=src, overwrite=True)
    assert _sha(src) == before


def test_unknown_class_id_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    src = write_sliderunner(DETS, tmp_path / "a.sqlite", slide_name="a.svs")
    with pytest.raises(DatabaseError, match="class id 42"):
        write_sliderunner(
            DETS,
            tmp_path / "b.sqlite",
            slide_name="a.svs",
            copy_from=src,
            classes={"mitotic figure": 42},
        )
    assert not (tmp_path / "b.sqlite").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.sqlite"]


def test_copy_from_a_file_that_is_not_a_database_is_reported(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.sqlite"
    bogus.write_text("not sqlite at all" * 100)
    with pytest.raises(DatabaseError, match="not an SQLite database"):
        write_sliderunner(DETS, tmp_path / "out.sqlite", slide_name="a.svs", copy_from=bogus)
    assert not (tmp_path / "out.sqlite").exists()
