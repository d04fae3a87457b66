"""MkDocs hooks: generate the CLI reference and the figures before every build.

Both land in ``docs/generated/`` (git-ignored) and are rewritten only when their content
changes, so ``mkdocs serve`` does not rebuild in a loop. The changelog page includes the
repository's ``CHANGELOG.md`` through the snippets extension, whose base path is made
absolute here so the build works from any working directory.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from pathlib import Path
from types import ModuleType
from typing import Any

log = logging.getLogger("mkdocs.plugins.wsi2rek")

_DOCS = Path(__file__).resolve().parent


def _load(name: str) -> ModuleType:
    """Import ``docs/<name>.py`` by path (the docs folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"wsi2rek_docs_{name}", _DOCS / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {_DOCS / name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: User-guide pages (written by each area's engineers) in reading order; pages found in
#: docs/guide/ but not listed here follow alphabetically. aws-setup.md gets its own entry.
GUIDE_ORDER = (
    "fetch.md",
    "slides.md",
    "sliderunner.md",
    "sampling.md",
    "dataset.md",
    "aws.md",
    "detection.md",
    "app.md",
)
AWS_SETUP = "aws-setup.md"


def _page_title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem.replace("-", " ").capitalize()


def guide_nav(guide_dir: Path) -> tuple[list[Any], bool]:
    """The "User guide" nav entries for the pages present, and whether AWS setup exists."""
    present = {p.name for p in guide_dir.glob("*.md")} - {"index.md", AWS_SETUP}
    ordered = [n for n in GUIDE_ORDER if n in present] + sorted(present - set(GUIDE_ORDER))
    entries: list[Any] = ["guide/index.md"]
    entries += [{_page_title(guide_dir / n): f"guide/{n}"} for n in ordered]
    return entries, (guide_dir / AWS_SETUP).exists()


def on_config(config: Any) -> Any:
    """Fill the "User guide" nav from docs/guide/ and make the snippets path absolute.

    The guide pages are written by the engineers of each area; listing whichever exist
    keeps the nav complete without editing mkdocs.yml for every new page. The snippets
    extension (which includes CHANGELOG.md) resolves paths against the repository root
    whatever the working directory.
    """
    root = Path(config.config_file_path).resolve().parent
    config.mdx_configs.setdefault("pymdownx.snippets", {})["base_path"] = [str(root)]
    entries, has_setup = guide_nav(Path(config.docs_dir) / "guide")
    nav = config.nav or []
    for i, item in enumerate(nav):
        if isinstance(item, dict) and "User guide" in item:
            nav[i] = {"User guide": entries}
            if has_setup:
                nav.insert(i + 1, {"AWS setup": f"guide/{AWS_SETUP}"})
            break
    return config


def on_pre_build(config: Any) -> None:
    """Write ``generated/cli.md`` and ``generated/figures/*.png`` into the docs folder."""
    generated = Path(config.docs_dir) / "generated"
    start = time.perf_counter()
    _load("gen_cli").write_cli_reference(generated / "cli.md")
    _load("gen_rekognition").write_tables(generated)
    written = _load("gen_figures").generate(generated / "figures")
    log.info(
        "wsi2rek docs: CLI reference and %d figures generated in %.1f s",
        len(written),
        time.perf_counter() - start,
    )
