"""End to end: ``streamlit run`` on 127.0.0.1, driven by Debian's Chromium through Playwright.

Skipped (with the reason) where ``/usr/bin/chromium`` is not installed; CI installs it with
apt. Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from wsi2rek.geometry import Point
from wsi2rek.testing import make_image

APP = Path(__file__).resolve().parents[2] / "examples" / "streamlit_app" / "app.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CELLS = [Point(80, 70), Point(260, 90), Point(420, 260), Point(150, 300), Point(500, 120)]
STARTUP_SECONDS = 40.0

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.is_file(),
        reason=f"{CHROMIUM} is not installed (apt-get install chromium) - browser test skipped",
    ),
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    pytest.fail(f"streamlit was not healthy after {STARTUP_SECONDS} s:\n{log.read_text()}")


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """A ``streamlit run`` server on a free 127.0.0.1 port, always stopped afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSI2REK_")}
    env["HOME"] = str(tmp_path)  # no user-level ~/.streamlit config or credentials prompt
    log = tmp_path / "streamlit.log"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
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


def test_upload_in_chromium_shows_one_detection_per_cell(app_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    image = make_image(tmp_path / "cells.png", 600, 400, cells=CELLS, seed=7)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(app_url)
            expect(page.get_by_text("Upload a PNG or JPEG image, or tick")).to_be_visible(
                timeout=30_000
            )
            page.locator("input[type=file]").set_input_files(str(image))
            summary = page.get_by_text(re.compile(r"^\d+ detections? with confidence"))
            expect(summary).to_be_visible(timeout=30_000)
            assert summary.inner_text().startswith(f"{len(CELLS)} detections")
            metric = page.get_by_test_id("stMetricValue")
            expect(metric).to_have_text(str(len(CELLS)))
            expect(page.get_by_test_id("stDataFrame")).to_be_visible()
            expect(page.get_by_role("button", name="Download GeoJSON")).to_be_visible()
            shot = os.environ.get("WSI2REK_APP_SCREENSHOT")
            if shot:  # for looking at the page during development
                page.screenshot(path=shot, full_page=True)
        finally:
            browser.close()
