"""Refuse, before any worker starts, a process pool that would re-run an unguarded script.

Worker processes started with ``forkserver`` or ``spawn`` (wsi2rek never uses plain
``fork``) re-import the main script as ``__mp_main__`` before they run anything. A script
that calls a parallel build at its top level, outside ``if __name__ == "__main__":``,
therefore makes every worker start the build again; multiprocessing then kills the
workers and the caller sees about a hundred lines of tracebacks per worker. This module
recognises that situation in the parent, from the call stack and the script's syntax
tree, and raises one :class:`~wsi2rek.errors.MainGuardError` that names the fix.
"""

from __future__ import annotations

import ast
import sys
import tokenize
from pathlib import Path
from types import FrameType, ModuleType

from wsi2rek.errors import MainGuardError

__all__ = ["check_main_guard"]

_GUARD = 'if __name__ == "__main__":'


def check_main_guard(call: str, *, fix: str) -> None:
    """Raise if worker processes would re-run the top-level code that is calling us.

    Args:
        call: What is about to start workers, for the message (``"build_dataset(workers=2)"``).
        fix: The other way out, for the message (``"or pass workers=0"``).

    Raises:
        MainGuardError: The caller is the main script's top-level code, outside an
            ``if __name__ == "__main__":`` block, and workers re-import that script.
    """
    main = sys.modules.get("__main__")
    if main is None or not _workers_reimport(main):
        return
    frame = _top_level_frame(main, sys._getframe(1))
    if frame is None:  # the script has finished running (or we are called from elsewhere)
        return
    path, line = frame.f_code.co_filename, frame.f_lineno
    if _inside_guard(path, line):
        return
    raise MainGuardError(
        f"{call} starts worker processes, which re-run the main script {path}, and its line "
        f"{line} makes this call outside an `{_GUARD}` block, so every worker would start "
        f"it again; put the script's top-level code under `{_GUARD}` ({fix})",
        path=path,
        line=line,
    )


def _workers_reimport(main: ModuleType) -> bool:
    """Whether a forkserver/spawn worker re-runs ``main``.

    Mirrors ``multiprocessing.spawn.get_preparation_data``: a module run with ``-m`` is
    re-imported by name (except a package's ``__main__``), a script by its path (except
    IPython's), and a main without a file (the REPL, Jupyter, ``python -c``) not at all.
    """
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None)
    if name is not None:
        return not (name == "__main__" or name.endswith(".__main__"))
    path = getattr(main, "__file__", None)
    return path is not None and Path(path).stem != "ipython"


def _top_level_frame(main: ModuleType, frame: FrameType | None) -> FrameType | None:
    """The frame of ``main``'s module-level code on the current stack, if it is running."""
    while frame is not None:
        if frame.f_code.co_name == "<module>" and frame.f_globals is vars(main):
            return frame
        frame = frame.f_back
    return None


def _inside_guard(path: str, line: int) -> bool:
    """Whether ``line`` of the script at ``path`` is inside a ``__name__ == "__main__"`` test.

    An unreadable or unparsable source is given the benefit of the doubt (True): the check
    only exists to turn a certain failure into a clear one.
    """
    try:
        with tokenize.open(path) as source:  # honours a PEP 263 encoding line
            tree = ast.parse(source.read(), filename=path)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return True
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_main_test(node.test):
            guarded = node.body[0].lineno <= line <= (node.body[-1].end_lineno or line)
            if guarded:
                return True
    return False


def _is_main_test(test: ast.expr) -> bool:
    """``__name__ == "__main__"`` (either way round)."""
    if not (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and len(test.comparators) == 1
    ):
        return False
    sides = {_name_or_str(test.left), _name_or_str(test.comparators[0])}
    return sides == {"name:__name__", "str:__main__"}


def _name_or_str(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return f"name:{node.id}"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return f"str:{node.value}"
    return None
