"""Write SlideRunner databases for tests, docs and demos.

The tables, triggers and trigger functions come from
:mod:`wsi2rek.annotations.sliderunner` (schema versions 0 to 3, as SlideRunner writes
them), so SlideRunner opens the result. :func:`sliderunner_connection` registers the SQL
functions SlideRunner's triggers call with deterministic, seeded stand-ins.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

from wsi2rek._atomic import atomic_path
from wsi2rek.annotations import Annotation, AnnotationKind, SlideRecord
from wsi2rek.annotations.sliderunner import (
    SUPPORTED_SCHEMA_VERSIONS,
    create_schema,
    register_functions,
)
from wsi2rek.errors import DatabaseError
from wsi2rek.geometry import Point

__all__ = [
    "SUPPORTED_SCHEMA_VERSIONS",
    "area",
    "circle",
    "make_sliderunner_db",
    "polygon",
    "sliderunner_connection",
    "special_spot",
    "spot",
]

#: The ``lastModified`` time written by the factory (fixed, so output is reproducible).
FIXED_TIME: Final = 1_600_000_000.0

# --- terse annotation builders ----------------------------------------------------------


def _votes(label: int | None, person: int | None) -> dict[int, int]:
    return {} if label is None or person is None else {person: label}


def spot(
    slide: int,
    x: float,
    y: float,
    label: int | None = 1,
    *,
    uid: int = 0,
    person: int | None = 1,
    deleted: bool = False,
) -> Annotation:
    """A spot (one centre point) with one vote by ``person`` for ``label``.

    ``uid=0`` lets :func:`make_sliderunner_db` assign the next free uid.
    """
    return Annotation(
        uid=uid,
        slide=slide,
        kind=AnnotationKind.SPOT,
        class_id=label,
        points=(Point(x, y),),
        deleted=deleted,
        votes=_votes(label, person),
    )


def special_spot(slide: int, x: float, y: float, *, uid: int = 0) -> Annotation:
    """A special spot: as SlideRunner writes them, no agreed class and no vote."""
    return Annotation(
        uid=uid, slide=slide, kind=AnnotationKind.SPECIAL_SPOT, class_id=None, points=(Point(x, y),)
    )


def area(
    slide: int,
    corner1: tuple[float, float],
    corner2: tuple[float, float],
    label: int | None = 1,
    *,
    uid: int = 0,
    person: int | None = 1,
    deleted: bool = False,
) -> Annotation:
    """A rectangle given by two opposite corners ``(x, y)``, in any order."""
    return Annotation(
        uid=uid,
        slide=slide,
        kind=AnnotationKind.AREA,
        class_id=label,
        points=(Point(*corner1), Point(*corner2)),
        deleted=deleted,
        votes=_votes(label, person),
    )


def circle(
    slide: int,
    cx: float,
    cy: float,
    radius: float,
    label: int | None = 1,
    *,
    uid: int = 0,
    person: int | None = 1,
    deleted: bool = False,
) -> Annotation:
    """A circle, stored as SlideRunner does: two points spanning its bounding box."""
    return Annotation(
        uid=uid,
        slide=slide,
        kind=AnnotationKind.CIRCLE,
        class_id=label,
        points=(Point(cx - radius, cy - radius), Point(cx + radius, cy + radius)),
        deleted=deleted,
        votes=_votes(label, person),
    )


def polygon(
    slide: int,
    points: Iterable[tuple[float, float] | Point],
    label: int | None = 1,
    *,
    uid: int = 0,
    person: int | None = 1,
    deleted: bool = False,
) -> Annotation:
    """A polygon through ``points`` in drawing order."""
    pts = tuple(p if isinstance(p, Point) else Point(*p) for p in points)
    return Annotation(
        uid=uid,
        slide=slide,
        kind=AnnotationKind.POLYGON,
        class_id=label,
        points=pts,
        deleted=deleted,
        votes=_votes(label, person),
    )


# --- writing ----------------------------------------------------------------------------


@contextlib.contextmanager
def sliderunner_connection(
    path: str | os.PathLike[str], *, seed: int = 0
) -> Iterator[sqlite3.Connection]:
    """A writable connection with SlideRunner's trigger functions registered.

    ``pycurrent_time()`` returns a fixed time, ``generate_uuid()`` and ``randcolor()``
    draw from a generator seeded with ``seed``, so what is written is reproducible. The
    transaction is committed when the block exits normally and rolled back otherwise.
    Use it to edit a factory-made database in ways :func:`make_sliderunner_db` does not
    offer (shuffled ``orderIdx``, image annotations, odd rows).
    """
    rng = random.Random(seed)
    conn = sqlite3.connect(os.fspath(path))
    try:
        register_functions(conn, now=lambda: FIXED_TIME, rng=rng)
        with conn:
            yield conn
    finally:
        conn.close()


def _number(value: float) -> int | float:
    # SlideRunner stores integer pixel coordinates; keep fractions when there are some.
    return int(value) if float(value).is_integer() else float(value)


def _slide_records(slides: Sequence[SlideRecord | str]) -> list[SlideRecord]:
    records: list[SlideRecord] = []
    for index, item in enumerate(slides, start=1):
        records.append(item if isinstance(item, SlideRecord) else SlideRecord(index, str(item)))
    return records


def _check(
    path: Path,
    *,
    slides: Sequence[SlideRecord],
    annotations: Sequence[Annotation],
    classes: Mapping[int, str],
    persons: Mapping[int, str],
    schema_version: int,
) -> None:
    def fail(message: str, table: str) -> DatabaseError:
        return DatabaseError(f"cannot write {path}: {message}", path=path, table=table)

    if schema_version not in SUPPORTED_SCHEMA_VERSIONS:
        raise fail(
            f"schema_version must be one of {SUPPORTED_SCHEMA_VERSIONS}, got {schema_version}",
            "Slides",
        )
    slide_uids = [s.uid for s in slides]
    if len(set(slide_uids)) != len(slide_uids):
        raise fail(f"slide uids must be unique, got {slide_uids}", "Slides")
    if 0 in classes:
        raise fail("class uid 0 means 'no agreed class' in SlideRunner; use 1 or more", "Classes")
    uids = [a.uid for a in annotations if a.uid != 0]
    if len(set(uids)) != len(uids):
        raise fail("annotation uids must be unique (0 means 'assign one')", "Annotations")
    for a in annotations:
        where = f"annotation {a.uid or '(new)'} on slide {a.slide}"
        if a.slide not in slide_uids:
            raise fail(f"{where}: no slide with uid {a.slide} (slides: {slide_uids})", "Slides")
        if a.class_id is not None and a.class_id not in classes:
            raise fail(f"{where}: label {a.class_id} is not a class ({dict(classes)})", "Classes")
        for person, klass in a.votes.items():
            if person not in persons:
                raise fail(f"{where}: vote by unknown person {person}", "Persons")
            if klass not in classes:
                raise fail(f"{where}: vote for unknown class {klass}", "Classes")
        if schema_version == 0 and (a.deleted or a.description is not None):
            raise fail(
                f"{where}: schema version 0 has no 'deleted' or 'description' column; "
                "use schema_version >= 1 or drop them",
                "Annotations",
            )


def make_sliderunner_db(
    path: str | os.PathLike[str],
    slides: Sequence[SlideRecord | str],
    annotations: Iterable[Annotation],
    *,
    classes: Mapping[int, str],
    persons: Mapping[int, str] | None = None,
    schema_version: int = 3,
    seed: int = 0,
) -> Path:
    """Write a SlideRunner database holding ``slides`` and ``annotations``.

    Example:
        >>> from wsi2rek.testing import make_sliderunner_db, spot
        >>> make_sliderunner_db(  # doctest: +SKIP
        ...     "cells.sqlite", ["slide.svs"], [spot(1, 500, 400, 2), spot(1, 90, 80, 1)],
        ...     classes={1: "look-alike", 2: "mitotic figure"},
        ... )

    Args:
        path: Where to write; an existing file is replaced atomically.
        slides: Slide records, or file names (given uids 1, 2, ... in order).
        annotations: Annotations with their votes (see :func:`spot`, :func:`area`,
            :func:`polygon`, ...). ``uid=0`` means "assign the next free uid";
            ``label=None`` is written as ``agreedClass = 0``.
        classes: Class uid -> name.
        persons: Person uid -> name; by default every voter, named ``annotator <uid>``
            (or one ``annotator 1`` when nobody voted).
        schema_version: 0 (oldest layout: no deleted/guid/lastModified/description/color/
            coordinateZ/exact_id/uuid/exactImageID columns, no triggers) to 3.
        seed: Seeds the stand-ins for ``generate_uuid()`` and ``randcolor()``.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        DatabaseError: for an unsupported version, an annotation on an unknown slide,
            a label or vote naming an unknown class or person, duplicate uids, or
            deleted/description on version 0.
    """
    out = Path(path)
    records = _slide_records(slides)
    annos = list(annotations)
    if persons is None:
        voters = sorted({p for a in annos for p in a.votes})
        persons = {p: f"annotator {p}" for p in voters} or {1: "annotator 1"}
    _check(
        out,
        slides=records,
        annotations=annos,
        classes=classes,
        persons=persons,
        schema_version=schema_version,
    )

    next_uid = max((a.uid for a in annos), default=0) + 1
    with atomic_path(out) as tmp, sliderunner_connection(tmp, seed=seed) as conn:
        # A fresh temporary file: no rollback journal and no per-commit fsync (the
        # file is deleted on error and fsynced once by atomic_path, before the rename).
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        _write(
            conn,
            slides=records,
            annotations=annos,
            classes=classes,
            persons=persons,
            schema_version=schema_version,
            next_uid=next_uid,
        )
    return out


def _write(
    conn: sqlite3.Connection,
    *,
    slides: Sequence[SlideRecord],
    annotations: Sequence[Annotation],
    classes: Mapping[int, str],
    persons: Mapping[int, str],
    schema_version: int,
    next_uid: int,
) -> None:
    v0 = schema_version == 0
    create_schema(conn, schema_version, last_modified_default=FIXED_TIME)
    conn.executemany(
        "INSERT INTO Slides (uid, filename, width, height, directory) VALUES (?, ?, ?, ?, ?)",
        [(s.uid, s.filename, s.width, s.height, s.directory) for s in slides],
    )
    conn.executemany("INSERT INTO Classes (uid, name) VALUES (?, ?)", sorted(classes.items()))
    conn.executemany("INSERT INTO Persons (uid, name) VALUES (?, ?)", sorted(persons.items()))

    anno_rows: list[tuple[object, ...]] = []
    coord_rows: list[tuple[object, ...]] = []
    label_rows: list[tuple[object, ...]] = []
    for a in annotations:
        uid = a.uid
        if uid == 0:
            uid, next_uid = next_uid, next_uid + 1
        agreed = 0 if a.class_id is None else a.class_id
        if v0:
            anno_rows.append((uid, a.slide, int(a.kind), agreed))
        else:
            anno_rows.append((uid, a.slide, int(a.kind), agreed, int(a.deleted), a.description))
        for order, p in enumerate(a.points, start=1):
            coord_rows.append((_number(p.x), _number(p.y), a.slide, uid, order))
        label_rows.extend((person, klass, uid) for person, klass in sorted(a.votes.items()))
    if v0:
        conn.executemany(
            "INSERT INTO Annotations (uid, slide, type, agreedClass) VALUES (?, ?, ?, ?)",
            anno_rows,
        )
    else:
        conn.executemany(
            "INSERT INTO Annotations (uid, slide, type, agreedClass, deleted, description) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            anno_rows,
        )
    conn.executemany(
        "INSERT INTO Annotations_coordinates (coordinateX, coordinateY, slide, annoId, "
        "orderIdx) VALUES (?, ?, ?, ?, ?)",
        coord_rows,
    )
    conn.executemany(
        "INSERT INTO Annotations_label (person, class, annoId) VALUES (?, ?, ?)", label_rows
    )
