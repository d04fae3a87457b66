"""Dataset build throughput: the AWS blog's pipeline, the machine's floor, and wsi2rek.

On synthetic Aperio SVS slides (16,000 x 12,000 px, JPEG tiles of 256 px; one 6,000 x
4,500 slide with ``--quick``) holding isolated annotated cells, more than a patch apart so
that each gets its own 512 px object patch as mitoses do in the CMC slides (4,000 patches
over 8 slides by default), in a SlideRunner database, in one run:

(a) ``blog``: the blog notebook's per-patch pipeline, emulated: ``OpenSlide.read_region``
    -> RGBA -> ``float32 / 255`` -> back to ``uint8`` -> PNG at Pillow's default level 6,
    2 worker processes, on the first ``--blog-patches`` windows of the plan (it is slow;
    its rate is per patch);
(b) ``floor``: the least work a build must do: for each window, decode exactly the JPEG
    tiles it needs (tifffile's tile index + imagecodecs/libjpeg-turbo), paste, encode
    JPEG q90, write atomically; 2 processes, no planning, manifests or previews;
(c) ``wsi2rek build`` (the CLI, as a subprocess: reading the database, planning with the
    tissue mask, writing images, manifests, validation and previews) with
    ``--format jpeg`` and ``--format png``, ``--workers 2``.

It prints JSON: patches/s of each, the ratios (target: JPEG build >= 25x blog and >=
0.7x floor, PNG build >= 15x blog), the peak RSS of each build (the CLI process and all
its descendants: forkserver, resource tracker, workers; sampled every 20 ms, the bench's
own process not included) with each process's share at that moment, for the full plan
and a quarter of it (flat in the number of patches; target < 400 MB), and the load
average (the machine may be shared).

Python compiles each module it imports without a cached ``.pyc``, and the compiler's
working memory stays in the process's RSS (importing ``tifffile``, a 900 KB module, adds
37 MB instead of 2 MB). ``pip install`` writes the ``.pyc`` files; a virtual environment
made without them and run with ``PYTHONDONTWRITEBYTECODE=1`` never has them. The JSON says
which case was measured (``bytecode``); ``--compile-bytecode`` measures the installed
case whatever the environment: the builds then run with ``PYTHONPYCACHEPREFIX`` set to a
private cache filled by an unmeasured warm-up build.

Usage::

    python bench/build_throughput.py [--quick] [--patches N] [--blog-patches N]
                                     [--compile-bytecode]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import importlib.util
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import imagecodecs
import numpy as np
import psutil  # type: ignore[import-untyped]  # no stubs installed; bench only
import tifffile
from PIL import Image

from wsi2rek.dataset._build import _mp_context
from wsi2rek.testing import make_slide, make_sliderunner_db, spot

PATCH = 512
TARGETS = {"jpeg_vs_blog": 25.0, "jpeg_vs_floor": 0.7, "png_vs_blog": 15.0, "peak_mb": 400}
#: (slide file, image name, x, y) of one window, level-0 pixels
Window = tuple[str, str, int, int]
#: centre-to-centre distance of the cells: a 512 px window with its 16 px margin never holds two
SPACING = 530


def _role(proc: Any) -> str:
    """What a descendant process is, from its command line (for the memory breakdown)."""
    line = " ".join(proc.cmdline())
    if "resource_tracker" in line:
        return "resource_tracker"
    if "multiprocessing.forkserver" in line:
        parent = proc.parent()
        forked = parent is not None and "multiprocessing.forkserver" in " ".join(parent.cmdline())
        return "worker" if forked else "forkserver"
    if "wsi2rek" in line:
        return "cli"
    return "other"


class PeakRss:
    """Samples this process's descendants (and itself) in a thread: summed RSS and CPU time.

    Worker processes may be grandchildren (started by a forkserver), so CPU time is read
    from each descendant with psutil rather than from ``RUSAGE_CHILDREN``. With
    ``include_self=False`` the bench's own process, and every process it had started
    before (the forkserver of pipelines (a) and (b)), are left out of both: a CLI build
    runs as a subprocess, and only its process tree is measured. ``roles`` holds each
    process's RSS in MB at the moment of the peak.
    """

    def __init__(self, interval: float = 0.02, *, include_self: bool = True) -> None:
        self.interval = interval
        self.include_self = include_self
        self.peak = 0
        self.roles: list[tuple[str, float]] = []
        self._exclude: set[int] = set()
        self._first: dict[tuple[int, float], float] = {}
        self._last: dict[tuple[int, float], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        me = psutil.Process()
        total = 0
        rss: list[tuple[Any, int]] = []
        for proc in [me, *me.children(recursive=True)]:
            if proc.pid in self._exclude:
                continue
            try:
                with proc.oneshot():
                    rss.append((proc, int(proc.memory_info().rss)))
                    times = proc.cpu_times()
                    key = (proc.pid, proc.create_time())
            except psutil.Error:
                continue
            total += rss[-1][1]
            cpu = float(times.user + times.system)
            self._first.setdefault(key, cpu)
            self._last[key] = cpu
        if total > self.peak:
            self.peak = total
            self.roles = []
            for proc, value in rss:
                try:
                    role = "bench" if proc.pid == me.pid else _role(proc)
                except psutil.Error:
                    role = "gone"
                self.roles.append((role, round(value / 2**20, 1)))
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        if not self.include_self:
            me = psutil.Process()
            self._exclude = {me.pid, *(p.pid for p in me.children(recursive=True))}
        self._sample()
        self._baseline = set(self._first)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def mb(self) -> float:
        return round(self.peak / 2**20, 1)

    @property
    def cpu_seconds(self) -> float:
        """CPU time used during the run by this process and every descendant seen."""
        return sum(
            self._last[k] - (self._first[k] if k in self._baseline else 0.0) for k in self._last
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


def _chunks(windows: Sequence[Window], batch: int) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """Plan-order batches of at most ``batch`` windows, each from one slide."""
    out: list[tuple[str, list[tuple[str, int, int]]]] = []
    for slide, name, x, y in windows:
        if not out or out[-1][0] != slide or len(out[-1][1]) == batch:
            out.append((slide, []))
        out[-1][1].append((name, x, y))
    return out


def build_blog(windows: Sequence[Window], out: Path, workers: int = 2) -> None:
    """Plan order, one slide open per task, a process pool like wsi2rek's."""
    out.mkdir(parents=True)
    named = [(slide, f"{name}.png", x, y) for slide, name, x, y in windows]
    # the same start method as wsi2rek's pool, so both pay the same start-up cost
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context()) as pool:
        futures = [pool.submit(_blog_batch, s, str(out), c) for s, c in _chunks(named, 16)]
        for f in futures:
            f.result()


# --- (b) the floor: decode exactly the tiles needed, paste, encode, write --------------


class _Tiles:
    """Level 0's tile index, read once per process."""

    def __init__(self, path: str) -> None:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            self.tw, self.th = int(page.tilewidth), int(page.tilelength)
            self.w, self.h = int(page.imagewidth), int(page.imagelength)
            self.across = -(-self.w // self.tw)
            self.offsets = list(page.dataoffsets)
            self.counts = list(page.databytecounts)
            self.tables = page.jpegtables
            self.space = 3 if int(page.photometric) == 6 else 2  # libjpeg YCbCr / RGB
        self.fd = os.open(path, os.O_RDONLY)


_TILES: dict[str, _Tiles] = {}


def _floor_batch(slide_path: str, out: str, windows: Sequence[tuple[str, int, int]]) -> int:
    t = _TILES.get(slide_path) or _TILES.setdefault(slide_path, _Tiles(slide_path))
    for name, x, y in windows:
        buf = np.full((PATCH, PATCH, 3), 255, np.uint8)
        x1, y1 = min(x + PATCH, t.w), min(y + PATCH, t.h)
        for row in range(y // t.th, (y1 - 1) // t.th + 1):
            for col in range(x // t.tw, (x1 - 1) // t.tw + 1):
                i = row * t.across + col
                data = os.pread(t.fd, t.counts[i], t.offsets[i])
                tile = imagecodecs.jpeg8_decode(
                    data, tables=t.tables, colorspace=t.space, outcolorspace=2
                )
                tx, ty = col * t.tw, row * t.th
                sx0, sy0, sx1, sy1 = max(x, tx), max(y, ty), min(x1, tx + t.tw), min(y1, ty + t.th)
                buf[sy0 - y : sy1 - y, sx0 - x : sx1 - x] = tile[
                    sy0 - ty : sy1 - ty, sx0 - tx : sx1 - tx
                ]
        target = Path(out, f"{name}.jpg")
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(imagecodecs.jpeg8_encode(buf, level=90))
        tmp.replace(target)
    return len(windows)


def build_floor(windows: Sequence[Window], out: Path, workers: int = 2) -> None:
    out.mkdir(parents=True)
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context()) as pool:
        for f in [pool.submit(_floor_batch, s, str(out), c) for s, c in _chunks(windows, 64)]:
            f.result()


# --- (c) the wsi2rek build command --------------------------------------------------


#: The environment of the CLI builds (``--compile-bytecode`` adds a private ``.pyc`` cache).
CLI_ENV = dict(os.environ)


def build_cli(db: Path, slides: Path, out: Path, fmt: str, per_slide: int | None) -> dict[str, Any]:
    cmd = [
        sys.executable, "-m", "wsi2rek", "build", "--db", str(db), "--slides", str(slides),
        "--out", str(out), "--label", "mitotic figure=2", "--format", fmt, "--quality", "90",
        "--workers", "2", "--json",
    ]  # fmt: skip
    if per_slide is not None:
        cmd += ["--per-slide", str(per_slide)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=CLI_ENV)
    if done.returncode not in (0, 1):
        raise SystemExit(f"wsi2rek build failed: {done.stderr.strip()}")
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def windows_of(dataset: Path, slides: Path) -> list[Window]:
    """The windows a build wrote, from its patches.jsonl, in plan order."""
    out = []
    for line in (dataset / "patches.jsonl").read_text().splitlines():
        row = json.loads(line)
        left, top = _left_top(row["window"])
        out.append((str(slides / row["slide"]), Path(row["image"]).stem, left, top))
    return out


def _left_top(window: Any) -> tuple[int, int]:
    if isinstance(window, dict):
        return int(window["left"]), int(window["top"])
    return int(window[0]), int(window[1])


def measure(fn: Callable[[], object], n: int, *, include_self: bool = True) -> dict[str, Any]:
    """Wall-clock time, CPU ms per patch (all processes) and peak RSS of one run.

    CPU time per patch hardly depends on what else runs on the machine, so it shows the
    cost of each pipeline even when other load disturbs the wall-clock figures.
    ``include_self=False`` leaves the bench's own process out (a CLI build).
    """
    with PeakRss(include_self=include_self) as rss:
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
    return {
        "seconds": round(seconds, 3),
        "patches_per_s": round(n / seconds, 2),
        "cpu_ms_per_patch": round(1000 * rss.cpu_seconds / n, 2),
        "peak_mb": rss.mb,
        "peak_mb_by_process": [f"{role} {mb}" for role, mb in rss.roles],
    }


def make_inputs(folder: Path, width: int, height: int, n: int) -> tuple[Path, Path, int]:
    """Slides holding ``n`` cells on a jittered grid, and their SlideRunner database.

    Cells sit ``SPACING`` px apart, so each gets its own object patch; as many slides as
    needed are written (each ``width`` x ``height``). Returns the slide folder, the database
    and the number of cells per slide.
    """
    slides = folder / "slides"
    slides.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    cols, rows = (width - 2 * PATCH) // SPACING, (height - 2 * PATCH) // SPACING
    count = -(-n // (cols * rows))
    per_slide = -(-n // count)
    names, spots = [], []
    for k in range(count):
        name = f"bench_{k + 1}_{width}x{height}.svs"
        cells = [
            (PATCH + (i % cols + 0.5) * SPACING + rng.uniform(-5, 5),
             PATCH + (i // cols + 0.5) * SPACING + rng.uniform(-5, 5))
            for i in range(per_slide)
        ]  # fmt: skip
        if not (slides / name).exists():
            make_slide(slides / name, width, height, tissue="full", cells=cells, seed=7 + k)
        names.append(name)
        spots += [spot(k + 1, x, y, 2) for x, y in cells]
    db = folder / "cells.sqlite"
    db.unlink(missing_ok=True)
    make_sliderunner_db(db, names, spots, classes={2: "mitotic figure"})
    return slides, db, per_slide


def _cache_bytecode(tmp: Path, db: Path, slides: Path) -> None:
    """Give the CLI builds a private .pyc cache, filled by an unmeasured small build."""
    CLI_ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    CLI_ENV["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    warm = tmp / "build_warm_up"
    shutil.rmtree(warm, ignore_errors=True)
    build_cli(db, slides, warm, "png", 1)  # imports (and caches) what a build imports
    shutil.rmtree(warm)


def _bytecode_case() -> str:
    """Whether the CLI builds found cached ``.pyc`` files or compiled every module."""
    if "PYTHONPYCACHEPREFIX" in CLI_ENV:
        return "cached (--compile-bytecode)"
    spec = importlib.util.find_spec("tifffile")
    cached = spec is not None and spec.cached is not None and Path(spec.cached).is_file()
    if cached:
        return "cached (.pyc installed)"
    if CLI_ENV.get("PYTHONDONTWRITEBYTECODE"):
        return "compiled at every import (no .pyc, PYTHONDONTWRITEBYTECODE set)"
    return "compiled on first import (no .pyc installed)"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller slide and plan")
    parser.add_argument("--patches", type=int, help="annotated cells = object patches")
    parser.add_argument("--blog-patches", type=int, default=400, help="windows for (a)")
    parser.add_argument("--workdir", type=Path, help="keep files here (default: a temp dir)")
    parser.add_argument(
        "--compile-bytecode",
        action="store_true",
        help="run the builds with cached .pyc files, as after pip install (see above)",
    )
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    n = args.patches or (200 if args.quick else 4000)
    width, height = (6000, 4500) if args.quick else (16000, 12000)
    tmp = Path(args.workdir or tempfile.mkdtemp(prefix="wsi2rek-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    slides, db, per_slide = make_inputs(tmp, width, height, n)
    if args.compile_bytecode:
        _cache_bytecode(tmp, db, slides)
    load_before = [round(x, 2) for x in os.getloadavg()]
    results: dict[str, dict[str, Any]] = {}
    summaries: dict[str, dict[str, Any]] = {}
    for fmt in ("jpeg", "png"):
        out = tmp / f"build_{fmt}"
        shutil.rmtree(out, ignore_errors=True)
        box: dict[str, Any] = {}

        def run(fmt: str = fmt, out: Path = out, box: dict[str, Any] = box) -> None:
            box["summary"] = build_cli(db, slides, out, fmt, None)

        results[f"build_{fmt}"] = measure(run, 1, include_self=False)
        summaries[fmt] = box["summary"]
        images = int(box["summary"]["images"])
        r = results[f"build_{fmt}"]
        r["patches"] = images
        r["patches_per_s"] = round(images / r["seconds"], 2)
        r["cpu_ms_per_patch"] = round(r["cpu_ms_per_patch"] / images, 2)
    windows = windows_of(tmp / "build_jpeg", slides)
    pipelines: list[tuple[str, Callable[[Sequence[Window], Path], None], list[Window]]] = [
        ("floor", build_floor, windows),
        ("blog", build_blog, windows[: args.blog_patches]),
    ]
    for name, fn, subset in pipelines:
        out = tmp / name
        shutil.rmtree(out, ignore_errors=True)

        def go(
            fn: Callable[[Sequence[Window], Path], None] = fn,
            out: Path = out,
            subset: list[Window] = subset,
        ) -> None:
            fn(subset, out)

        results[name] = measure(go, len(subset))
        results[name]["patches"] = len(subset)
    quarter = max(1, per_slide // 4)  # object patches per slide
    small_out = tmp / "build_jpeg_quarter"
    shutil.rmtree(small_out, ignore_errors=True)
    small_box: dict[str, Any] = {}

    def run_small() -> None:
        small_box["summary"] = build_cli(db, slides, small_out, "jpeg", quarter)

    small = measure(run_small, 1, include_self=False)
    small_patches = int(small_box["summary"]["images"])
    rate = {k: v["patches_per_s"] for k, v in results.items()}
    ratios = {
        "jpeg_vs_blog": round(rate["build_jpeg"] / rate["blog"], 2),
        "jpeg_vs_floor": round(rate["build_jpeg"] / rate["floor"], 3),
        "png_vs_blog": round(rate["build_png"] / rate["blog"], 2),
        "floor_vs_blog": round(rate["floor"] / rate["blog"], 2),
    }
    peak = max(results["build_jpeg"]["peak_mb"], results["build_png"]["peak_mb"])
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": load_before,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "slides": {"count": len(list(slides.glob("*.svs"))), "width": width, "height": height},
        "patch_size": PATCH,
        "results": results,
        "ratios": ratios,
        "memory": {
            "measured": "wsi2rek build process and its descendants (not the bench)",
            "bytecode": _bytecode_case(),
            "peak_mb_full_plan": peak,
            "peak_mb_quarter_plan": small["peak_mb"],
            "peak_mb_quarter_plan_by_process": small["peak_mb_by_process"],
            "patches_full_plan": results["build_jpeg"]["patches"],
            "patches_quarter_plan": small_patches,
        },
        "build_ok": {fmt: bool(s.get("ok", True)) for fmt, s in summaries.items()},
        "targets": {
            "jpeg_vs_blog>=25": ratios["jpeg_vs_blog"] >= TARGETS["jpeg_vs_blog"],
            "jpeg_vs_floor>=0.7": ratios["jpeg_vs_floor"] >= TARGETS["jpeg_vs_floor"],
            "png_vs_blog>=15": ratios["png_vs_blog"] >= TARGETS["png_vs_blog"],
            "peak_mb<400": peak < TARGETS["peak_mb"],
        },
    }
    print(json.dumps(report, indent=2))
    if args.workdir is None:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
