"""End to end: ``wsi2rek app`` on 127.0.0.1, driven by Debian's Chromium through Playwright.

Skipped (with the reason) where ``/usr/bin/chromium`` is not installed; CI installs it with
apt. Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app._server import serve_app
from wsi2rek.geometry import Point
from wsi2rek.testing import make_image

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

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.is_file(),
        reason=f"{CHROMIUM} is not installed (apt-get install chromium) - browser test skipped",
    ),
]


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """``wsi2rek app`` on a free 127.0.0.1 port, always stopped afterwards."""
    with serve_app(tmp_path) as url:
        yield url


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
            expect(page.get_by_test_id("stDataFrame")).to_be_visible(timeout=30_000)
            expect(page.get_by_role("button", name="Download GeoJSON")).to_be_visible(
                timeout=30_000
            )
            shot = os.environ.get("WSI2REK_APP_SCREENSHOT")
            if shot:  # for looking at the page during development
                page.screenshot(path=shot, full_page=True)
        finally:
            browser.close()
