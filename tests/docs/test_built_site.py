"""The built docs site in Chromium: no code block runs off the right edge at 1280 px.

A command cut off at the edge hides what matters (issue 13: the MITOS_WSI_CMC how-to hid
its test-slide names). ``docs/stylesheets/extra.css`` wraps code blocks; this test opens
every page of a site built by ``mkdocs build`` in Debian's Chromium at 1280 x 900 px and
checks, for every ``pre`` and its ``code`` (the element Material for MkDocs scrolls), that
``scrollWidth <= clientWidth`` (CSSOM View: content wider than the box scrolls).

Building the site takes longer than a test should, so the test runs on a site built
elsewhere: ``.ci/run`` builds it and runs this file with ``WSI2REK_DOCS_SITE`` set; by hand,
``mkdocs build --site-dir /tmp/site`` then ``WSI2REK_DOCS_SITE=/tmp/site pytest
tests/docs/test_built_site.py``. Skipped (with the reason) without a site or Chromium.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.app.test_app_browser import CHROMIUM, CHROMIUM_ARGS

SITE = os.environ.get("WSI2REK_DOCS_SITE", "")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.is_file(),
        reason=f"{CHROMIUM} is not installed (apt-get install chromium) - browser test skipped",
    ),
    pytest.mark.skipif(
        not (SITE and (Path(SITE) / "index.html").is_file()),
        reason="set WSI2REK_DOCS_SITE to a site built with `mkdocs build --site-dir DIR`",
    ),
]

# Every overflowing block on the page: its size and its longest line, to name it.
OVERFLOWS = """() => [...document.querySelectorAll('pre, pre > code')]
    .filter((e) => e.scrollWidth > e.clientWidth)
    .map((e) => [e.scrollWidth, e.clientWidth,
                 e.textContent.split('\\n').reduce((a, l) => (l.length > a.length ? l : a), '')])"""


def test_no_code_block_overflows_at_1280_px() -> None:
    from playwright.sync_api import sync_playwright

    site = Path(SITE)
    pages = sorted(site.rglob("index.html"))
    overflowing: list[str] = []
    blocks = 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            for path in pages:
                page.goto(path.as_uri())
                blocks += page.locator("pre").count()
                overflowing += [
                    f"{path.relative_to(site)}: {scroll} > {client} px: {line.strip()[:80]}"
                    for scroll, client, line in page.evaluate(OVERFLOWS)
                ]
        finally:
            browser.close()
    assert len(pages) > 20, f"{site} holds {len(pages)} pages: not a built wsi2rek site"
    assert blocks > 100, f"only {blocks} code blocks in {site}: the selector finds nothing"
    assert not overflowing, "code blocks run off the right edge:\n" + "\n".join(overflowing)
