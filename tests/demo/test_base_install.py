"""``wsi2rek demo`` on the base install: no extra (app, dask, docs, dev) is importable.

A venv per test run would download packages; instead the demo runs in a subprocess where
every import package that the base install does not bring is blocked (``None`` in
``sys.modules``, Python's own marker for "not importable"), from a ``sitecustomize`` so
that worker processes are blocked too. What the base install brings is computed from the
installed metadata: the closure of wsi2rek's requirements without extras.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from wsi2rek.demo import make_demo_inputs


def base_distributions() -> set[str]:
    """wsi2rek and everything its requirements (without extras) pull in, transitively."""
    seen: set[str] = set()
    todo = ["wsi2rek"]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def blocked_modules() -> list[str]:
    """Top-level import names installed here that only extras or dev tools provide."""
    base = base_distributions()
    return sorted(
        module
        for module, dists in metadata.packages_distributions().items()
        if module.isidentifier()
        and module not in sys.stdlib_module_names
        and not any(canonicalize_name(d) in base for d in dists)
    )


def test_the_block_list_holds_the_extras_and_spares_the_base() -> None:
    blocked = set(blocked_modules())
    assert {"streamlit", "dask", "distributed", "moto", "hypothesis", "pytest"} <= blocked
    assert not {"numpy", "PIL", "openslide", "tifffile", "boto3", "tqdm", "wsi2rek"} & blocked


@pytest.mark.slow
def test_demo_runs_with_only_the_base_install(tmp_path: Path) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(
        f"import sys\nfor _name in {blocked_modules()!r}:\n    sys.modules[_name] = None\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSI2REK_")}
    env["PYTHONPATH"] = str(hooks)
    code = (
        "import importlib.util, sys\n"
        "assert importlib.util.find_spec('streamlit') is None, 'the block is not active'\n"
        "from wsi2rek.cli import main\n"
        "sys.exit(main(['demo', sys.argv[1], '--workers', '2', '--json']))\n"
    )
    out = tmp_path / "demo-out"
    result = subprocess.run(
        [sys.executable, "-c", code, str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["dataset"]["ok"] is True
    assert len(list((out / "slides").glob("*.svs"))) == 3


def test_a_failed_demo_leaves_no_empty_slides_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wsi2rek.testing

    def broken(*args: object, **kwargs: object) -> Path:
        raise OSError("disk full")

    monkeypatch.setattr(wsi2rek.testing, "make_slide", broken)
    out = tmp_path / "demo-out"
    with pytest.raises(OSError, match="disk full"):
        make_demo_inputs(out)
    assert not out.exists()
    # A folder the user already had stays, and so does its content.
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(OSError, match="disk full"):
        make_demo_inputs(mine)
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
