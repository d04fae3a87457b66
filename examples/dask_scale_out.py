"""Build a dataset on a Dask cluster: plan locally, cut and encode patches on the workers.

``build_dataset`` accepts any ``concurrent.futures.Executor``; a Dask client provides one
(``client.get_executor()``). Planning is cheap and runs here; the expensive part (reading
windows, encoding PNG/JPEG) runs on the cluster. The result is byte for byte the dataset a
local build gives: ``--check-local`` builds it a second time with local processes and
compares every manifest and image.

Without ``--scheduler`` a ``LocalCluster`` is started on 127.0.0.1 (handy to try it out);
with ``--scheduler tcp://host:8786`` the workers of an existing cluster do the work. The
workers open the slides by path and write images into the output folder, so both must be
visible to every worker under the same path (a shared file system), and the workers need
wsi2rek installed (``pip install 'wsi2rek[dask]'``).

Examples::

    python examples/dask_scale_out.py --synthetic --out runs/dask --check-local
    python examples/dask_scale_out.py --db cells.sqlite --slides /shared/slides \\
        --label "mitotic figure=2" --label "look-alike=1" --test-fraction 0.25 \\
        --out /shared/datasets/v1 --scheduler tcp://scheduler:8786
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from wsi2rek.dataset import build_dataset
from wsi2rek.labels import LabelMap
from wsi2rek.sampling import ObjectSampler, PatchPlan, plan_dataset


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--synthetic", action="store_true", help="generate 3 small slides + DB")
    data.add_argument("--db", type=Path, help="SlideRunner database")
    parser.add_argument("--slides", type=Path, help="folder with the slide files (--db)")
    parser.add_argument(
        "--label", action="append", default=None, help='"name=class ids", repeatable'
    )
    parser.add_argument("--test-fraction", type=float, default=None)
    parser.add_argument("--patch-size", type=int, default=512)
    parser.add_argument("--per-slide", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("dask-dataset"))
    parser.add_argument("--scheduler", default=None, help="scheduler address (default: local)")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    parser.add_argument("--check-local", action="store_true", help="compare with a local build")
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    args = parser.parse_args(argv)
    if args.db is not None and (args.slides is None or not args.label):
        parser.error("--db needs --slides DIR and at least one --label")
    return args


def synthetic_inputs(folder: Path, *, seed: int) -> tuple[Path, Path, list[str]]:
    """Three small slides with painted cells and a SlideRunner database of them."""
    from wsi2rek.testing import make_slide, make_sliderunner_db, spot

    slides = folder / "slides"
    slides.mkdir(parents=True, exist_ok=True)
    names = ["slide-a.svs", "slide-b.svs", "slide-c.svs"]
    annotations = []
    for uid, name in enumerate(names, start=1):
        cells = [(300 + 260 * i + 40 * uid, 300 + 170 * (i % 4)) for i in range(6)]
        if not (slides / name).exists():
            make_slide(slides / name, 2000, 1200, cells=cells, tissue="full", seed=seed + uid)
        annotations += [spot(uid, x, y, 2) for x, y in cells]
    db = folder / "cells.sqlite"
    if not db.exists():
        make_sliderunner_db(db, names, annotations, classes={2: "Mitotic figure"})
    return db, slides, ["mitotic figure=2"]


@contextlib.contextmanager
def dask_executor(scheduler: str | None, workers: int) -> Iterator[tuple[Executor, str]]:
    """A ``concurrent.futures.Executor`` backed by Dask, and the scheduler's address."""
    from distributed import Client, LocalCluster

    # distributed's constructors are not annotated: hence the no-untyped-call ignores.
    if scheduler is not None:
        with Client(scheduler) as client:  # type: ignore[no-untyped-call]
            yield client.get_executor(), scheduler
        return
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # any free port: 8787 may be taken
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        yield client.get_executor(), cluster.scheduler_address


def digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every manifest and image (``dataset.json`` holds a build time: excluded)."""
    files = [*folder.glob("*.manifest"), *sorted((folder / "images").rglob("*.*"))]
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(files)
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.synthetic:
        db, slides, labels = synthetic_inputs(args.out / "data", seed=args.seed)
        test_fraction = 0.34 if args.test_fraction is None else args.test_fraction
    else:
        db, slides, labels = args.db, args.slides, args.label
        test_fraction = args.test_fraction
    plan: PatchPlan = plan_dataset(
        db,
        slides,
        LabelMap.parse(labels),
        sampler=ObjectSampler(patch_size=args.patch_size, per_slide=args.per_slide),
        test_fraction=test_fraction,
        seed=args.seed,
    )
    out = args.out / "dataset"
    started = time.perf_counter()
    with dask_executor(args.scheduler, args.workers) as (executor, address):
        summary = build_dataset(plan, out, executor=executor, overwrite=True)
    result: dict[str, Any] = {
        "scheduler": address if args.scheduler else "LocalCluster on 127.0.0.1",
        "patches": len(plan.patches),
        "images": summary.images,
        "ok": summary.ok,
        "seconds": round(time.perf_counter() - started, 2),
    }
    if args.check_local:
        local = build_dataset(plan, args.out / "local", workers=1, overwrite=True)
        same = digest(out) == digest(local.out)
        result["identical_to_local_build"] = same
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    ok = summary.ok and result.get("identical_to_local_build", True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
