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
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from wsi2rek._json import dumps
from wsi2rek.annotations.sliderunner import DETECTED_SUFFIX, write_sliderunner
from wsi2rek.detection import Detection
from wsi2rek.errors import DetectionError
from wsi2rek.geometry import Box, Point

__all__ = [  # write_sliderunner lives in wsi2rek.annotations.sliderunner
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
            label = label.removesuffix(DETECTED_SUFFIX)  # written by write_sliderunner
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
