"""Docs examples saved as ``.py`` files and run as ``python FILE``, the way users run them.

In-process runs (``test_markdown_pages``) cannot see what a saved script meets: worker
processes re-import the main script (Python's "safe importing of main module" rule for the
``spawn``/``forkserver`` start methods). Each example here runs in a subprocess on small
stand-in data, and every docs example that starts worker processes must be guarded.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.docs.test_markdown_pages import DOCS, PAGES, make_standin

REPO = DOCS.parent
GUARD = 'if __name__ == "__main__":'
CMC_PAIR = ["2d56d1902ca533a5b509.svs", "69a02453620ade0edefd.svs"]


def python_block_after(path: Path, heading: str) -> str:
    """The first ```python block after ``heading`` in ``path``."""
    text = path.read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, f"no python block after {heading!r} in {path}"
    return match.group(1)


def standin_readme() -> None:
    make_standin("MITOS_WSI_CMC_MEL.sqlite", "slides", [*CMC_PAIR, "a.svs", "b.svs"])


def standin_getting_started() -> None:
    make_standin(
        "demo-out/annotations.sqlite", "demo-out/slides", ["demo_1.svs", "demo_2.svs", "demo_3.svs"]
    )


EXAMPLES: dict[str, tuple[Path, str, Callable[[], None]]] = {
    "README first dataset": (REPO / "README.md", "## A first dataset", standin_readme),
    "getting started, same in Python": (
        DOCS / "getting-started.md",
        "### The same in Python",
        standin_getting_started,
    ),
    "dataset guide": (DOCS / "guide" / "dataset.md", "# ", standin_readme),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXAMPLES))
def test_example_runs_as_a_saved_script(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page, heading, standin = EXAMPLES[name]
    monkeypatch.chdir(tmp_path)
    standin()
    script = tmp_path / "example.py"
    script.write_text(python_block_after(page, heading), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WSI2REK_", "AWS_"))}
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert result.returncode == 0, f"{name} failed as a saved script:\n{result.stderr}"
    assert "Traceback" not in result.stderr


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL)


def _starts_workers(block: str) -> bool:
    """A call to build_dataset that may start worker processes (no workers=0)."""
    calls = re.findall(r"build_dataset\(([^)]*)\)", block)
    return any("workers=0" not in args for args in calls) or "LocalCluster(" in block


@pytest.mark.parametrize(
    "page",
    [REPO / "README.md", *PAGES],
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_docs_examples_that_start_workers_have_the_main_guard(page: Path) -> None:
    for block in _python_blocks(page):
        if _starts_workers(block):
            assert GUARD in block, f"{page}: an example starts worker processes without {GUARD}"
