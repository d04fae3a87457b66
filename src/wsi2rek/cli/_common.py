"""Helpers shared by the CLI subcommands."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from wsi2rek._json import dumps
from wsi2rek.errors import Wsi2RekError

__all__ = ["add_backend_flag", "add_json_flag", "cli_message", "print_json", "show_progress"]

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


def _flag_for(parser: argparse.ArgumentParser, parameter: str) -> argparse.Action | None:
    """The option of ``parser`` whose destination is the library parameter ``parameter``.

    The CLI names each option's destination after the library parameter it feeds
    (``--test-slides`` -> ``test_slides``), so an error's parameter finds its flag here.
    """
    # argparse has no public accessor for a parser's actions.
    for action in parser._actions:
        if action.dest == parameter and action.option_strings:
            return action
    return None


def cli_message(exc: Wsi2RekError, parser: argparse.ArgumentParser) -> str:
    """``exc``'s message with the library parameters it names spelled as ``parser``'s flags.

    A library message names a parameter as Python code spells it (``test_slides``,
    ``overwrite=True``, ``on_error='skip'``, ``slides_dir=``, ``cache=``); on the command
    line the same text reads ``--test-slides``, ``--overwrite``, ``--on-error skip``,
    ``--slides``, ``--cache``. A one-word name is rewritten only when written with ``=``
    (``cache`` alone is the English word). Only the parameters the error declares
    (:attr:`Wsi2RekError.parameters`) and that the command has a flag for are rewritten.
    """
    text = exc.message
    for name in exc.parameters:
        action = _flag_for(parser, name)
        if action is None:
            continue
        flag = max(action.option_strings, key=len)
        # A one-word parameter (cache, overwrite) is also an English word: only its code
        # spelling, ``cache=``, names the parameter; ``test_slides`` is code either way.
        value = r"(?:=('[^']*'|\"[^\"]*\"|[^\s,;)]*))" + ("?" if "_" in name else "")
        pattern = re.compile(rf"(?<![\w./\\-]){re.escape(name)}{value}(?![\w/\\-])")

        def spell(match: re.Match[str], action: argparse.Action = action, flag: str = flag) -> str:
            value = (match.group(1) or "").strip("'\"")
            if action.nargs == 0 or not value:  # a switch (overwrite=True), or just the name
                return flag
            return f"{flag} {value}"

        text = pattern.sub(spell, text)
    return text
