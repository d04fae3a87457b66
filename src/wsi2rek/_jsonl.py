r"""The one JSON-lines reader and writer of wsi2rek's manifests.

Manifests are JSON lines: one JSON object per line, lines separated by ``\n`` only.
Python's :meth:`str.splitlines` also splits on U+2028, U+2029, U+0085 and a few control
characters, which JSON allows raw inside strings; a label or slide name holding one would
cut a line in two. So:

* readers split on ``\n`` only (:func:`split_lines`, :func:`iter_raw_lines`);
* the writer (:func:`dumps_line`) escapes U+2028, U+2029 and U+0085, so that even a
  reader using ``splitlines`` (or a JavaScript tool) sees one line per image.

Reading is streaming and bounded: :func:`iter_raw_lines` never holds more than one
line of at most a few hundred kilobytes, whatever the file holds (a 2 GiB line without
newline is reported as too long, not read). :func:`parse_line` turns one line into a
JSON value or a one-line reason, and never raises on hostile input: absurd nesting,
numbers that overflow a float or an integer of hundreds of digits, ``NaN`` tokens.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import IO, Any

import attrs

from wsi2rek._json import dumps

__all__ = ["RawLine", "dumps_line", "iter_raw_lines", "parse_line", "split_lines"]

#: Characters that JSON allows raw in strings but that some readers treat as line breaks.
_SEPARATORS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}
#: Integers with more digits are refused (manifest values are pixel counts and ids).
_MAX_INT_DIGITS = 18
_CHUNK = 1 << 20


def dumps_line(value: Any, *, what: str = "a manifest line") -> str:
    """``value`` as compact JSON text for one line (no newline; standard JSON only).

    Non-ASCII text is written as UTF-8, except U+2028, U+2029 and U+0085, which are
    escaped.

    Raises:
        ParameterError: ``value`` holds a NaN or infinite number (``what`` names it).
    """
    text = dumps(value, what=what, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in _SEPARATORS.items():
        if char in text:
            # Outside strings JSON has no such characters, so this only touches strings.
            text = text.replace(char, escaped)
    return text


def split_lines(text: str) -> list[str]:
    r"""The lines of ``text``, split on ``\n`` only; a final newline ends the last line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


@attrs.frozen
class RawLine:
    r"""One line of a file, decoded, or why it could not be.

    Attributes:
        number: 1-based line number.
        text: The line without its ``\n`` (None when it could not be decoded or was too
            long to read).
        problem: Why ``text`` is None: ``"not UTF-8 (...)"`` or ``"too long"``.
        chars: Length in characters (a lower bound when too long).
    """

    number: int
    text: str | None
    problem: str | None = None
    chars: int = 0


def iter_raw_lines(stream: IO[bytes], max_chars: int) -> Iterator[RawLine]:
    r"""The lines of a binary stream, split on ``\n`` only, each at most ``max_chars``.

    A line longer than ``max_chars`` characters is yielded with ``problem="too long"``
    and is never held in memory whole (the rest is skipped in 1 MiB chunks). A line
    that is not UTF-8 is yielded with its problem; the next lines are read as usual.
    """
    limit = 4 * max_chars + 1  # bytes: a UTF-8 character takes at most 4
    number = 0
    while True:
        raw = stream.readline(limit)
        if not raw:
            return
        number += 1
        if not raw.endswith(b"\n") and len(raw) == limit:
            skipped = len(raw)
            while True:
                chunk = stream.readline(_CHUNK)
                skipped += len(chunk)
                if not chunk or chunk.endswith(b"\n"):
                    break
            yield RawLine(number, None, "too long", max(max_chars + 1, skipped // 4))
            continue
        body = raw[:-1] if raw.endswith(b"\n") else raw
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield RawLine(number, None, f"not UTF-8 ({exc.reason} at byte {exc.start})", len(body))
            continue
        if len(text) > max_chars:
            yield RawLine(number, None, "too long", len(text))
            continue
        yield RawLine(number, text, None, len(text))


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise ValueError(f"the integer {text[:12]}... has {len(text)} digits")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:24]} overflows a 64-bit float")
    return value


def _parse_constant(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON value")


def parse_line(text: str) -> tuple[Any, str | None]:
    """``(value, None)`` for a JSON line, or ``(None, reason)`` when it is not one.

    Never raises: blank lines, syntax errors, ``NaN``/``Infinity`` tokens, integers of
    more than 18 digits, floats that overflow and nesting deeper than Python's recursion
    limit each give a reason.
    """
    if not text.strip():
        return None, "a blank line"
    try:
        return (
            json.loads(
                text,
                parse_int=_parse_int,
                parse_float=_parse_float,
                parse_constant=_parse_constant,
            ),
            None,
        )
    except RecursionError:
        return None, "not JSON (nested too deeply)"
    except ValueError as exc:
        return None, f"not JSON ({exc})"
