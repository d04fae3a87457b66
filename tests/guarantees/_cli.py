"""Run the real ``wsi2rek`` command in a subprocess, as a user's shell would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import attrs


@attrs.frozen
class Result:
    """Exit code and output of one ``wsi2rek`` run."""

    code: int
    stdout: str
    stderr: str


def run_wsi2rek(*args: str | Path, cwd: Path, timeout: float = 120) -> Result:
    """``python -m wsi2rek ARGS`` in ``cwd``, without ``WSI2REK_DEBUG`` (no tracebacks)."""
    env = {k: v for k, v in os.environ.items() if k != "WSI2REK_DEBUG"}
    done = subprocess.run(
        [sys.executable, "-m", "wsi2rek", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def assert_one_line_error(result: Result, command: str, *needles: str) -> None:
    """A failed run: non-zero exit, one ``wsi2rek COMMAND: error:`` line, no traceback."""
    assert result.code != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"wsi2rek {command}: error: "), result.stderr
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)
