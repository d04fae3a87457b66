"""Executable docs: every code block of every Markdown page runs, on synthetic data.

- ```` ```python ```` blocks run in order, sharing one namespace per page, in a fresh
  temporary working directory (pages write relative paths such as ``"demo"``).
- ```` ```console ```` blocks run each ``$ wsi2rek ...`` line through ``wsi2rek.cli.main``
  in-process and require exit code 0 (or the code named by a trailing ``# exit N``).
- ``<!-- invisible-code-block: python ... -->`` blocks run too but are not shown: pages use
  them to create miniature stand-in data with ``make_standin(...)`` (defined here), so
  the visible commands run exactly as written.
- Blocks in other languages (``bash``, ``json``, ``text`` ...) are illustrations and are
  not run; ``<!-- skip: next -->`` skips the next block (used for steps needing AWS or
  the real MITOS_WSI_CMC data), with the reason written next to it in the page.
"""

from __future__ import annotations

import contextlib
import io
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
from sybil import Example, Sybil
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = sorted(path for path in DOCS.rglob("*.md") if "generated" not in path.parts)


def run_console(example: Example) -> None:
    """Run the ``$ wsi2rek ...`` lines of a console block through the CLI entry point."""
    from wsi2rek.cli import main

    commands: list[str] = []
    continued = False
    for line in str(example.parsed).splitlines():
        if continued:  # a command continued with a trailing backslash
            commands[-1] = commands[-1][:-1] + " " + line.strip()
        elif line.startswith("$ "):
            commands.append(line[2:].strip())
        else:
            continue  # output lines are illustrations, not checked
        continued = commands[-1].endswith("\\")
    assert commands, f"{example.path}:{example.line}: console block without '$ ' lines"
    for command in commands:
        text, _, expect = command.partition("# exit ")
        words = shlex.split(text)
        assert words[0] == "wsi2rek", (
            f"{example.path}:{example.line}: only wsi2rek commands run in console blocks; "
            f"use a bash block for {command!r}"
        )
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(words[1:])
        wanted = int(expect) if expect else 0
        assert code == wanted, (
            f"{example.path}:{example.line}: {command!r} exited {code}, expected {wanted}\n"
            f"stdout:\n{out.getvalue()}\nstderr:\n{err.getvalue()}"
        )


def make_standin(
    db: str,
    slides: str,
    names: Sequence[str],
    *,
    size: tuple[int, int] = (1600, 1200),
    objects: int = 12,
    tissue: Literal["blobs", "full"] = "full",
    roi: bool = False,
    seed: int = 0,
) -> tuple[Path, Path]:
    """Miniature stand-in data for a page: small slides and a SlideRunner database.

    Each slide gets ``objects`` spots alternating class 2 (mitotic figure, painted as a
    dark cell) and class 1 (look-alike, not painted), away from each other and, with
    ``tissue="blobs"``, inside tissue. ``roi=True`` adds one AREA annotation of class 3
    ("ROI") covering the left half of each slide.
    """
    from wsi2rek.geometry import Box, Point
    from wsi2rek.slides import open_slide
    from wsi2rek.testing import area, make_slide, make_sliderunner_db, spot
    from wsi2rek.tissue import tissue_mask

    width, height = size
    folder = Path(slides)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    annotations = []
    for uid, name in enumerate(names, start=1):
        mask = None
        if tissue == "blobs":  # the layout scales with the slide: look at a tiny one first
            small = make_slide(folder / "layout.svs", width // 8, height // 8, seed=seed + uid)
            with open_slide(small) as opened:
                mask = tissue_mask(opened)
            small.unlink()
        points: list[Point] = []
        for _ in range(10_000):
            if len(points) == objects:
                break
            x, y = (float(v) for v in rng.integers(90, (width - 90, height - 90)))
            if mask is not None and mask.fraction(Box.around(Point(x / 8, y / 8), 10)) < 0.999:
                continue
            if all(Point(x, y).distance(p) >= 90 for p in points):
                points.append(Point(x, y))
        mitoses = points[::2]
        make_slide(folder / name, width, height, cells=mitoses, tissue=tissue, seed=seed + uid)
        annotations += [spot(uid, p.x, p.y, 2 - i % 2) for i, p in enumerate(points)]
        if roi:
            annotations.append(area(uid, (0, 0), (width // 2, height), 3))
    classes = {1: "Mitotic figure lookalike", 2: "Mitotic figure"}
    if roi:
        classes[3] = "ROI"
    path = make_sliderunner_db(db, list(names), annotations, classes=classes)
    return path, folder


def page_setup(namespace: dict[str, Any]) -> None:
    namespace["make_standin"] = make_standin
    # Blocks are written as scripts, with an `if __name__ == "__main__":` guard where they
    # start worker processes; here they run as the main module would.
    namespace["__name__"] = "__main__"


SYBIL = Sybil(
    parsers=[
        PythonCodeBlockParser(),
        CodeBlockParser(language="console", evaluator=run_console),
        SkipParser(),
    ],
    setup=page_setup,
)


def test_docs_have_pages() -> None:
    assert len(PAGES) >= 10, PAGES


#: Pages whose code takes more than a few seconds (they build datasets or run the demo).
SLOW_PAGES = {"getting-started.md", "howto/mitos-wsi-cmc.md"}


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(
            p,
            id=str(p.relative_to(DOCS)),
            marks=[pytest.mark.slow] if str(p.relative_to(DOCS)) in SLOW_PAGES else [],
        )
        for p in PAGES
    ],
)
def test_code_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    document = SYBIL.parse(page)
    page_setup(document.namespace)
    for example in document.examples():
        example.evaluate()
