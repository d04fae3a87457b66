"""The lock file in DEST: every fetched file's size and SHA-256, so a rerun can verify.

``wsi2rek-fetch.lock.json`` maps each file's relative path to what was verified when it
arrived::

    {"format": 1,
     "files": {"databases/MITOS_WSI_CMC_MEL.sqlite": {
                 "sha256": "a328...", "size": 12345, "url": "https://...",
                 "dataset": "mitos-wsi-cmc"}}}

It is rewritten atomically (a temporary file, then ``os.replace``) after each file, so an
interrupted run leaves a valid lock that lists what is complete.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from wsi2rek._atomic import atomic_write_text
from wsi2rek._json import dumps
from wsi2rek.errors import FetchError

__all__ = ["LOCK_NAME", "RUNNING_NAME", "LockEntry", "LockFile", "exclusive", "file_digests"]

#: File name of the lock file inside DEST.
LOCK_NAME = "wsi2rek-fetch.lock.json"
#: File in DEST that a running fetch holds an exclusive ``flock`` on (left in place, empty).
RUNNING_NAME = ".wsi2rek-fetch.running"
_FORMAT = 1


@contextmanager
def exclusive(dest: Path) -> Iterator[None]:
    """Hold DEST for one fetch: a second one fails at once instead of sharing .part files.

    Uses ``fcntl.flock`` (released by the OS if the process dies); where ``fcntl`` does not
    exist (Windows) there is no guard.

    Raises:
        FetchError: Another process is fetching into ``dest``.
    """
    try:
        import fcntl  # noqa: PLC0415 -- POSIX only
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path = dest / RUNNING_NAME
    with path.open("a+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FetchError(
                f"another wsi2rek fetch is writing into {dest}; wait for it to finish, or "
                "choose another DEST",
                path=dest,
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


@attrs.frozen
class LockEntry:
    """What the lock file records for one file."""

    sha256: str
    size: int
    url: str
    dataset: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return attrs.asdict(self)


def file_digests(path: Path, *, chunk: int = 1 << 22) -> tuple[str, str, int]:
    r"""SHA-256, git blob SHA-1 and size of ``path``, in one read.

    The git blob id is SHA-1 over ``b"blob <size>\0"`` followed by the content (git's
    object format), which is how a git tree pins a file.
    """
    size = path.stat().st_size
    sha256 = hashlib.sha256()
    blob = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
    with path.open("rb") as fh:
        while data := fh.read(chunk):
            sha256.update(data)
            blob.update(data)
    return sha256.hexdigest(), blob.hexdigest(), size


class LockFile:
    """The lock file of one DEST; thread-safe, saved atomically after every change."""

    def __init__(self, dest: Path) -> None:
        self.path = dest / LOCK_NAME
        self._lock = threading.Lock()
        self._entries: dict[str, LockEntry] = {}
        if self.path.exists():
            self._entries = self._load()

    def __repr__(self) -> str:
        return f"LockFile({str(self.path)!r}, {len(self._entries)} files)"

    def _load(self) -> dict[str, LockEntry]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") != _FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {_FORMAT}")  # noqa: TRY301 -- one message for every malformed lock
            files: Mapping[str, Mapping[str, Any]] = data["files"]
            return {
                path: LockEntry(
                    sha256=str(e["sha256"]),
                    size=int(e["size"]),
                    url=str(e["url"]),
                    dataset=str(e["dataset"]),
                )
                for path, e in files.items()
            }
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise FetchError(
                f"{self.path}: not a wsi2rek fetch lock file ({exc}); move it away and rerun "
                "(every file present is then verified again)",
                path=self.path,
            ) from None

    def get(self, path: str) -> LockEntry | None:
        """The entry of ``path``, or None."""
        with self._lock:
            return self._entries.get(path)

    def record(self, path: str, entry: LockEntry) -> None:
        """Record ``entry`` for ``path`` and save the file."""
        with self._lock:
            self._entries[path] = entry
            self._save()

    def _save(self) -> None:
        data = {
            "format": _FORMAT,
            "files": {p: self._entries[p].to_dict() for p in sorted(self._entries)},
        }
        text = dumps(data, what=LOCK_NAME, indent=2, sort_keys=True) + "\n"
        try:
            atomic_write_text(self.path, text)
        except OSError as exc:
            raise FetchError(
                f"cannot write {self.path}: {exc.strerror or exc}", path=self.path
            ) from None
