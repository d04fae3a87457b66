"""Export detections to QuPath GeoJSON, CSV and SlideRunner databases, and read them back."""

from __future__ import annotations

import colorsys
import contextlib
import csv
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from wsi2rek._json import dumps
from wsi2rek.detection import Detection
from wsi2rek.errors import DatabaseError, DetectionError
from wsi2rek.geometry import Box, Point

__all__ = [
    "CSV_COLUMNS",
    "label_color",
    "read_detections",
    "to_geojson",
    "write_csv",
    "write_geojson",
    "write_sliderunner",
]

#: Columns of :func:`write_csv`, in order.
CSV_COLUMNS = (
    "label",
    "confidence",
    "left",
    "top",
    "right",
    "bottom",
    "width",
    "height",
    "center_x",
    "center_y",
)

_CONFIDENCE_RE = re.compile(r"confidence\s*[=:]\s*([0-9]+(?:\.[0-9]*)?)")


def _items(detections: Iterable[Detection]) -> list[Detection]:
    return list(getattr(detections, "detections", detections))


def label_color(label: str) -> tuple[int, int, int]:
    """A stable, saturated RGB colour for a label (the same label always gets the same)."""
    digest = hashlib.sha256(label.encode("utf-8")).digest()
    hue = digest[0] / 256.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 0.9)
    return (round(r * 255), round(g * 255), round(b * 255))


@contextlib.contextmanager
def _atomic(path: Path, mode: str = "w") -> Iterator[Any]:
    """Open a temporary sibling of ``path`` for writing; rename it over ``path`` on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open(mode, encoding="utf-8", newline="" if "b" not in mode else None) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def to_geojson(
    detections: Iterable[Detection], *, colors: Mapping[str, tuple[int, int, int]] | None = None
) -> dict[str, Any]:
    """A QuPath-compatible GeoJSON ``FeatureCollection`` of the detections.

    Each detection is a ``Feature`` with a ``Polygon`` geometry (its box, level-0 pixels,
    closed ring) and properties ``objectType: "detection"``, ``classification: {name,
    color: [r, g, b]}`` and ``measurements: {"confidence": percent}``.
    """
    colors = dict(colors or {})
    features = []
    for det in _items(detections):
        b = det.box
        ring = [[b.left, b.top], [b.right, b.top], [b.right, b.bottom], [b.left, b.bottom]]
        ring.append(ring[0])
        color = colors.get(det.label) or label_color(det.label)
        features.append(
            {
                "type": "Feature",
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{det.label}|{b}|{det.confidence}")),
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {
                    "objectType": "detection",
                    "classification": {"name": det.label, "color": list(color)},
                    "measurements": {"confidence": det.confidence},
                    "isLocked": False,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def write_geojson(
    detections: Iterable[Detection],
    path: str | Path,
    *,
    colors: Mapping[str, tuple[int, int, int]] | None = None,
) -> Path:
    """Write detections as QuPath GeoJSON (see :func:`to_geojson`); atomic. Returns the path."""
    out = Path(path)
    with _atomic(out) as fh:
        fh.write(dumps(to_geojson(detections, colors=colors), what=f"GeoJSON {out}", indent=1))
        fh.write("\n")
    return out


def write_csv(detections: Iterable[Detection], path: str | Path) -> Path:
    """Write detections as CSV with :data:`CSV_COLUMNS` (level-0 pixels); atomic."""
    out = Path(path)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for det in _items(detections):
        b = det.box
        c = b.center
        writer.writerow(
            [det.label, f"{det.confidence:.4f}"]
            + [f"{v:.2f}" for v in (b.left, b.top, b.right, b.bottom, b.width, b.height, c.x, c.y)]
        )
    with _atomic(out) as fh:
        fh.write(buffer.getvalue())
    return out


# --- SlideRunner ------------------------------------------------------------------------

# SlideRunner's schema (version 3), as found in databases SlideRunner itself wrote.
_SCHEMA_SQL = """
CREATE TABLE `Slides` (`uid` INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, `filename` TEXT,
    `width` INTEGER, `height` INTEGER, `directory` TEXT, `uuid` TEXT, `exactImageID` TEXT,
    `EXACTUSER` INTEGER DEFAULT 0);
CREATE TABLE `Classes` (`uid` INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, `name` TEXT,
    `color` TEXT);
CREATE TABLE `Persons` (`uid` INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, `name` TEXT,
    `isExactUser` INTEGER DEFAULT 0);
CREATE TABLE `Annotations` (`uid` INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, `slide` INTEGER,
    `guid` TEXT, `lastModified` REAL DEFAULT 0, `deleted` INTEGER DEFAULT 0, `type` INTEGER,
    `agreedClass` INTEGER, `description` TEXT);
CREATE TABLE `Annotations_coordinates` (`uid` INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE,
    `coordinateX` INTEGER, `coordinateY` INTEGER, `slide` INTEGER, `annoId` INTEGER,
    `orderIdx` INTEGER, `coordinateZ` INTEGER DEFAULT 0);
CREATE TABLE `Annotations_label` (`uid` INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE,
    `person` INTEGER, `class` INTEGER, `exact_id` INTEGER, `annoId` INTEGER);
CREATE TABLE `Log` (`uid` INTEGER PRIMARY KEY AUTOINCREMENT, `dateTime` FLOAT,
    `labelId` INTEGER);
CREATE TRIGGER updateAnnotation_fromLabelUPDATE AFTER UPDATE ON Annotations_label
    BEGIN UPDATE Annotations SET lastModified=pycurrent_time() where uid==new.annoId; END;
CREATE TRIGGER updateAnnotation_fromCoordsUPDATE AFTER UPDATE ON Annotations_coordinates
    BEGIN UPDATE Annotations SET lastModified=pycurrent_time() where uid==new.annoId; END;
CREATE TRIGGER updateAnnotation_UPDATE AFTER UPDATE ON Annotations
    BEGIN UPDATE Annotations SET lastModified=pycurrent_time() where uid==new.uid; END;
CREATE TRIGGER updateAnnotation_fromLabelINSERT AFTER INSERT ON Annotations_label
    BEGIN UPDATE Annotations SET lastModified=pycurrent_time() where uid==new.annoId; END;
CREATE TRIGGER updateAnnotation_fromCoordsINSERT AFTER INSERT ON Annotations_coordinates
    BEGIN UPDATE Annotations SET lastModified=pycurrent_time() where uid==new.annoId; END;
CREATE TRIGGER updateAnnotation_INSERT AFTER INSERT ON Annotations
    BEGIN UPDATE Annotations SET lastModified=pycurrent_time() where uid==new.uid; END;
CREATE TRIGGER updateAnnotation_ins AFTER INSERT ON Annotations
    BEGIN UPDATE Annotations SET guid=generate_uuid() where uid==new.uid and guid is Null; END;
CREATE TRIGGER setRandomcolor AFTER INSERT ON Classes
    BEGIN UPDATE Classes SET color=randcolor() where uid==new.uid and color is Null; END;
PRAGMA user_version = 3;
"""


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _register_functions(con: sqlite3.Connection) -> None:
    # SlideRunner's triggers call these; without them every INSERT fails.
    con.create_function("pycurrent_time", 0, time.time)
    con.create_function("generate_uuid", 0, lambda: str(uuid.uuid4()))
    con.create_function("randcolor", 0, lambda: _hex(label_color(str(uuid.uuid4()))))


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in con.execute(f"PRAGMA table_info(`{table}`)")}


def _insert(con: sqlite3.Connection, table: str, values: Mapping[str, Any], cols: set[str]) -> int:
    usable = {k: v for k, v in values.items() if k in cols}
    names = ", ".join(f"`{k}`" for k in usable)
    marks = ", ".join("?" for _ in usable)
    cur = con.execute(f"INSERT INTO `{table}` ({names}) VALUES ({marks})", tuple(usable.values()))
    assert cur.lastrowid is not None
    return cur.lastrowid


def _slide_uid(con: sqlite3.Connection, slide_name: str, slide_size: tuple[int, int] | None) -> int:
    wanted = Path(slide_name.replace("\\", "/")).name.lower()
    matches = [
        uid
        for uid, filename in con.execute("SELECT uid, filename FROM Slides")
        if filename is not None and Path(str(filename).replace("\\", "/")).name.lower() == wanted
    ]
    if len(matches) > 1:
        raise DatabaseError(
            f"the slide name {slide_name!r} matches {len(matches)} slides (uids {matches}) in "
            "the database; give a unique file name",
            table="Slides",
        )
    if matches:
        return int(matches[0])
    width, height = slide_size if slide_size is not None else (None, None)
    return _insert(
        con,
        "Slides",
        {"filename": Path(slide_name).name, "width": width, "height": height, "directory": ""},
        _columns(con, "Slides"),
    )


def _class_uids(
    con: sqlite3.Connection, labels: Sequence[str], classes: Mapping[str, int] | None
) -> dict[str, int]:
    existing = {int(uid): str(name) for uid, name in con.execute("SELECT uid, name FROM Classes")}
    by_name = {name.lower(): uid for uid, name in existing.items()}
    cols = _columns(con, "Classes")
    out: dict[str, int] = {}
    for label in labels:
        if classes is not None and label in classes:
            uid = int(classes[label])
            if uid not in existing:
                raise DatabaseError(
                    f"classes maps {label!r} to class id {uid}, which the database does not "
                    f"have (its classes: {existing}); use one of them or leave it out to add "
                    "a new class",
                    table="Classes",
                )
            out[label] = uid
        elif label.lower() in by_name:
            out[label] = by_name[label.lower()]
        else:
            color = _hex(label_color(label))
            uid = _insert(con, "Classes", {"name": label, "color": color}, cols)
            existing[uid] = label
            by_name[label.lower()] = uid
            out[label] = uid
    return out


def _person_uid(con: sqlite3.Connection, person: str) -> int | None:
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "Persons" not in tables:
        return None
    row = con.execute("SELECT uid FROM Persons WHERE name = ?", (person,)).fetchone()
    if row is not None:
        return int(row[0])
    return _insert(con, "Persons", {"name": person}, _columns(con, "Persons"))


def write_sliderunner(
    detections: Iterable[Detection],
    path: str | Path,
    *,
    slide_name: str,
    slide_size: tuple[int, int] | None = None,
    copy_from: str | Path | None = None,
    classes: Mapping[str, int] | None = None,
    person: str = "wsi2rek",
    overwrite: bool = False,
) -> Path:
    """Write detections as SlideRunner spot annotations.

    Each detection becomes a spot at its box centre (level-0 pixels, rounded), with the
    class of its label as the agreed class and one label vote by ``person``; its
    description reads ``confidence=97.53``. Classes are matched by name (or given by
    ``classes``) and created when missing. The slide is matched by file name (case
    insensitive) or added.

    With ``copy_from``, the user's database is copied to ``path`` and the spots are
    appended to the copy; the original is only read. Otherwise a new database with
    SlideRunner's schema (version 3) is created. Either way the result appears at
    ``path`` atomically.

    Args:
        detections: Detections in level-0 pixels of the slide.
        path: The database to write.
        slide_name: File name of the slide, as SlideRunner lists it.
        slide_size: ``(width, height)`` stored when the slide is added.
        copy_from: An existing SlideRunner database to copy (never modified).
        classes: Label -> existing class id, overriding the match by name.
        person: Name of the annotator the label votes are recorded under.
        overwrite: Replace ``path`` if it exists (otherwise that is an error).

    Returns:
        ``path``.

    Raises:
        DetectionError: when ``path`` exists (without ``overwrite``) or is ``copy_from``.
        DatabaseError: when ``copy_from`` is not a usable SlideRunner database.
    """
    out = Path(path)
    items = _items(detections)
    if copy_from is not None and out.resolve() == Path(copy_from).resolve():
        raise DetectionError(
            f"refusing to write detections into {copy_from} itself; give another output path "
            "(the original database is copied, never modified)"
        )
    if out.exists() and not overwrite:
        raise DetectionError(
            f"{out} already exists; choose a new file name or pass overwrite=True "
            "(--overwrite on the command line)"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        if copy_from is not None:
            shutil.copyfile(copy_from, tmp)
        con = sqlite3.connect(tmp)
        try:
            _register_functions(con)
            if copy_from is None:
                con.executescript(_SCHEMA_SQL)
            _append_spots(
                con,
                items,
                slide_name=slide_name,
                slide_size=slide_size,
                classes=classes,
                person=person,
                source=copy_from,
            )
            con.commit()
        finally:
            con.close()
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _append_spots(
    con: sqlite3.Connection,
    items: Sequence[Detection],
    *,
    slide_name: str,
    slide_size: tuple[int, int] | None,
    classes: Mapping[str, int] | None,
    person: str,
    source: str | Path | None,
) -> None:
    try:
        slide_uid = _slide_uid(con, slide_name, slide_size)
        labels = sorted({d.label for d in items})
        class_uid = _class_uids(con, labels, classes)
        person_uid = _person_uid(con, person)
        anno_cols = _columns(con, "Annotations")
        coord_cols = _columns(con, "Annotations_coordinates")
        label_cols = _columns(con, "Annotations_label")
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(
            f"{source}: not a usable SlideRunner database ({exc}); expected tables Slides, "
            "Classes, Annotations, Annotations_coordinates, Annotations_label",
            path=source,
        ) from exc
    for det in items:
        c = det.box.center
        anno = _insert(
            con,
            "Annotations",
            {
                "slide": slide_uid,
                "type": 1,
                "agreedClass": class_uid[det.label],
                "deleted": 0,
                "description": f"confidence={det.confidence:.2f}",
            },
            anno_cols,
        )
        _insert(
            con,
            "Annotations_coordinates",
            {
                "coordinateX": round(c.x),
                "coordinateY": round(c.y),
                "coordinateZ": 0,
                "slide": slide_uid,
                "annoId": anno,
                "orderIdx": 0,
            },
            coord_cols,
        )
        if person_uid is not None and label_cols:
            _insert(
                con,
                "Annotations_label",
                {"person": person_uid, "class": class_uid[det.label], "annoId": anno},
                label_cols,
            )


# --- reading ----------------------------------------------------------------------------


def _confidence_of(value: Any) -> float:
    if isinstance(value, Mapping):
        found = value.get("confidence", value.get("Confidence"))
        return 100.0 if found is None else float(found)
    if isinstance(value, list):  # older QuPath: [{"name": ..., "value": ...}, ...]
        for item in value:
            if isinstance(item, Mapping) and str(item.get("name", "")).lower() == "confidence":
                return float(item["value"])
    return 100.0


def _coords(geometry: Any) -> list[Point]:
    points: list[Point] = []

    def walk(node: Any) -> None:
        if (
            isinstance(node, list)
            and len(node) >= 2
            and all(isinstance(v, int | float) for v in node[:2])
        ):
            points.append(Point(node[0], node[1]))
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(geometry.get("coordinates") if isinstance(geometry, Mapping) else None)
    return points


def _read_geojson(path: Path, spot_radius: float) -> list[Detection]:
    data = json.loads(path.read_text(encoding="utf-8"))
    features = data.get("features") if isinstance(data, Mapping) else data
    if not isinstance(features, list):
        raise DetectionError(
            f"{path}: expected a GeoJSON FeatureCollection (or a list of features)"
        )
    out = []
    for number, feature in enumerate(features, start=1):
        props = feature.get("properties") or {}
        points = _coords(feature.get("geometry"))
        if not points:
            raise DetectionError(f"{path}: feature {number} has no coordinates")
        box = Box.from_points(points)
        if len(points) == 1:
            box = Box.around(points[0], spot_radius)
        cls = props.get("classification") or {}
        label = cls.get("name") or props.get("name") or "object"
        out.append(Detection(str(label), _confidence_of(props.get("measurements")), box))
    return out


def _read_csv(path: Path) -> list[Detection]:
    out = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = set(reader.fieldnames or ())
        for number, row in enumerate(reader, start=2):
            try:
                if {"left", "top", "right", "bottom"} <= fields:
                    box = Box(
                        float(row["left"]),
                        float(row["top"]),
                        float(row["right"]),
                        float(row["bottom"]),
                    )
                elif {"left", "top", "width", "height"} <= fields:
                    box = Box.from_xywh(
                        float(row["left"]),
                        float(row["top"]),
                        float(row["width"]),
                        float(row["height"]),
                    )
                else:
                    raise DetectionError(
                        f"{path}: expected CSV columns label, confidence and left, top, "
                        f"right, bottom (or left, top, width, height); found {sorted(fields)}"
                    )
                conf = row.get("confidence")
                out.append(
                    Detection(
                        row.get("label") or "object",
                        100.0 if conf in (None, "") else float(conf),
                        box,
                    )
                )
            except ValueError as exc:
                raise DetectionError(f"{path} line {number}: {exc}") from exc
    return out


def _read_sqlite(path: Path, slide: str | int | None, spot_radius: float) -> list[Detection]:
    from wsi2rek.annotations import SlideRunnerDB  # noqa: PLC0415 (only for databases)

    with SlideRunnerDB(path) as db:
        if slide is None:
            records = db.slides()
            if len(records) != 1:
                names = [r.filename for r in records]
                raise DetectionError(
                    f"{path} holds {len(records)} slides {names[:10]}; say which one (slide=...)"
                )
            slide = records[0].uid
        class_names = db.classes()
        out = []
        for ann in db.annotations(slide=slide):
            match = _CONFIDENCE_RE.search(ann.description or "")
            conf = float(match.group(1)) if match else 100.0
            label = (
                class_names.get(ann.label, str(ann.label)) if ann.label is not None else "unknown"
            )
            out.append(Detection(label, min(conf, 100.0), ann.box(spot_radius)))
        return out


def read_detections(
    path: str | Path, *, slide: str | int | None = None, spot_radius: float = 25.0
) -> list[Detection]:
    """Read detections back from GeoJSON, CSV or a SlideRunner database.

    The format follows the suffix: ``.geojson``/``.json``, ``.csv``,
    ``.sqlite``/``.sqlite3``/``.db`` (as written by :func:`write_geojson`,
    :func:`write_csv` and :func:`write_sliderunner`, or by QuPath and SlideRunner).

    GeoJSON features need a geometry (its extent is the box; a point becomes a square
    of half-side ``spot_radius``); the label is the classification name and the
    confidence ``measurements.confidence`` (100 when missing). SlideRunner spots become
    squares of half-side ``spot_radius``; the confidence comes from a ``confidence=..``
    description (100 when missing); ``slide`` picks the slide when the database has
    several.

    Raises:
        DetectionError: for an unknown suffix or malformed content.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"detections file not found: {p}")
    suffix = p.suffix.lower()
    if suffix in (".geojson", ".json"):
        return _read_geojson(p, spot_radius)
    if suffix == ".csv":
        return _read_csv(p)
    if suffix in (".sqlite", ".sqlite3", ".db"):
        return _read_sqlite(p, slide, spot_radius)
    raise DetectionError(
        f"{p}: unknown detections format {suffix!r}; expected .geojson, .json, .csv or .sqlite"
    )
