"""Reproducible builds: the moment a plan is made, or ``SOURCE_DATE_EPOCH`` when set.

This module is the single owner of the ``SOURCE_DATE_EPOCH`` convention
(https://reproducible-builds.org/specs/source-date-epoch/): "The value MUST be an ASCII
representation of an integer with no fractional component, identical to the output
format of ``date +%s``" (seconds since 1970-01-01 00:00:00 UTC), and "If the value is
malformed, the build process SHOULD exit with a non-zero error code". An empty value
counts as unset, as in CPython's ``py_compile``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

from wsi2rek.errors import ParameterError

__all__ = ["SOURCE_DATE_EPOCH", "TimeSource", "plan_time"]

#: The environment variable of the reproducible-builds specification.
SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"

#: Where a plan's time came from: the clock, or ``SOURCE_DATE_EPOCH``.
TimeSource = Literal["clock", "SOURCE_DATE_EPOCH"]

_SPEC = "https://reproducible-builds.org/specs/source-date-epoch/"
_INTEGER = re.compile(r"[0-9]+")


def plan_time(environ: Mapping[str, str] | None = None) -> tuple[datetime, TimeSource]:
    """The UTC time to stamp a new plan with, and where it came from.

    Args:
        environ: The environment to read (default: :data:`os.environ`).

    Returns:
        ``(moment, "SOURCE_DATE_EPOCH")`` when the variable is set and not empty, else
        ``(now, "clock")``; ``moment`` is timezone-aware UTC.

    Raises:
        ParameterError: ``SOURCE_DATE_EPOCH`` is not a non-negative integer number of
            seconds, or is past the year 9999.
    """
    env = os.environ if environ is None else environ
    raw = env.get(SOURCE_DATE_EPOCH, "")
    if not raw:
        return datetime.now(UTC), "clock"
    fix = (
        f"set it to whole seconds since 1970-01-01 UTC, as `date +%s` prints, or unset it ({_SPEC})"
    )
    if _INTEGER.fullmatch(raw) is None:
        raise ParameterError(
            f"environment variable {SOURCE_DATE_EPOCH}={raw[:40]!r} is not an integer "
            f"number of seconds; {fix}"
        )
    try:
        return datetime.fromtimestamp(int(raw), UTC), "SOURCE_DATE_EPOCH"
    except (OverflowError, OSError, ValueError):
        raise ParameterError(
            f"environment variable {SOURCE_DATE_EPOCH}={raw[:40]}"
            f"{'...' if len(raw) > 40 else ''} is past the year 9999; {fix}"
        ) from None
