"""The app's example Dockerfile installs the package with its license and only the app extra.

Reads ``examples/streamlit_app/Dockerfile`` as Docker does (one instruction per logical
line, ``\\`` continuations joined; Dockerfile reference, "Format") and checks what the image
gets: the LICENSE file is part of the copied build context (pyproject.toml lists it in
``license-files``, so the wheel's ``.dist-info`` holds it) and ``pip install`` names the
``app`` extra only (issue 13: it installed the 84 MB ``testing`` extra for one image).
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "examples" / "streamlit_app" / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per logical line, comments dropped, continuations joined."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):  # also inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in logical]


def test_the_license_is_copied_and_declared_for_the_wheel() -> None:
    copied = [
        word
        for name, args in instructions(DOCKERFILE.read_text(encoding="utf-8"))
        if name == "COPY"
        for word in shlex.split(args)[:-1]
    ]
    assert "LICENSE" in copied
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "LICENSE" in project["license-files"]


def test_pip_installs_the_app_extra_and_no_other() -> None:
    runs = [
        args
        for name, args in instructions(DOCKERFILE.read_text(encoding="utf-8"))
        if name == "RUN" and "pip install" in args
    ]
    targets = [word for args in runs for word in shlex.split(args) if "[" in word]
    assert targets, "the Dockerfile installs the package with pip"
    extras = {
        extra.strip()
        for target in targets
        for extra in re.findall(r"\[([^]]*)\]", target)[0].split(",")
    }
    assert extras == {"app"}


def test_the_parser_joins_continuations_and_drops_comments() -> None:
    text = "# c\nFROM x\nRUN a \\\n    # inside\n    b\n\nCOPY A B /d/\n"
    assert instructions(text) == [("FROM", "x"), ("RUN", "a b"), ("COPY", "A B /d/")]
