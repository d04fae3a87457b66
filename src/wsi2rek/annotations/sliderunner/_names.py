"""Slide-name matching: the one rule every SlideRunner reader and writer uses (pure logic)."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from pathlib import Path

import attrs

from wsi2rek.errors import SlideLookupError

__all__ = ["SlideRecord", "find_slide", "slides_named", "split_path"]

_SEPARATORS = re.compile(r"[\\/]+")
#: How many candidates an error message lists before saying "and N more".
_MAX_LISTED = 10


@attrs.frozen
class SlideRecord:
    """One row of a SlideRunner ``Slides`` table.

    Attributes:
        uid: The slide's id in the database (``Annotation.slide`` refers to it).
        filename: The slide's file name as stored (usually a base name; ``""`` if NULL).
        directory: The folder SlideRunner last saw the file in, or None. It is the
            annotator's machine's path and rarely exists where the database is read.
        width: Level-0 width in pixels, or None when the database does not know it.
        height: Level-0 height in pixels, or None when the database does not know it.
    """

    uid: int
    filename: str
    directory: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def name(self) -> str:
        """The base name of ``filename`` (Windows or POSIX separators both understood)."""
        parts = split_path(self.filename)
        return parts[-1] if parts else ""

    @property
    def dimensions(self) -> tuple[int, int] | None:
        """``(width, height)`` when both are known, else None."""
        if self.width is None or self.height is None:
            return None
        return (self.width, self.height)

    def describe(self) -> str:
        """A short human description: ``uid 3: 'dir/name.svs'``."""
        where = f"{self.directory}/{self.filename}" if self.directory else self.filename
        return f"uid {self.uid}: {where!r}"


def split_path(text: str) -> tuple[str, ...]:
    """Split a path written on any OS into its non-empty components."""
    return tuple(part for part in _SEPARATORS.split(text) if part)


def _listing(records: Sequence[SlideRecord]) -> str:
    shown = ", ".join(r.describe() for r in records[:_MAX_LISTED])
    more = len(records) - _MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _trailing_match(record: SlideRecord, query_dirs: tuple[str, ...]) -> int:
    """How many trailing folder names of the query equal the record's trailing folders."""
    record_dirs = tuple(p.casefold() for p in split_path(record.directory or ""))
    record_dirs += tuple(p.casefold() for p in split_path(record.filename)[:-1])
    count = 0
    for mine, theirs in zip(reversed(record_dirs), reversed(query_dirs), strict=False):
        if mine != theirs:
            break
        count += 1
    return count


def slides_named(records: Sequence[SlideRecord], name: str) -> list[SlideRecord]:
    """Every record whose base name equals the base name of ``name``, ignoring case.

    This is the rule :func:`find_slide` starts from; a writer that adds a slide when
    none matches uses it to tell "absent" from "ambiguous".
    """
    parts = split_path(name)
    if not parts:
        return []
    wanted = parts[-1].casefold()
    return [r for r in records if r.name.casefold() == wanted]


def find_slide(
    records: Sequence[SlideRecord],
    query: int | str | os.PathLike[str] | SlideRecord,
    *,
    path: Path | None = None,
) -> SlideRecord:
    """Find the slide ``query`` names among ``records``.

    An ``int`` is a slide uid. A string or path is matched on its base name,
    case-insensitively; when several slides share that name, the folders in the query
    (``"01/25.tif"``) pick the one whose stored directory ends with them.

    Args:
        records: The slides of one database.
        query: A uid, a file name or path, or a :class:`SlideRecord`.
        path: The database file, for error messages.

    Returns:
        The matching record.

    Raises:
        SlideLookupError: when no slide or more than one slide matches; the message and
            ``candidates`` list the nearest names (or every tied slide).
    """
    if isinstance(query, SlideRecord):
        query = query.uid
    where = f" in {path}" if path is not None else ""
    if isinstance(query, bool) or not isinstance(query, int | str | os.PathLike):
        raise SlideLookupError(
            f"a slide is named by its uid (int) or file name (str), got "
            f"{type(query).__name__} {query!r}{where}",
            path=path,
        )
    if isinstance(query, int):
        for record in records:
            if record.uid == query:
                return record
        uids = sorted(r.uid for r in records)
        span = f"uids {uids[0]}..{uids[-1]}" if uids else "no slides at all"
        raise SlideLookupError(
            f"no slide with uid {query}{where} (the database has {len(uids)} slides, "
            f"{span}); pass an existing uid or a file name",
            path=path,
            slide=query,
            candidates=tuple(r.filename for r in records[:_MAX_LISTED]),
        )

    text = os.fspath(query)
    parts = split_path(text)
    if not parts:
        raise SlideLookupError(
            f"an empty slide name was given{where}; pass a file name or a uid",
            path=path,
            slide=text,
        )
    wanted = parts[-1].casefold()
    matches = slides_named(records, text)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        names = sorted({r.name for r in records})
        folded = {n.casefold(): n for n in names}
        near = difflib.get_close_matches(wanted, list(folded), n=5, cutoff=0.6)
        near_names = tuple(folded[n] for n in near)
        hint = (
            f"; did you mean {', '.join(repr(n) for n in near_names)}?"
            if near_names
            else f"; it has {len(names)} slide names, e.g. {', '.join(map(repr, names[:5]))}"
        )
        raise SlideLookupError(
            f"no slide named {parts[-1]!r}{where} (names are compared on the base name, "
            f"ignoring case){hint}",
            path=path,
            slide=text,
            candidates=near_names,
        )

    query_dirs = tuple(p.casefold() for p in parts[:-1])
    if query_dirs:
        scores = [_trailing_match(r, query_dirs) for r in matches]
        best = max(scores)
        narrowed = [r for r, s in zip(matches, scores, strict=True) if s == best]
        if best > 0 and len(narrowed) == 1:
            return narrowed[0]
        if best > 0:
            matches = narrowed
    raise SlideLookupError(
        f"{len(matches)} slides are named {parts[-1]!r}{where}: {_listing(matches)}; "
        "pass the uid, or a path whose folders match the stored directory "
        "(e.g. '<folder>/<name>')",
        path=path,
        slide=text,
        candidates=tuple(r.describe() for r in matches),
    )
