"""SlideRunner's database schema (versions 0 to 3) and the SQL functions its triggers call.

The one place that knows how SlideRunner lays out its SQLite files. The tables and
triggers follow ``SlideRunner_dataAccess.database.Database``: ``create()`` writes the
tables, ``open()`` appends the columns newer releases expect (``Slides.EXACTUSER``,
``Persons.isExactUser``) and ``addTriggers()`` the triggers; a test keeps
:func:`create_schema` equal to what SlideRunner itself creates. Version 0 is the layout
of the oldest databases (``TUPAC.sqlite`` shows it): no guid, deleted, lastModified,
description, color, coordinateZ, exact_id, uuid or exactImageID columns and no triggers.

SlideRunner's triggers call three SQL functions, ``pycurrent_time()``,
``generate_uuid()`` and ``randcolor()``. They exist only on a connection that registered
them (:func:`register_functions`); without them every INSERT fails with "no such
function".
"""

from __future__ import annotations

import random
import sqlite3
import time
import uuid
from collections.abc import Callable
from typing import Final

from wsi2rek.errors import DatabaseError

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "SUPPORTED_SCHEMA_VERSIONS",
    "TABLES",
    "create_schema",
    "register_functions",
]

#: Schema versions (``PRAGMA user_version``) seen in the wild and written here.
SUPPORTED_SCHEMA_VERSIONS: Final = (0, 1, 2, 3)

#: The version SlideRunner 2.x migrates every database to.
CURRENT_SCHEMA_VERSION: Final = 3

#: The tables every SlideRunner database has.
TABLES: Final = (
    "Slides",
    "Classes",
    "Persons",
    "Annotations",
    "Annotations_coordinates",
    "Annotations_label",
    "Log",
)

_PK: Final = "INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE"


def _create(table: str, *columns: str) -> str:
    return f"CREATE TABLE `{table}` ({', '.join(columns)});"


_LOG: Final = _create(
    "Log", "`uid` INTEGER PRIMARY KEY AUTOINCREMENT", "`dateTime` FLOAT", "`labelId` INTEGER"
)

# Version 0, in the order SlideRunner wrote the tables.
_TABLES_V0: Final = (
    _create("Annotations_label", f"`uid` {_PK}", "`person` INTEGER", "`class` INTEGER",
            "`annoId` INTEGER"),
    _create("Annotations_coordinates", f"`uid` {_PK}", "`coordinateX` INTEGER",
            "`coordinateY` INTEGER", "`slide` INTEGER", "`annoId` INTEGER",
            "`orderIdx` INTEGER"),
    _create("Annotations", f"`uid` {_PK}", "`slide` INTEGER", "`type` INTEGER",
            "`agreedClass` INTEGER"),
    _create("Classes", f"`uid` {_PK}", "`name` TEXT"),
    _create("Persons", f"`uid` {_PK}", "`name` TEXT"),
    _create("Slides", f"`uid` {_PK}", "`filename` TEXT", "`width` INTEGER",
            "`height` INTEGER", "`directory` TEXT"),
    _LOG,
)  # fmt: skip


def _tables_current(last_modified_default: float) -> tuple[str, ...]:
    # Database.create() (SlideRunner_dataAccess 1.0.9), then the columns Database.open()
    # appends (Slides.EXACTUSER), in that order. lastModified's default is the creation
    # time in SlideRunner; REAL literal, so no parameter binding is needed.
    return (
        _create("Annotations_label", f"`uid` {_PK}", "`person` INTEGER", "`class` INTEGER",
                "`exact_id` INTEGER", "`annoId` INTEGER"),
        _create("Annotations_coordinates", f"`uid` {_PK}", "`coordinateX` INTEGER",
                "`coordinateY` INTEGER", "`coordinateZ` INTEGER DEFAULT 0", "`slide` INTEGER",
                "`annoId` INTEGER", "`orderIdx` INTEGER"),
        _create("Annotations", f"`uid` {_PK}", "`slide` INTEGER", "`guid` TEXT",
                f"`lastModified` REAL DEFAULT {float(last_modified_default)!r}",
                "`deleted` INTEGER DEFAULT 0", "`type` INTEGER", "`agreedClass` INTEGER",
                "`description` TEXT", "`clickable` INTEGER DEFAULT 1"),
        _create("Classes", f"`uid` {_PK}", "`name` TEXT", "`clickable` INTEGER DEFAULT 1",
                "`color` TEXT"),
        _create("Persons", f"`uid` {_PK}", "`name` TEXT", "`isExactUser` INTEGER DEFAULT 0"),
        _create("Slides", f"`uid` {_PK}", "`filename` TEXT", "`width` INTEGER",
                "`height` INTEGER", "`directory` TEXT", "`uuid` TEXT", "`exactImageID` TEXT",
                "`EXACTUSER` INTEGER DEFAULT 0"),
        _LOG,
    )  # fmt: skip


def _trigger(name: str, event: str, table: str, body: str) -> str:
    return f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {body} END;"


_TOUCH_BY_ANNO: Final = (
    "UPDATE Annotations SET lastModified=pycurrent_time() where uid==new.annoId;"
)

# Database.addTriggers(), in the order it creates them.
_TRIGGERS: Final = (
    *(
        trigger
        for event in ("UPDATE", "INSERT")
        for trigger in (
            _trigger(
                f"updateAnnotation_fromLabel{event}", event, "Annotations_label", _TOUCH_BY_ANNO
            ),
            _trigger(
                f"updateAnnotation_fromCoords{event}",
                event,
                "Annotations_coordinates",
                _TOUCH_BY_ANNO,
            ),
            _trigger(
                f"updateAnnotation_{event}",
                event,
                "Annotations",
                "UPDATE Annotations SET lastModified=pycurrent_time() where uid==new.uid;",
            ),
        )
    ),
    _trigger(
        "updateAnnotation_ins",
        "INSERT",
        "Annotations",
        "UPDATE Annotations SET guid=generate_uuid() where uid==new.uid and guid is Null;",
    ),
    _trigger(
        "setRandomcolor",
        "INSERT",
        "Classes",
        "UPDATE Classes SET color=randcolor() where uid==new.uid and color is Null;",
    ),
)


def register_functions(
    conn: sqlite3.Connection,
    *,
    now: Callable[[], float] = time.time,
    rng: random.Random | None = None,
) -> None:
    """Register the SQL functions SlideRunner's triggers call on ``conn``.

    Args:
        conn: A connection to a SlideRunner database that will be written.
        now: ``pycurrent_time()``: seconds since the epoch (SlideRunner uses ``time.time``).
        rng: Draws ``generate_uuid()`` and ``randcolor()``; a seeded generator makes the
            written database reproducible. None uses fresh randomness, as SlideRunner does.
    """
    draw = rng if rng is not None else random.Random()
    conn.create_function("pycurrent_time", 0, now)
    conn.create_function(
        "generate_uuid", 0, lambda: str(uuid.UUID(int=draw.getrandbits(128), version=4))
    )
    conn.create_function(
        "randcolor",
        0,
        lambda: "#{:02x}{:02x}{:02x}".format(*(draw.randrange(30, 255) for _ in range(3))),
    )


def create_schema(
    conn: sqlite3.Connection,
    version: int = CURRENT_SCHEMA_VERSION,
    *,
    last_modified_default: float = 0.0,
) -> None:
    """Create SlideRunner's tables (and, from version 1 on, its triggers) on ``conn``.

    Args:
        conn: A connection to an empty database.
        version: The schema version to write, one of :data:`SUPPORTED_SCHEMA_VERSIONS`.
        last_modified_default: The default of ``Annotations.lastModified`` (SlideRunner
            writes its creation time there).

    Raises:
        DatabaseError: for an unsupported version.
    """
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise DatabaseError(
            f"SlideRunner schema version must be one of {SUPPORTED_SCHEMA_VERSIONS}, got "
            f"{version!r}; pass one of those (3 is what SlideRunner 2.x writes)"
        )
    tables = _TABLES_V0 if version == 0 else _tables_current(last_modified_default)
    for statement in tables:
        conn.execute(statement)
    if version > 0:
        for trigger in _TRIGGERS:
            conn.execute(trigger)
    # PRAGMA takes no bound parameters; the value was checked against a fixed tuple.
    conn.execute(f"PRAGMA user_version = {int(version)}")
