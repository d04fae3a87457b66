"""Resumable HTTP downloads with the standard library (``urllib``), nothing else.

Two operations: :func:`probe` asks the server how large a file is (a one-byte ranged
``GET``: S3 pre-signed URLs, where figshare redirects, refuse ``HEAD``), and
:func:`download` appends to a partial file with ``Range: bytes=<have>-`` until it holds the
announced size, resuming after a dropped connection. Every failure becomes a one-line
:class:`~wsi2rek.errors.FetchError` that names the file and says what to do.
"""

from __future__ import annotations

import errno
import http.client
import importlib.metadata
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import attrs

from wsi2rek.errors import FetchError, FetchVerificationError

__all__ = ["Transfer", "download", "probe"]

_CHUNK = 1 << 20
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes \*/(\d+)")


def _user_agent() -> str:
    try:
        version = importlib.metadata.version("wsi2rek")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source checkout
        version = "unknown"
    return f"wsi2rek/{version} (+urllib)"


@attrs.frozen
class Transfer:
    """The outcome of one :func:`download`.

    Attributes:
        size: Bytes in the finished partial file (the announced size).
        received: Bytes received over the network in this call.
        resumed_from: Bytes already present when the first request was sent.
        attempts: Requests sent (more than one after a dropped connection).
    """

    size: int
    received: int
    resumed_from: int
    attempts: int


def _request(url: str, first_byte: int, last_byte: int | None = None) -> urllib.request.Request:
    headers = {"User-Agent": _user_agent(), "Accept-Encoding": "identity"}
    if first_byte or last_byte is not None:
        end = "" if last_byte is None else str(last_byte)
        headers["Range"] = f"bytes={first_byte}-{end}"
    return urllib.request.Request(url, headers=headers)  # noqa: S310 -- http(s) checked by caller


def _network_error(exc: BaseException, url: str, path: str) -> FetchError:
    reason = getattr(exc, "reason", exc)
    return FetchError(
        f"{path}: cannot reach {url} ({reason}); check the network connection, "
        "or pass base_url= to use a reachable mirror",
        path=path,
        url=url,
        parameter="base_url",
    )


def _http_error(exc: urllib.error.HTTPError, url: str, path: str) -> FetchError:
    hint = (
        "the file is not at that address: check base_url (a mirror must keep the "
        "dataset's relative paths)"
        if exc.code in (403, 404, 410)
        else "the server refused or failed; retry later"
    )
    return FetchError(
        f"{path}: HTTP {exc.code} {exc.reason} from {url}; {hint}",
        path=path,
        url=url,
        parameter="base_url",
    )


def _total_of(response: http.client.HTTPResponse) -> int | None:
    """The full file size a response announces: Content-Range total, else Content-Length."""
    if response.status == 206:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        if match and match.group(3) != "*":
            return int(match.group(3))
        return None
    length = response.headers.get("Content-Length")
    return int(length) if length is not None and length.isdigit() else None


def probe(url: str, path: str, *, timeout: float = 30.0) -> int | None:
    """The size in bytes the server announces for ``url``, or None if it does not say.

    Args:
        url: The file's address.
        path: The file's relative path in DEST, for messages.
        timeout: Socket timeout in seconds.

    Raises:
        FetchError: The host is unreachable or answers with an HTTP error (404 ...).
    """
    try:
        with urllib.request.urlopen(_request(url, 0, 0), timeout=timeout) as response:  # noqa: S310
            return _total_of(response)
    except urllib.error.HTTPError as exc:
        exc.close()  # the error holds the response's socket
        if exc.code == 416:  # an empty file: no byte 0 to send
            match = _UNSATISFIED_RANGE.fullmatch(exc.headers.get("Content-Range", "").strip())
            if match:
                return int(match.group(1))
        raise _http_error(exc, url, path) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _network_error(exc, url, path) from None


def _append(
    response: http.client.HTTPResponse,
    part: Path,
    *,
    offset: int,
    limit: int | None,
    on_bytes: Callable[[int], None],
    path: str,
) -> int:
    """Write the response body to ``part`` from ``offset``; returns bytes written.

    Raises OSError subclasses from the connection as they come (the caller retries);
    a write failure (full disk ...) becomes a FetchError at once.
    """
    written = 0
    try:
        out = part.open("r+b" if offset else "wb")
        if offset:
            out.seek(offset)
            out.truncate()
    except OSError as exc:
        raise _write_error(exc, part, path) from None
    with out:
        while True:
            want = _CHUNK if limit is None else min(_CHUNK, limit - offset - written)
            if want <= 0:
                break
            chunk = response.read1(want)  # what has arrived: progress and Ctrl-C stay prompt
            if not chunk:
                break
            try:
                out.write(chunk)
            except OSError as exc:
                raise _write_error(exc, part, path) from None
            written += len(chunk)
            on_bytes(len(chunk))
        try:
            out.flush()
        except OSError as exc:
            raise _write_error(exc, part, path) from None
    return written


def _write_error(exc: OSError, part: Path, path: str) -> FetchError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return FetchError(
            f"{path}: no space left on the device writing {part} ({exc.strerror}); free some "
            "space and rerun: the partial file is kept and the download resumes where it stopped",
            path=path,
        )
    return FetchError(f"{path}: cannot write {part}: {exc.strerror or exc}", path=path)


def download(
    url: str,
    part: Path,
    path: str,
    *,
    expected_size: int | None = None,
    retries: int = 5,
    timeout: float = 60.0,
    backoff: float = 1.0,
    on_start: Callable[[int, int | None], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> Transfer:
    """Download ``url`` into ``part``, continuing whatever ``part`` already holds.

    Each request asks for ``Range: bytes=<bytes in part>-``. A ``206`` answer is appended;
    a ``200`` (a server without range support) starts the file again. A connection that
    drops or stalls is retried up to ``retries`` times, each time from where it stopped.

    Args:
        url: The file's address.
        part: The partial file (created or continued).
        path: The file's relative path in DEST, for messages.
        expected_size: Size pinned by the catalogue; a server announcing another is refused.
        retries: Extra attempts after a dropped connection.
        timeout: Socket timeout in seconds (a stalled connection counts as dropped).
        backoff: Seconds before the first retry, doubled each time.
        on_start: Called before each body with (bytes already in ``part``, announced total).
        on_bytes: Called with the size of every chunk written.

    Returns:
        What was transferred.

    Raises:
        FetchError: Unreachable host, HTTP error, full disk, or the connection kept dropping.
        FetchVerificationError: The announced size differs from ``expected_size``, or the
            server sent more bytes than it announced.
    """
    have = part.stat().st_size if part.exists() else 0
    job = _Download(
        url=url,
        part=part,
        path=path,
        expected_size=expected_size,
        retries=retries,
        timeout=timeout,
        backoff=backoff,
        on_start=on_start,
        on_bytes=on_bytes or _ignore,
        have=have,
        resumed_from=have,
    )
    while True:  # each pass is one request; the steps say when to ask again
        job.attempts += 1
        opened = job.open()
        if isinstance(opened, Transfer):
            return opened
        if opened is None:
            continue
        with opened as response:
            extra = job.receive(response) if job.resume(response) else None
        if extra is not None and (done := job.verify(extra)) is not None:
            return done


@attrs.define
class _Download:
    """One :func:`download`: its settings and progress, shared by its steps.

    Each step returns what the loop in :func:`download` needs to decide: a finished
    :class:`Transfer`, or None to send another request (after the backoff sleep when the
    connection dropped; at once when the partial file was restarted).
    """

    url: str
    part: Path
    path: str
    expected_size: int | None
    retries: int
    timeout: float
    backoff: float
    on_start: Callable[[int, int | None], None] | None
    on_bytes: Callable[[int], None]
    #: Bytes in ``part`` (where the next request starts).
    have: int
    resumed_from: int
    received: int = 0
    attempts: int = 0
    #: The file size the current response announces (None when it does not say).
    total: int | None = None

    def transfer(self) -> Transfer:
        """What was transferred so far."""
        return Transfer(self.have, self.received, self.resumed_from, self.attempts)

    def open(self) -> http.client.HTTPResponse | Transfer | None:
        """Ask for ``bytes=<have>-``: the response, or what to do without one.

        A :class:`Transfer` when ``part`` is complete already; None to ask again (a stale
        partial file was dropped, or the connection failed and a retry is left).
        """
        try:
            response: http.client.HTTPResponse = urllib.request.urlopen(  # noqa: S310
                _request(self.url, self.have), timeout=self.timeout
            )
        except urllib.error.HTTPError as exc:
            exc.close()  # the error holds the response's socket
            if exc.code == 416 and self.have:  # nothing past `have`
                return self._unsatisfiable(exc)
            raise _http_error(exc, self.url, self.path) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            self._retry_or_raise(_network_error(exc, self.url, self.path))
            return None
        return response

    def _unsatisfiable(self, exc: urllib.error.HTTPError) -> Transfer | None:
        """A 416 after a partial file: complete if the remote size is ``have``, else stale."""
        match = _UNSATISFIED_RANGE.fullmatch(exc.headers.get("Content-Range", "").strip())
        if match and int(match.group(1)) == self.have:
            _check_size(self.have, self.expected_size, self.url, self.path)
            return self.transfer()
        self._restart()  # a partial file longer than the remote one: start again
        return None

    def resume(self, response: http.client.HTTPResponse) -> bool:
        """Where the body goes: appended at ``have`` (206 of our range), or a new file (200).

        False when the server answered another range: the partial file is dropped and the
        whole file asked for again.
        """
        self.total = _total_of(response)
        if response.status != 206:
            self.have = 0  # 200: the whole file, from its first byte
            return True
        match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        if match and int(match.group(1)) == self.have:
            return True
        self._restart()  # the server answered another range: start again, cleanly
        return False

    def receive(self, response: http.client.HTTPResponse) -> bytes | None:
        """Write the body after ``have``; return any byte sent past the announced total.

        That is ``b""`` normally; None to ask again after a dropped connection.
        """
        _check_size(self.total, self.expected_size, self.url, self.path)
        if self.on_start is not None:
            self.on_start(self.have, self.total)
        try:
            written = _append(
                response,
                self.part,
                offset=self.have,
                limit=self.total,
                on_bytes=self.on_bytes,
                path=self.path,
            )
            self.received += written
            self.have += written
            complete = self.total is not None and self.have >= self.total
            return response.read(1) if complete else b""
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, FetchError):
                raise
            self.have = self.part.stat().st_size
            self._retry_or_raise(
                FetchError(
                    f"{self.path}: the connection to {self.url} kept dropping "
                    f"({exc or type(exc).__name__}) after {self.attempts} attempts, "
                    f"{self.have} bytes kept in {self.part}; rerun to resume",
                    path=self.path,
                    url=self.url,
                )
            )
            return None

    def verify(self, extra: bytes) -> Transfer | None:
        """The Transfer when the body ended at the announced total (or none was announced).

        None to ask again when the server closed early without an error (a drop).

        Raises:
            FetchVerificationError: The server sent bytes past the total it announced.
        """
        if extra:
            raise FetchVerificationError(
                f"{self.path}: {self.url} sent more bytes than the {self.total} it announced; "
                "refusing the file",
                path=self.path,
                url=self.url,
            )
        if self.total is None or self.have == self.total:
            return self.transfer()
        self._retry_or_raise(
            FetchError(
                f"{self.path}: {self.url} closed the connection at byte {self.have} of "
                f"{self.total} {self.attempts} times; rerun to resume from {self.part}",
                path=self.path,
                url=self.url,
            )
        )
        return None

    def _restart(self) -> None:
        """Drop the partial file: the next request asks for the whole file."""
        self.have = 0
        self.part.unlink(missing_ok=True)

    def _retry_or_raise(self, error: FetchError) -> None:
        """Sleep the backoff before another attempt, or raise ``error`` when none is left."""
        if self.attempts > self.retries:
            raise error from None
        time.sleep(self.backoff * 2 ** (self.attempts - 1))


def _ignore(n: int) -> None:
    """Default ``on_bytes``: no progress display."""


def _check_size(total: int | None, expected: int | None, url: str, path: str) -> None:
    if expected is not None and total is not None and total != expected:
        raise FetchVerificationError(
            f"{path}: {url} announces {total} bytes but the catalogue pins {expected}; "
            "refusing a file of the wrong size (is base_url serving another version?)",
            path=path,
            url=url,
            parameter="base_url",
        )
