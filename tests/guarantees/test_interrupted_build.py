"""``kill -9`` during a build, then a rerun, gives the folder an uninterrupted build gives.

Issue 10 found this held under injected faults; this test keeps it so. The build runs as
a real ``wsi2rek build`` process and is killed with SIGKILL (no cleanup code runs) as
soon as its first image exists.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.guarantees._cli import run_wsi2rek
from tests.guarantees.conftest import build_args


@pytest.fixture(autouse=True)
def _same_creation_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two separate builds are compared: both stamp the same creation-date, as reproducible
    builds do (otherwise each plan carries the time it was made)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file's bytes, with ``built_at`` and ``seconds`` of dataset.json blanked."""
    out: dict[str, bytes] = {}
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            data = f.read_bytes()
            if f.name == "dataset.json":
                info = json.loads(data)
                info["built_at"] = None
                data = json.dumps(info, sort_keys=True).encode()
            out[f.relative_to(folder).as_posix()] = data
    return out


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_kill_9_then_rerun_gives_the_same_folder_and_inputs_are_unchanged(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    db, slides = inputs
    inputs_before = {"db": hashlib.sha256(db.read_bytes()).hexdigest(), **digests(slides)}
    extra = ("--background", "12", "--format", "png")
    reference = tmp_path / "reference"
    assert run_wsi2rek(*build_args(inputs, reference, *extra), cwd=tmp_path).code == 0

    out = tmp_path / "ds"
    env = {k: v for k, v in os.environ.items() if k != "WSI2REK_DEBUG"}
    process = subprocess.Popen(
        [sys.executable, "-m", "wsi2rek", *build_args(inputs, out, *extra)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    try:
        while not any((out / "images").rglob("*.png")) and process.poll() is None:
            assert time.monotonic() < deadline, "the build wrote no image in 120 s"
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    status = json.loads((out / "dataset.json").read_text(encoding="utf-8"))["status"]
    assert status == "building", "the build ended before it could be killed"

    assert run_wsi2rek(*build_args(inputs, out, *extra), cwd=tmp_path).code == 0
    assert snapshot(out) == snapshot(reference)
    assert {"db": hashlib.sha256(db.read_bytes()).hexdigest(), **digests(slides)} == inputs_before
