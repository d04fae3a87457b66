"""Standard JSON out: every JSON text wsi2rek writes is produced by :func:`dumps`.

Python's :func:`json.dumps` writes ``NaN`` and ``Infinity`` by default, tokens that are not
JSON (RFC 8259, section 6) and that other readers (QuPath, AWS, ``jq``) reject. Here they
are refused instead, with an error that names what was being written.
"""

from __future__ import annotations

import json
from typing import Any

from wsi2rek.errors import ParameterError

__all__ = ["dumps"]


def dumps(obj: Any, *, what: str, **kwargs: Any) -> str:
    """``json.dumps(obj, allow_nan=False, **kwargs)``, raising a wsi2rek error.

    Args:
        obj: The value to serialise.
        what: What is being written, for the error message (``"dataset.json"``...).
        **kwargs: Passed to :func:`json.dumps` (``indent``, ``sort_keys``...).

    Raises:
        ParameterError: ``obj`` holds a NaN or infinite number, which JSON cannot hold.
    """
    try:
        return json.dumps(obj, allow_nan=False, **kwargs)
    except ValueError as exc:
        raise ParameterError(
            f"cannot write {what} as standard JSON: {exc} (a value is NaN or infinite); "
            "check the numbers passed in"
        ) from exc
