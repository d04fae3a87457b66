"""What a dataset build imports: nothing of AWS, and workers only what cuts patches.

Every process of ``wsi2rek build`` (the command, the forkserver, each worker) pays the
resident memory of every module it imports, and the build's peak memory is their sum
(``bench/build_throughput.py``). These tests run a real build and a real worker pool in
a subprocess (a fresh interpreter, as a user's) and read ``sys.modules`` there, so a
module-level import of boto3, tqdm or the planning code in the worker path fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from wsi2rek.testing import make_slide, make_sliderunner_db, spot

#: Never imported by a build (the AWS SDK, the other subcommands, optional extras).
NOT_IN_BUILD = (
    "boto3",
    "botocore",
    "s3transfer",
    "wsi2rek.aws",
    "wsi2rek.inference",
    "wsi2rek.fetch",
    "wsi2rek.app",
    "streamlit",
    "dask",
    "distributed",
    # progress bars: tqdm.auto pulls in asyncio and ssl (about 20 MB); only when a bar
    # is drawn, never with --json or without a terminal
    "tqdm",
    "asyncio",
    "ssl",
)
#: Never imported by a worker: reading annotations (sqlite3), planning, tissue masks,
#: previews, the build driver itself.
NOT_IN_WORKER = (
    *NOT_IN_BUILD,
    "sqlite3",
    "wsi2rek.annotations",
    "wsi2rek.sampling",
    "wsi2rek.tissue",
    "wsi2rek.dataset._build",
    "wsi2rek.dataset._preview",
    "PIL.ImageDraw",
)

# Top level stays light: a forkserver worker re-imports this script as ``__mp_main__``.
SCRIPT = """
import json, sys

if __name__ == "__main__":
    import concurrent.futures as cf

    from wsi2rek.cli import main

    db, slides, out, slide = sys.argv[1:5]
    code = main(["build", "--db", db, "--slides", slides, "--out", out, "--label",
                 "mitotic figure=2", "--patch-size", "256", "--workers", "1", "--json"])
    build = sorted(sys.modules)

    from wsi2rek.dataset._build import _mp_context
    from wsi2rek.dataset._encode import ImageOptions
    from wsi2rek.dataset._worker import init_worker, run_batch

    with cf.ProcessPoolExecutor(
        1, mp_context=_mp_context(), initializer=init_worker, initargs=([slide],)
    ) as pool:
        done = pool.submit(run_batch, slide, out, [("w.jpg", 0, 0, 64, 64)], ImageOptions())
        done.result()
        # a builtin pickles by name, so asking the worker adds no module to it
        worker = pool.submit(eval, "sorted(__import__('sys').modules)").result()
    print(json.dumps({"code": code, "build": build, "worker": worker}))
"""


def _loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    """The entries of ``names`` present in ``modules``, as packages or submodules."""
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in modules)]


def test_build_and_its_workers_import_only_what_they_use(tmp_path: Path) -> None:
    slides = tmp_path / "slides"
    slides.mkdir()
    cells = [(300, 300), (800, 500)]
    make_slide(slides / "one.svs", 1200, 900, cells=cells, seed=3)
    db = make_sliderunner_db(
        tmp_path / "cells.sqlite",
        ["one.svs"],
        [spot(1, x, y, 2) for x, y in cells],
        classes={2: "mitotic figure"},
    )
    script = tmp_path / "run_build.py"
    script.write_text(SCRIPT, "utf-8")
    out = tmp_path / "ds"
    done = subprocess.run(
        [sys.executable, str(script), str(db), str(slides), str(out), str(slides / "one.svs")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    assert (out / "w.jpg").is_file()
    # the paths under test were taken: a real build and a worker that read the SVS
    # with the tifffile backend
    assert "wsi2rek.dataset._build" in result["build"]
    assert "wsi2rek.slides._tifffile" in result["worker"]
    assert _loaded(result["build"], NOT_IN_BUILD) == []
    assert _loaded(result["worker"], NOT_IN_WORKER) == []


def test_loaded_matches_packages_and_submodules_only() -> None:
    modules = ["tqdm", "botocore.session", "wsi2rek.sampling._plan", "sslx"]
    assert _loaded(modules, ("tqdm", "botocore", "ssl", "wsi2rek.sampling")) == [
        "tqdm",
        "botocore",
        "wsi2rek.sampling",
    ]
