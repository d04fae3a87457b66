"""``wsi2rek validate``: check a manifest or a dataset folder against Rekognition's rules."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wsi2rek.cli._common import add_json_flag, print_json

__all__ = ["register", "render_report"]


def register(subparsers: Any) -> None:
    """Add the ``validate`` subcommand."""
    p = subparsers.add_parser(
        "validate",
        help="check a manifest, or a dataset folder's train and test manifests, as "
        "Rekognition would",
        description="Report every locally checkable Rekognition Custom Labels problem of "
        "MANIFEST with the service's error code and 1-based line number (0 for the whole "
        "file): JSON format, source-ref, duplicates, attributes, images (exist, PNG/JPEG, "
        "size, dimensions), boxes, class map, quotas. Given a dataset folder (DATASET_DIR, "
        "as written by `wsi2rek build`), validates train.manifest and test.manifest as a "
        "pair: label overlap, no image in both, at most 1,000 test images per label. Exit "
        "code 1 when there are errors.",
    )
    p.add_argument(
        "manifest",
        type=Path,
        metavar="MANIFEST|DATASET_DIR",
        help="a .manifest file, or a dataset folder holding train.manifest and test.manifest",
    )
    p.add_argument(
        "--train",
        type=Path,
        metavar="TRAIN_MANIFEST",
        help="the training manifest, when MANIFEST is a test manifest: checks the label "
        "overlap, that no image is in both, and the test quota of 1,000 images per label",
    )
    p.add_argument("--no-images", action="store_true", help="do not open the local image files")
    p.add_argument(
        "--distribute",
        action="store_true",
        help="the manifest is a training set Rekognition will split into a test set "
        "(needs at least two images per label)",
    )
    add_json_flag(p)
    p.set_defaults(handler=_run)


def render_report(data: dict[str, Any], path: Path) -> str:
    """Human-readable form of :meth:`ValidationReport.to_dict`."""
    head = "ok" if data["ok"] else f"{len(data['errors'])} errors"
    lines = [
        (
            f"{path}: {head}, {len(data['warnings'])} warnings, {data['lines']} lines "
            f"({data['background']} without boxes, unused by training)"
        )
    ]
    lines.extend(f"  error   line {i['line']}: {i['code']}: {i['message']}" for i in data["errors"])
    warned: dict[str, int] = {}
    for w in data["warnings"]:
        warned[w["code"]] = warned.get(w["code"], 0) + 1
    lines.extend(f"  warning {code}: {n} lines" for code, n in sorted(warned.items()))
    labels = ", ".join(f"{k}: {v}" for k, v in data["labels"].items()) or "none"
    lines.append(f"  boxes per label: {labels}")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    from wsi2rek.dataset import (  # noqa: PLC0415  (keep CLI start-up light)
        validate_dataset,
        validate_manifest,
    )

    if args.manifest.is_dir():
        if args.train is not None or args.distribute:
            from wsi2rek.errors import ParameterError  # noqa: PLC0415  (error path only)

            raise ParameterError(
                "--train and --distribute apply to a manifest file; a dataset folder is "
                "validated as its train/test pair"
            )
        pair = validate_dataset(args.manifest, check_images=not args.no_images)
        if args.json:
            print_json(pair.to_dict())
        else:
            print(
                "\n".join(
                    render_report(r.to_dict(), args.manifest / f"{split}.manifest")
                    for split, r in pair.reports.items()
                )
            )
        return 0 if pair.ok else 1
    report = validate_manifest(
        args.manifest,
        check_images=not args.no_images,
        train=args.train,
        distribute=args.distribute,
    )
    data = report.to_dict()
    if args.json:
        print_json(data)
    else:
        print(render_report(data, args.manifest))
    return 0 if report.ok else 1
