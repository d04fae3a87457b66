"""The ``wsi2rek`` command line.

Each subcommand lives in its own module under ``wsi2rek.cli`` and exposes
``register(subparsers)``, which adds its parser and sets ``handler`` to a function taking
the parsed arguments and returning an exit code. Errors from wsi2rek (and file-system
errors) print one clear line to stderr and exit non-zero; no traceback reaches the user
unless ``WSI2REK_DEBUG=1`` is set.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from wsi2rek import __version__
from wsi2rek.errors import Wsi2RekError

__all__ = ["main"]

#: Subcommand modules, in the order ``wsi2rek --help`` lists them.
_COMMAND_MODULES: tuple[str, ...] = (
    "info",
    "build",
    "validate",
    "preview",
    "export",
    "demo",
    "detect_slide",
    "aws",
    "fetch",
    "app",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="wsi2rek",
        description="Whole-slide images and annotations to Amazon Rekognition Custom Labels "
        "and back.",
    )
    parser.add_argument("--version", action="version", version=f"wsi2rek {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"wsi2rek.cli._{name.replace('-', '_')}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = os.environ.get("WSI2REK_DEBUG") == "1"
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        print("wsi2rek: interrupted", file=sys.stderr)
        return 130
    except (Wsi2RekError, OSError) as exc:
        if debug:
            raise
        print(f"wsi2rek {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
