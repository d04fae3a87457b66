"""Write detections into SlideRunner databases: a new one, or a copy of the user's.

Detections become spot annotations in a class of their own (by default the detection
label with a ``" (detected)"`` suffix), so they never mix with the ground truth of a
copied database; the confidence is written into the annotation's description, which
SlideRunner shows. The user's database is only ever read, through SQLite's backup API.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from wsi2rek._atomic import atomic_path
from wsi2rek.annotations._types import AnnotationKind
from wsi2rek.annotations.sliderunner._names import SlideRecord, find_slide, slides_named
from wsi2rek.annotations.sliderunner._reader import SlideRunnerDB
from wsi2rek.annotations.sliderunner._schema import create_schema, register_functions
from wsi2rek.detection import Detection
from wsi2rek.errors import DatabaseError, DetectionError, SlideLookupError

__all__ = ["DETECTED_SUFFIX", "detection_class_name", "write_sliderunner"]

#: Appended to a detection label to name the class its detections are written into.
DETECTED_SUFFIX: Final = " (detected)"


def detection_class_name(label: str, class_name: str | None = None) -> str:
    """The SlideRunner class detections labelled ``label`` go into.

    ``class_name`` when given (every detection into that one class), otherwise
    ``"<label> (detected)"``.
    """
    return class_name if class_name is not None else f"{label}{DETECTED_SUFFIX}"


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    # Table names come from a fixed set in this module; PRAGMA takes no parameters.
    return {str(row[1]) for row in con.execute(f"PRAGMA table_info(`{table}`)")}


def _insert(con: sqlite3.Connection, table: str, values: Mapping[str, Any], cols: set[str]) -> int:
    usable = {k: v for k, v in values.items() if k in cols}
    names = ", ".join(f"`{k}`" for k in usable)
    marks = ", ".join("?" for _ in usable)
    cur = con.execute(f"INSERT INTO `{table}` ({names}) VALUES ({marks})", tuple(usable.values()))
    assert cur.lastrowid is not None  # an INSERT always sets it
    return cur.lastrowid


def _slide_uid(
    con: sqlite3.Connection, slide_name: str, slide_size: tuple[int, int] | None, path: Path
) -> int:
    records = [
        SlideRecord(int(uid), "" if name is None else str(name), None if d is None else str(d))
        for uid, name, d in con.execute("SELECT uid, filename, directory FROM Slides")
    ]
    if slides_named(records, slide_name):
        # One rule for reading and writing: base name, case-insensitive, folders decide ties.
        try:
            return find_slide(records, slide_name, path=path).uid
        except SlideLookupError as exc:
            raise DatabaseError(str(exc), path=path, table="Slides") from None
    width, height = slide_size if slide_size is not None else (None, None)
    name = Path(slide_name.replace("\\", "/")).name
    return _insert(
        con,
        "Slides",
        {"filename": name, "width": width, "height": height, "directory": ""},
        _columns(con, "Slides"),
    )


def _class_uids(
    con: sqlite3.Connection,
    labels: Sequence[str],
    classes: Mapping[str, int] | None,
    class_name: str | None,
    path: Path,
) -> dict[str, int]:
    existing = {int(uid): str(name) for uid, name in con.execute("SELECT uid, name FROM Classes")}
    by_name = {name.casefold(): uid for uid, name in existing.items()}
    cols = _columns(con, "Classes")
    out: dict[str, int] = {}
    for label in labels:
        if classes is not None and label in classes:
            uid = int(classes[label])
            if uid not in existing:
                raise DatabaseError(
                    f"classes maps {label!r} to class id {uid}, which {path} does not have "
                    f"(its classes: {existing}); use one of them or leave it out to add a "
                    "new class",
                    path=path,
                    table="Classes",
                )
            out[label] = uid
            continue
        name = detection_class_name(label, class_name)
        if name.casefold() not in by_name:
            uid = _insert(con, "Classes", {"name": name}, cols)
            existing[uid] = name
            by_name[name.casefold()] = uid
        out[label] = by_name[name.casefold()]
    return out


def _person_uid(con: sqlite3.Connection, person: str) -> int:
    row = con.execute("SELECT uid FROM Persons WHERE name = ?", (person,)).fetchone()
    if row is not None:
        return int(row[0])
    return _insert(con, "Persons", {"name": person}, _columns(con, "Persons"))


def write_sliderunner(
    detections: Iterable[Detection],
    path: str | os.PathLike[str],
    *,
    slide_name: str,
    slide_size: tuple[int, int] | None = None,
    copy_from: str | os.PathLike[str] | None = None,
    class_name: str | None = None,
    classes: Mapping[str, int] | None = None,
    person: str = "wsi2rek",
    overwrite: bool = False,
) -> Path:
    """Write detections as SlideRunner spot annotations.

    Each detection becomes a spot at its box centre (level-0 pixels, rounded) in its
    own class, ``"<label> (detected)"`` by default (``class_name`` puts every detection
    into one class of that name), never into a ground-truth class by accident. Classes
    are matched by name (case-insensitive) and created when missing; ``classes`` maps a
    label to an existing class id explicitly. Each spot gets one label vote by
    ``person`` and the description ``confidence=97.53``, which SlideRunner shows. The
    slide is matched by file name with the rule of :meth:`SlideRunnerDB.slide`, or added.

    With ``copy_from``, the user's database is copied to ``path`` with SQLite's backup
    API (so annotations still in its ``-wal`` file are copied too; the original is only
    read) and the spots are appended to the copy. Otherwise a new database with
    SlideRunner's schema (version 3) is created. Either way the result appears at
    ``path`` atomically, as a single file (rollback-journal mode).

    Args:
        detections: Detections in level-0 pixels of the slide.
        path: The database to write.
        slide_name: File name of the slide, as SlideRunner lists it.
        slide_size: ``(width, height)`` stored when the slide is added.
        copy_from: An existing SlideRunner database to copy (never modified).
        class_name: One class for every detection, instead of ``"<label> (detected)"``.
        classes: Label -> existing class id, overriding the match by name.
        person: Name of the annotator the label votes are recorded under.
        overwrite: Replace ``path`` if it exists (otherwise that is an error).

    Returns:
        ``path``.

    Raises:
        DetectionError: when ``path`` exists (without ``overwrite``) or is ``copy_from``.
        DatabaseError: when ``copy_from`` is not a usable SlideRunner database, or the
            slide name is ambiguous in it.
    """
    out = Path(path)
    items = list(getattr(detections, "detections", detections))
    if class_name is not None and not class_name.strip():
        raise DetectionError(
            "the SlideRunner class name for detections is empty; give a name such as "
            "'mitotic figure (detected)' or leave it out"
        )
    if copy_from is not None and out.resolve() == Path(copy_from).resolve():
        raise DetectionError(
            f"refusing to write detections into {copy_from} itself; give another output path "
            "(the original database is copied, never modified)"
        )
    if out.exists() and not overwrite:
        raise DetectionError(
            f"{out} already exists; choose a new file name or pass overwrite=True",
            parameter="overwrite",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        try:
            if copy_from is not None:
                with SlideRunnerDB(copy_from) as source:
                    source.copy_to(tmp)
            con = sqlite3.connect(tmp)
            try:
                register_functions(con)
                # The copy keeps the source's journal mode; the result must be one file.
                con.execute("PRAGMA journal_mode = DELETE")
                if copy_from is None:
                    create_schema(con, last_modified_default=time.time())
                _append_spots(
                    con,
                    items,
                    slide_name=slide_name,
                    slide_size=slide_size,
                    class_name=class_name,
                    classes=classes,
                    person=person,
                    path=Path(copy_from) if copy_from is not None else out,
                )
                con.commit()
            finally:
                con.close()
        finally:
            # A rollback journal is left only by a failed write; the file itself is
            # removed by atomic_path.
            tmp.with_name(tmp.name + "-journal").unlink(missing_ok=True)
    return out


def _append_spots(
    con: sqlite3.Connection,
    items: Sequence[Detection],
    *,
    slide_name: str,
    slide_size: tuple[int, int] | None,
    class_name: str | None,
    classes: Mapping[str, int] | None,
    person: str,
    path: Path,
) -> None:
    try:
        slide_uid = _slide_uid(con, slide_name, slide_size, path)
        labels = sorted({d.label for d in items})
        class_uid = _class_uids(con, labels, classes, class_name, path)
        person_uid = _person_uid(con, person)
        anno_cols = _columns(con, "Annotations")
        coord_cols = _columns(con, "Annotations_coordinates")
        label_cols = _columns(con, "Annotations_label")
        for det in items:
            c = det.box.center
            anno = _insert(
                con,
                "Annotations",
                {
                    "slide": slide_uid,
                    "type": int(AnnotationKind.SPOT),
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
                    "orderIdx": 1,
                },
                coord_cols,
            )
            _insert(
                con,
                "Annotations_label",
                {"person": person_uid, "class": class_uid[det.label], "annoId": anno},
                label_cols,
            )
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(
            f"{path}: not a usable SlideRunner database ({exc}); expected the tables Slides, "
            "Classes, Persons, Annotations, Annotations_coordinates and Annotations_label",
            path=path,
        ) from exc
