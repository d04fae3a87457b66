"""The docs build's generators: CLI reference, figures, guide nav; and page completeness."""

from __future__ import annotations

import argparse
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

from wsi2rek.sampling import FilterReason, RejectionReason, SkipReason, SplitMode

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_{name}", DOCS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_cli = load("gen_cli")
gen_figures = load("gen_figures")
hooks = load("hooks")


def toy_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="toy")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build <things>", description="Build the things & more.")
    build.add_argument("src", help="input folder")
    build.add_argument("--size", type=int, default=512, help="patch size (default %(default)s)")
    build.add_argument("--policy", choices=["reject", "clip"], default="reject")
    build.add_argument("--label", action="append", required=True, help="a | separated spec")
    build.add_argument("--json", action="store_true", help="print JSON")
    model = sub.add_parser("model", help="manage models")
    model_sub = model.add_subparsers(dest="action", required=True)
    start = model_sub.add_parser("start", help="start a model")
    start.add_argument("arn")
    return parser


def test_cli_reference_lists_commands_options_defaults_and_choices() -> None:
    text = gen_cli.cli_reference(toy_parser())
    assert "## `wsi2rek build` {#build}" in text
    assert "### `wsi2rek model start` {#model-start}" in text
    assert "| `--size` | `SIZE` | `512` | patch size (default 512) |" in text
    assert "| `--policy` | `reject` \\| `clip` | `reject` |" in text
    assert "**required** repeatable a \\| separated spec" in text
    assert "| `--json` |  |  | print JSON |" in text
    assert "| `src` | `src` |  | input folder |" in text
    assert "Build the things &amp; more." in text
    assert "- [`build`](#build): build &lt;things&gt;" in text  # not read as HTML
    assert "usage: toy build" in text


def test_iter_commands_walks_nested_subcommands_in_order() -> None:
    paths = [path for path, _parser, _help in gen_cli.iter_commands(toy_parser())]
    assert paths == [("build",), ("model",), ("model", "start")]


def test_real_cli_reference_documents_every_subcommand_and_option(tmp_path: Path) -> None:
    from wsi2rek.cli import build_parser

    out = tmp_path / "cli.md"
    assert gen_cli.write_cli_reference(out) is True
    assert gen_cli.write_cli_reference(out) is False  # unchanged: not rewritten
    text = out.read_text(encoding="utf-8")
    parser = build_parser()
    commands = list(gen_cli.iter_commands(parser))
    assert commands, "the CLI has no subcommands"
    for path, sub, _help in commands:
        assert f"`wsi2rek {' '.join(path)}`" in text
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue  # every command has -h/--help: documented once in the intro
            for flag in action.option_strings:
                assert f"`{flag}`" in text, (path, flag)


@pytest.mark.slow
def test_figures_are_generated_valid_small_and_deterministic(tmp_path: Path) -> None:
    paths = gen_figures.generate(tmp_path)
    assert {p.name for p in paths} == set(gen_figures.FIGURES)
    first = {p.name: p.read_bytes() for p in paths}
    for path in paths:
        assert path.stat().st_size < 1_000_000
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.width >= 300
    mtimes = {p.name: p.stat().st_mtime_ns for p in paths}
    again = gen_figures.generate(tmp_path)
    assert {p.name: p.read_bytes() for p in again} == first
    assert {p.name: p.stat().st_mtime_ns for p in again} == mtimes


def test_every_figure_used_by_a_page_is_generated() -> None:
    used = set()
    for page in DOCS.rglob("*.md"):
        used |= set(re.findall(r"generated/figures/([\w.-]+\.png)", page.read_text("utf-8")))
    assert used
    assert used <= set(gen_figures.FIGURES)


def test_guide_nav_orders_known_pages_first_and_splits_aws_setup(tmp_path: Path) -> None:
    for name, title in [
        ("zeta.md", "# Zeta"),
        ("dataset.md", "# Building datasets"),
        ("slides.md", "# Slides"),
        ("aws-setup.md", "# AWS setup"),
        ("index.md", "# Guide"),
    ]:
        (tmp_path / name).write_text(f"{title}\n\ntext\n", encoding="utf-8")
    entries, has_setup = hooks.guide_nav(tmp_path)
    assert has_setup is True
    assert entries == [
        "guide/index.md",
        {"Slides": "guide/slides.md"},
        {"Building datasets": "guide/dataset.md"},
        {"Zeta": "guide/zeta.md"},
    ]


# Every code listed in the Rekognition notes (../shared/REKOGNITION.md), copied here so the
# test runs on a clean clone.
REKOGNITION_CODES = (
    "ERROR_MISSING_SOURCE_REF",
    "ERROR_INVALID_SOURCE_REF_FORMAT",
    "ERROR_NO_LABEL_ATTRIBUTES",
    "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT",
    "ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT",
    "ERROR_NO_VALID_LABEL_ATTRIBUTES",
    "ERROR_INVALID_JSON_LINE",
    "ERROR_INVALID_IMAGE",
    "ERROR_INVALID_IMAGE_DIMENSION",
    "ERROR_INVALID_BOUNDING_BOX",
    "ERROR_BOUNDING_BOX_TOO_SMALL",
    "ERROR_NO_VALID_ANNOTATIONS",
    "ERROR_TOO_MANY_BOUNDING_BOXES",
    "ERROR_MISSING_CLASS_MAP_ID",
    "ERROR_MISSING_BOUNDING_BOX_CONFIDENCE",
    "ERROR_UNSUPPORTED_USE_CASE_TYPE",
    "ERROR_INVALID_LABEL_NAME_LENGTH",
    "WARNING_UNANNOTATED_RECORD",
    "WARNING_NO_ANNOTATIONS",
    "ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT",
    "ERROR_MANIFEST_SIZE_TOO_LARGE",
    "ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM",
    "ERROR_INVALID_PERMISSIONS_MANIFEST_S3_BUCKET",
    "ERROR_TOO_MANY_RECORDS_IN_ERROR",
    "ERROR_MANIFEST_TOO_MANY_LABELS",
    "ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE",
)


gen_rekognition = load("gen_rekognition")


def _table_codes(text: str) -> set[str]:
    return set(re.findall(r"^\| `((?:ERROR|WARNING|WSI2REK)_[A-Z0-9_]+)` \|", text, re.MULTILINE))


def test_troubleshooting_includes_the_generated_tables() -> None:
    page = (DOCS / "troubleshooting.md").read_text("utf-8")
    assert '--8<-- "docs/generated/rekognition-quotas.md"' in page
    assert '--8<-- "docs/generated/rekognition-codes.md"' in page


def test_generated_tables_explain_every_rekognition_code() -> None:
    """The guide's codes (REKOGNITION_CODES) are each a row: checked, or why not."""
    documented = _table_codes(gen_rekognition.codes_table())
    missing = set(REKOGNITION_CODES) - documented
    assert not missing, f"the generated code table lacks {sorted(missing)}"


def test_generated_tables_list_every_code_and_quota_of_the_owner_module(tmp_path: Path) -> None:
    from wsi2rek.rekognition import QUOTAS, Code

    assert _table_codes(gen_rekognition.codes_table()) >= {str(c) for c in Code}
    quotas = gen_rekognition.quota_table()
    assert all(f"`{q.name}`" in quotas for q in QUOTAS)
    assert "| test images per label, maximum | 1,000 |" in quotas
    written = gen_rekognition.write_tables(tmp_path)
    assert [p.name for p in written] == ["rekognition-quotas.md", "rekognition-codes.md"]


def test_blog_page_covers_all_eleven_notebook_steps() -> None:
    text = (DOCS / "from-blog.md").read_text("utf-8")
    steps = re.findall(r"^\| (\d+) \|", text, re.MULTILINE)
    assert steps == [str(i) for i in range(1, 12)]


def test_performance_page_gives_the_command_of_every_benchmark() -> None:
    text = (DOCS / "performance.md").read_text("utf-8")
    for bench in ("build_throughput.py", "detect_throughput.py", "sliderunner_load.py"):
        assert f"python bench/{bench}" in text


def test_every_public_module_has_an_api_reference_page() -> None:
    package = ROOT / "src" / "wsi2rek"
    public = {
        path.stem if path.is_file() else path.name
        for path in package.iterdir()
        if not path.name.startswith(("_", "."))
        and (path.suffix == ".py" or (path / "__init__.py").exists())
    } - {"cli"}  # the command line has its own generated reference page
    documented = set()
    for page in (DOCS / "reference").glob("*.md"):
        documented |= set(re.findall(r"^::: wsi2rek\.(\w+)", page.read_text("utf-8"), re.MULTILINE))
    missing = public - documented
    assert not missing, f"no API reference page for wsi2rek.{sorted(missing)}"


def test_troubleshooting_explains_every_skip_reason() -> None:
    reasons = {reason.value for reason in SkipReason}
    documented = set(
        re.findall(
            r"^\| `([a-z_]+)` \|", (DOCS / "troubleshooting.md").read_text("utf-8"), re.MULTILINE
        )
    )
    missing = reasons - documented
    assert not missing, f"troubleshooting.md lacks a Skipped-inputs row for {sorted(missing)}"


def _first_table_after(text: str, marker: str) -> set[str]:
    """The backquoted first-column values of the first Markdown table after ``marker``."""
    rest = text[text.index(marker) :]
    table = rest[rest.index("\n|") :].split("\n\n", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", table, re.MULTILINE))


@pytest.mark.parametrize(
    "vocabulary", [RejectionReason, FilterReason], ids=["rejected_windows", "filtered_windows"]
)
def test_sampling_guide_explains_every_window_count_reason(
    vocabulary: type[RejectionReason] | type[FilterReason],
) -> None:
    text = (DOCS / "guide" / "sampling.md").read_text("utf-8")
    documented = _first_table_after(text, f"`wsi2rek.sampling.{vocabulary.__name__}` members")
    assert documented == {reason.value for reason in vocabulary}


def test_sampling_guide_explains_every_split_mode() -> None:
    text = (DOCS / "guide" / "sampling.md").read_text("utf-8")
    documented = _first_table_after(text, "`wsi2rek.sampling.SplitMode` members")
    assert documented == {mode.value for mode in SplitMode}
