"""``wsi2rek export DATASET_DIR --format coco --out OUT_DIR``: datasets for other trainers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wsi2rek.cli._common import add_json_flag, print_json

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``export`` subcommand."""
    p = subparsers.add_parser(
        "export",
        help="export a built dataset as COCO detection JSON (and YOLO labels)",
        description="Write DATASET_DIR's train and test manifests as COCO detection JSON, "
        "one OUT_DIR/<split>.json per split (image paths relative to DATASET_DIR, boxes in "
        "pixels, categories = the labels sorted by name, ids from 1). --yolo also writes "
        "YOLO text labels under OUT_DIR/yolo/.",
    )
    p.add_argument("dataset", type=Path, metavar="DATASET_DIR", help="a folder from 'build'")
    p.add_argument("--format", choices=("coco",), default="coco", help="output format")
    p.add_argument(
        "--out", dest="out_dir", type=Path, required=True, metavar="OUT_DIR", help="output folder"
    )
    p.add_argument("--yolo", action="store_true", help="also write YOLO text labels")
    p.add_argument("--overwrite", action="store_true", help="replace a previous export")
    add_json_flag(p)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from wsi2rek.dataset import export_coco  # noqa: PLC0415 (keep CLI start-up light)

    written = export_coco(args.dataset, args.out_dir, yolo=args.yolo, overwrite=args.overwrite)
    if args.json:
        print_json({"format": args.format, "files": {k: str(v) for k, v in written.items()}})
        return 0
    for split, path in written.items():
        print(f"{split}: {path}")
    return 0
