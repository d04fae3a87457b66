"""A build with worker processes, called from a saved script run as ``python script.py``.

Worker processes start with ``forkserver`` (or ``spawn``), which re-import the main script
(Python's documented "safe importing of main module" rule for those start methods, see
the multiprocessing programming guidelines). A guarded script works; an unguarded one
fails at once, in the parent, with one line naming the fix, before any worker starts.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.dataset.test_build import make_plan, slides  # noqa: F401 - a fixture
from wsi2rek._mainguard import _inside_guard

pytestmark = pytest.mark.slow

HEADER = """\
from wsi2rek.dataset import build_dataset
from wsi2rek.sampling import PatchPlan
"""


def run_script(tmp_path: Path, body: str) -> tuple[subprocess.CompletedProcess[str], float]:
    script = tmp_path / "make_dataset.py"
    script.write_text(HEADER + textwrap.dedent(body), encoding="utf-8")
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    return result, time.monotonic() - start


@pytest.fixture
def plan_file(slides: dict[str, str], tmp_path: Path) -> Path:  # noqa: F811 - the fixture
    path = tmp_path / "plan.json"
    make_plan(slides, 6).save(path)
    return path


def test_an_unguarded_script_fails_at_once_with_one_line_naming_the_guard(
    plan_file: Path, tmp_path: Path
) -> None:
    result, _ = run_script(
        tmp_path,
        """
        plan = PatchPlan.load("plan.json")
        summary = build_dataset(plan, "out", workers=2)
        print("built", summary.images)
        """,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("wsi2rek.errors.MainGuardError: build_dataset(workers=2) starts")
    assert 'if __name__ == "__main__":' in last
    assert "make_dataset.py, and its line 5 " in last
    assert "workers=0" in last
    # Only the script's own traceback: no worker died, nothing was written.
    assert result.stderr.count("Traceback") == 1
    assert "BrokenProcessPool" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_an_unguarded_call_through_a_function_is_caught_too(
    plan_file: Path, tmp_path: Path
) -> None:
    result, _ = run_script(
        tmp_path,
        """
        def main():
            build_dataset(PatchPlan.load("plan.json"), "out", workers=2)

        main()
        """,
    )
    assert result.returncode == 1
    assert "MainGuardError" in result.stderr.strip().splitlines()[-1]
    assert "its line 7 " in result.stderr


def test_the_same_script_with_the_guard_builds_with_workers(
    plan_file: Path, tmp_path: Path
) -> None:
    result, _ = run_script(
        tmp_path,
        """
        if __name__ == "__main__":
            plan = PatchPlan.load("plan.json")
            summary = build_dataset(plan, "out", workers=2)
            print("built", summary.images, "in worker processes:", summary.workers > 0)
        """,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("built ")
    assert result.stdout.strip().endswith("in worker processes: True")


def test_an_unguarded_script_without_workers_works(plan_file: Path, tmp_path: Path) -> None:
    result, _ = run_script(
        tmp_path,
        """
        summary = build_dataset(PatchPlan.load("plan.json"), "out", workers=0)
        print("built", summary.images)
        """,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("built ")


@pytest.mark.parametrize(
    ("source", "line", "inside"),
    [
        ('x = 1\nif __name__ == "__main__":\n    run()\n', 3, True),
        ("x = 1\nif '__main__' == __name__:\n    run()\n", 3, True),
        ('if __name__ == "__main__":\n    pass\nrun()\n', 3, False),
        ('if __name__ != "__main__":\n    run()\n', 2, False),
        ('if x == "__main__":\n    run()\n', 2, False),
        ('if __name__ == "__main__":\n    if True:\n        run(\n            1)\n', 4, True),
    ],
)
def test_guard_recognition(tmp_path: Path, source: str, line: int, *, inside: bool) -> None:
    path = tmp_path / "script.py"
    path.write_text(source, encoding="utf-8")
    assert _inside_guard(str(path), line) is inside
