"""QuPath GeoJSON, read as QuPath 0.4-0.7 write it.

The fixtures follow QuPath's writer, ``qupath-core/src/main/java/qupath/lib/io/
QuPathTypeAdapters.java`` (``PathObjectTypeAdapter.write``: ``"type": "Feature"``, the UUID
``id`` since v0.4, ``objectType``, ``classification``, ``isLocked`` only when true,
``measurements`` as a name -> value object with NaN written as the string ``"NaN"``),
``GsonTools.java`` (``PathClassTypeAdapter.write``: ``name`` or, for derived classes,
``names``, plus ``color`` as ``[r, g, b]``; ``read`` also accepts a plain string) and
``ROITypeAdapters.java`` (a Points ROI is one ``MultiPoint``, rectangles and ellipses are
``Polygon`` rings closed by repeating the first position, lines are ``LineString``).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hypothesis_profiles import examples
from wsi2rek.annotations import (
    AnnotationKind,
    QuPathGeoJSON,
    SlideRunnerDB,
    class_name_of,
    open_annotations,
    parse_qupath_objects,
)
from wsi2rek.errors import DetectionError, SkippedAnnotationWarning, Wsi2RekError
from wsi2rek.geometry import Box, Point
from wsi2rek.inference import read_detections
from wsi2rek.testing import make_sliderunner_db, spot


def _feature(
    geometry: dict[str, Any], object_type: str, classification: Any = None, **props: Any
) -> dict[str, Any]:
    properties: dict[str, Any] = {"objectType": object_type}
    if classification is not None:
        properties["classification"] = classification
    properties.update(props)
    return {
        "type": "Feature",
        "id": "6f2b4e0a-5d7c-4b43-9a0e-2c1f7d3e8b91",
        "geometry": geometry,
        "properties": properties,
    }


MITOSIS = {"name": "Mitotic figure", "color": [255, 0, 0]}
POINTS = _feature(
    {"type": "MultiPoint", "coordinates": [[1000, 1000], [5000, 4000], [3000, 2500]]},
    "annotation",
    MITOSIS,
    isLocked=True,
)
TUMOR_RECT = _feature(
    {
        "type": "Polygon",
        "coordinates": [[[0, 0], [20000, 0], [20000, 15000], [0, 15000], [0, 0]]],
    },
    "annotation",
    {"name": "Tumor", "color": [200, 0, 0]},
)
CELL = _feature(
    {"type": "Polygon", "coordinates": [[[10, 10], [30, 12], [25, 40], [10, 10]]]},
    "cell",
    {"names": ["Tumor", "Positive"], "color": [200, 50, 50]},
    measurements={"Nucleus: Area": 31.5, "confidence": 87.5, "Eccentricity": "NaN"},
)
STRING_CLASS = _feature({"type": "Point", "coordinates": [77, 88]}, "detection", "Stroma")
LINE = _feature({"type": "LineString", "coordinates": [[0, 0], [10, 10]]}, "annotation")
EXPORT = {"type": "FeatureCollection", "features": [POINTS, TUMOR_RECT, CELL, STRING_CLASS, LINE]}


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def test_qupath_export_is_read_object_by_object() -> None:
    objects, skipped = parse_qupath_objects(EXPORT)
    assert [(o.feature, o.part, o.kind, o.class_name) for o in objects] == [
        (0, 0, AnnotationKind.SPOT, "Mitotic figure"),
        (0, 1, AnnotationKind.SPOT, "Mitotic figure"),
        (0, 2, AnnotationKind.SPOT, "Mitotic figure"),
        (1, 0, AnnotationKind.AREA, "Tumor"),
        (2, 0, AnnotationKind.POLYGON, "Tumor: Positive"),
        (3, 0, AnnotationKind.SPOT, "Stroma"),
    ]
    assert objects[1].points == (Point(5000, 4000),)
    assert objects[3].points == (Point(0, 0), Point(20000, 15000))
    assert objects[4].points == (Point(10, 10), Point(30, 12), Point(25, 40))  # unclosed
    assert objects[0].id == "6f2b4e0a-5d7c-4b43-9a0e-2c1f7d3e8b91"
    assert objects[4].measurements["confidence"] == 87.5
    assert math.isnan(objects[4].measurements["Eccentricity"])
    assert [(s.feature, s.category) for s in skipped] == [(4, "lines")]


@pytest.mark.parametrize(
    ("classification", "name"),
    [
        ({"name": "Tumor", "color": [1, 2, 3]}, "Tumor"),
        ({"names": ["Tumor", "Positive"], "color": [1, 2, 3]}, "Tumor: Positive"),
        ("Tumor: Positive", "Tumor: Positive"),
        ("Stroma", "Stroma"),
        ({}, None),  # PathClass.NULL_CLASS
        (None, None),
    ],
)
def test_classification_forms(classification: Any, name: str | None) -> None:
    assert class_name_of(classification) == name


def test_versions_before_0_4_name_the_type_differently() -> None:
    """v0.3 wrote ``object_type``; v0.2 put the Java class name in ``id``
    (QuPathTypeAdapters.parseObject, LEGACY_TYPE_IDS)."""
    v03 = {
        "type": "Feature",
        "geometry": POINTS["geometry"],
        "properties": {"object_type": "detection"},
    }
    v02 = {
        "type": "Feature",
        "id": "PathDetectionObject",
        "geometry": POINTS["geometry"],
        "properties": {},
    }
    (a, *_), _ = parse_qupath_objects([v03])
    (b, *_), _ = parse_qupath_objects(v02)
    assert (a.object_type, b.object_type, b.id) == ("detection", "detection", None)


# --- read_detections: the bugs of issue 11 ------------------------------------------------


def test_a_points_annotation_is_one_spot_per_point_not_one_box(tmp_path: Path) -> None:
    path = _write(tmp_path / "points.geojson", [_feature(POINTS["geometry"], "detection", MITOSIS)])
    found = read_detections(path, spot_radius_px=25)
    assert [d.box for d in found] == [
        Box(975, 975, 1025, 1025),
        Box(4975, 3975, 5025, 4025),
        Box(2975, 2475, 3025, 2525),
    ]
    assert {d.label for d in found} == {"Mitotic figure"}


def test_string_and_derived_classifications_are_labels(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.geojson", [STRING_CLASS, CELL])
    assert [d.label for d in read_detections(path)] == ["Stroma", "Tumor: Positive"]
    assert read_detections(path)[1].confidence == 87.5


def test_annotations_are_not_detections(tmp_path: Path) -> None:
    path = _write(tmp_path / "mixed.geojson", EXPORT)
    with pytest.warns(SkippedAnnotationWarning, match="2 annotation feature"):
        found = read_detections(path)
    assert [d.label for d in found] == ["Tumor: Positive", "Stroma"]
    assert all(d.box.width < 1000 for d in found)  # not the 20,000 px tumour outline


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"type": "FeatureCollection", "features": [', "line 1"),
        ('[{"type": "Feature", "geometry": {"type": "Point", "coordinates": [NaN, 1]}}]', "NaN"),
        ("42", "expected a GeoJSON"),
    ],
)
def test_broken_json_is_one_clear_error(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(text)
    with pytest.raises(DetectionError, match=match) as info:
        read_detections(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("confidence", [150, -1, "NaN", "Infinity"])
def test_bad_confidences_name_the_feature(tmp_path: Path, confidence: Any) -> None:
    bad = _feature(
        STRING_CLASS["geometry"], "detection", "x", measurements={"confidence": confidence}
    )
    path = _write(tmp_path / "c.geojson", [STRING_CLASS, bad])
    with pytest.raises(DetectionError, match="feature 1: confidence"):
        read_detections(path)


def test_non_objects_and_empty_geometries_are_counted(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "h.geojson",
        [STRING_CLASS, 7, "x", _feature({"type": "MultiPoint", "coordinates": []}, "detection")],
    )
    with pytest.warns(SkippedAnnotationWarning, match="3 unreadable"):
        assert len(read_detections(path)) == 1


_json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)
_geometry = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            ["Point", "MultiPoint", "Polygon", "MultiPolygon", "LineString", "Circle", 3]
        ),
        "coordinates": _json_value,
    }
)
_hostile_feature = st.one_of(
    _json_value,
    st.fixed_dictionaries(
        {
            "type": st.just("Feature"),
            "geometry": _geometry | _json_value,
            "properties": st.fixed_dictionaries(
                {},
                optional={
                    "objectType": _json_value | st.sampled_from(["annotation", "detection"]),
                    "classification": _json_value,
                    "measurements": _json_value,
                },
            ),
        }
    ),
)


@pytest.mark.slow
@examples(150, slow_generation=True)
@given(st.lists(_hostile_feature, max_size=6))
def test_hostile_features_are_read_or_counted_never_a_traceback(features: list[Any]) -> None:
    objects, skipped = parse_qupath_objects(features)
    assert len({o.feature for o in objects} | {s.feature for s in skipped}) <= len(features)
    for obj in objects:
        assert all(math.isfinite(p.x) and math.isfinite(p.y) for p in obj.points)


@pytest.mark.slow
@examples(60, function_scoped_fixtures=True)
@given(st.lists(_hostile_feature, max_size=5))
def test_read_detections_of_hostile_features_raises_only_library_errors(
    tmp_path: Path, features: list[Any]
) -> None:
    path = _write(tmp_path / "h.geojson", features)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedAnnotationWarning)
        try:
            read_detections(path)
        except Wsi2RekError as exc:
            message = str(exc)
        else:
            message = ""
    assert "\n" not in message


# --- QuPathGeoJSON as an annotation source ---------------------------------------------------


def test_a_folder_of_exports_is_one_slide_per_file(tmp_path: Path) -> None:
    (tmp_path / "a.svs").write_bytes(b"")
    _write(tmp_path / "a.geojson", EXPORT)
    _write(tmp_path / "b.tif.geojson", [STRING_CLASS])
    with open_annotations(tmp_path) as source:
        assert isinstance(source, QuPathGeoJSON)
        assert [s.filename for s in source.slides()] == ["a.svs", "b.tif"]
        assert source.classes() == {
            1: "Mitotic figure",
            2: "Stroma",
            3: "Tumor",
            4: "Tumor: Positive",
        }
        with pytest.warns(SkippedAnnotationWarning, match="1 lines"):
            annotations = source.annotations("a.svs")
        assert [a.class_id for a in annotations] == [1, 1, 1, 3, 4, 2]
        assert source.slide("b.tif").uid == 2
        assert source.slide("A").uid == 1  # the stem, when only one slide has it
        assert [a.kind for a in source.annotations(2)] == [AnnotationKind.SPOT]


def test_the_same_points_give_the_same_annotations_as_a_sliderunner_database(
    tmp_path: Path,
) -> None:
    """QuPath groups points by class in MultiPoints; SlideRunner orders by row id."""
    points = {"mitotic figure": [(10, 20), (300, 40), (55, 66)], "look-alike": [(90, 90)]}
    features = [
        _feature(
            {"type": "MultiPoint", "coordinates": [list(p) for p in pts]},
            "annotation",
            {"name": n, "color": [0, 0, 0]},
        )
        for n, pts in points.items()
    ]
    geojson = _write(tmp_path / "s.geojson", features)
    db = make_sliderunner_db(
        tmp_path / "s.sqlite",
        ["s.svs"],
        [spot(1, 300, 40, 2), spot(1, 90, 90, 1), spot(1, 10, 20, 2), spot(1, 55, 66, 2)],
        classes={1: "look-alike", 2: "mitotic figure"},
    )

    def shapes(source: QuPathGeoJSON | SlideRunnerDB) -> set[tuple[Any, ...]]:
        names = source.classes()
        return {
            (a.kind, a.points, names[a.class_id or 0])
            for a in source.annotations(source.slides()[0].uid)
        }

    with QuPathGeoJSON(geojson, slide_name="s.svs") as q, SlideRunnerDB(db) as s:
        assert shapes(q) == shapes(s)
        assert len(q.annotations()) == 4
