"""``wsi2rek validate``: check a manifest against Rekognition's rules, locally."""

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
        help="check a Ground Truth object-detection manifest as Rekognition would",
        description="Report every locally checkable Rekognition Custom Labels problem of "
        "MANIFEST with the service's error code and 1-based line number (0 for the whole "
        "file): JSON format, source-ref, attributes, images (exist, PNG/JPEG, size, "
        "dimensions), boxes, class map, quotas. Exit code 1 when there are errors.",
    )
    p.add_argument("manifest", type=Path, metavar="MANIFEST", help="the .manifest file")
    p.add_argument(
        "--train",
        type=Path,
        metavar="TRAIN_MANIFEST",
        help="the training manifest, to check that test labels overlap training labels",
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
    from wsi2rek.dataset import validate_manifest  # noqa: PLC0415  (keep CLI start-up light)

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
