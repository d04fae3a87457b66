"""Dataset build throughput: the AWS blog's per-patch pipeline versus wsi2rek.

One seeded plan of 512 px patches on a large synthetic Aperio SVS is built three ways,
each with 1 and 2 worker processes, in one run:

(a) ``blog``: the blog notebook's per-patch pipeline, emulated: patches in plan order,
    ``OpenSlide.read_region`` -> RGBA -> ``float32 / 255`` -> back to ``uint8`` -> PNG at
    Pillow's default compress level (6);
(b) ``png``: ``wsi2rek.dataset.build_dataset`` with PNG (Up filter, zlib level 1);
(c) ``jpeg``: ``build_dataset`` with JPEG quality 90.

It prints JSON: patches/s, the ratio of each wsi2rek variant to (a) at the same worker
count, the 2-vs-1 worker scaling, and peak RSS (parent plus all child processes, sampled
every 20 ms with psutil). A last run builds a large plan (10,000 patches; 2,000 with
``--quick``) with JPEG and 2 workers to show that memory stays flat in patch count.

Usage::

    python bench/build_throughput.py [--quick] [--patches N] [--memory-patches N]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import io
import json
import os
import platform
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil  # type: ignore[import-untyped]  # no stubs installed; bench only
from PIL import Image

from wsi2rek.dataset import build_dataset
from wsi2rek.dataset._build import _mp_context
from wsi2rek.geometry import Box
from wsi2rek.sampling._plan import LabeledBox, PatchPlan, PatchSpec

PATCH = 512
TARGETS = {"png_vs_blog_2w": 4.5, "jpeg_vs_blog_2w": 12.0, "scaling_2v1": 1.7, "peak_mb": 400}


class PeakRss:
    """Samples this process and all its descendants in a thread: summed RSS and CPU time.

    Worker processes may be grandchildren (started by a forkserver), so CPU time is read
    from each descendant with psutil rather than from ``RUSAGE_CHILDREN``.
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.peak = 0
        self._first: dict[tuple[int, float], float] = {}
        self._last: dict[tuple[int, float], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        me = psutil.Process()
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            try:
                with proc.oneshot():
                    total += int(proc.memory_info().rss)
                    times = proc.cpu_times()
                    key = (proc.pid, proc.create_time())
            except psutil.Error:
                continue
            cpu = float(times.user + times.system)
            self._first.setdefault(key, cpu)
            self._last[key] = cpu
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self.peak = self._sample()
        self._baseline = set(self._first)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())

    @property
    def mb(self) -> float:
        return round(self.peak / 2**20, 1)

    @property
    def cpu_seconds(self) -> float:
        """CPU time used during the run by this process and every descendant seen."""
        return sum(
            self._last[k] - (self._first[k] if k in self._baseline else 0.0) for k in self._last
        )


def make_plan(slide: Path, width: int, height: int, n: int, seed: int) -> PatchPlan:
    """``n`` seeded random 512 px windows with one or two labelled boxes each."""
    rng = np.random.default_rng(seed)
    patches = []
    for i in range(n):
        x = int(rng.integers(0, width - PATCH))
        y = int(rng.integers(0, height - PATCH))
        boxes = [
            LabeledBox(
                "mitotic figure" if k == 0 else "look-alike",
                Box.from_xywh(x + 50 + 150 * k, y + 60 + 100 * k, 50, 50),
                annotation=2 * i + k,
            )
            for k in range(1 + i % 2)
        ]
        split = "test" if i % 5 == 4 else "train"
        patches.append(PatchSpec(slide.name, Box(x, y, x + PATCH, y + PATCH), split, boxes))
    return PatchPlan(
        patches,
        {slide.name: str(slide)},
        ("mitotic figure", "look-alike"),
        params={"seed": seed, "bench": "build_throughput"},
    )


# --- (a) the blog pipeline, emulated -------------------------------------------------


def _blog_batch(slide_path: str, out: str, windows: Sequence[tuple[str, int, int]]) -> int:
    import openslide  # the blog reads with OpenSlide (through SlideRunner_dataAccess)

    slide = openslide.OpenSlide(slide_path)
    try:
        for name, x, y in windows:
            rgba = slide.read_region((x, y), 0, (PATCH, PATCH))
            img = np.asarray(rgba)[:, :, :3].astype(np.float32) / 255.0  # fastai tensor
            arr = (img * 255).astype(np.uint8)  # back to bytes for saving
            buf = io.BytesIO()
            Image.fromarray(arr).save(buf, "PNG")  # Pillow default compress level (6)
            Path(out, name).write_bytes(buf.getvalue())
    finally:
        slide.close()
    return len(windows)


def build_blog(plan: PatchPlan, out: Path, workers: int, batch: int = 16) -> None:
    """Plan order, one slide open per task, a process pool like wsi2rek's."""
    out.mkdir(parents=True)
    slide = next(iter(plan.slide_paths.values()))
    windows = [(f"{p.name}.png", int(p.window.left), int(p.window.top)) for p in plan.patches]
    chunks = [windows[i : i + batch] for i in range(0, len(windows), batch)]
    # the same start method as wsi2rek's pool, so both pay the same start-up cost
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context()) as pool:
        futures = [pool.submit(_blog_batch, slide, str(out), c) for c in chunks]
        for f in futures:
            f.result()


# --- driver --------------------------------------------------------------------------


def measure(fn: Callable[[], object], n: int) -> dict[str, Any]:
    """Wall-clock time, CPU ms per patch (all processes) and peak RSS of one run.

    CPU time per patch hardly depends on what else runs on the machine, so it shows the
    cost of each pipeline even when other load disturbs the wall-clock figures.
    """
    with PeakRss() as rss:
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
    return {
        "seconds": round(seconds, 3),
        "patches_per_s": round(n / seconds, 2),
        "cpu_ms_per_patch": round(1000 * rss.cpu_seconds / n, 2),
        "peak_mb": rss.mb,
    }


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest run, with the lowest CPU cost and the highest peak seen."""
    out = dict(min(runs, key=lambda r: r["seconds"]))
    out["cpu_ms_per_patch"] = min(r["cpu_ms_per_patch"] for r in runs)
    out["peak_mb"] = max(r["peak_mb"] for r in runs)
    out["runs"] = len(runs)
    return out


def folder_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller slide and plans")
    parser.add_argument("--patches", type=int, help="patches in the throughput plan")
    parser.add_argument("--memory-patches", type=int, help="patches in the memory run")
    parser.add_argument("--workdir", type=Path, help="keep files here (default: a temp dir)")
    parser.add_argument("--repeat", type=int, default=1, help="best of N interleaved runs")
    args = parser.parse_args()
    n = args.patches or (120 if args.quick else 600)
    n_mem = args.memory_patches or (2000 if args.quick else 10_000)
    width, height = (8000, 6000) if args.quick else (24000, 16000)

    from wsi2rek.testing import make_slide

    tmp = Path(args.workdir or tempfile.mkdtemp(prefix="wsi2rek-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    slide = tmp / f"bench_{width}x{height}.svs"
    if not slide.exists():
        rng = np.random.default_rng(7)
        cells = [(float(x), float(y)) for x, y in rng.uniform((0, 0), (width, height), (400, 2))]
        make_slide(slide, width, height, tissue="full", cells=cells, seed=7)
    plan = make_plan(slide, width, height, n, seed=0)
    load_before = [round(x, 2) for x in os.getloadavg()]
    results: dict[str, dict[str, Any]] = {"blog": {}, "png": {}, "jpeg": {}}
    sizes: dict[str, float] = {}
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    # repeats are interleaved so that a burst of other load hits every variant alike
    for _ in range(args.repeat):
        for workers in (1, 2):
            for variant in ("blog", "png", "jpeg"):
                out = tmp / f"{variant}_{workers}w"
                shutil.rmtree(out, ignore_errors=True)

                def run(variant: str = variant, out: Path = out, workers: int = workers) -> None:
                    if variant == "blog":
                        build_blog(plan, out / "images", workers)
                    else:
                        build_dataset(
                            plan,
                            out,
                            image_format="png" if variant == "png" else "jpeg",
                            quality=90,
                            workers=workers,
                            preview=False,
                        )

                runs.setdefault((variant, workers), []).append(measure(run, n))
                sizes[variant] = folder_mb(out / "images")
    for (variant, workers), measured in runs.items():
        results[variant][str(workers)] = best(measured)
    ratios = {
        f"{v}_vs_blog": {
            w: round(results["blog"][w]["seconds"] / results[v][w]["seconds"], 2)
            for w in ("1", "2")
        }
        for v in ("png", "jpeg")
    }
    cpu_ratios = {
        f"{v}_vs_blog": round(
            results["blog"]["1"]["cpu_ms_per_patch"] / results[v]["1"]["cpu_ms_per_patch"], 2
        )
        for v in ("png", "jpeg")
    }
    scaling = {
        v: round(results[v]["1"]["seconds"] / results[v]["2"]["seconds"], 2) for v in results
    }
    mem_plan = make_plan(slide, width, height, n_mem, seed=1)
    mem_out = tmp / "memory_run"
    shutil.rmtree(mem_out, ignore_errors=True)
    memory = measure(
        lambda: build_dataset(mem_plan, mem_out, image_format="jpeg", workers=2, preview=False),
        n_mem,
    )
    memory["patches"] = n_mem
    small_peak = max(results["jpeg"]["2"]["peak_mb"], results["png"]["2"]["peak_mb"])
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": load_before,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "slide": {"width": width, "height": height, "path": str(slide)},
        "patches": n,
        "patch_size": PATCH,
        "results": results,
        "images_mb": sizes,
        "ratio_to_blog": ratios,
        "cpu_cost_ratio_to_blog": cpu_ratios,
        "scaling_2_vs_1_workers": scaling,
        "memory_run": memory,
        "targets": {
            "png_vs_blog_2w>=4.5": ratios["png_vs_blog"]["2"] >= TARGETS["png_vs_blog_2w"],
            "jpeg_vs_blog_2w>=12": ratios["jpeg_vs_blog"]["2"] >= TARGETS["jpeg_vs_blog_2w"],
            "png_2v1>=1.7": scaling["png"] >= TARGETS["scaling_2v1"],
            "jpeg_2v1>=1.7": scaling["jpeg"] >= TARGETS["scaling_2v1"],
            "peak_mb<400": memory["peak_mb"] < TARGETS["peak_mb"],
            "peak_flat_mb": {f"{n}_patches": small_peak, f"{n_mem}_patches": memory["peak_mb"]},
        },
    }
    print(json.dumps(report, indent=2))
    if args.workdir is None:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
