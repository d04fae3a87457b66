"""QuPath GeoJSON: the one place that knows how QuPath writes objects, and a reader for it.

The format follows QuPath's own writer and reader (``qupath-core``,
``qupath/lib/io/QuPathTypeAdapters.java`` ``PathObjectTypeAdapter``,
``GsonTools.PathClassTypeAdapter``, ``ROITypeAdapters``), as QuPath 0.4 to 0.7 write it:

- a ``FeatureCollection``, a bare list of features, or one ``Feature``;
- ``id``: the object's UUID (v0.4+; v0.2 put the Java class name there, e.g.
  ``"PathAnnotationObject"``, which is then the object type);
- ``properties.objectType``: ``annotation``, ``detection``, ``cell``, ``tile``, ``tmaCore``
  (v0.3 wrote ``object_type``; a missing type means annotation, as in QuPath);
- ``properties.classification``: ``{"name": ..., "color": [r, g, b]}``, or
  ``{"names": [...], ...}`` for a derived class (its name is the names joined by
  ``": "``, QuPath's ``PathClass.toString()``), or a plain string (QuPath 0.4+ reads it);
- ``geometry``: a Points annotation is **one** ``MultiPoint``; rectangles, ellipses and
  brushes are ``Polygon``/``MultiPolygon``; lines are ``LineString``;
- ``properties.measurements``: a name -> number object (v0.4+; non-finite values are
  written as the strings ``"NaN"``/``"Infinity"``), or a list of ``{name, value}`` before.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import attrs

from wsi2rek.annotations._types import AnnotationKind
from wsi2rek.errors import AnnotationError
from wsi2rek.geometry import Point

__all__ = [
    "GEOJSON_SUFFIXES",
    "QuPathObject",
    "QuPathSkip",
    "class_name_of",
    "parse_qupath_objects",
    "read_qupath_objects",
]

#: File suffixes QuPath uses for GeoJSON exports.
GEOJSON_SUFFIXES: Final = (".geojson", ".json")

#: Object types QuPath writes, and the v0.2 class names it also reads as types.
OBJECT_TYPES: Final = ("annotation", "detection", "cell", "tile", "tmaCore", "root")
_LEGACY_TYPES: Final = {
    "PathAnnotationObject": "annotation",
    "PathDetectionObject": "detection",
    "PathCellObject": "cell",
    "PathTileObject": "tile",
    "TMACoreObject": "tmaCore",
    "PathRootObject": "root",
    "tma_core": "tmaCore",
}

_SPECIAL: Final = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

#: Geometry types that carry no area or point wsi2rek can use; skipped and counted.
_LINES: Final = ("LineString", "MultiLineString")


class _BadFeatureError(ValueError):
    """A feature that cannot be read; the message says why (it is skipped and counted)."""


@attrs.frozen
class QuPathObject:
    """One shape of a QuPath object, in level-0 pixels.

    A ``MultiPoint`` gives one object per point, a ``MultiPolygon`` one per polygon;
    ``feature`` and ``part`` say where each came from.

    Attributes:
        feature: The feature's index in the file (0-based).
        part: The point or polygon index inside a multi-geometry (0 otherwise).
        object_type: ``"annotation"``, ``"detection"``, ``"cell"``, ...
        kind: SPOT for points, AREA for axis-aligned rectangles, POLYGON otherwise.
        points: One point for spots, two corners for areas, the exterior ring (without
            the closing point) for polygons.
        class_name: The classification (derived classes joined by ``": "``), or None.
        id: QuPath's object id (a UUID since v0.4), or None.
        name: The object's name, or None.
        measurements: Numeric measurements by name (QuPath's ``"NaN"`` and
            ``"Infinity"`` strings become the float values they stand for).
        typed: True when the feature states its object type (QuPath always does).
    """

    feature: int
    part: int
    object_type: str
    kind: AnnotationKind
    points: tuple[Point, ...]
    class_name: str | None
    id: str | None = None
    name: str | None = None
    measurements: Mapping[str, float] = attrs.field(factory=dict, eq=False, hash=False)
    typed: bool = True


@attrs.frozen
class QuPathSkip:
    """A feature (or part of one) that could not be read, and why."""

    feature: int
    category: str
    reason: str


def class_name_of(classification: Any) -> str | None:
    """The class name of a QuPath ``classification`` value (None when unclassified).

    Raises:
        ValueError: when it is neither an object, a string nor null.
    """
    if classification is None:
        return None
    if isinstance(classification, str):
        # PathClass.fromString splits derived classes on ':'; toString joins with ': '.
        names = [part.strip() for part in classification.split(":")]
        return ": ".join(n for n in names if n) or None
    if isinstance(classification, Mapping):
        names_value = classification.get("names")
        if isinstance(names_value, list) and names_value:
            if not all(isinstance(n, str) for n in names_value):
                raise _BadFeatureError(f"classification names {names_value!r} are not all text")
            return ": ".join(names_value)
        name = classification.get("name")
        if name is None:
            return None  # QuPath's NULL_CLASS is written as an empty object
        if isinstance(name, str):
            return name
        raise _BadFeatureError(f"classification name {name!r} is not text")
    raise _BadFeatureError(f"classification {classification!r} is neither an object nor a string")


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _BadFeatureError(f"coordinate {value!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise _BadFeatureError(f"coordinate {value!r} is not finite")
    return number


def _point(value: Any) -> Point:
    if not isinstance(value, list) or len(value) < 2:
        raise _BadFeatureError(f"position {value!r} is not an [x, y] pair")
    return Point(_number(value[0]), _number(value[1]))


def _ring(value: Any) -> tuple[Point, ...]:
    if not isinstance(value, list) or not value:
        raise _BadFeatureError("polygon without an exterior ring")
    exterior = value[0]
    if not isinstance(exterior, list):
        raise _BadFeatureError(f"polygon ring {exterior!r} is not a list of positions")
    points = [_point(p) for p in exterior]
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()  # GeoJSON rings repeat the first position at the end
    if len(points) < 3:
        raise _BadFeatureError(f"polygon with {len(points)} distinct corner(s), needs at least 3")
    return tuple(points)


def _shape(ring: tuple[Point, ...]) -> tuple[AnnotationKind, tuple[Point, ...]]:
    """An axis-aligned rectangle becomes an AREA (two corners), anything else a POLYGON."""
    xs = {p.x for p in ring}
    ys = {p.y for p in ring}
    if len(ring) == 4 and len(xs) == 2 and len(ys) == 2:
        corners = {(p.x, p.y) for p in ring}
        if len(corners) == 4:
            return AnnotationKind.AREA, (Point(min(xs), min(ys)), Point(max(xs), max(ys)))
    return AnnotationKind.POLYGON, ring


def _object_type(feature: Mapping[str, Any], properties: Mapping[str, Any]) -> tuple[str, bool]:
    for key in ("objectType", "object_type", "type"):
        value = properties.get(key)
        if isinstance(value, str):
            return _LEGACY_TYPES.get(value, value), True
    legacy = feature.get("id")
    if isinstance(legacy, str) and legacy in _LEGACY_TYPES:
        return _LEGACY_TYPES[legacy], True
    return "annotation", False  # QuPath's default for a feature without a type


def _measurements(value: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    items: list[tuple[Any, Any]] = []
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, list):  # before v0.4: [{"name": ..., "value": ...}, ...]
        items = [(m.get("name"), m.get("value")) for m in value if isinstance(m, Mapping)]
    for name, number in items:
        if not isinstance(name, str):
            continue
        if isinstance(number, int | float) and not isinstance(number, bool):
            out[name] = float(number)
        elif isinstance(number, str) and number in _SPECIAL:  # QuPath writes NaN as "NaN"
            out[name] = _SPECIAL[number]
    return out


def _geometries(geometry: Mapping[str, Any]) -> Iterator[tuple[AnnotationKind, tuple[Point, ...]]]:
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Point":
        yield AnnotationKind.SPOT, (_point(coords),)
    elif kind == "MultiPoint":
        if not isinstance(coords, list) or not coords:
            raise _BadFeatureError("MultiPoint without positions")
        for position in coords:
            yield AnnotationKind.SPOT, (_point(position),)
    elif kind == "Polygon":
        yield _shape(_ring(coords))
    elif kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            raise _BadFeatureError("MultiPolygon without polygons")
        for polygon in coords:
            yield _shape(_ring(polygon))
    else:
        raise LookupError(str(kind))


def parse_qupath_objects(
    data: Any, *, source: str = "GeoJSON"
) -> tuple[list[QuPathObject], list[QuPathSkip]]:
    """Read QuPath objects from parsed GeoJSON (see the module docs for the forms).

    Args:
        data: What :func:`json.loads` returned.
        source: Names the input in error messages.

    Returns:
        The objects in file order, and the features skipped: lines, unknown geometry
        types, features that are not objects, NaN or missing coordinates, bad classes.

    Raises:
        AnnotationError: when ``data`` is not a FeatureCollection, a list of features or
            one Feature.
    """
    if isinstance(data, Mapping) and data.get("type") == "FeatureCollection":
        features = data.get("features")
    elif isinstance(data, Mapping) and data.get("type") == "Feature":
        features = [data]
    else:
        features = data
    if not isinstance(features, list):
        raise AnnotationError(
            f"{source}: expected a GeoJSON FeatureCollection, a list of features or one "
            f"Feature, found {type(features).__name__}; export the objects from QuPath with "
            "File > Export objects as GeoJSON"
        )
    objects: list[QuPathObject] = []
    skipped: list[QuPathSkip] = []
    for index, feature in enumerate(features):
        try:
            objects.extend(_feature(index, feature, skipped))
        except ValueError as exc:
            skipped.append(QuPathSkip(index, "unreadable", str(exc)))
    return objects, skipped


def _feature(index: int, feature: Any, skipped: list[QuPathSkip]) -> list[QuPathObject]:
    if not isinstance(feature, Mapping):
        raise _BadFeatureError(f"feature is {type(feature).__name__}, not an object")
    properties = feature.get("properties") or {}
    if not isinstance(properties, Mapping):
        raise _BadFeatureError("properties is not an object")
    geometry = feature.get("geometry")
    if not isinstance(geometry, Mapping):
        raise _BadFeatureError("no geometry")
    class_name = class_name_of(properties.get("classification"))
    object_type, typed = _object_type(feature, properties)
    ident = feature.get("id")
    name = properties.get("name")
    measurements = _measurements(properties.get("measurements"))
    try:
        shapes = list(_geometries(geometry))
    except LookupError as exc:
        category = "lines" if str(exc) in _LINES else "unsupported geometry"
        skipped.append(QuPathSkip(index, category, f"{exc} geometry"))
        return []
    return [
        QuPathObject(
            feature=index,
            part=part,
            object_type=object_type,
            kind=kind,
            points=points,
            class_name=class_name,
            id=ident if isinstance(ident, str) and ident not in _LEGACY_TYPES else None,
            name=name if isinstance(name, str) else None,
            measurements=measurements,
            typed=typed,
        )
        for part, (kind, points) in enumerate(shapes)
    ]


def _reject_constant(token: str) -> float:
    raise _BadFeatureError(f"{token} is not valid JSON")


def read_qupath_objects(
    path: str | os.PathLike[str],
) -> tuple[list[QuPathObject], list[QuPathSkip]]:
    """Read the QuPath objects of one GeoJSON file (see :func:`parse_qupath_objects`).

    Raises:
        AnnotationError: when the file cannot be read, is not JSON (truncated, ``NaN``
            tokens), or is not GeoJSON; the message gives the line and column.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationError(f"cannot read QuPath GeoJSON {file}: {exc}") from exc
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise AnnotationError(
            f"{file} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            "the file may be truncated: export it again from QuPath"
        ) from None
    except ValueError as exc:
        raise AnnotationError(f"{file} is not standard JSON: {exc}") from None
    return parse_qupath_objects(data, source=str(file))


def skip_summary(source: str, skipped: Sequence[QuPathSkip], total: int) -> str:
    """One line: how many features were skipped, by category, with example indices."""
    by_category: dict[str, list[int]] = {}
    for skip in skipped:
        by_category.setdefault(skip.category, []).append(skip.feature)
    parts = []
    for category, indices in sorted(by_category.items(), key=lambda item: -len(item[1])):
        examples = ", ".join(str(i) for i in indices[:5]) + (", ..." if len(indices) > 5 else "")
        parts.append(f"{len(indices)} {category} (features {examples})")
    reasons = Counter(s.reason for s in skipped).most_common(1)
    example = f"; e.g. {reasons[0][0]}" if reasons else ""
    return f"{source}: skipped {len(skipped)} of {total} features: {'; '.join(parts)}{example}"
