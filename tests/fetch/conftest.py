"""A local HTTP file server with Range support and fault injection, and stand-in data.

The server is the standard library's ``http.server`` on 127.0.0.1 (an ephemeral port),
implementing byte ranges as RFC 9110 section 14 specifies them: ``Range: bytes=a-`` or
``bytes=a-b`` is answered ``206`` with ``Content-Range: bytes a-b/total``, a range past the
end ``416`` with ``Content-Range: bytes */total``. Faults are opt-in per test: drop the
connection after N bytes, ignore ranges (answer 200), or return 404 for a missing path.
Nothing here talks to any other host.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest

from wsi2rek.annotations import SlideRecord
from wsi2rek.fetch._lock import RUNNING_NAME
from wsi2rek.testing import make_slide, make_sliderunner_db, spot

_RANGE = re.compile(r"bytes=(\d+)-(\d*)")

#: Stand-in slide size (level 0) written by the factories and recorded in the database.
SLIDE_SIZE = (640, 480)


@attrs.define
class Request:
    """One request the server saw."""

    method: str
    path: str
    range: str | None


@attrs.define
class FileServer:
    """Files served from memory under ``/mirror/``; ``url`` is the base URL for ``--base-url``."""

    files: dict[str, bytes]
    url: str = ""
    requests: list[Request] = attrs.Factory(list)
    drop_after: dict[str, int] = attrs.Factory(dict)  # path -> bytes sent before a drop (once)
    ignore_ranges: bool = False
    slow: float = 0.0  # seconds to wait after each KiB of a body
    interrupt_at: tuple[str, int] | None = None  # Ctrl-C the test once N bytes of path are sent

    def gets(self, path: str) -> list[Request]:
        """The GET requests for ``path`` that fetched content (not the 1-byte size probes)."""
        return [r for r in self.requests if r.path == path and r.range != "bytes=0-0"]


def _handler(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        lock: ClassVar[threading.Lock] = threading.Lock()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read ``server.requests`` instead."""

        def do_GET(self) -> None:
            path = urllib.parse.unquote(self.path).removeprefix("/mirror/")
            header = self.headers.get("Range")
            with self.lock:
                server.requests.append(Request("GET", path, header))
            data = server.files.get(path)
            if data is None:
                self.send_error(404, "Not Found")
                return
            total = len(data)
            start, end, status = 0, total - 1, 200
            match = _RANGE.fullmatch(header or "")
            if match and not server.ignore_ranges:
                start = int(match.group(1))
                end = min(int(match.group(2)), total - 1) if match.group(2) else total - 1
                if start >= total:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{total}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
            body = data[start : end + 1]
            self.send_response(status)
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{total}")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "none" if server.ignore_ranges else "bytes")
            self.end_headers()
            drop = server.drop_after.pop(path, None) if header != "bytes=0-0" else None
            if drop is not None:
                self.wfile.write(body[:drop])
                self.wfile.flush()
                self.close_connection = True
                return
            if not server.slow and server.interrupt_at is None:
                self.wfile.write(body)
                return
            try:
                for at in range(0, len(body), 1024):
                    self.wfile.write(body[at : at + 1024])
                    self.wfile.flush()
                    if server.interrupt_at == (path, at):
                        server.interrupt_at = None
                        os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, to this process
                    time.sleep(server.slow)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading: expected after an interrupt

    return Handler


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start a server for a dict of files: ``server = serve({"WSI/a.svs": b"..."})``."""
    started: list[ThreadingHTTPServer] = []

    def start(files: dict[str, bytes]) -> FileServer:
        state = FileServer(dict(files))
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        started.append(httpd)
        state.url = f"http://127.0.0.1:{httpd.server_address[1]}/mirror"
        return state

    yield start
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def standin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Stand-in files with the layout of a dataset: two Aperio slides and their database.

    The slides come from :func:`wsi2rek.testing.make_slide` (OpenSlide reports them as
    ``aperio``), the database from :func:`wsi2rek.testing.make_sliderunner_db`, whose
    ``Slides`` table records each slide's width and height as SlideRunner does.
    """
    root = tmp_path_factory.mktemp("standin")
    width, height = SLIDE_SIZE
    names = ["a1b2c3.svs", "d4e5f6.svs"]
    out: dict[str, bytes] = {}
    for seed, name in enumerate(names):
        out[f"WSI/{name}"] = make_slide(root / name, width, height, seed=seed).read_bytes()
    db = make_sliderunner_db(
        root / "cells.sqlite",
        [SlideRecord(i, n, width=width, height=height) for i, n in enumerate(names, start=1)],
        [spot(1, 100, 100, 2), spot(2, 200, 150, 1)],
        classes={1: "Mitotic figure lookalike", 2: "Mitotic figure"},
    )
    out["databases/cells.sqlite"] = db.read_bytes()
    return out


@pytest.fixture(scope="session")
def generic_tiff(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A pyramidal TIFF that OpenSlide opens as ``generic-tiff``, not Aperio."""
    path = tmp_path_factory.mktemp("tiff") / "g.svs"
    return make_slide(path, *SLIDE_SIZE, kind="tiff").read_bytes()


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative POSIX path, but the empty marker a fetch holds."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.name != RUNNING_NAME
    }
