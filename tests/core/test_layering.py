"""The layering rules of docs/architecture.md that import-linter cannot state.

``lint-imports`` (run by CI, configured in pyproject.toml) checks which packages may import
which. This test adds one rule: a package's private modules (``wsi2rek.<pkg>._name``) are
its own business; other packages import the names the package exports, so a package can
reorganise its private modules without breaking its neighbours.
"""

from __future__ import annotations

import grimp


def _owner(module: str) -> str | None:
    """The package owning ``module`` when it is a private module below a subpackage."""
    parts = module.split(".")
    for i, part in enumerate(parts[2:], start=2):
        if part.startswith("_"):
            return ".".join(parts[:i])
    return None


def test_no_package_imports_another_packages_private_modules() -> None:
    graph = grimp.build_graph("wsi2rek")
    offending = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            owner = _owner(imported)
            if owner is not None and not (importer == owner or importer.startswith(owner + ".")):
                offending.append(f"{importer} imports {imported}")
    assert offending == [], "import the package's public names instead:\n" + "\n".join(offending)


def test_owner_finds_private_modules_of_subpackages_only() -> None:
    assert _owner("wsi2rek.slides._base") == "wsi2rek.slides"
    assert _owner("wsi2rek.annotations.sliderunner._reader") == "wsi2rek.annotations.sliderunner"
    assert _owner("wsi2rek._json") is None  # package-wide helpers at the top level
    assert _owner("wsi2rek.slides") is None
