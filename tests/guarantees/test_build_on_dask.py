"""``wsi2rek build --scheduler ADDRESS`` runs on an existing Dask cluster (issue 13).

The cluster is a real ``distributed.LocalCluster`` (a scheduler and two worker
processes, as ``dask-scheduler``/``dask-worker`` would run them); the CLI runs as a
subprocess that only knows the scheduler's address, the way a user starts it. The
promise under test is the one of issue 13: "byte-identical to a local build".
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.guarantees._cli import assert_one_line_error, run_wsi2rek
from tests.guarantees.conftest import build_args

distributed = pytest.importorskip("distributed")


@pytest.fixture(autouse=True)
def _same_creation_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two separate builds are compared: both stamp the same creation-date, as reproducible
    builds do (otherwise each plan carries the time it was made)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file's bytes under ``folder``, with dataset.json's ``built_at`` blanked."""
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


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a LocalCluster of two single-threaded worker processes."""
    with distributed.LocalCluster(
        processes=True,
        n_workers=2,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # None means 8787, which a parallel test may hold
    ) as cluster:
        yield str(cluster.scheduler_address)


def test_a_cluster_build_equals_a_local_build(
    inputs: tuple[Path, Path], scheduler: str, tmp_path: Path
) -> None:
    local = run_wsi2rek(*build_args(inputs, tmp_path / "local"), cwd=tmp_path)
    assert local.code == 0, local.stderr
    remote = run_wsi2rek(
        *build_args(inputs, tmp_path / "dask", "--scheduler", scheduler, "--json"), cwd=tmp_path
    )
    assert remote.code == 0, remote.stderr
    # the work ran on the cluster, not in local processes (-1: an executor did it)
    assert json.loads(remote.stdout)["workers"] == -1
    local_files = snapshot(tmp_path / "local")
    assert any(name.startswith("images/") for name in local_files)
    assert snapshot(tmp_path / "dask") == local_files


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_scheduler_is_one_line_after_the_timeout(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    start = time.monotonic()
    result = run_wsi2rek(
        *build_args(inputs, tmp_path / "ds", "--scheduler", address, "--scheduler-timeout", "1"),
        cwd=tmp_path,
    )
    assert time.monotonic() - start < 60
    assert_one_line_error(result, "build", f"--scheduler {address}: no Dask scheduler reached")
    assert not (tmp_path / "ds").exists()


def test_a_malformed_address_is_one_line(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    result = run_wsi2rek(
        *build_args(inputs, tmp_path / "ds", "--scheduler", "nonsense"), cwd=tmp_path
    )
    assert_one_line_error(result, "build", "--scheduler nonsense: no Dask scheduler reached")


def test_without_the_dask_extra_is_one_line(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    # A package named ``distributed`` that fails to import, first on the path: what a
    # base install without the extra looks like to ``import distributed``.
    shim = tmp_path / "shim" / "distributed"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'distributed'\")\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "WSI2REK_DEBUG"}
    env["PYTHONPATH"] = str(shim.parent)
    args = build_args(inputs, tmp_path / "ds", "--scheduler", "tcp://127.0.0.1:8786")
    done = subprocess.run(
        [sys.executable, "-m", "wsi2rek", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "pip install 'wsi2rek[dask]'" in done.stderr
