"""``wsi2rek detect-slide`` and ``wsi2rek evaluate-detections``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wsi2rek.cli._common import add_backend_flag, add_json_flag, print_json, show_progress
from wsi2rek.errors import DetectionError, ParameterError
from wsi2rek.geometry import Box

if TYPE_CHECKING:
    from wsi2rek.inference import SlideEvaluation

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``detect-slide`` and ``evaluate-detections`` subcommands."""
    # Long but flat (issue 14's ~80-line rule): one add_argument per flag, read top to
    # bottom as the command's --help; splitting it would scatter one command's flags.
    p = subparsers.add_parser(
        "detect-slide",
        help="run a detector over a whole slide and export the detections",
        description="Tile a slide with overlap, run a detector on every tile with tissue "
        "(concurrently, under a TPS limit), merge duplicates and write the detections as "
        "QuPath GeoJSON, CSV or a SlideRunner database (by the --out suffix).",
    )
    p.add_argument("slide", type=Path, metavar="SLIDE", help="the slide file")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", metavar="ARN", help="an Amazon Rekognition Custom Labels model")
    which.add_argument(
        "--detector",
        metavar="MODULE:NAME",
        help="a detector object, a class (instantiated without arguments) or a callable "
        "image -> detections, imported from MODULE",
    )
    aws = p.add_argument_group("AWS (with --model)")
    aws.add_argument("--profile", default=None, help="AWS profile of ~/.aws/config to use")
    aws.add_argument(
        "--region",
        dest="region_name",
        default=None,
        help="AWS region (default: the model ARN's region)",
    )
    aws.add_argument("--endpoint-url", default=None, help="Rekognition endpoint (default: AWS)")
    which.add_argument(
        "--demo-detector",
        action="store_true",
        help="the offline blob detector that finds the cells of synthetic slides",
    )
    # The dests of --out, --copy-db, --class and --overwrite are write_detections'
    # parameters, so its errors print with these flags (cli_message).
    p.add_argument(
        "--out",
        dest="path",
        metavar="OUT",
        type=Path,
        required=True,
        help="detections.(geojson|csv|sqlite)",
    )
    p.add_argument(
        "--tile-size",
        "--tile",
        dest="tile_size",
        type=int,
        default=1024,
        help="tile side in px of --level (default 1024; --tile is the old name)",
    )
    p.add_argument(
        "--overlap", type=int, default=128, help="tile overlap in px, > object size (default 128)"
    )
    p.add_argument("--level", type=int, default=0, help="pyramid level to run on (default 0)")
    p.add_argument(
        "--tps", dest="max_tps", type=float, default=None, help="max detector calls per second"
    )
    p.add_argument(
        "--workers", type=int, default=4, help="threads calling the detector (default 4)"
    )
    p.add_argument("--min-confidence", type=float, default=None, help="percent, 0-100")
    p.add_argument(
        "--roi", default=None, metavar="X,Y,W,H", help="level-0 region to run on (default: all)"
    )
    p.add_argument(
        "--all-tiles",
        dest="tissue_only",
        action="store_false",
        help="run tiles without tissue too (no tissue mask)",
    )
    p.add_argument("--cache", type=Path, default=None, help="JSON-lines cache to resume from")
    p.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        default="raise",
        help="stop at a failing tile (default) or skip and count it",
    )
    p.add_argument(
        "--copy-db",
        dest="copy_from",
        metavar="COPY_DB",
        type=Path,
        default=None,
        help="with a .sqlite --out: append to a copy of this SlideRunner database",
    )
    p.add_argument(
        "--class",
        dest="class_name",
        metavar="NAME",
        default=None,
        help="with a .sqlite --out: the SlideRunner class for every detection "
        "(default: '<label> (detected)', never a ground-truth class)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing .sqlite --out")
    p.add_argument(
        "--preview",
        type=Path,
        default=None,
        metavar="PNG",
        help="also write a picture: the slide with its detections and their density per mm² "
        "with the hotspot (2.37 mm², 10 high-power fields) marked",
    )
    p.add_argument(
        "--truth",
        type=Path,
        default=None,
        metavar="DB",
        help="with --preview: a SlideRunner database; marks hits, misses, false positives",
    )
    p.add_argument(
        "--truth-label",
        default=None,
        metavar="LABEL=IDS",
        help="with --truth: the ground-truth classes, e.g. 'mitotic figure=2'",
    )
    add_json_flag(p)
    add_backend_flag(p)
    p.set_defaults(handler=_detect)

    e = subparsers.add_parser(
        "evaluate-detections",
        help="F1 of detections against a SlideRunner database",
        description="Match detection centres to annotated centres within a radius (one to one, "
        "by descending confidence, as in the MITOS_WSI papers) and print TP, FP, FN, "
        "precision, recall, F1 and the F1-optimal confidence threshold.",
    )
    e.add_argument("detections", type=Path, metavar="DETECTIONS", help=".geojson/.csv/.sqlite")
    e.add_argument(
        "--truth",
        "--db",
        dest="db",
        type=Path,
        required=True,
        metavar="PATH",
        help="ground truth: a SlideRunner .sqlite database or QuPath GeoJSON (a file or a "
        "folder of <slide stem>.geojson files; --db is an alias)",
    )
    e.add_argument("--slide", required=True, help="slide file name (or uid) in the database")
    e.add_argument(
        "--label",
        action="append",
        required=True,
        metavar="NAME=CLASSES",
        help="detection label and its ground-truth classes, by id or name, e.g. "
        "'mitotic figure=2' or 'mitotic figure=Mitotic figure' (repeatable)",
    )
    # No default here: evaluate_slide's is MITOS_MATCH_RADIUS_PX (importing it would load
    # the inference package for every command's --help).
    e.add_argument(
        "--radius",
        dest="radius_px",
        metavar="RADIUS",
        type=float,
        default=None,
        help="match radius, px (default 25)",
    )
    e.add_argument("--min-confidence", type=float, default=None, help="percent, 0-100")
    add_json_flag(e)
    e.set_defaults(handler=_evaluate)


def _load_detector(args: argparse.Namespace) -> Any:
    if args.demo_detector:
        from wsi2rek.inference import BlobDetector  # noqa: PLC0415 (import on use keeps --help fast)

        return BlobDetector()
    if args.model:
        from wsi2rek.aws import CustomLabelsModel  # noqa: PLC0415 (boto3 only when asked for)

        client = None
        if args.profile is not None:
            import boto3  # noqa: PLC0415
            import botocore.exceptions  # noqa: PLC0415

            from wsi2rek.aws import make_rekognition_client  # noqa: PLC0415

            try:
                session = boto3.session.Session(profile_name=args.profile)
            except botocore.exceptions.ProfileNotFound as exc:
                raise DetectionError(f"--profile {args.profile}: {exc}") from exc
            client = make_rekognition_client(
                endpoint_url=args.endpoint_url,
                region_name=args.region_name,
                session=session,
                arn=args.model,
            )
        try:
            return CustomLabelsModel(
                args.model,
                client=client,
                endpoint_url=args.endpoint_url,
                region_name=args.region_name,
            )
        except ValueError as exc:  # a malformed ARN, checked locally
            raise DetectionError(f"--model: {exc}") from exc
    module_name, sep, attr = str(args.detector).partition(":")
    if not sep or not module_name or not attr:
        raise DetectionError(
            f"--detector must look like 'package.module:name', got {args.detector!r}"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise DetectionError(f"--detector: cannot import {module_name!r}: {exc}") from exc
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise DetectionError(f"--detector: {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if isinstance(obj, type):
        obj = obj()
    if not (callable(getattr(obj, "detect", None)) or callable(obj)):
        raise DetectionError(
            f"--detector {args.detector}: expected a detector (with detect(image)) or a "
            f"callable, got {type(obj).__name__}"
        )
    return obj


def _parse_roi(text: str | None) -> Box | None:
    if text is None:
        return None
    try:
        x, y, w, h = (float(v) for v in text.split(","))
        return Box.from_xywh(x, y, w, h)
    except ValueError as exc:
        raise DetectionError(
            f"--roi must be X,Y,W,H in level-0 pixels with W, H >= 0, got {text!r}"
        ) from exc


def _detect(args: argparse.Namespace) -> int:
    from wsi2rek.inference import (  # noqa: PLC0415 (import on use keeps --help fast)
        check_detections_output,
        detect_slide,
        write_detections,
    )
    from wsi2rek.slides import open_slide  # noqa: PLC0415

    out: Path = args.path
    writing = {
        "copy_from": args.copy_from,
        "class_name": args.class_name,
        "overwrite": args.overwrite,
    }
    check_detections_output(out, **writing)  # before the run, not after it
    _check_picture_args(args)
    detector = _load_detector(args)
    with open_slide(args.slide, backend=args.backend) as slide:
        result = detect_slide(
            slide,
            detector,
            tile_size=args.tile_size,
            overlap=args.overlap,
            level=args.level,
            tissue_only=args.tissue_only,
            roi=_parse_roi(args.roi),
            workers=args.workers,
            max_tps=args.max_tps,
            min_confidence=args.min_confidence,
            cache=args.cache,
            on_error=args.on_error,
            progress=show_progress(args),
        )
        write_detections(
            result.detections,
            out,
            slide_name=slide.path.name,
            slide_size=slide.dimensions,
            **writing,
        )
        spot, note = _hotspot_and_preview(args, slide, result.detections)
    summary = {**result.to_dict(), "out": str(out), "hotspot": spot}
    if args.preview is not None:
        summary["preview"] = str(args.preview)
    if note:
        summary["hotspot_note"] = note
    if args.json:
        print_json(summary)
        return 0
    tiles = summary["tiles"]
    print(f"{result.slide}: {len(result)} detections {result.counts()} -> {out}")
    _print_picture(summary)
    print(
        f"tiles: {tiles['total']} total, {tiles['run']} run, {tiles['cached']} cached, "
        f"{tiles['skipped_no_tissue']} without tissue, {tiles['failed']} failed; "
        f"{result.elapsed_s:.1f} s"
        + (f", {result.achieved_tps:.2f} tiles/s" if result.achieved_tps else "")
    )
    if result.tiles_failed:
        print(
            f"warning: {result.tiles_failed} tiles failed: {list(result.failed)}", file=sys.stderr
        )
    return 0


def _check_picture_args(args: argparse.Namespace) -> None:
    if args.truth is not None and args.preview is None:
        raise DetectionError("--truth needs --preview PNG (it marks hits, misses, FPs there)")
    if (args.truth is None) != (args.truth_label is None):
        raise DetectionError(
            "--truth and --truth-label go together: --truth DB --truth-label 'mitotic figure=2'"
        )
    if args.preview is not None and args.preview.suffix.lower() != ".png":
        raise DetectionError(f"--preview {args.preview}: the picture is a PNG; name it *.png")


def _print_picture(summary: dict[str, Any]) -> None:
    spot = summary["hotspot"]
    if spot is not None:
        print(f"hotspot ({spot['area_mm2']:g} mm², 10 HPF): {spot['count']} detections")
    if summary.get("hotspot_note"):
        print(f"hotspot: {summary['hotspot_note']}")
    if summary.get("preview"):
        print(f"preview: {summary['preview']}")


def _hotspot_and_preview(
    args: argparse.Namespace, slide: Any, detections: Any
) -> tuple[dict[str, Any] | None, str | None]:
    """The hotspot (None without MPP, with a note saying why) and the --preview picture."""
    from wsi2rek.inference import hotspot, write_detection_preview  # noqa: PLC0415

    if args.truth is not None and args.preview is None:
        raise DetectionError("--truth needs --preview PNG (it marks hits, misses, FPs there)")
    if (args.truth is None) != (args.truth_label is None):
        raise DetectionError(
            "--truth and --truth-label go together: --truth DB --truth-label 'mitotic figure=2'"
        )
    mpp = slide.mpp[0] if slide.mpp else None
    note = (
        None
        if mpp
        else "not computed: the slide records no resolution (MPP), and the 2.37 mm² field "
        "needs it; use the scanner's original file"
    )
    if args.preview is None:
        centres = [d.box.center for d in detections]
        spot = hotspot(centres, slide.dimensions, mpp) if mpp else None
        return (None if spot is None else spot.to_dict()), note
    truth = None
    if args.truth is not None:
        from wsi2rek.annotations import SlideRunnerDB  # noqa: PLC0415
        from wsi2rek.inference import ground_truth_from_db  # noqa: PLC0415
        from wsi2rek.labels import LabelMap  # noqa: PLC0415

        labels = LabelMap.parse([args.truth_label])
        with SlideRunnerDB(args.truth) as db:
            found = ground_truth_from_db(db, slide.path.name, labels)
        truth = [p for points in found.values() for p in points]
    spot = write_detection_preview(slide.path, detections, args.preview, truth=truth)
    return (None if spot is None else spot.to_dict()), note


def _evaluate(args: argparse.Namespace) -> int:
    from wsi2rek.annotations import open_annotations  # noqa: PLC0415 (import on use)
    from wsi2rek.inference import (  # noqa: PLC0415
        evaluate_slide,
        ground_truth_from_db,
        read_detections,
    )
    from wsi2rek.labels import LabelMap  # noqa: PLC0415

    with open_annotations(args.db) as db:
        label_map = LabelMap.parse(args.label, classes=db.classes())
        record = db.slide(int(args.slide) if str(args.slide).isdigit() else args.slide)
        truth = ground_truth_from_db(db, record.uid, label_map)
    # A SlideRunner file of detections may hold several slides: pick the same one.
    detections = read_detections(args.detections, slide=record.filename)
    options: dict[str, Any] = {"min_confidence": args.min_confidence}
    if args.radius_px is not None:
        options["radius_px"] = args.radius_px
    try:
        found = evaluate_slide(detections, truth, slide=record.filename, **options)
    except ParameterError as exc:
        if exc.parameters != ("truth_by_label",) or not detections:
            raise
        carried = Counter(d.label for d in detections)
        # Every detection would be ignored: the scores would be meaningless zeros.
        raise ParameterError(
            f"no detection in {args.detections} for slide {record.filename} has a --label "
            f"label ({', '.join(repr(x) for x in label_map.labels)}); its detections carry "
            f"{_carried(carried)}: name one of these in --label, e.g. "
            f"--label '{min(carried)}=IDS'"
        ) from None
    if not detections:
        print(
            f"warning: {args.detections} holds no detection for slide {record.filename}; "
            "check --slide (precision is n/a)",
            file=sys.stderr,
        )
    for label in found.undetected_labels:
        print(
            f"warning: no detection is labelled {label!r}; the detections carry "
            f"{_carried(found.label_counts)}",
            file=sys.stderr,
        )
    if args.json:
        print_json(found.to_dict())
        return 0
    _print_evaluation(found)
    return 0


def _carried(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name!r} ({n})" for name, n in sorted(counts.items()))


def _print_evaluation(found: SlideEvaluation) -> None:
    from wsi2rek.inference import format_ratio  # noqa: PLC0415

    print(f"{found.slide}: radius {found.radius_px:g} px")
    print(f"{'label':<24} {'TP':>6} {'FP':>6} {'FN':>6} {'prec':>6} {'recall':>6} {'F1':>6}  best")
    for label, r in found.labels.items():
        m = r.overall
        best = "-" if r.best is None else f"{r.best.threshold:.1f}% (F1 {r.best.metrics.f1:.3f})"
        print(
            f"{label:<24} {m.tp:>6} {m.fp:>6} {m.fn:>6} {format_ratio(m.precision):>6} "
            f"{format_ratio(m.recall):>6} {m.f1:>6.3f}  {best}"
        )
    overall = found.overall
    if len(found.labels) > 1:
        print(
            f"{'overall':<24} {overall.tp:>6} {overall.fp:>6} {overall.fn:>6} "
            f"{format_ratio(overall.precision):>6} {format_ratio(overall.recall):>6} "
            f"{overall.f1:>6.3f}"
        )
    if found.ignored:
        print(f"note: {found.ignored} detections have labels not in --label and were ignored")
