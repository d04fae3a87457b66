"""Griffe extension: read a Google-style ``Example:`` section like ``Examples:``.

The Google style guide (and ruff's pydocstyle ``google`` convention) accept both titles;
Griffe only knows the plural. Under ``Example:``, doctest lines would otherwise be rendered
as plain Markdown (``[Box(...)]`` in an output line becomes a broken link). Loaded by
mkdocstrings through ``mkdocs.yml`` (``handlers.python.options.extensions``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    """Rename ``Example:`` section headers to ``Examples:`` before docstrings are parsed."""

    def on_object(self, *, obj: griffe.Object, **_kwargs: Any) -> None:
        """Rewrite the docstring of every loaded object."""
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
