"""Execute a :class:`~wsi2rek.sampling.PatchPlan`: images, manifests and ``dataset.json``.

The folder written by :func:`build_dataset`::

    OUT/
      images/train/<patch name>.png     one image per PatchSpec (PatchSpec.name)
      images/test/<patch name>.png
      train.manifest, test.manifest     Ground Truth lines, source-ref relative to OUT
      patches.jsonl                     per image: slide, window, split, label counts
      plan.json                         the plan itself (previews, audits, rebuilds)
      dataset.json                      parameters, versions, counts, skips, fingerprint
      preview/<slide stem>.png          where the patches came from

Workers write images; the parent writes everything else, in plan order, after all
images exist. Every file is written to a temporary name and renamed, so an interrupted
build leaves only whole files and a rerun writes just the missing images.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import math
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import attrs

from wsi2rek._atomic import atomic_write_text
from wsi2rek._json import dumps
from wsi2rek._mainguard import check_main_guard
from wsi2rek.dataset._encode import ImageOptions
from wsi2rek.dataset._folder import existing_images, prepare_folder, stamp_build
from wsi2rek.dataset._manifest import (
    DEFAULT_ATTRIBUTE,
    DEFAULT_CREATION_DATE,
    Manifest,
    ManifestLine,
)
from wsi2rek.dataset._summary import DatasetSummary
from wsi2rek.dataset._validate import ValidationReport
from wsi2rek.dataset._worker import SlideCache, Task, init_worker, run_task
from wsi2rek.errors import (
    DatasetError,
    ParameterError,
    SamplingError,
    SlideNotFoundError,
)
from wsi2rek.execution import BoundedRun, ProgressSubscriber, as_subscriber, tracked
from wsi2rek.rekognition import QUOTA, Quota
from wsi2rek.sampling import SPLITS, PatchPlan, PatchSpec, Skip

__all__ = ["DATASET_FORMAT", "build_dataset", "manifest_line"]

#: ``format`` field of ``dataset.json``; bumped when the folder layout changes.
DATASET_FORMAT = "wsi2rek-dataset/1"
# --- pure helpers ---------------------------------------------------------------------


def manifest_line(
    spec: PatchSpec,
    class_ids: Mapping[str, int],
    source_ref: str,
    *,
    creation_date: str = DEFAULT_CREATION_DATE,
    job_name: str = "wsi2rek",
) -> ManifestLine:
    """The manifest line of one patch: integer boxes in the patch frame.

    Each box is rounded outward to whole pixels (so the object stays covered) and then
    clipped to the image, so it never leaves the frame.

    Raises:
        DatasetError: A box has a label that is not in ``class_ids``.
    """
    width, height = spec.size
    boxes: list[tuple[int, int, int, int, int]] = []
    class_map: dict[int, str] = {}
    for label, box in spec.patch_boxes():
        if label not in class_ids:
            raise DatasetError(
                f"patch {spec.name} of slide {spec.slide} has a box labelled {label!r}, "
                f"which is not one of the plan's labels {sorted(class_ids)}"
            )
        cid = class_ids[label]
        left = min(max(math.floor(box.left), 0), width)
        top = min(max(math.floor(box.top), 0), height)
        right = min(max(math.ceil(box.right), 0), width)
        bottom = min(max(math.ceil(box.bottom), 0), height)
        boxes.append((cid, left, top, right - left, bottom - top))
        class_map[cid] = label
    return ManifestLine(
        source_ref=source_ref,
        width=width,
        height=height,
        depth=3,
        boxes=boxes,
        class_map=class_map,
        creation_date=creation_date,
        job_name=job_name,
    )


def _image_path(spec: PatchSpec, ext: str) -> str:
    return f"images/{spec.split}/{spec.name}.{ext}"


def _dedupe(patches: Sequence[PatchSpec]) -> tuple[list[PatchSpec], list[Skip]]:
    """Drop exact duplicate patches (counted); refuse two different specs with one name."""
    seen: dict[tuple[str, str], PatchSpec] = {}
    kept: list[PatchSpec] = []
    skips: list[Skip] = []
    for p in patches:
        key = (p.split, p.name)
        other = seen.get(key)
        if other is None:
            seen[key] = p
            kept.append(p)
        elif other.boxes == p.boxes and other.slide == p.slide:
            skips.append(
                Skip(
                    "duplicate_patch",
                    slide=p.slide,
                    annotation=p.target,
                    detail=f"window {p.name} was planned twice; written once",
                )
            )
        else:
            raise DatasetError(
                f"the plan has two different patches named {p.name} (slide {p.slide}, split "
                f"{p.split}) with different boxes; a window must appear once in a plan"
            )
    return kept, skips


def _check_plan(plan: PatchPlan, patches: Sequence[PatchSpec], limits: Quota) -> None:
    labels = set(plan.labels)
    for p in patches:
        w, h = p.size
        lo, hi = limits.min_image_side, limits.max_image_side
        if not (lo <= w <= hi and lo <= h <= hi):
            raise SamplingError(
                f"patch {p.name} is {w} x {h} px; Rekognition needs {lo} to {hi} px per side "
                "(choose another patch size)",
                slide=p.slide,
            )
        if max(w, h) > limits.max_aspect_ratio * min(w, h):
            raise SamplingError(
                f"patch {p.name} is {w} x {h} px; the aspect ratio must be at most "
                f"{limits.max_aspect_ratio:g}:1",
                slide=p.slide,
            )
        for b in p.boxes:
            if b.label not in labels:
                raise DatasetError(
                    f"patch {p.name} has a box labelled {b.label!r}, not one of the plan's "
                    f"labels {list(plan.labels)}"
                )
    slides = sorted({p.slide for p in patches})
    unknown = [s for s in slides if s not in plan.slide_paths]
    if unknown:
        raise DatasetError(
            f"the plan has patches of slides {unknown} but no path for them in slide_paths"
        )
    missing = [plan.slide_paths[s] for s in slides if not Path(plan.slide_paths[s]).is_file()]
    if missing:
        raise SlideNotFoundError(
            f"slide files of the plan not found: {missing}; move them back or re-plan",
            path=missing[0],
        )


def _check_training_split(patches: Sequence[PatchSpec], out: str | Path) -> None:
    """Refuse a plan whose training split cannot train: no patch, or a label only in test.

    The guide's training quota: "Minimum number of images per label is 1" (limits page).
    """
    train_labels = {b.label for p in patches if p.split == "train" for b in p.boxes}
    test_labels = {b.label for p in patches if p.split == "test" for b in p.boxes}
    if not train_labels:
        slides = sorted({p.slide for p in patches})
        raise DatasetError(
            f"the plan has no training patch with a box (slides {slides[:5]} are all test "
            "slides or have no objects); keep at least one slide with objects out of "
            "test_slides",
            path=out,
            parameter="test_slides",
        )
    missing = sorted(test_labels - train_labels)
    if missing:
        raise DatasetError(
            f"labels {missing} have test images but no training image (Rekognition needs "
            "at least 1 training image per label); move a slide with those objects out of "
            "--test-slides, or drop the labels from the label map",
            path=out,
        )


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for dist in (
        "wsi2rek",
        "openslide-python",
        "openslide-bin",
        "numpy",
        "Pillow",
        "tifffile",
        "imagecodecs",
        "isal",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    try:
        import openslide  # noqa: PLC0415  (optional at import time of this module)

        out["openslide"] = str(openslide.__library_version__)
    except (ImportError, OSError):
        out["openslide"] = None
    return out


def _batches(
    plan: PatchPlan, patches: Iterable[PatchSpec], ext: str, batch_size: int
) -> Iterator[Task]:
    """Windows grouped by slide, sorted by tile position (row bands), in batches."""
    by_slide: dict[str, list[PatchSpec]] = {}
    for p in patches:
        by_slide.setdefault(p.slide, []).append(p)
    for slide in sorted(by_slide):
        # Row bands two patches high, left to right inside a band: consecutive reads then
        # share most of their tiles, which OpenSlide's tile cache keeps decoded.
        band = 2 * max(p.size[1] for p in by_slide[slide])
        specs = sorted(
            by_slide[slide],
            key=lambda p: (int(p.window.top) // band, p.window.left, p.window.top, p.name),
        )
        for i in range(0, len(specs), batch_size):
            yield (
                plan.slide_paths[slide],
                [
                    (_image_path(p, ext), int(p.window.left), int(p.window.top), *p.size)
                    for p in specs[i : i + batch_size]
                ],
            )


def _default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# --- execution ------------------------------------------------------------------------


def _run(
    tasks: Iterator[Task],
    *,
    out: Path,
    options: ImageOptions,
    backend: str,
    executor: cf.Executor | None,
    in_flight: int,
    advance: Callable[[int], None],
) -> int:
    """Run the tasks, at most ``in_flight`` at a time (inline without ``executor``).

    Returns the number of images written; the first failing task raises.
    """
    written = 0
    cache = SlideCache() if executor is None else None
    # A module-level function with bound keywords: picklable for worker processes and Dask.
    fn = functools.partial(run_task, out=str(out), options=options, backend=backend, cache=cache)
    try:
        with BoundedRun(fn, tasks, executor=executor, workers=0, max_in_flight=in_flight) as run:
            for outcome in run:
                n = len(outcome.get())
                written += n
                advance(n)
    finally:
        if cache is not None:
            cache.close()
    return written


def _label_counts(spec: PatchSpec) -> dict[str, int]:
    return dict(sorted(Counter(b.label for b in spec.boxes).items()))


def _splits_used(patches: Sequence[PatchSpec]) -> list[str]:
    return [s for s in SPLITS if any(p.split == s for p in patches)]


def _write_manifests(
    plan: PatchPlan,
    patches: Sequence[PatchSpec],
    root: Path,
    *,
    ext: str,
    date: str,
    job_name: str,
    attribute: str,
) -> tuple[dict[str, dict[str, Any]], dict[str, ValidationReport]]:
    """Write one manifest per split in plan order, then validate each; returns counts."""
    class_ids = plan.class_ids
    reports: dict[str, ValidationReport] = {}
    counts: dict[str, dict[str, Any]] = {}
    for split in _splits_used(patches):
        specs = [p for p in patches if p.split == split]
        lines = [
            manifest_line(p, class_ids, _image_path(p, ext), creation_date=date, job_name=job_name)
            for p in specs
        ]
        Manifest(lines, attribute).write(root / f"{split}.manifest")
        labels: Counter[str] = Counter(b.label for p in specs for b in p.boxes)
        counts[split] = {
            "images": len(specs),
            "boxes": sum(labels.values()),
            "background": sum(1 for p in specs if not p.boxes),
            "labels": dict(sorted(labels.items())),
            "slides": sorted({p.slide for p in specs}),
        }
    train = Manifest.read(root / "train.manifest") if "train" in counts else None
    for split in counts:
        reports[split] = Manifest.read(root / f"{split}.manifest").validate(
            check_images=True, base_dir=root, train=train if split == "test" else None
        )
    return counts, reports


def _write_patches_jsonl(patches: Sequence[PatchSpec], root: Path, ext: str) -> None:
    rows = (
        {
            "image": _image_path(p, ext),
            "slide": p.slide,
            "window": p.to_dict()["window"],
            "split": p.split,
            "labels": _label_counts(p),
            "sampler": p.sampler,
            "target": p.target,
        }
        for p in patches
    )
    atomic_write_text(
        root / "patches.jsonl",
        "".join(dumps(r, what="patches.jsonl", sort_keys=True) + "\n" for r in rows),
    )


def _mp_context() -> multiprocessing.context.BaseContext:
    """The start method of worker processes: never plain ``fork``.

    Workers must not inherit the caller's threads, locks or open slide handles, so they
    start clean. Where available, ``forkserver`` is used with wsi2rek's worker module
    preloaded in the server: the imports are paid once per Python process instead of once
    per worker and per build (about 0.4 s instead of 1.2 s to start two workers).
    Elsewhere ``spawn``. Both need the ``if __name__ == "__main__":`` guard in scripts.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        # Only takes effect if the forkserver is not running yet; harmless otherwise.
        ctx.set_forkserver_preload(["wsi2rek.dataset._worker"])
        return ctx
    return multiprocessing.get_context("spawn")  # pragma: no cover - Windows


def _execute(
    plan: PatchPlan,
    todo: Sequence[PatchSpec],
    root: Path,
    *,
    options: ImageOptions,
    workers: int,
    executor: cf.Executor | None,
    progress: ProgressSubscriber | None,
    batch_size: int,
    backend: str,
) -> tuple[int, int]:
    """Write the images of ``todo``; returns ``(images written, workers used)``."""
    tasks = _batches(plan, todo, options.extension, batch_size)
    task: dict[str, Any] = {"out": root, "options": options, "backend": backend}
    with tracked(progress, "build", len(todo), unit="patch") as advance:
        if executor is not None:
            n = _run(
                tasks, **task, executor=executor, in_flight=4 * max(workers, 2), advance=advance
            )
            return n, -1
        if workers == 0 or not todo:
            return _run(tasks, **task, executor=None, in_flight=1, advance=advance), 0
        slide_paths = sorted({plan.slide_paths[p.slide] for p in todo})
        used = min(workers, math.ceil(len(todo) / batch_size))
        with cf.ProcessPoolExecutor(
            max_workers=used,
            mp_context=_mp_context(),
            initializer=init_worker,
            initargs=(slide_paths, backend),
        ) as pool:
            try:
                n = _run(tasks, **task, executor=pool, in_flight=4 * used, advance=advance)
            except BrokenProcessPool as exc:
                raise DatasetError(
                    f"a worker process died while building {root} ({exc}). Common causes: "
                    "running out of memory, or a script that calls build_dataset without an "
                    '`if __name__ == "__main__":` guard (worker processes are started with '
                    "'forkserver' or 'spawn', which re-import the main script). Rerun to resume.",
                    path=root,
                ) from exc
        return n, used


def _previews(plan: PatchPlan, root: Path) -> tuple[Path, ...]:
    from wsi2rek.dataset._preview import write_previews  # noqa: PLC0415  (optional step)

    return tuple(write_previews(plan, root))


def _wait(drawing: cf.Future[tuple[Path, ...]] | None) -> cf.Future[tuple[Path, ...]] | None:
    """``drawing`` once finished (its exception, if any, stays inside it)."""
    if drawing is not None:
        cf.wait([drawing])
    return drawing


def build_dataset(
    plan: PatchPlan,
    out: str | Path,
    *,
    image_format: Literal["png", "jpeg"] = "png",
    quality: int = 90,
    png_compress_level: int = 1,
    workers: int | None = None,
    executor: cf.Executor | None = None,
    progress: bool | ProgressSubscriber = False,
    attribute: str = DEFAULT_ATTRIBUTE,
    job_name: str = "wsi2rek",
    creation_date: str | datetime | None = None,
    preview: bool = True,
    overwrite: bool = False,
    batch_size: int = 16,
    slide_backend: str = "auto",
) -> DatasetSummary:
    """Cut, encode and write every patch of ``plan`` into the folder ``out``.

    The same plan and options give the same folder byte for byte, whatever the number of
    workers or the executor (only ``built_at`` in ``dataset.json`` differs). The identity
    of every slide file (:func:`~wsi2rek.slides.slide_identity`: size and sampled content,
    not path or time) is recorded, so resuming after a slide was replaced by another file
    of the same name is refused rather than mixing pixels of both. Manifest
    ``source-ref`` values are relative paths (``images/train/x.png``); the AWS uploader
    rewrites them to ``s3://`` URIs. Rerunning after an interruption writes only the
    missing images.

    Args:
        plan: The patches to cut (from :func:`wsi2rek.sampling.plan_dataset` or built by
            hand).
        out: Dataset folder; created if needed.
        image_format: ``"png"`` (lossless) or ``"jpeg"``.
        quality: JPEG quality, 1-100.
        png_compress_level: PNG zlib level 0-9; 1 is about as small as 6 on tissue and
            several times faster.
        workers: Worker processes of the default process pool (default: one per CPU);
            0 runs everything in the calling process. With ``executor``, only sizes how
            many tasks are kept in flight.
        executor: Any :class:`concurrent.futures.Executor` to run the work on instead,
            e.g. ``distributed.Client(...).get_executor()``. It is not shut down.
        progress: ``True`` shows a tqdm bar on stderr; a
            :class:`~wsi2rek.execution.ProgressSubscriber` receives the job ``"build"``,
            counted in patches (the images already on disk are not part of it).
        attribute: Label attribute name in the manifests.
        job_name: ``job-name`` of every manifest line.
        creation_date: ``creation-date`` of every manifest line (a ``datetime`` is
            written in UTC as ``2018-10-18T22:18:13.527256``). Default: the plan's
            ``params["creation_date"]``, the time :func:`~wsi2rek.sampling.plan_dataset`
            made it (or ``SOURCE_DATE_EPOCH``); the fixed ``2000-01-01T00:00:00.000000``
            for a plan without one (saved by an older wsi2rek, or made by hand). Resuming
            ``out`` with a new plan that differs only in the time it was made (the command
            line plans again on every run) keeps the first plan's date, unless the date
            came from ``SOURCE_DATE_EPOCH`` or ``overwrite`` is set.
        preview: Also write ``preview/<slide stem>.png`` for each slide.
        overwrite: Replace a dataset built from a different plan or with other options
            (otherwise :class:`~wsi2rek.errors.DatasetMismatchError`). Only the files
            that dataset wrote are removed; if ``images/`` or ``preview/`` hold anything
            else, or ``out`` has no wsi2rek ``dataset.json``, nothing is deleted.
        batch_size: Patches per task sent to a worker.
        slide_backend: Backend the workers read slides with (``"auto"``,
            ``"openslide"``, ``"tifffile"`` or ``"pillow"``, see
            :func:`~wsi2rek.slides.open_slide`). Every backend reads the same pixels, so
            the dataset is the same byte for byte; only the speed differs.

    Returns:
        A :class:`DatasetSummary`, including the validator's report on each manifest.

    Raises:
        SamplingError: A patch size is outside Rekognition's 64-4096 px or 20:1 limits.
        SlideNotFoundError: A slide file of the plan is missing.
        DatasetMismatchError: ``out`` holds a different dataset (other plan, options or
            slide files) and ``overwrite`` is False,
            or files the previous build did not write, or is not a wsi2rek dataset.
        DatasetError: The plan is empty or inconsistent (unknown labels or slides,
            clashing names), or a worker process died.
    """
    started = time.perf_counter()
    options = ImageOptions(image_format, quality, png_compress_level)
    workers = _check_workers(workers, batch_size=batch_size, slide_backend=slide_backend)
    subscriber = as_subscriber(progress)
    if executor is None and workers > 0:
        # Before anything is written: an unguarded script would be re-run by every worker.
        check_main_guard(f"build_dataset(workers={workers})", fix="or pass workers=0")
    job = _prepare(
        plan,
        out,
        options,
        creation_date,
        overwrite=overwrite,
        attribute=attribute,
        job_name=job_name,
    )
    done = _write_images(
        job,
        preview=preview,
        workers=workers,
        executor=executor,
        progress=subscriber,
        batch_size=batch_size,
        backend=slide_backend,
    )
    return _finish(job, done, started=started)


# --- the steps of build_dataset -------------------------------------------------------


def _check_workers(workers: int | None, *, batch_size: int, slide_backend: str) -> int:
    """Check the execution options; the number of workers, one per CPU by default."""
    if batch_size < 1:
        raise ParameterError(f"batch_size must be >= 1, got {batch_size}")
    if workers is not None and workers < 0:
        raise ParameterError(f"workers must be >= 0, got {workers}")
    from wsi2rek.slides import BACKENDS  # noqa: PLC0415  (keeps this module light)

    if slide_backend not in BACKENDS:
        raise ParameterError(
            f"slide_backend must be one of {', '.join(BACKENDS)}; got {slide_backend!r}"
        )
    return _default_workers() if workers is None else workers


@attrs.frozen
class _Job:
    """A build ready to run: its plan checked and stamped, its folder prepared."""

    plan: PatchPlan  # stamped with the build's creation date
    root: Path
    patches: tuple[PatchSpec, ...]  # the plan's, without exact duplicates, in plan order
    duplicates: tuple[Skip, ...]
    todo: tuple[PatchSpec, ...]  # the patches whose image is not on disk yet
    options: ImageOptions
    fingerprint: str
    key: Mapping[str, Any]  # what identifies the build (stamp_build)
    date: str  # creation-date of every manifest line
    attribute: str
    job_name: str


def _prepare(
    plan: PatchPlan,
    out: str | Path,
    options: ImageOptions,
    creation_date: str | datetime | None,
    *,
    overwrite: bool,
    attribute: str,
    job_name: str,
) -> _Job:
    """Check the plan, stamp it, prepare ``out`` (or resume it) and list the images to do.

    Writes ``dataset.json`` with status ``"building"`` and ``plan.json``.
    """
    if not plan.patches:
        reasons = Counter(s.reason for s in plan.skipped)
        raise DatasetError(
            "the plan has no patches, so there is nothing to build (skipped inputs by "
            f"reason: {dict(sorted(reasons.items())) or 'none'}); check the label map, the "
            "slides folder and the sampler options",
            path=out,
        )
    patches, dupes = _dedupe(plan.patches)
    _check_plan(plan, patches, QUOTA)
    _check_training_split(patches, out)
    fingerprint = plan.fingerprint()
    from wsi2rek.slides import slide_identity  # noqa: PLC0415  (imports OpenSlide)

    identities = {
        name: slide_identity(plan.slide_paths[name]) for name in sorted({p.slide for p in patches})
    }
    meta = {"attribute": attribute, "job_name": job_name, "slide_identities": identities}
    root = Path(out)
    plan, date, key = stamp_build(
        plan,
        root,
        creation_date,
        overwrite=overwrite,
        fingerprint=fingerprint,
        options=options,
        meta=meta,
    )
    prepare_folder(root, key, overwrite=overwrite, params=plan.params)
    root.mkdir(parents=True, exist_ok=True)
    info: dict[str, Any] = {"format": DATASET_FORMAT, "status": "building", "build": key}
    atomic_write_text(
        root / "dataset.json", dumps(info, what="dataset.json", indent=2, sort_keys=True) + "\n"
    )
    plan.save(root / "plan.json")
    existing = existing_images(root, _splits_used(patches))
    todo = [p for p in patches if _image_path(p, options.extension) not in existing]
    return _Job(
        plan=plan,
        root=root,
        patches=tuple(patches),
        duplicates=tuple(dupes),
        todo=tuple(todo),
        options=options,
        fingerprint=fingerprint,
        key=key,
        date=date,
        attribute=attribute,
        job_name=job_name,
    )


@attrs.frozen
class _Written:
    """What writing the images did."""

    written: int  # images written by this run
    workers: int  # worker processes used (0: this process; -1: the caller's executor)
    previews: cf.Future[tuple[Path, ...]] | None  # finished; None without previews


def _write_images(
    job: _Job,
    *,
    preview: bool,
    workers: int,
    executor: cf.Executor | None,
    progress: ProgressSubscriber | None,
    batch_size: int,
    backend: str,
) -> _Written:
    """Write the missing images (and draw the previews meanwhile); check that all exist."""
    root = job.root
    # Previews depend on the plan only: draw them in a thread of this process while the
    # workers cut patches (this process mostly waits on them), not after.
    with cf.ThreadPoolExecutor(1, thread_name_prefix="wsi2rek-preview") as background:
        drawing = background.submit(_previews, job.plan, root) if preview else None
        try:
            written, used = _execute(
                job.plan,
                job.todo,
                root,
                options=job.options,
                workers=workers,
                executor=executor,
                progress=progress,
                batch_size=batch_size,
                backend=backend,
            )
        finally:
            # the build's own error wins; a preview error surfaces in _finish
            previews_done = _wait(drawing)
    ext = job.options.extension
    missing = [p.name for p in job.patches if not (root / _image_path(p, ext)).is_file()]
    if missing:
        raise DatasetError(
            f"{len(missing)} images were not written (first: {missing[0]}); the executor "
            "lost tasks. Rerun build_dataset to resume.",
            path=root,
        )
    return _Written(written=written, workers=used, previews=previews_done)


def _finish(job: _Job, done: _Written, *, started: float) -> DatasetSummary:
    """Write the manifests (validated), ``patches.jsonl`` and the final ``dataset.json``."""
    plan, root, patches = job.plan, job.root, job.patches
    counts, reports = _write_manifests(
        plan,
        patches,
        root,
        ext=job.options.extension,
        date=job.date,
        job_name=job.job_name,
        attribute=job.attribute,
    )
    _write_patches_jsonl(patches, root, job.options.extension)
    previews = done.previews.result() if done.previews is not None else ()
    skipped = (*plan.skipped, *job.duplicates)
    info = _dataset_info(job, counts=counts, reports=reports, skipped=skipped)
    atomic_write_text(
        root / "dataset.json",
        dumps(info, what="dataset.json", indent=2, sort_keys=True, default=str) + "\n",
    )
    return DatasetSummary(
        out=root,
        fingerprint=job.fingerprint,
        images=len(patches),
        written=done.written,
        reused=len(patches) - len(job.todo),
        splits=counts,
        skipped=skipped,
        validation=reports,
        previews=previews,
        seconds=time.perf_counter() - started,
        workers=done.workers,
        test_cap=_test_cap(plan.params),
    )


def _dataset_info(
    job: _Job,
    *,
    counts: Mapping[str, Any],
    reports: Mapping[str, ValidationReport],
    skipped: Sequence[Skip],
) -> dict[str, Any]:
    """The content of a finished build's ``dataset.json``."""
    plan = job.plan
    return {
        "format": DATASET_FORMAT,
        "status": "complete",
        "build": job.key,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "fingerprint": job.fingerprint,
        "seed": plan.params.get("seed"),
        "params": dict(plan.params),
        "labels": plan.class_ids,
        "label_map": plan.params.get("label_map"),
        "versions": _versions(),
        # Relative to the dataset folder, like plan.json: the folder can move with its slides.
        "slides": plan.slide_paths_relative_to(job.root),
        "counts": {"images": len(job.patches), "splits": counts},
        "skipped": [s.to_dict() for s in skipped],
        "skipped_by_reason": dict(sorted(Counter(s.reason for s in skipped).items())),
        "validation": {
            k: r.to_dict() | {"errors": len(r.errors), "warnings": len(r.warnings)}
            for k, r in reports.items()
        },
    }


def _test_cap(params: Mapping[str, Any]) -> dict[str, Any]:
    """The plan's test cap and what it left out (empty for a plan without one)."""
    if "max_test_images_per_label" not in params:
        return {}
    return {
        "max_test_images_per_label": params["max_test_images_per_label"],
        **params.get("test_cap", {}),
    }
