"""The error contract of ``wsi2rek.errors``: no bare builtin exception escapes the library.

Every exception a caller can see derives from :class:`wsi2rek.errors.Wsi2RekError`. The
test walks the abstract syntax tree of every module under ``src/wsi2rek`` and fails on a
``raise X(...)`` (or ``raise X``) where ``X`` is a builtin exception class, unless the
statement is on :data:`ALLOWED` below with the reason it cannot escape or must be a
builtin. Re-raises (``raise``, ``raise exc``) are not builtin names and pass.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import attrs
import pytest

from wsi2rek import errors
from wsi2rek.errors import ParameterError

SRC = Path(__file__).resolve().parents[2] / "src" / "wsi2rek"

BUILTIN_EXCEPTIONS = frozenset(
    name
    for name in dir(builtins)
    if isinstance(getattr(builtins, name), type)
    and issubclass(getattr(builtins, name), BaseException)
)

#: (module path under src/wsi2rek, enclosing function, builtin) -> why it may stay.
ALLOWED: dict[tuple[str, str, str], str] = {
    # json.loads hooks: json turns ValueError into its own error, caught in parse_line.
    ("_jsonl.py", "_parse_int", "ValueError"): "caught by parse_line (same module)",
    ("_jsonl.py", "_parse_float", "ValueError"): "caught by parse_line (same module)",
    ("_jsonl.py", "_parse_constant", "ValueError"): "caught by parse_line (same module)",
    # A module-level __getattr__ must raise AttributeError (PEP 562): hasattr() relies on it.
    ("_lazy.py", "__getattr__", "AttributeError"): "PEP 562 protocol",
    ("annotations/_qupath.py", "_geometries", "LookupError"): "caught by its caller (skip)",
    ("annotations/sliderunner/_reader.py", "_whole", "ValueError"): "caught by every caller",
    # Signal handlers: the point is to raise exactly what Python raises for the signal.
    ("aws/_running.py", "_exit_for", "SystemExit"): "signal handler, exits as Python would",
    ("aws/_running.py", "_act_on", "KeyboardInterrupt"): "replays a held SIGINT",
    ("aws/_running.py", "_act_on", "SystemExit"): "replays a held SIGTERM/SIGHUP",
    ("cli/_fetch.py", "_size", "AssertionError"): "unreachable (pragma: no cover)",
    ("fetch/_lock.py", "_load", "ValueError"): "caught in the same function (FetchError)",
    ("sampling/_window.py", "draw_start", "AssertionError"): "unreachable (pragma: no cover)",
    ("slides/_tifffile.py", "other", "ValueError"): "caught by _paint (SlideReadError)",
    ("slides/_tifffile.py", "_paint", "ValueError"): "caught in the same loop (SlideReadError)",
    # A missing dependency is an ImportError everywhere in Python.
    ("testing/_slides.py", "_tifffile", "ImportError"): "tifffile/imagecodecs missing",
    # Using a stopped test server is a programming error in the test, like a closed file.
    ("testing/fake_rekognition/_server.py", "endpoint_url", "RuntimeError"): "test double misuse",
}


@attrs.frozen
class BareRaise:
    """One ``raise`` of a builtin exception: where, in which function, which builtin."""

    module: str
    function: str
    builtin: str
    line: int

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.module, self.function, self.builtin)


def _raised_name(node: ast.Raise) -> str | None:
    exc = node.exc
    target = exc.func if isinstance(exc, ast.Call) else exc
    if isinstance(target, ast.Name) and target.id in BUILTIN_EXCEPTIONS:
        return target.id
    return None


def bare_raises(source: str, module: str) -> list[BareRaise]:
    """Every ``raise`` of a builtin exception class in ``source``, with its function."""
    found: list[BareRaise] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name)
                continue
            if isinstance(child, ast.Raise):
                name = _raised_name(child)
                if name is not None:
                    found.append(BareRaise(module, function, name, child.lineno))
            visit(child, function)

    visit(ast.parse(source), "<module>")
    return found


def _all_bare_raises() -> list[BareRaise]:
    found: list[BareRaise] = []
    for path in sorted(SRC.rglob("*.py")):
        found += bare_raises(path.read_text(encoding="utf-8"), path.relative_to(SRC).as_posix())
    return found


def test_no_bare_builtin_raise_outside_the_allow_list() -> None:
    offending = [
        f"src/wsi2rek/{r.module}:{r.line} in {r.function}(): raise {r.builtin}"
        for r in _all_bare_raises()
        if r.key not in ALLOWED
    ]
    assert offending == [], (
        "raise a wsi2rek.errors class (ParameterError for a bad argument), or add the "
        "statement to ALLOWED with the reason it cannot escape:\n" + "\n".join(offending)
    )


def test_every_allow_list_entry_still_exists() -> None:
    present = {r.key for r in _all_bare_raises()}
    stale = sorted(set(ALLOWED) - present)
    assert stale == [], f"remove these ALLOWED entries, the raise is gone: {stale}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f():\n    raise ValueError('x')\n", [("m.py", "f", "ValueError")]),
        ("def f():\n    raise KeyError\n", [("m.py", "f", "KeyError")]),
        (
            "class C:\n    def g(self):\n        raise TypeError('t')\n",
            [("m.py", "g", "TypeError")],
        ),
        ("raise RuntimeError('top')\n", [("m.py", "<module>", "RuntimeError")]),
        ("def f(e):\n    raise e\n", []),
        ("def f():\n    try:\n        pass\n    except ValueError:\n        raise\n", []),
        ("def f():\n    raise ParameterError('p')\n", []),
    ],
)
def test_scanner_finds_builtin_raises_only(
    source: str, expected: list[tuple[str, str, str]]
) -> None:
    assert [r.key for r in bare_raises(source, "m.py")] == expected


def test_parameter_error_is_also_a_value_error() -> None:
    """Documented choice: ``except ValueError`` keeps catching bad arguments."""
    with pytest.raises(ValueError, match="bad"):
        raise ParameterError("bad")


def test_training_failed_error_lives_in_the_hierarchy() -> None:
    from wsi2rek.aws import EntryError, TrainingFailedError

    assert TrainingFailedError is errors.TrainingFailedError
    assert EntryError is errors.EntryError
    exc = TrainingFailedError(
        "failed",
        operation="CreateProjectVersion",
        resource="arn",
        code="TRAINING_FAILED",
        entry_errors=[EntryError("ERROR_NO_LABEL_ATTRIBUTES", "no labels", "s3://b/k")],
    )
    assert isinstance(exc, errors.AwsError)
    assert exc.entry_errors[0].code == "ERROR_NO_LABEL_ATTRIBUTES"
