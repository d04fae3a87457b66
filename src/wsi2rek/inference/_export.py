"""Export detections to QuPath GeoJSON, CSV and SlideRunner databases, and read them back."""

from __future__ import annotations

import colorsys
import contextlib
import csv
import hashlib
import io
import math
import re
import uuid
import warnings
from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from wsi2rek._atomic import atomic_open
from wsi2rek._json import dumps
from wsi2rek.annotations import (
    DEFAULT_SPOT_RADIUS_PX,
    AnnotationKind,
    QuPathObject,
    read_qupath_objects,
)
from wsi2rek.annotations import qupath_skip_summary as skip_summary
from wsi2rek.annotations.sliderunner import DETECTED_SUFFIX, write_sliderunner
from wsi2rek.detection import Detection
from wsi2rek.errors import (
    AnnotationError,
    DetectionError,
    InputNotFoundError,
    ParameterError,
    SkippedAnnotationWarning,
)
from wsi2rek.geometry import Box

__all__ = [  # write_sliderunner lives in wsi2rek.annotations.sliderunner
    "CSV_COLUMNS",
    "DetectionFormat",
    "check_detections_output",
    "label_color",
    "read_detections",
    "to_geojson",
    "write_csv",
    "write_detections",
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


class DetectionFormat(StrEnum):
    """A file format for detections, chosen by the file's suffix (see :meth:`of`)."""

    GEOJSON = "geojson"
    """QuPath GeoJSON: ``.geojson`` or ``.json``."""
    CSV = "csv"
    """CSV with :data:`CSV_COLUMNS`: ``.csv``."""
    SLIDERUNNER = "sliderunner"
    """A SlideRunner database: ``.sqlite``, ``.sqlite3`` or ``.db``."""

    @classmethod
    def of(cls, path: str | Path) -> DetectionFormat | None:
        """The format ``path``'s suffix (any case) selects, or None for another suffix."""
        return _SUFFIXES.get(Path(path).suffix.lower())


_SUFFIXES = {
    ".geojson": DetectionFormat.GEOJSON,
    ".json": DetectionFormat.GEOJSON,
    ".csv": DetectionFormat.CSV,
    ".sqlite": DetectionFormat.SLIDERUNNER,
    ".sqlite3": DetectionFormat.SLIDERUNNER,
    ".db": DetectionFormat.SLIDERUNNER,
}

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
def _atomic(path: Path) -> Iterator[IO[Any]]:
    """:func:`wsi2rek._atomic.atomic_open` in text mode, creating the folder first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w", newline="") as handle:
        yield handle


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


def check_detections_output(
    path: str | Path,
    *,
    copy_from: str | Path | None = None,
    class_name: str | None = None,
    overwrite: bool = False,
) -> DetectionFormat:
    """Check that :func:`write_detections` can write to ``path`` with these options.

    Nothing is written: call it before a long detection run, so a wrong output name fails
    at once rather than after the run (:func:`write_detections` checks the same).

    Returns:
        The format ``path``'s suffix selects.

    Raises:
        ParameterError: ``path`` has no detections suffix (``.geojson``/``.json``,
            ``.csv``, ``.sqlite``/``.sqlite3``/``.db``), or ``copy_from`` or
            ``class_name`` is given for a format other than a SlideRunner database.
        DetectionError: ``path`` is a SlideRunner database that exists and ``overwrite``
            is False (GeoJSON and CSV files are replaced, as every writer here does).
    """
    out = Path(path)
    found = DetectionFormat.of(out)
    if found is None:
        raise ParameterError(
            f"path={out}: unknown format {out.suffix.lower()!r}; use .geojson, .csv or .sqlite",
            parameter="path",
        )
    if found is not DetectionFormat.SLIDERUNNER:
        # The messages read as the CLI's (--copy-db needs a SlideRunner --out) once
        # translated; "path=" with no value names the parameter itself.
        for name, value in (("copy_from", copy_from), ("class_name", class_name)):
            if value is not None:
                raise ParameterError(
                    f"{name} needs a SlideRunner path= (.sqlite)", parameter=(name, "path")
                )
    elif out.exists() and not overwrite:
        raise DetectionError(
            f"path={out} exists; pass overwrite=True to replace it",
            parameter=("path", "overwrite"),
        )
    return found


def write_detections(
    detections: Iterable[Detection],
    path: str | Path,
    *,
    slide_name: str | None = None,
    slide_size: tuple[int, int] | None = None,
    copy_from: str | Path | None = None,
    class_name: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write detections in the format ``path``'s suffix names; atomic. Returns the path.

    ``.geojson``/``.json`` go to :func:`write_geojson`, ``.csv`` to :func:`write_csv` and
    ``.sqlite``/``.sqlite3``/``.db`` to :func:`write_sliderunner` (suffixes in any case).
    The options are checked first, by :func:`check_detections_output`.

    Args:
        detections: Detections in level-0 pixels (a list or a
            :class:`~wsi2rek.inference.SlideDetections`).
        path: The file to write.
        slide_name: SlideRunner only: the slide's file name, as SlideRunner lists it
            (default: ``detections.slide`` of a :class:`SlideDetections`).
        slide_size: SlideRunner only: ``(width, height)`` stored when the slide is added.
        copy_from: SlideRunner only: a database to copy and append to (never modified).
        class_name: SlideRunner only: one class for every detection.
        overwrite: SlideRunner only: replace an existing ``path``.

    Raises:
        ParameterError: an unknown suffix, a SlideRunner-only option for another format,
            or a SlideRunner database without ``slide_name``.
        DetectionError: ``path`` is an existing SlideRunner database and ``overwrite`` is
            False; or as :func:`write_sliderunner` raises.
    """
    found = check_detections_output(
        path, copy_from=copy_from, class_name=class_name, overwrite=overwrite
    )
    if found is DetectionFormat.GEOJSON:
        return write_geojson(detections, path)
    if found is DetectionFormat.CSV:
        return write_csv(detections, path)
    name = slide_name if slide_name is not None else getattr(detections, "slide", None)
    if name is None:
        raise ParameterError(
            f"writing the SlideRunner database {path} needs the slide's file name: pass "
            "slide_name=",
            parameter="slide_name",
        )
    return write_sliderunner(
        detections,
        path,
        slide_name=str(name),
        slide_size=slide_size,
        copy_from=copy_from,
        class_name=class_name,
        overwrite=overwrite,
    )


# --- reading ----------------------------------------------------------------------------


#: QuPath object types read as detections (annotations are ground truth, not detections).
DETECTION_OBJECT_TYPES = ("detection", "cell", "tile")


def _confidence_of(obj: QuPathObject, path: Path) -> float:
    found = obj.measurements.get("confidence", obj.measurements.get("Confidence"))
    if found is None:
        return 100.0
    if not (math.isfinite(found) and 0.0 <= found <= 100.0):
        raise DetectionError(
            f"{path}: feature {obj.feature}: confidence {found!r} is not a percentage in "
            "[0, 100]; fix or remove that measurement"
        )
    return found


def _read_geojson(path: Path, spot_radius_px: float) -> list[Detection]:
    try:
        objects, skipped = read_qupath_objects(path)
    except AnnotationError as exc:
        raise DetectionError(str(exc)) from None
    # QuPath states every object's type: its annotations (regions, hand-drawn ground
    # truth) are not detections. GeoJSON from elsewhere, with no types, is read whole.
    typed = any(o.typed for o in objects)
    wanted: list[QuPathObject] = []
    others: dict[str, set[int]] = {}
    for obj in objects:
        if not typed or obj.object_type in DETECTION_OBJECT_TYPES:
            wanted.append(obj)
        else:
            others.setdefault(obj.object_type, set()).add(obj.feature)
    if skipped or others:
        parts = [f"{len(f)} {kind} feature(s)" for kind, f in sorted(others.items())]
        if skipped:
            total = len({o.feature for o in objects} | {s.feature for s in skipped})
            parts.append(skip_summary("", skipped, total).removeprefix(": "))
        warnings.warn(
            f"{path}: read {len(wanted)} detections; not read: {'; '.join(parts)}",
            SkippedAnnotationWarning,
            stacklevel=3,
        )
    out = []
    for obj in wanted:
        box = (
            Box.around(obj.points[0], spot_radius_px)
            if obj.kind is AnnotationKind.SPOT
            else Box.from_points(obj.points)
        )
        label = obj.class_name or obj.name or "object"
        out.append(Detection(label, _confidence_of(obj, path), box))
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


def _read_sqlite(path: Path, slide: str | int | None, spot_radius_px: float) -> list[Detection]:
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
                class_names.get(ann.class_id, str(ann.class_id))
                if ann.class_id is not None
                else "unknown"
            )
            label = label.removesuffix(DETECTED_SUFFIX)  # written by write_sliderunner
            out.append(Detection(label, min(conf, 100.0), ann.box(spot_radius_px)))
        return out


def read_detections(
    path: str | Path,
    *,
    slide: str | int | None = None,
    spot_radius_px: float = DEFAULT_SPOT_RADIUS_PX,
) -> list[Detection]:
    """Read detections back from GeoJSON, CSV or a SlideRunner database.

    The format follows the suffix: ``.geojson``/``.json``, ``.csv``,
    ``.sqlite``/``.sqlite3``/``.db`` (as written by :func:`write_geojson`,
    :func:`write_csv` and :func:`write_sliderunner`, or by QuPath and SlideRunner).

    GeoJSON features need a geometry (its extent is the box; a point becomes a square
    of half-side ``spot_radius_px``, level-0 pixels, 25 by default); the label is the
    classification name and the confidence ``measurements.confidence`` (100 when
    missing). SlideRunner spots become squares of half-side ``spot_radius_px`` too; the
    confidence comes from a ``confidence=..`` description (100 when missing); ``slide``
    picks the slide when the database has several.

    Raises:
        InputNotFoundError: ``path`` does not exist.
        DetectionError: for an unknown suffix or malformed content.
    """
    p = Path(path)
    if not p.is_file():
        raise InputNotFoundError(f"detections file not found: {p}", path=p)
    found = DetectionFormat.of(p)
    if found is DetectionFormat.GEOJSON:
        return _read_geojson(p, spot_radius_px)
    if found is DetectionFormat.CSV:
        return _read_csv(p)
    if found is DetectionFormat.SLIDERUNNER:
        return _read_sqlite(p, slide, spot_radius_px)
    raise DetectionError(
        f"{p}: unknown detections format {p.suffix.lower()!r}; expected .geojson, .json, "
        ".csv or .sqlite"
    )
