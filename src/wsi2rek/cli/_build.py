"""``wsi2rek build``: plan a dataset from SlideRunner or QuPath annotations and write it."""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Iterator
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from wsi2rek.cli._common import add_backend_flag, add_json_flag, print_json, show_progress
from wsi2rek.errors import ParameterError, Wsi2RekWarning
from wsi2rek.rekognition import QUOTA

__all__ = ["register", "render_summary"]


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _cap(text: str) -> int | None:
    """``--max-test-images-per-label``: a positive int, or 0 for no cap."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number (0 for no cap), got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 (no cap) or a positive number, got {value}")
    return value or None


def register(subparsers: Any) -> None:
    """Add the ``build`` subcommand."""
    # Long but flat (issue 14's ~80-line rule): one add_argument per flag, read top to
    # bottom as the command's --help; splitting it would scatter one command's flags.
    p = subparsers.add_parser(
        "build",
        help="build a Rekognition object-detection dataset from slides and their annotations "
        "(SlideRunner or QuPath)",
        description="Plan patches around annotated objects (margin-aware, split by slide, "
        "seeded) and write images, train/test manifests, patches.jsonl, dataset.json and "
        "previews into OUT. Rerunning with the same options resumes an interrupted build; "
        "a folder built with other options is refused unless --overwrite is given. Exit "
        "code 1 when a written manifest fails validation.",
    )
    p.add_argument(
        "--annotations",
        "--db",
        dest="annotations",
        type=Path,
        required=True,
        metavar="PATH",
        help="a SlideRunner .sqlite database, or QuPath GeoJSON: one .geojson file (one "
        "slide) or a folder of <slide stem>.geojson files (--db is an alias)",
    )
    p.add_argument("--slides", type=Path, required=True, help="folder with the slide files")
    p.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    p.add_argument(
        "--label",
        action="append",
        required=True,
        metavar="NAME=CLASS[,CLASS]",
        help="Rekognition label and its classes, by id or name, e.g. 'mitotic figure=2' or "
        "'mitotic figure=Mitotic figure' (QuPath classes are names); repeat for each label "
        "(give hard negatives a label of their own, e.g. 'look-alike=1')",
    )
    split = p.add_mutually_exclusive_group()
    split.add_argument(
        "--test-slides", type=_csv, metavar="A.svs,B.svs", help="test split slide file names"
    )
    split.add_argument("--test-fraction", type=float, metavar="F", help="seeded test fraction")
    p.add_argument("--patch-size", type=int, default=512, help="patch side in px (64-4096)")
    p.add_argument("--margin", type=int, default=16, help="px an object must lie inside")
    p.add_argument("--per-slide", type=int, metavar="N", help="object patches per slide")
    p.add_argument(
        "--edge-policy",
        choices=("reject", "clip", "drop"),
        default="reject",
        help="objects cut by a window edge: move the window (reject), keep the visible "
        "part (clip), or leave them unlabelled and count them (drop)",
    )
    radius = p.add_mutually_exclusive_group()
    radius.add_argument(
        "--spot-radius",
        dest="spot_radius_px",
        type=float,
        metavar="PX",
        help="spot box half-side",
    )
    radius.add_argument("--spot-radius-um", type=float, metavar="UM", help="... in micrometres")
    p.add_argument(
        "--background", type=int, default=0, metavar="N", help="tissue patches without objects"
    )
    p.add_argument(
        "--format",
        choices=("png", "jpeg"),
        default="png",
        dest="image_format",
        help="image format of the patches",
    )
    p.add_argument("--quality", type=int, default=90, help="JPEG quality (1-100)")
    p.add_argument(
        "--max-test-images-per-label",
        type=_cap,
        default=QUOTA.max_test_images_per_label,
        metavar="N",
        help="leave out a seeded subsample of test patches so that no label is on more "
        "than N test images (default: the service's test quota, "
        f"{QUOTA.max_test_images_per_label}); 0 for no cap",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    p.add_argument("--workers", type=int, help="worker processes (default: one per CPU)")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the reading and encoding on an existing Dask cluster, e.g. "
        "tcp://scheduler:8786, instead of local worker processes (needs the 'dask' extra; "
        "every worker must see the slides and OUT under the same paths); the dataset is "
        "byte for byte the one a local build writes",
    )
    p.add_argument(
        "--scheduler-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="give up when the --scheduler does not answer within this many seconds",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a dataset built with other options: removes only the files it wrote, "
        "and refuses if images/ or preview/ hold anything else",
    )
    add_json_flag(p)
    add_backend_flag(p)
    p.set_defaults(handler=_run)


def render_summary(data: dict[str, Any]) -> str:
    """A short human-readable summary of :meth:`DatasetSummary.to_dict`."""
    lines = [
        (
            f"dataset: {data['out']} ({data['images']} images, {data['written']} written, "
            f"{data['reused']} reused, {data['seconds']} s)"
        )
    ]
    for split, counts in data["splits"].items():
        labels = ", ".join(f"{k}: {v}" for k, v in counts["labels"].items()) or "no boxes"
        lines.append(
            f"  {split}: {counts['images']} images from {len(counts['slides'])} slides, "
            f"{counts['background']} without boxes; boxes {labels}"
        )
    reasons: dict[str, int] = {}
    for skip in data["skipped"]:
        reasons[skip["reason"]] = reasons.get(skip["reason"], 0) + 1
    if reasons:
        lines.append("  skipped: " + ", ".join(f"{k}: {v}" for k, v in sorted(reasons.items())))
    cap = data.get("test_cap") or {}
    if cap.get("dropped_patches"):
        per_label = ", ".join(f"{k}: {v}" for k, v in cap["dropped_by_label"].items() if v)
        lines.append(
            f"  test cap: {cap['dropped_patches']} test images left out "
            f"(at most {cap['max_test_images_per_label']} per label; {per_label})"
        )
    for split, report in data["validation"].items():
        state = "ok" if report["ok"] else f"{len(report['errors'])} errors"
        lines.append(f"  {split}.manifest: {state}")
        lines.extend(
            f"    line {e['line']}: {e['code']}: {e['message']}" for e in report["errors"][:10]
        )
    return "\n".join(lines)


@contextlib.contextmanager
def _executor(scheduler: str | None, timeout: float) -> Iterator[Executor | None]:
    """The Dask cluster at ``scheduler`` as an executor, or None for local processes."""
    if scheduler is None:
        yield None
        return
    if not timeout > 0:
        raise ParameterError(f"--scheduler-timeout must be positive, got {timeout}")
    try:
        from distributed import Client  # noqa: PLC0415  (optional; slow to import)
    except ImportError:
        raise ParameterError(
            "--scheduler needs Dask's distributed package, which is not installed; install "
            "it with: pip install 'wsi2rek[dask]'"
        ) from None
    try:
        # distributed is not annotated: hence the no-untyped-call ignore.
        client = Client(scheduler, timeout=timeout)  # type: ignore[no-untyped-call]
    # OSError: nothing answers (refused, timed out); ValueError: a malformed address;
    # MemoryError: something that is not a Dask scheduler answered with a nonsense length.
    except (OSError, ValueError, MemoryError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ParameterError(
            f"--scheduler {scheduler}: no Dask scheduler reached within {timeout:g} s "
            f"({reason}); check the address (tcp://HOST:PORT) and that the scheduler runs"
        ) from None
    with client:
        yield client.get_executor()  # type: ignore[no-untyped-call]


def _run(args: argparse.Namespace) -> int:
    from wsi2rek.annotations import open_annotations  # noqa: PLC0415
    from wsi2rek.dataset import build_dataset  # noqa: PLC0415  (keep CLI start-up light)
    from wsi2rek.labels import LabelMap  # noqa: PLC0415
    from wsi2rek.sampling import BackgroundSampler, ObjectSampler, plan_dataset  # noqa: PLC0415

    sampler = ObjectSampler(
        patch_size=args.patch_size,
        margin=args.margin,
        per_slide=args.per_slide,
        edge_policy=args.edge_policy,
    )
    background = (
        BackgroundSampler(patch_size=args.patch_size, per_slide=args.background, margin=args.margin)
        if args.background > 0
        else None
    )
    with (
        warnings.catch_warnings(record=True) as caught,
        open_annotations(args.annotations) as source,
    ):
        warnings.simplefilter("always", Wsi2RekWarning)
        labels = LabelMap.parse(args.label, classes=source.classes())
        try:
            plan = plan_dataset(
                source,
                args.slides,
                labels,
                sampler=sampler,
                background=background,
                test_slides=args.test_slides,
                test_fraction=args.test_fraction,
                spot_radius_px=args.spot_radius_px,
                spot_radius_um=args.spot_radius_um,
                seed=args.seed,
                max_test_images_per_label=args.max_test_images_per_label,
            )
        finally:
            # also when planning fails: a warning (an ignored MPP...) often explains why
            for warning in caught:
                print(f"wsi2rek build: warning: {warning.message}", file=sys.stderr)
    with _executor(args.scheduler, args.scheduler_timeout) as executor:
        summary = build_dataset(
            plan,
            args.out,
            image_format=args.image_format,
            quality=args.quality,
            workers=args.workers,
            progress=show_progress(args),
            overwrite=args.overwrite,
            slide_backend=args.backend,
            executor=executor,
        )
    data = summary.to_dict()
    if args.json:
        print_json(data)
    else:
        print(render_summary(data))
    return 0 if summary.ok else 1
