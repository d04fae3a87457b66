"""Helpers shared by the CLI subcommands."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wsi2rek._json import dumps

__all__ = ["add_backend_flag", "add_json_flag", "print_json", "show_progress"]

#: ``open_slide``'s backends (kept here so that the CLI parser does not import slides).
_BACKENDS = ("auto", "openslide", "tifffile", "pillow")


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--json``: machine-readable output on stdout, no progress bars."""
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")


def print_json(data: Any) -> None:
    """Print ``data`` as indented, key-sorted JSON on stdout."""
    print(dumps(data, what="the JSON output", indent=2, sort_keys=True, default=str))


def show_progress(args: argparse.Namespace) -> bool:
    """True when a progress bar should be shown: a terminal on stderr and no ``--json``."""
    return not getattr(args, "json", False) and sys.stderr.isatty()


def add_backend_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--backend``: force the slide reader (every one gives the same pixels)."""
    parser.add_argument(
        "--backend",
        choices=_BACKENDS,
        default="auto",
        help="slide reader: auto (default: tifffile for SVS/tiled TIFF where exact, else "
        "OpenSlide or Pillow), or force one",
    )
