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
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from wsi2rek import __version__
from wsi2rek.cli._common import cli_message
from wsi2rek.errors import Wsi2RekError, Wsi2RekWarning

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
    "completion",
)


class HelpFormatter(argparse.HelpFormatter):
    """One help layout for every subcommand: each option's help ends with its default.

    Defaults that say nothing (None, False, an empty list) are left out, and so is any
    help text that already states its default in words.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help
        default = action.default
        if (
            text is None
            or text == argparse.SUPPRESS
            or "default" in text
            or not action.option_strings
            or default is None
            or default is False
            or default is argparse.SUPPRESS
            or default == []
        ):
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose subparsers share :class:`HelpFormatter`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = _Parser(
        prog="wsi2rek",
        description="Whole-slide images and annotations to Amazon Rekognition Custom Labels "
        "and back.",
    )
    parser.add_argument("--version", action="version", version=f"wsi2rek {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"wsi2rek.cli._{name.replace('-', '_')}")
        module.register(sub)
    for command in sub.choices.values():
        # errors name library parameters; the command's own parser spells them as flags
        command.set_defaults(cli_parser=command)
    return parser


def _warning_printer(command: str) -> Callable[..., None]:
    """A ``warnings.showwarning`` that prints wsi2rek's warnings as one plain line."""
    original = warnings.showwarning

    def show(  # noqa: PLR0917  (the signature warnings.showwarning calls)
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, Wsi2RekWarning):
            print(f"wsi2rek {command}: warning: {message}", file=sys.stderr)
        else:
            original(message, category, filename, lineno, file, line)

    return show


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = os.environ.get("WSI2REK_DEBUG") == "1"
    try:
        with warnings.catch_warnings():  # restores showwarning for in-process callers
            warnings.showwarning = _warning_printer(args.command)
            code: int = args.handler(args)
    except KeyboardInterrupt:
        print("wsi2rek: interrupted", file=sys.stderr)
        return 130
    except (Wsi2RekError, OSError) as exc:
        if debug:
            raise
        message = cli_message(exc, args.cli_parser) if isinstance(exc, Wsi2RekError) else exc
        print(f"wsi2rek {args.command}: error: {message}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
