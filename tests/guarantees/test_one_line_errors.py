"""Bad inputs give one line on stderr and a non-zero exit, never a traceback (issue 10).

Each case was a traceback (or a hang) before: the exact inputs of issue 10, "Inputs:
bounded memory, clear errors". The command runs as a subprocess, the way a user meets it.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import pytest

from tests.guarantees._cli import assert_one_line_error, run_wsi2rek
from tests.guarantees.conftest import build_args
from wsi2rek import Detection
from wsi2rek.errors import ParameterError, SamplingError, Wsi2RekError
from wsi2rek.geometry import Box, Point
from wsi2rek.inference import write_geojson
from wsi2rek.sampling import PatchPlan


@pytest.fixture(scope="module")
def dataset(inputs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished dataset folder (built once by the real CLI)."""
    out = tmp_path_factory.mktemp("built") / "ds"
    result = run_wsi2rek(*build_args(inputs, out), cwd=out.parent)
    assert result.code == 0, result.stderr
    return out


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [
        ("--spot-radius", "inf", "--spot-radius must be a positive, finite number"),
        ("--spot-radius", "nan", "--spot-radius must be a positive, finite number"),
        ("--spot-radius-um", "inf", "--spot-radius-um must be a positive, finite number"),
        # finite in micrometres, infinite in pixels once divided by the 0.25 um/px MPP
        ("--spot-radius-um", "1e308", "is not a finite number of pixels"),
    ],
)
def test_build_with_an_infinite_spot_radius(
    inputs: tuple[Path, Path], tmp_path: Path, option: str, value: str, needle: str
) -> None:
    result = run_wsi2rek(*build_args(inputs, tmp_path / "ds", option, value), cwd=tmp_path)
    assert_one_line_error(result, "build", needle)
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize(
    "content",
    [
        bytes(range(256)) * 4,  # binary with newlines: was a UnicodeDecodeError traceback
        b"\x00\x01\xff\xfe{no newline",  # no complete line: was appended to, silently
        b'{"format": "something-else"}\n',
    ],
    ids=["binary", "binary-no-newline", "other-json"],
)
def test_detect_slide_cache_pointing_at_a_foreign_file(
    inputs: tuple[Path, Path], tmp_path: Path, content: bytes
) -> None:
    cache = tmp_path / "photo.bin"
    cache.write_bytes(content)
    result = run_wsi2rek(
        "detect-slide",
        inputs[1] / "one.svs",
        "--demo-detector",
        "--out",
        tmp_path / "d.geojson",
        "--cache",
        cache,
        cwd=tmp_path,
    )
    assert_one_line_error(result, "detect-slide", "is not a wsi2rek detection cache")
    assert cache.read_bytes() == content  # neither appended to nor truncated
    assert not (tmp_path / "d.geojson").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
def test_detect_slide_cache_on_a_named_pipe(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    result = run_wsi2rek(
        "detect-slide",
        inputs[1] / "one.svs",
        "--demo-detector",
        "--out",
        tmp_path / "d.geojson",
        "--cache",
        tmp_path / "pipe",
        cwd=tmp_path,
        timeout=60,
    )
    assert_one_line_error(result, "detect-slide", "not a regular file")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b'{"labels": [', "Expecting value"),  # truncated by a full disk
        (b"[1, 2]", "expected a JSON object, found list"),
        (b"{}", "missing field 'patches'"),
        (b"\xff\xfe\x00", "can't decode byte 0xff"),
        (b'{"labels": [], "slide_paths": {}, "patches": [{"slide": "a"}]}', "missing field"),
    ],
    ids=["truncated", "list", "empty-object", "not-utf8", "patch-without-window"],
)
def test_preview_of_a_dataset_with_a_corrupt_plan(
    dataset: Path, tmp_path: Path, content: bytes, needle: str
) -> None:
    copy = tmp_path / "ds"
    shutil.copytree(dataset, copy)
    (copy / "plan.json").write_bytes(content)
    result = run_wsi2rek("preview", copy, cwd=tmp_path)
    assert_one_line_error(result, "preview", "plan.json is not a wsi2rek plan", needle)


def test_plan_load_raises_a_wsi2rek_error(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text('{"labels": [', encoding="utf-8")
    with pytest.raises(SamplingError, match="is not a wsi2rek plan"):
        PatchPlan.load(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
def test_info_on_a_named_pipe_refuses_without_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    # before: OpenSlide's format detection opened the pipe and waited forever for a writer
    result = run_wsi2rek("info", tmp_path / "pipe", cwd=tmp_path, timeout=60)
    assert_one_line_error(result, "info", "is not a regular file")


@pytest.mark.parametrize("confidence", [math.nan, math.inf, -1.0, 100.5])
def test_detection_with_a_bad_confidence_raises_parameter_error(confidence: float) -> None:
    with pytest.raises(ParameterError, match="confidence must be in"):
        Detection("cell", confidence, Box(0, 0, 1, 1))


def test_geometry_with_a_non_finite_coordinate_raises_a_wsi2rek_error() -> None:
    with pytest.raises(ParameterError, match="must be a finite number"):
        Box(0, 0, math.nan, 1)
    with pytest.raises(ValueError, match="must be a finite number"):  # still a ValueError
        Point(math.inf, 0)


def test_write_geojson_never_writes_a_nan_token(tmp_path: Path) -> None:
    """RFC 8259 section 6: NaN and Infinity are not JSON; QuPath's Gson rejects them."""
    det = Detection("cell", 50.0, Box(0, 0, 10, 10))
    object.__setattr__(det, "confidence", math.nan)  # past the validator, as a bug would
    out = tmp_path / "d.geojson"
    with pytest.raises(Wsi2RekError, match="standard JSON"):
        write_geojson([det], out)
    assert not out.exists()
    write_geojson([Detection("cell", 50.0, Box(0, 0, 10, 10))], out)
    text = out.read_text(encoding="utf-8")
    json.loads(text, parse_constant=lambda token: pytest.fail(f"non-standard {token}"))
