"""``wsi2rek fetch DATASET DEST``: download a public mitosis dataset, resumable and verified."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wsi2rek.cli._common import add_json_flag, print_json, show_progress

__all__ = ["register"]

_ONLY = {"slides": "slide", "databases": "database"}
_NAMES = ("mitos-wsi-cmc", "mitos-wsi-ccmct")  # wsi2rek.fetch.DATASETS, kept import-free


def register(subparsers: Any) -> None:
    """Add the ``fetch`` subcommand."""
    parser = subparsers.add_parser(
        "fetch",
        help="download a public mitosis dataset (slides + databases), resumable and verified",
        description="Download the slides and SlideRunner databases of a public mitosis dataset "
        "into DEST. Partial files are resumed with HTTP Range requests; a file gets its final "
        "name only once complete and verified (announced size, pinned checksums, slides open "
        "as Aperio SVS with the database's dimensions). Every file's SHA-256 is written to "
        "DEST/wsi2rek-fetch.lock.json; a rerun verifies against it and downloads nothing "
        "that is complete. No other wsi2rek command downloads data.",
    )
    parser.add_argument("dataset", choices=_NAMES, help="which dataset")
    parser.add_argument("dest", help="destination folder (created if needed)")
    parser.add_argument(
        "--only", choices=sorted(_ONLY), default=None, help="fetch only the slides or databases"
    )
    parser.add_argument(
        "--base-url",
        default=None,
        help="fetch BASE_URL/<relative path> (e.g. BASE_URL/WSI/<name>.svs) from a mirror "
        "instead of figshare and GitHub",
    )
    parser.add_argument("--workers", type=int, default=3, help="parallel downloads (default 3)")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list the files, their sizes (asked from the server) and what is missing; "
        "write nothing",
    )
    add_json_flag(parser)
    parser.set_defaults(handler=_run)


def _size(n: int | None) -> str:
    if n is None:
        return "size unknown"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    raise AssertionError  # pragma: no cover


def _run(args: argparse.Namespace) -> int:
    from wsi2rek.fetch import fetch_dataset  # noqa: PLC0415 -- keep `wsi2rek --help` fast

    summary = fetch_dataset(
        args.dataset,
        args.dest,
        only=_ONLY[args.only] if args.only else None,  # type: ignore[arg-type]
        base_url=args.base_url,
        workers=args.workers,
        dry_run=args.dry_run,
        progress=show_progress(args),
    )
    if args.json:
        print_json(summary.to_dict())
        return 0
    for f in summary.files:
        print(f"{f.status:<10} {_size(f.size):>10}  {f.path}")
        if not args.dry_run:
            for check in f.checks:
                print(f"{'':<23}{check}")
    if args.dry_run:
        print(
            f"{len(summary.files)} files, {_size(summary.total_size)} in all, "
            f"{_size(summary.to_download)} to download into {summary.dest}",
        )
    else:
        print(
            f"{len(summary.files)} files verified in {summary.dest} "
            f"({_size(summary.received)} downloaded in {summary.seconds:.1f} s); "
            f"SHA-256s in {summary.lock_file}",
            file=sys.stdout,
        )
    return 0
