"""Read-only reader for SlideRunner annotation databases (schema versions 0 to 3).

SlideRunner (Aubreville et al.) stores annotations in SQLite. Its own ``Database.open``
migrates the file it opens; this reader never writes: the file is opened with
``file:...?mode=ro`` and ``PRAGMA query_only``, so it stays byte-for-byte unchanged.

Columns are selected by name after checking them against ``PRAGMA table_info``: column
order differs between files, and the optional columns of newer versions (``deleted``,
``description``, ``orderIdx``, ...) may be missing. All annotations, their coordinates
and their votes are loaded with three queries and grouped in Python.
"""

from __future__ import annotations

import math
import os
import sqlite3
import urllib.parse
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import attrs

from wsi2rek.annotations._types import Annotation, AnnotationKind
from wsi2rek.annotations.sliderunner._names import SlideRecord, find_slide
from wsi2rek.errors import (
    AnnotationError,
    DatabaseError,
    DatabaseNotFoundError,
    SchemaError,
    SkippedAnnotationWarning,
)
from wsi2rek.geometry import Point

__all__ = [
    "SQLITE_HEADER",
    "AnnotationRead",
    "SkippedAnnotation",
    "SlideRunnerDB",
    "is_sqlite_file",
]

#: The first 16 bytes of every SQLite 3 database file.
SQLITE_HEADER: Final = b"SQLite format 3\x00"

#: SlideRunner's type number for whole-image annotations (no coordinates; never loaded).
IMAGE_ANNOTATION_TYPE: Final = 6

#: Required columns per table; everything else is optional and read only when present.
_REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "Slides": ("uid", "filename"),
    "Classes": ("uid", "name"),
    "Persons": ("uid", "name"),
    "Annotations": ("uid", "slide", "type", "agreedClass"),
    "Annotations_coordinates": ("uid", "coordinateX", "coordinateY", "annoId"),
    "Annotations_label": ("uid", "person", "class", "annoId"),
}

#: Points each kind needs, and how many of them SlideRunner uses (None: all).
_POINTS: Final[dict[AnnotationKind, tuple[int, int | None]]] = {
    AnnotationKind.SPOT: (1, 1),
    AnnotationKind.SPECIAL_SPOT: (1, 1),
    AnnotationKind.AREA: (2, 2),
    AnnotationKind.CIRCLE: (2, 2),
    AnnotationKind.POLYGON: (3, None),
}

_KINDS: Final = {kind.value: kind for kind in AnnotationKind}

#: How many example uids a skip warning names per reason.
_EXAMPLES: Final = 5


@attrs.frozen
class SkippedAnnotation:
    """An annotation row that could not become an :class:`Annotation`.

    Attributes:
        uid: The annotation's uid.
        slide: Its slide uid (None when the row has none).
        type: Its raw ``type`` value (6 for image annotations, None when NULL).
        reason: Why it was skipped, e.g. ``"image annotation (type 6)"``.
    """

    uid: int
    slide: int | None
    type: int | None
    reason: str


@attrs.frozen
class AnnotationRead:
    """What one ``read_annotations`` call found: the annotations and what it skipped.

    Returned per call (a reader shared across threads has no "last call"); iterating it
    iterates :attr:`annotations`.

    Attributes:
        annotations: The annotations read, in the reader's order.
        skipped: Every row or feature that could not become an :class:`Annotation`, with
            the reason for each.
    """

    annotations: tuple[Annotation, ...]
    skipped: tuple[SkippedAnnotation, ...] = ()

    def __iter__(self) -> Iterator[Annotation]:
        return iter(self.annotations)

    def __len__(self) -> int:
        return len(self.annotations)


def is_sqlite_file(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a regular file starting with the SQLite 3 header."""
    if not Path(path).is_file():  # never open a named pipe or device: it could block
        return False
    try:
        with Path(path).open("rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def _ro_uri(path: Path, *, immutable: bool = False) -> str:
    # Quote everything URI-special (space, '?', '#', '%') so any file name works.
    query = "?mode=ro&immutable=1" if immutable else "?mode=ro"
    return "file:" + urllib.parse.quote(str(path.resolve())) + query


def _sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _is_wal(path: Path) -> bool:
    # Bytes 18 and 19 of the header are the read and write versions: 2 means WAL mode.
    try:
        with path.open("rb") as handle:
            header = handle.read(20)
    except OSError:
        return False
    return len(header) == 20 and header[18] == 2


def _nonempty(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def _open_error(path: Path, exc: sqlite3.Error) -> DatabaseError:
    """Say what is actually wrong with a database SQLite refused to read, and what to do."""
    name = getattr(exc, "sqlite_errorname", "")
    journal = _sidecar(path, "-journal")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return DatabaseError(
            f"{path} is locked by another program that is writing to it ({exc}); wait until "
            "it has finished (or close the database in SlideRunner), then retry",
            path=path,
        )
    if name == "SQLITE_READONLY_ROLLBACK" or (
        name.startswith("SQLITE_READONLY") and _nonempty(journal)
    ):
        return DatabaseError(
            f"{path} has a leftover rollback journal {journal.name} from a program that was "
            "killed while writing; wsi2rek only reads and cannot roll it back: open the "
            "database once in SlideRunner (or run: sqlite3 "
            f"{path.name} 'PRAGMA integrity_check;') in that folder, then retry; never delete "
            "the journal, that would corrupt the database",
            path=path,
        )
    if _is_wal(path) and name.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY")):
        return DatabaseError(
            f"{path} is a WAL-mode database in a folder wsi2rek cannot write to (read-only "
            f"media?), and its {path.name}-wal file holds changes not yet in the main file "
            f"({exc}); copy {path.name} together with {path.name}-wal to a writable folder "
            "and pass the copy",
            path=path,
        )
    return SchemaError(
        f"{path} cannot be read as an SQLite database ({exc}); the file is damaged or not a "
        "SlideRunner database: pass the .sqlite file SlideRunner saved",
        path=path,
    )


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class SlideRunnerDB:
    """A SlideRunner annotation database, opened strictly read-only.

    Example:
        >>> with SlideRunnerDB("MITOS_WSI_CMC_MEL.sqlite") as db:  # doctest: +SKIP
        ...     spots = db.annotations("a8773be388e12df89edd.svs")

    Args:
        path: The ``.sqlite`` file.

    Raises:
        DatabaseNotFoundError: when ``path`` does not exist.
        SchemaError: when it is not an SQLite database, or lacks a table or column
            SlideRunner always writes (``Annotations.type``, ...).
        DatabaseError: when it cannot be opened for another reason (a folder, no
            permission, a corrupt file).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._columns: dict[str, dict[str, str]] = {}
        self._tables: dict[str, str] = {}
        self._schema_version = 0
        self._slides: tuple[SlideRecord, ...] | None = None
        self._open()

    # --- lifecycle ----------------------------------------------------------------------

    def _open(self) -> None:
        path = self._path
        if not path.exists():
            raise DatabaseNotFoundError(
                f"SlideRunner database not found: {path} (expected an existing .sqlite "
                "file; check the path)",
                path=path,
            )
        if not path.is_file():
            raise DatabaseError(
                f"{path} is not a file; expected a SlideRunner .sqlite database", path=path
            )
        try:
            with path.open("rb") as handle:
                header = handle.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise DatabaseError(f"cannot read {path}: {exc}", path=path) from exc
        if header and header != SQLITE_HEADER:
            raise SchemaError(
                f"{path} is not an SQLite database (expected the header "
                f"{SQLITE_HEADER!r}, found {header!r}); pass a SlideRunner .sqlite file",
                path=path,
            )
        try:
            conn = self._connect(path)
        except sqlite3.Error as exc:
            raise _open_error(path, exc) from exc
        try:
            for table, required in _REQUIRED.items():
                self._columns[table] = self._check_table(conn, table, required)
        except sqlite3.Error as exc:
            conn.close()
            raise _open_error(path, exc) from exc
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _connect(self, path: Path) -> sqlite3.Connection:
        """Open read-only and read the catalogue (SQLite only touches the file here)."""
        immutable = False
        while True:
            # Read-only and serialised by SQLite, so a reader may be shared with worker
            # threads (e.g. a Streamlit session or a thread pool planning slides).
            conn = sqlite3.connect(
                _ro_uri(path, immutable=immutable), uri=True, check_same_thread=False
            )
            try:
                conn.execute("PRAGMA query_only = ON")
                self._schema_version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                self._tables = {
                    str(name).casefold(): str(name)
                    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
                }
            except sqlite3.Error as exc:
                conn.close()
                name = getattr(exc, "sqlite_errorname", "")
                # A WAL database needs a writable -shm file next to it. On read-only media
                # with no pending -wal changes, reading it as immutable is exact.
                if (
                    not immutable
                    and name.startswith("SQLITE_CANTOPEN")
                    and _is_wal(path)
                    and not _nonempty(_sidecar(path, "-wal"))
                ):
                    immutable = True
                    continue
                raise
            return conn

    def _check_table(
        self, conn: sqlite3.Connection, table: str, required: tuple[str, ...]
    ) -> dict[str, str]:
        actual = self._tables.get(table.casefold())
        if actual is None:
            raise SchemaError(
                f"{self._path} has no table {table!r} (found: "
                f"{', '.join(sorted(self._tables.values())) or 'no tables'}); expected a "
                "SlideRunner database with Slides, Classes, Persons, Annotations, "
                "Annotations_coordinates and Annotations_label",
                path=self._path,
                table=table,
            )
        info = conn.execute(f"PRAGMA table_info({_quote(actual)})").fetchall()
        columns = {str(row[1]).casefold(): str(row[1]) for row in info}
        for column in required:
            if column.casefold() not in columns:
                raise SchemaError(
                    f"{self._path}: table {actual!r} has no column {column!r} (found: "
                    f"{', '.join(columns.values())}); SlideRunner databases of every "
                    f"version have {', '.join(required)}",
                    path=self._path,
                    table=actual,
                    column=column,
                )
        return columns

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def copy_to(self, target: str | os.PathLike[str]) -> None:
        """Copy the whole database into ``target`` with SQLite's online backup API.

        Unlike copying the file, this reads through the write-ahead log: annotations
        SlideRunner saved that are still in the ``-wal`` file are part of the copy. The
        source stays read-only; ``target`` (a new file) is written.

        Raises:
            DatabaseError: when the database is closed or cannot be copied.
        """
        source = self._require_open("the whole database")
        dest = sqlite3.connect(os.fspath(target))
        try:
            source.backup(dest)
        except sqlite3.Error as exc:
            raise DatabaseError(
                f"copying {self._path} to {target} failed: {exc}", path=self._path
            ) from exc
        finally:
            dest.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "" if self._conn is not None else ", closed"
        return f"SlideRunnerDB({str(self._path)!r}, schema_version={self._schema_version}{state})"

    def __reduce__(self) -> tuple[type[SlideRunnerDB], tuple[Path]]:
        # Pickles as its path and reopens in the receiving process (workers, Dask).
        return (type(self), (self._path,))

    # --- low level ----------------------------------------------------------------------

    def _col(self, table: str, column: str) -> str:
        """The quoted column name if the table has it, else the SQL literal NULL."""
        actual = self._columns[table].get(column.casefold())
        return _quote(actual) if actual is not None else "NULL"

    def _table(self, table: str) -> str:
        return _quote(self._tables[table.casefold()])

    def has_column(self, table: str, column: str) -> bool:
        """True when ``table`` (one SlideRunner table) has ``column`` (case-insensitive)."""
        return column.casefold() in self._columns.get(table, {})

    def _require_open(self, table: str) -> sqlite3.Connection:
        if self._conn is None:
            raise DatabaseError(
                f"{self!r} is closed; open a new SlideRunnerDB to read it",
                path=self._path,
                table=table,
            )
        return self._conn

    def _query(self, table: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        conn = self._require_open(table)
        try:
            return conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
                raise _open_error(self._path, exc) from exc
            raise DatabaseError(
                f"reading table {table!r} of {self._path} failed: {exc}",
                path=self._path,
                table=table,
            ) from exc

    # --- metadata -----------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    @property
    def schema_version(self) -> int:
        """SlideRunner's schema version (``PRAGMA user_version``; 0 to 3 seen in the wild)."""
        return self._schema_version

    def slides(self) -> tuple[SlideRecord, ...]:
        """Every slide, ordered by uid."""
        if self._slides is None:
            c = self._col
            rows = self._query(
                "Slides",
                f"SELECT {c('Slides', 'uid')}, {c('Slides', 'filename')}, "
                f"{c('Slides', 'directory')}, {c('Slides', 'width')}, "
                f"{c('Slides', 'height')} FROM {self._table('Slides')} "
                f"ORDER BY {c('Slides', 'uid')}",
            )
            self._slides = tuple(self._slide_record(row) for row in rows)
        return self._slides

    def _slide_record(self, row: Sequence[Any]) -> SlideRecord:
        uid, filename, directory, width, height = row
        size: list[int | None] = []
        for column, value in (("uid", uid), ("width", width), ("height", height)):
            try:
                size.append(_whole(value))
            except ValueError:
                raise DatabaseError(
                    f"{self._path}: table 'Slides', row with uid {uid!r} ({filename!r}): "
                    f"{column} is {value!r}, not a whole number of pixels; correct or clear "
                    "that value (e.g. by opening the slide once in SlideRunner)",
                    path=self._path,
                    table="Slides",
                ) from None
        return SlideRecord(
            uid=int(uid),
            filename="" if filename is None else str(filename),
            directory=None if directory is None else str(directory),
            width=size[1],
            height=size[2],
        )

    def slide(self, name_or_uid: int | str | os.PathLike[str] | SlideRecord) -> SlideRecord:
        """The slide with this uid, or this file name (base name, case-insensitive).

        When several slides share a base name, folders in the query pick one
        (``"01/25.tif"`` matches the slide whose stored directory ends in ``01``).

        Raises:
            SlideLookupError: for an unknown or ambiguous name or an unknown uid; the
                message and ``candidates`` list near names or the tied slides.
        """
        return find_slide(self.slides(), name_or_uid, path=self._path)

    def classes(self) -> dict[int, str]:
        """Class uid -> class name."""
        c = self._col
        rows = self._query(
            "Classes",
            f"SELECT {c('Classes', 'uid')}, {c('Classes', 'name')} "
            f"FROM {self._table('Classes')} ORDER BY {c('Classes', 'uid')}",
        )
        return {int(uid): "" if name is None else str(name) for uid, name in rows}

    def persons(self) -> dict[int, str]:
        """Person (annotator) uid -> name."""
        c = self._col
        rows = self._query(
            "Persons",
            f"SELECT {c('Persons', 'uid')}, {c('Persons', 'name')} "
            f"FROM {self._table('Persons')} ORDER BY {c('Persons', 'uid')}",
        )
        return {int(uid): "" if name is None else str(name) for uid, name in rows}

    # --- annotations --------------------------------------------------------------------

    def annotations(
        self,
        slide: int | str | os.PathLike[str] | SlideRecord | None = None,
        include_deleted: bool = False,
        *,
        kinds: Iterable[AnnotationKind] | None = None,
        labels: Iterable[int | None] | None = None,
    ) -> list[Annotation]:
        """Load annotations, ordered by uid (:meth:`read_annotations` without the skips).

        Takes the arguments of :meth:`read_annotations` and warns as it does.
        """
        read = self._read(slide, include_deleted, kinds=kinds, labels=labels, stacklevel=3)
        return list(read.annotations)

    def read_annotations(
        self,
        slide: int | str | os.PathLike[str] | SlideRecord | None = None,
        include_deleted: bool = False,
        *,
        kinds: Iterable[AnnotationKind] | None = None,
        labels: Iterable[int | None] | None = None,
    ) -> AnnotationRead:
        """Load annotations, ordered by uid, with the rows this call skipped.

        Args:
            slide: Only this slide: a uid, or a file name matched on its base name
                case-insensitively (see :meth:`slide`). None loads every slide.
            include_deleted: Also return soft-deleted annotations (``deleted = 1``).
            kinds: Only these kinds (e.g. ``{AnnotationKind.SPOT}``); None for all.
            labels: Only these agreed classes; include None for "no agreed class".

        Returns:
            An :class:`AnnotationRead`: ``annotations``, each with its points in
            ``orderIdx`` order (coordinate uid order when ``orderIdx`` is NULL) and its
            votes (person -> class; when a person voted twice, the later row wins), and
            ``skipped``.

        Warns:
            SkippedAnnotationWarning: once per call when annotations were skipped
                (image annotations, unknown types, missing or too few coordinates);
                the result's ``skipped`` lists them.

        Raises:
            SlideLookupError: when ``slide`` names no slide or several.
            AnnotationError: when ``kinds`` holds something that is not a kind.
            DatabaseError: when the database cannot be read.
        """
        return self._read(slide, include_deleted, kinds=kinds, labels=labels, stacklevel=3)

    def _rows(
        self, slide_uid: int | None, include_deleted: bool
    ) -> tuple[list[Any], list[Any], list[Any]]:
        """The annotation, coordinate and vote rows of one slide (or all): three queries."""
        a, co, lb = "Annotations", "Annotations_coordinates", "Annotations_label"
        c = self._col
        where: list[str] = []
        params: list[Any] = []
        if slide_uid is not None:
            where.append(f"{c(a, 'slide')} = ?")
            params.append(slide_uid)
        if not include_deleted and self.has_column(a, "deleted"):
            where.append(f"COALESCE({c(a, 'deleted')}, 0) = 0")
        where_sql = (" WHERE " + " AND ".join(where)) if where else ""
        anno_rows = self._query(
            a,
            f"SELECT {c(a, 'uid')}, {c(a, 'slide')}, {c(a, 'type')}, {c(a, 'agreedClass')}, "
            f"{c(a, 'deleted')}, {c(a, 'description')} FROM {self._table(a)}{where_sql} "
            f"ORDER BY {c(a, 'uid')}",
            params,
        )
        # Coordinates and votes of the same annotations: one query each, grouped here.
        sub = f"SELECT {c(a, 'uid')} FROM {self._table(a)}{where_sql}"
        sub_where = f" WHERE {c(co, 'annoId')} IN ({sub})" if where else ""
        coord_rows = self._query(
            co,
            f"SELECT {c(co, 'annoId')}, {c(co, 'coordinateX')}, {c(co, 'coordinateY')} "
            f"FROM {self._table(co)}{sub_where} "
            f"ORDER BY {c(co, 'annoId')}, {c(co, 'orderIdx')}, {c(co, 'uid')}",
            params,
        )
        label_where = f" WHERE {c(lb, 'annoId')} IN ({sub})" if where else ""
        label_rows = self._query(
            lb,
            f"SELECT {c(lb, 'annoId')}, {c(lb, 'person')}, {c(lb, 'class')} "
            f"FROM {self._table(lb)}{label_where} ORDER BY {c(lb, 'uid')}",
            params,
        )
        return anno_rows, coord_rows, label_rows

    def _read(
        self,
        slide: int | str | os.PathLike[str] | SlideRecord | None,
        include_deleted: bool,
        *,
        kinds: Iterable[AnnotationKind] | None,
        labels: Iterable[int | None] | None,
        stacklevel: int,
    ) -> AnnotationRead:
        wanted_kinds = None if kinds is None else frozenset(_as_kind(k) for k in kinds)
        wanted_labels = None if labels is None else frozenset(labels)
        slide_uid = None if slide is None else self.slide(slide).uid

        anno_rows, coord_rows, label_rows = self._rows(slide_uid, include_deleted)

        coords: defaultdict[int, list[tuple[Any, Any]]] = defaultdict(list)
        for anno_id, x, y in coord_rows:
            coords[anno_id].append((x, y))
        votes, bad_votes = _votes(label_rows)

        result: list[Annotation] = []
        skipped: list[tuple[str, SkippedAnnotation]] = []
        for uid, slide_id, raw_type, agreed, deleted, description in anno_rows:
            try:
                label = _whole(agreed) or None  # 0 and NULL: no agreed class
            except ValueError:
                label = _BAD
            if wanted_labels is not None and label not in wanted_labels and label != _BAD:
                continue
            kind = _kind(raw_type)
            if wanted_kinds is not None and kind not in wanted_kinds:
                continue
            category, detail, points = _shape(kind, raw_type, coords.get(uid, ()), slide_id)
            if category is None:
                category, detail = _integers(agreed, label, slide_id, bad_votes.get(uid))
            if category is not None:
                skip = SkippedAnnotation(
                    uid=int(uid),
                    slide=_int_or_none(slide_id),
                    type=_int_or_none(raw_type),
                    reason=detail,
                )
                skipped.append((category, skip))
                continue
            assert kind is not None  # _shape reports a reason for unknown kinds
            result.append(
                Annotation(
                    uid=int(uid),
                    slide=int(slide_id),
                    kind=kind,
                    class_id=label,
                    points=points,
                    deleted=bool(deleted),
                    votes=votes.get(uid, {}),
                    description=None if description is None else str(description),
                )
            )
        if skipped:
            warnings.warn(
                _skip_message(self._path, skipped, len(anno_rows)),
                SkippedAnnotationWarning,
                stacklevel=stacklevel,
            )
        return AnnotationRead(tuple(result), tuple(skip for _, skip in skipped))


def _votes(label_rows: Iterable[Sequence[Any]]) -> tuple[dict[Any, dict[int, int]], dict[Any, str]]:
    """Group vote rows by annotation: (votes, why the votes of an annotation are bad)."""
    votes: defaultdict[Any, dict[int, int]] = defaultdict(dict)
    bad: dict[Any, str] = {}
    for anno_id, person, klass in label_rows:
        if klass is not None:  # a label row without a class is not a vote
            try:
                votes[anno_id][_whole(person) or 0] = _whole(klass) or 0
            except ValueError:
                bad[anno_id] = f"vote by person {person!r} for class {klass!r}"
    return votes, bad


def _as_kind(value: AnnotationKind | int) -> AnnotationKind:
    try:
        return AnnotationKind(value)
    except ValueError:
        names = ", ".join(f"{k.name} ({k.value})" for k in AnnotationKind)
        raise AnnotationError(f"kinds= takes annotation kinds ({names}), got {value!r}") from None


#: Stands for an agreed class that is not a whole number (the annotation is skipped).
_BAD: Final = -(2**63)


def _whole(value: Any) -> int | None:
    """``value`` as an int (None for NULL); ValueError unless it is a whole number.

    SQLite keeps text that does not look like a number as text even in an INTEGER
    column (``agreedClass = 'two'``), and REAL infinities as REAL.
    """
    if value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(value)


def _int_or_none(value: Any) -> int | None:
    try:
        return _whole(value)
    except ValueError:
        return None


def _integers(
    agreed: Any, label: int | None, slide_id: Any, bad_vote: str | None
) -> tuple[str | None, str]:
    """Check the integer columns of an otherwise valid row: (skip category or None, detail)."""
    if label == _BAD:
        return "with bad values", f"agreedClass {agreed!r} is not a class uid"
    if _int_or_none(slide_id) is None:
        return "with bad values", f"slide {slide_id!r} is not a slide uid"
    if bad_vote is not None:
        return "with bad values", f"{bad_vote} is not a pair of uids"
    return None, ""


def _kind(raw_type: Any) -> AnnotationKind | None:
    kind = _KINDS.get(raw_type)
    if kind is not None:
        return kind
    try:
        return AnnotationKind(int(raw_type))
    except (TypeError, ValueError):
        return None


def _shape(
    kind: AnnotationKind | None,
    raw_type: Any,
    raw_points: Sequence[tuple[Any, Any]],
    slide_id: Any,
) -> tuple[str | None, str, tuple[Point, ...]]:
    """Validate one annotation: (skip category or None, detail, points)."""
    if kind is None:
        if raw_type is not None and raw_type == IMAGE_ANNOTATION_TYPE:
            return "image annotations", f"image annotation (type {IMAGE_ANNOTATION_TYPE})", ()
        return "unknown types", f"unknown annotation type {raw_type!r}", ()
    if slide_id is None:
        return "without slide", "no slide uid", ()
    return _points(kind, raw_points)


def _points(
    kind: AnnotationKind, raw_points: Sequence[tuple[Any, Any]]
) -> tuple[str | None, str, tuple[Point, ...]]:
    """Convert coordinate rows to the kind's points: (skip category or None, detail, points)."""
    points: list[Point] = []
    for x, y in raw_points:
        if x is None or y is None:
            continue  # SlideRunner writes NULL coordinates for whole-image annotations
        try:
            fx, fy = float(x), float(y)
        except (TypeError, ValueError):
            fx = fy = math.nan
        if not (math.isfinite(fx) and math.isfinite(fy)):
            return "bad coordinates", f"coordinate ({x!r}, {y!r}) is not a finite number", ()
        points.append(Point(fx, fy))
    needed, used = _POINTS[kind]
    if not points:
        return "without coordinates", f"{kind.name.lower()} without coordinates", ()
    if len(points) < needed:
        detail = f"{kind.name.lower()} with {len(points)} point(s), needs at least {needed}"
        return "with too few points", detail, ()
    return None, "", tuple(points if used is None else points[:used])


def _skip_message(path: Path, skipped: Sequence[tuple[str, SkippedAnnotation]], total: int) -> str:
    by_category: dict[str, list[int]] = defaultdict(list)
    for category, s in skipped:
        by_category[category].append(s.uid)
    parts = []
    for category, uids in sorted(by_category.items(), key=lambda item: -len(item[1])):
        examples = ", ".join(str(u) for u in uids[:_EXAMPLES])
        more = ", ..." if len(uids) > _EXAMPLES else ""
        parts.append(f"{len(uids)} {category} (uids {examples}{more})")
    return (
        f"{path}: skipped {len(skipped)} of {total} annotations: {'; '.join(parts)}; "
        "SlideRunnerDB.read_annotations(...).skipped lists each with its reason"
    )
