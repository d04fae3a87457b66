"""``wsi2rek preview``: redraw the per-slide previews of a dataset folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wsi2rek.cli._common import add_json_flag, print_json

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``preview`` subcommand."""
    p = subparsers.add_parser(
        "preview",
        help="redraw preview/<slide>.png of a dataset folder",
        description="For each slide of the dataset in OUT (read from OUT/plan.json): the "
        "thumbnail with the tissue mask tinted green, labelled objects coloured by label, "
        "and the sampled windows (blue: train, orange: test).",
    )
    p.add_argument("out", type=Path, metavar="OUT", help="dataset folder written by build")
    p.add_argument(
        "--slides",
        dest="slides_dir",
        type=Path,
        metavar="DIR",
        default=None,
        help="folder holding the slides, when the dataset folder was moved or copied without "
        "them (default: where plan.json says, relative to OUT)",
    )
    p.add_argument("--max-size", type=int, default=1024, help="long side of a preview in px")
    p.add_argument("--no-tissue", action="store_true", help="do not tint the tissue mask")
    add_json_flag(p)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from wsi2rek.dataset import write_previews  # noqa: PLC0415  (keep CLI start-up light)

    written = write_previews(
        args.out, max_size=args.max_size, tissue=not args.no_tissue, slides_dir=args.slides_dir
    )
    if args.json:
        print_json({"previews": [str(p) for p in written]})
    else:
        for path in written:
            print(path)
    return 0
