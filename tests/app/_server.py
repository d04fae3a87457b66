"""Start ``wsi2rek app`` as a subprocess on a free 127.0.0.1 port and wait for its health."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

STARTUP_SECONDS = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"wsi2rek app exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    pytest.fail(f"wsi2rek app was not healthy after {STARTUP_SECONDS} s:\n{log.read_text()}")


@contextlib.contextmanager
def serve_app(tmp_path: Path, extra_args: Sequence[str] = ()) -> Iterator[str]:
    """``python -m wsi2rek app`` from an unrelated folder; yields its URL, always stopped."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSI2REK_")}
    env["HOME"] = str(tmp_path)  # no user-level ~/.streamlit config or credentials prompt
    log = tmp_path / "app.log"
    command = [sys.executable, "-m", "wsi2rek", "app", "--port", str(port), *extra_args]
    with log.open("wb") as sink:
        server = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=sink, stderr=sink)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, server, log)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
