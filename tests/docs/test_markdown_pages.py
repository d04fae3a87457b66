"""Executable docs: every code block of every Markdown page runs, on synthetic data.

- ```` ```python ```` blocks run in order, sharing one namespace per page, in a fresh
  temporary working directory (pages write relative paths such as ``"demo"``).
- ```` ```console ```` blocks run each ``$ wsi2rek ...`` line through ``wsi2rek.cli.main``
  in-process and require exit code 0 (or the code named by a trailing ``# exit N``).
- Blocks in other languages (``bash``, ``json``, ``text`` ...) are illustrations and are
  not run; ``<!-- skip: next -->`` skips the next block (used for steps needing AWS or
  the real MITOS_WSI_CMC data), with the reason written next to it in the page.
"""

from __future__ import annotations

import contextlib
import io
import shlex
from pathlib import Path

import pytest
from sybil import Example, Sybil
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = sorted(path for path in DOCS.rglob("*.md") if "generated" not in path.parts)


def run_console(example: Example) -> None:
    """Run the ``$ wsi2rek ...`` lines of a console block through the CLI entry point."""
    from wsi2rek.cli import main

    commands = [line[2:] for line in str(example.parsed).splitlines() if line.startswith("$ ")]
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


SYBIL = Sybil(
    parsers=[
        PythonCodeBlockParser(),
        CodeBlockParser(language="console", evaluator=run_console),
        SkipParser(),
    ],
)


def test_docs_have_pages() -> None:
    assert len(PAGES) >= 10, PAGES


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_code_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    document = SYBIL.parse(page)
    for example in document.examples():
        example.evaluate()
