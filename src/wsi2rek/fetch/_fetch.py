"""``fetch_dataset``: download a public dataset into DEST, resumable and verified.

Per file: a file already under its final name is verified (against the lock file, or, the
first time, against the pins, the server's size and the slide check) and skipped; anything
else is downloaded into ``<name>.part`` next to it (continued if present), verified, and
only then renamed to its final name and recorded in the lock file. Databases come first,
so every slide can be checked against its database's ``Slides`` table.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, Literal

import attrs

from wsi2rek.errors import FetchError, FetchVerificationError, ParameterError, Wsi2RekError
from wsi2rek.fetch._catalogue import FileKind, PublicDataset, RemoteFile, get_dataset
from wsi2rek.fetch._http import download, probe
from wsi2rek.fetch._lock import LOCK_NAME, LockEntry, LockFile, exclusive, file_digests
from wsi2rek.fetch._progress import FileBar, Progress

__all__ = ["FetchSummary", "FileResult", "fetch_dataset"]

#: What happened to a file: ``downloaded``/``resumed`` (fetched now, a partial file
#: continued), ``verified`` (present and matching the lock file), ``adopted`` (present, not
#: yet in the lock, verified and recorded). ``--dry-run`` reports ``complete``,
#: ``unverified`` (present, not in the lock), ``partial`` or ``missing``.
FileStatus = Literal[
    "downloaded", "resumed", "verified", "adopted", "complete", "unverified", "partial", "missing"
]


@attrs.frozen
class FileResult:
    """One file of a fetch.

    Attributes:
        path: Relative path in DEST.
        kind: ``"slide"`` or ``"database"``.
        url: Where it was (or would be) fetched from.
        status: See :data:`FileStatus`.
        size: Size in bytes (the server's announced size in a dry run; None if unknown).
        sha256: SHA-256 of the file (None in a dry run).
        received: Bytes received over the network for it in this run.
        checks: The verifications that passed, in words.
    """

    path: str
    kind: FileKind
    url: str
    status: FileStatus
    size: int | None
    sha256: str | None = None
    received: int = 0
    checks: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        data = attrs.asdict(self)
        data["checks"] = list(self.checks)
        return data


@attrs.frozen
class FetchSummary:
    """What :func:`fetch_dataset` did (or, with ``dry_run=True``, would do).

    Attributes:
        dataset: The dataset's name.
        dest: The destination folder.
        dry_run: True when nothing was written.
        files: One result per selected file, databases first.
        received: Bytes received over the network.
        seconds: Wall time.
        to_download: Dry run: bytes still to download (files missing or partial).
    """

    dataset: str
    dest: Path
    dry_run: bool
    files: tuple[FileResult, ...]
    received: int
    seconds: float

    @property
    def lock_file(self) -> Path:
        """The lock file in DEST."""
        return self.dest / LOCK_NAME

    @property
    def total_size(self) -> int:
        """Sum of the known file sizes."""
        return sum(f.size or 0 for f in self.files)

    to_download: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (what ``wsi2rek fetch --json`` prints)."""
        return {
            "dataset": self.dataset,
            "dest": str(self.dest),
            "dry_run": self.dry_run,
            "lock_file": str(self.lock_file),
            "files": [f.to_dict() for f in self.files],
            "total_size": self.total_size,
            "to_download": self.to_download,
            "received": self.received,
            "seconds": round(self.seconds, 3),
        }


def _part_of(final: Path) -> Path:
    return final.with_name(final.name + ".part")


def _url_of(file: RemoteFile, base_url: str | None) -> str:
    if base_url is None:
        return file.url
    return f"{base_url.rstrip('/')}/{urllib.parse.quote(file.path)}"


def _check_args(base_url: str | None, workers: int, only: str | None) -> None:
    if base_url is not None and urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
        raise ParameterError(
            f"base_url must start with http:// or https://, got {base_url!r}",
            parameter="base_url",
        )
    if workers < 1:
        raise ParameterError(f"workers must be at least 1, got {workers}", parameter="workers")
    if only not in (None, "slide", "database"):
        raise ParameterError(f"only must be 'slide', 'database' or None, got {only!r}")


def _prepare_dest(dest: Path, *, create: bool) -> None:
    if dest.exists() and not dest.is_dir():
        raise FetchError(
            f"DEST {dest} is a file, not a folder; pass a folder to download into "
            "(it is created if missing)",
            path=dest,
        )
    if create:
        try:
            dest.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FetchError(
                f"cannot create DEST {dest}: {exc.strerror or exc}", path=dest
            ) from None


@attrs.define
class _Run:
    """State shared by the files of one fetch."""

    dataset: PublicDataset
    dest: Path
    base_url: str | None
    lock: LockFile
    progress: Progress
    retries: int
    timeout: float
    announced: dict[str, int | None] = attrs.Factory(dict)
    cancel: threading.Event = attrs.Factory(threading.Event)

    def mismatch(self, file: RemoteFile, what: str) -> FetchVerificationError:
        return FetchVerificationError(
            f"{self.dest / file.path}: {what}",
            path=self.dest / file.path,
            url=_url_of(file, self.base_url),
        )

    # --- verification -------------------------------------------------------------------

    def verify_new(self, file: RemoteFile, path: Path, digests: tuple[str, str, int]) -> list[str]:
        """Checks for a file that is not in the lock file yet; raises on the first failure."""
        sha256, blob, size = digests
        checks: list[str] = []
        announced = self.announced.get(file.path)
        if file.size is not None and size != file.size:
            raise self.mismatch(file, f"{size} bytes, but the catalogue pins {file.size}")
        if announced is not None and size != announced:
            raise self.mismatch(file, f"{size} bytes, but the server announces {announced}")
        checks.append(f"size {size} bytes")
        if file.sha256 is not None:
            if sha256 != file.sha256:
                raise self.mismatch(file, f"SHA-256 {sha256} differs from the pinned {file.sha256}")
            checks.append("SHA-256 matches the pinned value")
        if file.git_blob_sha1 is not None:
            if blob != file.git_blob_sha1:
                raise self.mismatch(
                    file,
                    f"git blob id {blob} differs from the upstream commit's {file.git_blob_sha1}",
                )
            checks.append("git blob id matches the upstream commit")
        if file.kind == "database":
            checks.append(self.check_database(file, path))
        else:
            checks.extend(self.check_slide(file, path))
        return checks

    def check_database(self, file: RemoteFile, path: Path) -> str:
        from wsi2rek.annotations import is_sqlite_file  # noqa: PLC0415 -- only when verifying

        if not is_sqlite_file(path):
            raise self.mismatch(file, "not a SQLite database (an error page saved by a proxy?)")
        return "SQLite database"

    def check_slide(self, file: RemoteFile, path: Path) -> list[str]:
        from wsi2rek.slides import open_slide  # noqa: PLC0415 -- OpenSlide only when verifying

        try:
            with open_slide(path) as slide:
                vendor, dimensions = slide.vendor, slide.dimensions
        except Wsi2RekError as exc:
            raise self.mismatch(file, f"does not open as a slide ({exc})") from None
        if vendor != "aperio":
            raise self.mismatch(
                file, f"opens as {vendor or 'an unknown format'}, not an Aperio SVS"
            )
        checks = ["opens as an Aperio SVS"]
        found = self.database_dimensions(file.name)
        if found is None:
            checks.append("dimensions not checked: no database in DEST lists this slide")
            return checks
        db_name, expected = found
        if expected != dimensions:
            raise self.mismatch(
                file,
                f"{dimensions[0]} x {dimensions[1]} px, but {db_name}'s Slides table records "
                f"{expected[0]} x {expected[1]}",
            )
        checks.append(f"{dimensions[0]} x {dimensions[1]} px as in {db_name}")
        return checks

    def database_dimensions(self, name: str) -> tuple[str, tuple[int, int]] | None:
        from wsi2rek.annotations import SlideRunnerDB  # noqa: PLC0415 -- only when verifying

        for database in self.dataset.databases:
            path = self.dest / database.path
            if not path.is_file():
                continue
            try:
                with SlideRunnerDB(path) as db:
                    record = db.slide(name)
            except LookupError:
                continue
            if record.dimensions is not None:
                return database.name, record.dimensions
        return None

    # --- one file -------------------------------------------------------------------------

    def advance(self, bar: FileBar, file: RemoteFile, n: int) -> None:
        """Count ``n`` bytes written; stop the download if the run was interrupted."""
        bar.advance(n)
        if self.cancel.is_set():
            raise FetchError(
                f"{file.path}: interrupted; the partial file is kept and the next run resumes it",
                path=self.dest / file.path,
            )

    def fetch_one(self, file: RemoteFile) -> FileResult:
        final = self.dest / file.path
        url = _url_of(file, self.base_url)
        entry = self.lock.get(file.path)
        if final.exists():
            return self.verify_present(file, final, url, entry)
        part = _part_of(final)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FetchError(
                f"cannot create {final.parent}: {exc.strerror or exc}", path=final
            ) from None
        with self.progress.file(file.path) as bar:
            transfer = download(
                url,
                part,
                file.path,
                expected_size=file.size,
                retries=self.retries,
                timeout=self.timeout,
                on_start=bar.start,
                on_bytes=partial(self.advance, bar, file),
            )
        digests = file_digests(part)
        try:
            checks = self.verify_new(file, part, digests)
            if entry is not None and entry.sha256 != digests[0]:
                raise self.mismatch(
                    file,
                    f"downloaded again with SHA-256 {digests[0]}, but the lock file recorded "
                    f"{entry.sha256}: the remote file changed; check the source, then remove "
                    f"its entry from {self.lock.path} to accept it",
                )
        except FetchVerificationError:
            part.unlink(missing_ok=True)  # our own partial file: a rerun starts it cleanly
            raise
        part.replace(final)
        self.lock.record(file.path, LockEntry(digests[0], digests[2], url, self.dataset.name))
        status: FileStatus = (
            "resumed" if transfer.resumed_from or transfer.attempts > 1 else "downloaded"
        )
        return FileResult(
            file.path,
            file.kind,
            url,
            status,
            digests[2],
            digests[0],
            transfer.received,
            tuple(checks),
        )

    def verify_present(
        self, file: RemoteFile, final: Path, url: str, entry: LockEntry | None
    ) -> FileResult:
        digests = file_digests(final)
        sha256, _, size = digests
        if entry is not None:
            if (sha256, size) != (entry.sha256, entry.size):
                raise self.mismatch(
                    file,
                    f"SHA-256 {sha256} ({size} bytes) does not match the lock file's "
                    f"{entry.sha256} ({entry.size} bytes); the file changed since it was "
                    "fetched: move it away and rerun to download it again",
                )
            return FileResult(
                file.path,
                file.kind,
                url,
                "verified",
                size,
                sha256,
                0,
                ("SHA-256 matches the lock file",),
            )
        try:
            checks = self.verify_new(file, final, digests)
        except FetchVerificationError as exc:
            raise FetchVerificationError(
                f"{exc} (a file already in DEST, not fetched by wsi2rek: it is left as it is; "
                "move it away and rerun to download it)",
                path=exc.path,
                url=exc.url,
            ) from None
        self.lock.record(file.path, LockEntry(sha256, size, url, self.dataset.name))
        return FileResult(file.path, file.kind, url, "adopted", size, sha256, 0, tuple(checks))


def _parallel(
    workers: int,
    items: Sequence[RemoteFile],
    work: Callable[[RemoteFile], Any],
    cancel: threading.Event | None = None,
) -> tuple[list[Any], list[BaseException]]:
    """Run ``work`` over ``items``; every item runs even if others fail.

    On Ctrl-C, queued items never start and ``cancel`` is set, which running downloads
    check after every chunk: they stop, keeping their partial files for the next run.
    """
    results: list[Any] = []
    failures: list[BaseException] = []
    if not items:
        return results, failures
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        futures = [pool.submit(work, item) for item in items]
        try:
            for future in futures:
                try:
                    results.append(future.result())
                except Wsi2RekError as exc:
                    failures.append(exc)
        except BaseException:  # Ctrl-C: don't start queued files, stop running ones
            if cancel is not None:
                cancel.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return results, failures


def _raise_failures(failures: list[BaseException]) -> None:
    if not failures:
        return
    first = failures[0]
    if len(failures) == 1:
        raise first
    assert isinstance(first, Wsi2RekError)
    more = f" ({len(failures) - 1} more files failed; rerun after fixing this to see them)"
    if isinstance(first, FetchError):
        raise type(first)(f"{first}{more}", path=first.path, url=first.url) from first
    raise FetchError(f"{first}{more}") from first


def _check_space(dest: Path, need: int) -> None:
    free = shutil.disk_usage(dest).free
    if need > free:
        raise FetchError(
            f"not enough free space in {dest}: {need / 1e9:.2f} GB still to download, "
            f"{free / 1e9:.2f} GB free; free some space or choose another DEST",
            path=dest,
        )


def fetch_dataset(
    dataset: str | PublicDataset,
    dest: str | os.PathLike[str],
    *,
    only: FileKind | None = None,
    base_url: str | None = None,
    workers: int = 3,
    dry_run: bool = False,
    progress: bool = False,
    retries: int = 5,
    timeout: float = 60.0,
) -> FetchSummary:
    """Download a public dataset (slides and annotation databases) into ``dest``.

    Explicit only: nothing in wsi2rek calls this except ``wsi2rek fetch``. Files already in
    ``dest`` are verified and skipped; partial downloads (``<name>.part``) are continued
    with HTTP ``Range`` requests; a file gets its final name only once complete and
    verified (size announced by the server, pinned SHA-256 / git blob id where upstream
    pins one, a SQLite header for databases, and for slides an Aperio SVS whose dimensions
    match the database's ``Slides`` table). Every file's SHA-256 goes to
    ``dest/wsi2rek-fetch.lock.json``; a rerun verifies against it.

    Example:
        >>> from wsi2rek.fetch import fetch_dataset
        >>> summary = fetch_dataset("mitos-wsi-cmc", "data", only="database")  # doctest: +SKIP
        >>> [f.status for f in summary.files]  # doctest: +SKIP
        ['downloaded', 'downloaded', 'downloaded']

    Args:
        dataset: A name from :data:`~wsi2rek.fetch.DATASETS` or a :class:`PublicDataset`
            (a mirror's own list, a test catalogue).
        dest: Destination folder (created if missing).
        only: ``"slide"`` or ``"database"`` to fetch one kind; None for both.
        base_url: Fetch ``<base_url>/<path>`` instead of the upstream URLs (a mirror
            keeping the dataset's relative paths, e.g. ``WSI/<name>.svs``).
        workers: Files downloaded in parallel.
        dry_run: Only ask the server for sizes; report what is complete, partial or
            missing; write nothing.
        progress: Show tqdm bars on stderr (one per file and one overall).
        retries: Extra attempts per file after a dropped connection.
        timeout: Socket timeout in seconds.

    Returns:
        One :class:`FileResult` per file, in a :class:`FetchSummary`.

    Raises:
        ParameterError: Unknown dataset, bad ``base_url``, ``workers`` or ``only``.
        FetchError: DEST is a file; no network; HTTP error such as 404; disk full.
        FetchVerificationError: A file does not match its size, pin, lock entry or
            database (the message names the file). When several files fail, the first
            is raised after the others finished.
    """
    started = time.perf_counter()
    spec = get_dataset(dataset) if isinstance(dataset, str) else dataset
    _check_args(base_url, workers, only)
    root = Path(dest)
    _prepare_dest(root, create=not dry_run)
    files = spec.select(only)
    lock = LockFile(root)
    if dry_run:
        return _dry_run(spec, root, files, lock, base_url, workers, started)

    with exclusive(root):  # one fetch per DEST: two would write the same .part files
        pending = [f for f in files if not (root / f.path).exists()]
        unlocked = [f for f in files if (root / f.path).exists() and lock.get(f.path) is None]
        to_probe = pending + unlocked
        sizes, failures = _parallel(
            workers, to_probe, lambda f: probe(_url_of(f, base_url), f.path, timeout=timeout)
        )
        _raise_failures(failures)
        announced = {f.path: size for f, size in zip(to_probe, sizes, strict=True)}
        need = sum(
            max(0, (announced[f.path] or 0) - _size_or_zero(_part_of(root / f.path)))
            for f in pending
        )
        _check_space(root, need)

        with Progress(enabled=progress, total=need) as bars:
            run = _Run(spec, root, base_url, lock, bars, retries, timeout, announced)
            results: list[FileResult] = []
            failures = []
            for kind in ("database", "slide"):  # slides are checked against the databases
                chosen = [f for f in files if f.kind == kind]
                done, failed = _parallel(workers, chosen, run.fetch_one, run.cancel)
                results += done
                failures += failed
    _raise_failures(failures)
    order = {f.path: i for i, f in enumerate(files)}
    results.sort(key=lambda r: order[r.path])
    return FetchSummary(
        spec.name,
        root,
        False,
        tuple(results),
        sum(r.received for r in results),
        time.perf_counter() - started,
    )


def _size_or_zero(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _dry_run(  # noqa: PLR0917 -- private helper of fetch_dataset, called once
    spec: PublicDataset,
    root: Path,
    files: Sequence[RemoteFile],
    lock: LockFile,
    base_url: str | None,
    workers: int,
    started: float,
) -> FetchSummary:
    def state(file: RemoteFile) -> FileResult:
        final = root / file.path
        url = _url_of(file, base_url)
        entry = lock.get(file.path)
        if final.exists() and entry is not None:
            return FileResult(file.path, file.kind, url, "complete", entry.size, entry.sha256)
        size = probe(url, file.path)
        if final.exists():
            return FileResult(file.path, file.kind, url, "unverified", size)
        have = _size_or_zero(_part_of(final))
        status: FileStatus = "partial" if have else "missing"
        return FileResult(
            file.path,
            file.kind,
            url,
            status,
            size,
            received=0,
            checks=(f"{have} bytes present",) if have else (),
        )

    results, failures = _parallel(workers, files, state)
    _raise_failures(failures)
    pending = sum(
        max(0, (r.size or 0) - _size_or_zero(_part_of(root / r.path)))
        for r in results
        if r.status in ("partial", "missing")
    )
    return FetchSummary(
        spec.name, root, True, tuple(results), 0, time.perf_counter() - started, pending
    )
