"""``wsi2rek demo OUT``: the whole local pipeline on synthetic slides."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from wsi2rek.cli._common import add_json_flag, print_json, show_progress

if TYPE_CHECKING:
    from wsi2rek.inference import Metrics

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="run the local pipeline on synthetic slides (no AWS)",
        description="Write synthetic slides and a SlideRunner database into OUT, then plan, "
        "build and validate a Rekognition dataset from them, write previews, detect with the "
        "offline blob detector on the test slide and report F1 against the annotations.",
    )
    parser.add_argument("out", help="output folder (created if needed)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes")
    parser.add_argument("--seed", type=int, default=0, help="seed of data and sampling")
    add_json_flag(parser)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from wsi2rek.demo import run_demo, warning_summary  # noqa: PLC0415 -- keep --help fast

    def step(msg: str) -> None:
        if not args.json:
            print(f"- {msg}", file=sys.stderr)

    result = run_demo(
        args.out, workers=args.workers, progress=show_progress(args), seed=args.seed, on_step=step
    )
    if args.json:
        print_json(result.to_dict())
        return 0 if result.dataset.ok else 1
    ds = result.dataset
    print(f"slides:   {result.inputs.slides_dir} ({len(result.inputs.slides)} slides)")
    print(f"database: {result.inputs.db}")
    print(f"dataset:  {ds.out} ({ds.images} images in {ds.seconds:.1f} s)")
    for split, counts in ds.splits.items():
        labels = ", ".join(f"{k}: {v}" for k, v in dict(counts.get("labels", {})).items())
        print(f"  {split}: {counts.get('images', 0)} images, boxes by label: {labels}")
    for split, report in ds.validation.items():
        state = "ok" if report.ok else f"{len(report.errors)} errors"
        warnings = warning_summary(w.code for w in report.warnings)
        print(
            f"  {split}.manifest: {state}, {len(report.warnings)} warnings"
            + (f": {warnings}" if warnings else "")
        )
    print(f"previews: {', '.join(str(p) for p in ds.previews)}")
    evaluation = result.evaluation
    found = sum(len(d.detections) for d in result.detections)
    print(
        f"detection on {', '.join(result.inputs.test_slides)}: {found} detections "
        "(the blob detector also finds the look-alikes, with a lower confidence)"
    )
    print(f"  every detection counted:   {_scores(evaluation.overall)}")
    if evaluation.best is not None:
        best = evaluation.best
        print(f"  confidence >= {best.threshold:6.2f}:      {_scores(best.metrics)} (best F1)")
        below = [
            d.confidence
            for slide in result.detections
            for d in slide.detections
            if d.confidence < best.threshold
        ]
        if below:
            print(
                f"  (any threshold above {max(below):.2f}, the most confident detection left "
                "out, scores the same: try it with the app's confidence slider)"
            )
    print(f"exports:  {', '.join(str(p) for p in result.exports)}")
    return 0 if ds.ok else 1


def _scores(m: Metrics) -> str:
    from wsi2rek.inference import format_ratio  # noqa: PLC0415 -- keep --help fast

    return (
        f"TP {m.tp}, FP {m.fp}, FN {m.fn}, precision {format_ratio(m.precision)}, "
        f"recall {format_ratio(m.recall)}, F1 {m.f1:.3f}"
    )
