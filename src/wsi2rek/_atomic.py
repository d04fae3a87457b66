"""Atomic file writes: the one way wsi2rek replaces a file.

A file is written under a temporary name in the target's own folder (so the final rename
never crosses a file system), flushed to disk with ``fsync``, then renamed over the target
with :func:`os.replace`, which POSIX and Windows both make atomic. A reader, a resumed
build or a crash therefore sees either the old file or the whole new one, never a part.
On any failure (an exception, ``KeyboardInterrupt``), the temporary file is removed and
the target is left as it was.

Temporary names are ``.<target name>.<random>.tmp``: hidden, unique per call (two threads
or processes writing the same target never share one) and recognisable by
:func:`is_temporary_name`, so a resumed build can sweep what a killed run left behind.
The temporary file is created by the writer with the usual permissions (the umask
applies, as for a plain ``open``); :func:`tempfile.mkstemp` would make it owner-only.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from wsi2rek.errors import ParameterError

__all__ = [
    "atomic_open",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "is_temporary_name",
    "temporary_name",
]

_SUFFIX = ".tmp"


def temporary_name(target: Path) -> Path:
    """A fresh temporary sibling of ``target``: ``.<name>.<16 random hex digits>.tmp``."""
    return target.with_name(f".{target.name}.{secrets.token_hex(8)}{_SUFFIX}")


def is_temporary_name(name: str) -> bool:
    """True for a file name :func:`temporary_name` makes (a leftover of a killed write)."""
    return name.startswith(".") and name.endswith(_SUFFIX)


def _fsync(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write ``target`` through; replace ``target`` on success.

    For writers that need a file name rather than a handle (SQLite, tifffile). The
    yielded path does not exist yet; the body must create it. After the body, the file is
    fsynced and renamed over ``target``; if the body raises, or the rename fails, the
    temporary file is removed and the exception propagates, ``target`` untouched.

    Args:
        target: The file to write; its folder must exist.

    Yields:
        The temporary path (in ``target``'s folder).
    """
    final = Path(target)
    tmp = temporary_name(final)
    try:
        yield tmp
        _fsync(tmp)
        tmp.replace(final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(
    target: str | os.PathLike[str],
    mode: str = "w",
    *,
    encoding: str = "utf-8",
    newline: str | None = "\n",
    durable: bool = True,
) -> Iterator[IO[Any]]:
    r"""Open a temporary file for writing ``target``; replace ``target`` when the block ends.

    Args:
        target: The file to write; its folder must exist.
        mode: ``"w"`` (text) or ``"wb"`` (binary).
        encoding: The text encoding (text mode only).
        newline: Passed to :func:`open` in text mode; ``"\\n"`` (the default) writes
            ``\\n`` line ends on every platform, ``""`` writes what the caller wrote.
        durable: ``fsync`` before the rename (the default). False skips it: the write
            is still atomic for any crash of the process, but not against a power loss;
            for many small files whose loss a rerun repairs (fsync costs ~5 ms a file).

    Yields:
        The open file; it is flushed (and fsynced when ``durable``) before the rename.
    """
    if mode not in ("w", "wb"):
        raise ParameterError(f"atomic_open writes with mode 'w' or 'wb', got mode={mode!r}")
    final = Path(target)
    tmp = temporary_name(final)
    try:
        handle: IO[Any]
        if mode == "wb":
            handle = tmp.open("xb")
        else:
            handle = tmp.open("x", encoding=encoding, newline=newline)
        with handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        tmp.replace(final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (see the module docs and :func:`atomic_open`)."""
    with atomic_open(path, "wb", durable=durable) as handle:
        handle.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, durable: bool = True) -> None:
    """Write ``text`` to ``path`` atomically as UTF-8, line ends as given."""
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable)
