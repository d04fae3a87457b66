"""Lazy package exports (PEP 562), shared by the package ``__init__`` modules.

A package lists ``name -> defining module``; a name is imported on first access and then
cached in the package namespace. Worker processes that import one small module of a
package, and ``import wsi2rek`` itself, then no longer pay for the whole library.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return the ``__getattr__`` and ``__dir__`` of ``package`` for ``exports``.

    Args:
        package: The package's ``__name__``.
        exports: Public name -> module that defines it.
    """

    def __getattr__(name: str) -> Any:  # noqa: N807 -- becomes the module's __getattr__
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # cache: later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:  # noqa: N807 -- becomes the module's __dir__
        return sorted(set(exports) | set(vars(sys.modules[package])))

    return __getattr__, __dir__
