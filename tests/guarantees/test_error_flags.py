"""Library errors name library parameters; the CLI prints the same error with its flags.

Issue 13 ("CLI errors name API parameters like test_slides, per_slide, overwrite=True")
and issue 14 ("library messages name library parameters; the CLI translates to flags").
Each case raises one error twice: once from the Python API, whose message must name the
parameter as a caller spells it, and once from ``wsi2rek`` in a subprocess, whose one
stderr line must name the flag instead, and not the Python spelling.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.guarantees._cli import assert_one_line_error, run_wsi2rek
from tests.guarantees.conftest import build_args
from wsi2rek.aws import make_rekognition_client
from wsi2rek.cli import build_parser
from wsi2rek.cli._common import cli_message
from wsi2rek.dataset import build_dataset, export_coco, write_previews
from wsi2rek.errors import (
    AwsError,
    DatasetError,
    DatasetMismatchError,
    DetectionCacheError,
    DetectionError,
    ParameterError,
    SamplingError,
    Wsi2RekError,
)
from wsi2rek.fetch import fetch_dataset
from wsi2rek.geometry import Box
from wsi2rek.inference import detect_slide, write_sliderunner
from wsi2rek.labels import LabelMap
from wsi2rek.sampling import LabeledBox, ObjectSampler, PatchPlan, PatchSpec, plan_dataset


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("--test-slides")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--all-tiles", dest="tissue_only", action="store_false")
    p.add_argument("--on-error", choices=("raise", "skip"))
    p.add_argument("--slides", dest="slides_dir")
    return p


@pytest.mark.parametrize(
    ("parameter", "message", "expected"),
    [
        ("test_slides", "keep one slide out of test_slides", "keep one slide out of --test-slides"),
        ("overwrite", "or pass overwrite=True to replace it", "or pass --overwrite to replace it"),
        ("tissue_only", "pass tissue_only=False instead", "pass --all-tiles instead"),
        ("on_error", "or pass on_error='skip'.", "or pass --on-error skip."),
        ("slides_dir", "give it as slides_dir=", "give it as --slides"),
        # a path or a longer name that merely contains the parameter is left alone
        ("overwrite", "/data/overwrite/x: overwrite_all", "/data/overwrite/x: overwrite_all"),
        # a one-word parameter is code only when written with "="
        (
            "overwrite",
            "cannot overwrite it; pass overwrite=True",
            "cannot overwrite it; pass --overwrite",
        ),
        # a parameter the command has no flag for keeps its Python spelling
        ("per_slide", "per_slide must be positive", "per_slide must be positive"),
    ],
)
def test_cli_message_spells_parameters_as_flags(
    parameter: str, message: str, expected: str
) -> None:
    assert cli_message(Wsi2RekError(message, parameter=parameter), _parser()) == expected


def test_only_declared_parameters_are_rewritten() -> None:
    error = Wsi2RekError("test_slides and overwrite=True", parameter="overwrite")
    assert cli_message(error, _parser()) == "test_slides and --overwrite"


def test_parameters_is_a_tuple_of_names() -> None:
    assert Wsi2RekError("x").parameters == ()
    assert ParameterError("x", parameter="a").parameters == ("a",)
    assert SamplingError("x", parameter=("a", "b")).parameters == ("a", "b")


# --- each translated error, from Python and from the command line -----------------------


def _plan(inputs: tuple[Path, Path], x: int, *, test_only: bool = False) -> PatchPlan:
    slides = inputs[1]
    split = "test" if test_only else "train"
    return PatchPlan(
        [
            PatchSpec(
                "one.svs",
                Box(x, 100, x + 128, 228),
                split,
                [LabeledBox("cell", Box(x + 40, 140, x + 80, 180))],
            ),
            PatchSpec("two.svs", Box(x, 300, x + 128, 428), "test"),
        ],
        {"one.svs": str(slides / "one.svs"), "two.svs": str(slides / "two.svs")},
        ("cell",),
    )


def test_rebuild_with_other_options(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "ds"
    build_dataset(_plan(inputs, 100), out, workers=0)
    with pytest.raises(DatasetMismatchError, match=r"pass overwrite=True to replace it") as info:
        build_dataset(_plan(inputs, 300), out, workers=0)
    assert "--overwrite" not in str(info.value)

    cli_out = tmp_path / "cli"
    assert run_wsi2rek(*build_args(inputs, cli_out), cwd=tmp_path).code == 0
    result = run_wsi2rek(*build_args(inputs, cli_out, "--seed", "7"), cwd=tmp_path)
    assert_one_line_error(result, "build", "pass --overwrite to replace it")
    assert "overwrite=True" not in result.stderr


def test_every_slide_in_the_test_split(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"out of test_slides$"):
        build_dataset(_plan(inputs, 100, test_only=True), tmp_path / "ds", workers=0)

    args = build_args(inputs, tmp_path / "cli")
    args[args.index("two.svs")] = "one.svs,two.svs"
    result = run_wsi2rek(*args, cwd=tmp_path)
    assert_one_line_error(result, "build", "out of --test-slides")
    assert "test_slides" not in result.stderr


def test_both_spot_radii(inputs: tuple[Path, Path]) -> None:
    db, slides = inputs
    with pytest.raises(SamplingError, match="give either spot_radius_px or spot_radius_um"):
        plan_dataset(
            db,
            slides,
            LabelMap({"mitotic figure": [2]}),
            sampler=ObjectSampler(patch_size=256),
            spot_radius_px=8,
            spot_radius_um=2,
        )
    # argparse keeps the two flags apart (a mutually exclusive group), so the CLI never
    # reaches this error; the flags it would print are checked without a subprocess.
    build = build_parser().parse_args(build_args(inputs, Path("x"))).cli_parser
    error = SamplingError(
        "give either spot_radius_px or spot_radius_um, not both",
        parameter=("spot_radius_px", "spot_radius_um"),
    )
    assert cli_message(error, build) == "give either --spot-radius or --spot-radius-um, not both"


def test_preview_of_a_moved_dataset(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "ds"
    build_dataset(_plan(inputs, 100), out, workers=0)
    moved = tmp_path / "elsewhere" / "ds"
    moved.parent.mkdir()
    shutil.copytree(out, moved)
    away = tmp_path / "slides-away"
    shutil.move(inputs[1], away)
    try:
        with pytest.raises(DatasetError, match=r"give the folder that holds them as slides_dir=$"):
            write_previews(moved)
        result = run_wsi2rek("preview", moved, cwd=tmp_path)
    finally:
        shutil.move(away, inputs[1])
    assert_one_line_error(result, "preview", "give the folder that holds them as --slides")
    assert "slides_dir" not in result.stderr


def test_export_over_a_previous_export(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "ds"
    build_dataset(_plan(inputs, 100), out, workers=0)
    export_coco(out, tmp_path / "coco")
    with pytest.raises(DatasetError, match=r"another out_dir or pass overwrite=True to replace"):
        export_coco(out, tmp_path / "coco")
    result = run_wsi2rek("export", out, "--out", tmp_path / "coco", cwd=tmp_path)
    assert_one_line_error(result, "export", "another --out or pass --overwrite to replace them")


def test_fetch_with_a_base_url_that_is_not_http(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"^base_url must start with http"):
        fetch_dataset("mitos-wsi-cmc", tmp_path / "a", base_url="ftp://mirror")
    result = run_wsi2rek("fetch", "mitos-wsi-cmc", "b", "--base-url", "ftp://mirror", cwd=tmp_path)
    assert_one_line_error(result, "fetch", "--base-url must start with http")
    assert "base_url" not in result.stderr


def test_detection_cache_that_is_a_folder(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    slide = inputs[1] / "one.svs"
    cache = tmp_path / "cache"
    cache.mkdir()
    with pytest.raises(DetectionCacheError, match=r"give another cache=$"):
        detect_slide(slide, lambda image: [], cache=cache)
    result = run_wsi2rek(
        "detect-slide",
        slide,
        "--demo-detector",
        "--out",
        tmp_path / "d.json",
        "--cache",
        cache,
        cwd=tmp_path,
    )
    assert_one_line_error(result, "detect-slide", "give another --cache")


def test_detections_database_that_exists(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "d.sqlite"
    out.write_bytes(b"")
    with pytest.raises(DetectionError, match=r"pass overwrite=True$"):
        write_sliderunner([], out, slide_name="one.svs")
    result = run_wsi2rek(
        "detect-slide",
        inputs[1] / "one.svs",
        "--demo-detector",
        "--out",
        out,
        "--all-tiles",
        cwd=tmp_path,
    )
    assert_one_line_error(result, "detect-slide", "pass --overwrite")


@pytest.mark.parametrize(
    ("flag", "value", "library", "cli"),
    [
        (
            "--tile-size",
            "8",
            "tile_size=8 is below the smallest tile side",
            "--tile-size 8 is below",
        ),
        ("--tps", "0", "max_tps must be a positive number", "--tps must be a positive number"),
    ],
)
def test_detect_slide_options(
    inputs: tuple[Path, Path], tmp_path: Path, flag: str, value: str, *, library: str, cli: str
) -> None:
    slide = inputs[1] / "one.svs"
    parameter = {"--tile-size": "tile_size", "--tps": "max_tps"}[flag]
    kwargs: dict[str, Any] = {parameter: float(value) if flag == "--tps" else int(value)}
    with pytest.raises(Wsi2RekError, match=library) as info:
        detect_slide(slide, lambda image: [], **kwargs)
    assert info.value.parameters == (parameter,)
    out = tmp_path / "d.json"
    result = run_wsi2rek(
        "detect-slide", slide, "--demo-detector", "--out", out, flag, value, cwd=tmp_path
    )
    assert_one_line_error(result, "detect-slide", cli)


@pytest.mark.parametrize(
    ("flag", "value", "library", "cli"),
    [
        ("--margin", "-1", "margin=-1 is negative", "--margin -1 is negative"),
        ("--patch-size", "10", "patch_size must be in", "--patch-size must be in"),
        (
            "--per-slide",
            "0",
            "per_slide must be a positive int",
            "--per-slide must be a positive int",
        ),
    ],
)
def test_sampler_options(
    inputs: tuple[Path, Path], tmp_path: Path, flag: str, value: str, *, library: str, cli: str
) -> None:
    parameter = flag.removeprefix("--").replace("-", "_")
    kwargs: dict[str, Any] = {"patch_size": 256, parameter: int(value)}
    with pytest.raises(SamplingError, match=library):
        ObjectSampler(**kwargs)
    result = run_wsi2rek(*build_args(inputs, tmp_path / "ds", flag, value), cwd=tmp_path)
    assert_one_line_error(result, "build", cli)


def test_no_aws_region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE", "WSI2REK_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    with pytest.raises(AwsError, match=r"pass region_name=REGION, or set AWS_DEFAULT_REGION"):
        make_rekognition_client()
    result = run_wsi2rek(
        "train", "--project", "p", "--version-name", "v", "--dataset", "s3://b/p/",
        "--output", "s3://b/o/", cwd=tmp_path,
    )  # fmt: skip
    assert_one_line_error(result, "train", "pass --region REGION, or set AWS_DEFAULT_REGION")
