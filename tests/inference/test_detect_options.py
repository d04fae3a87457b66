"""DetectOptions: detect_slide's knobs checked in one place, and the cache header they write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wsi2rek.errors import DetectionError, RegionError, SlideNotFoundError
from wsi2rek.geometry import Box
from wsi2rek.inference import BlobDetector, DetectOptions, detect_slide

TILING: dict[str, Any] = {"tile_size": 512, "overlap": 64, "tissue_only": False}


def test_defaults_are_detect_slides_defaults() -> None:
    import inspect

    params = inspect.signature(detect_slide).parameters
    for name, value in DetectOptions().to_dict().items():
        assert params[name].default == value, name


def test_a_bad_option_is_refused_before_the_slide_is_opened(tmp_path: Path) -> None:
    missing = tmp_path / "missing.svs"
    with pytest.raises(RegionError, match="tile_size=8 is below the smallest tile side, 16 px"):
        detect_slide(missing, BlobDetector(), tile_size=8)
    with pytest.raises(SlideNotFoundError):  # good options: now the slide is the problem
        detect_slide(missing, BlobDetector())


def test_bad_options_name_their_parameter() -> None:
    with pytest.raises(DetectionError, match="workers must be at least 1") as info:
        DetectOptions(workers=0)
    assert info.value.parameters == ("workers",)
    with pytest.raises(DetectionError) as info:
        DetectOptions(max_tps=float("nan"))
    assert info.value.parameters == ("max_tps",)


def test_options_are_frozen_and_serialise_every_knob() -> None:
    options = DetectOptions(roi=Box(10, 20, 30, 40), merge_distance=12.5)
    with pytest.raises(AttributeError):
        options.tile_size = 256  # type: ignore[misc]
    as_dict = options.to_dict()
    assert as_dict["roi"] == [10, 20, 30, 40]
    assert as_dict["merge_distance"] == 12.5
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert options.grid_dict() == {
        "level": 0,
        "tile": 1024,
        "overlap": 128,
        "roi": [10, 20, 30, 40],
    }


def test_the_cache_header_keeps_the_format_of_wsi2rek_0_1_0(
    cell_slide: Path, tmp_path: Path
) -> None:
    """A cache written before DetectOptions existed is still read (its header, literally):
    the header says ``tile`` for what is now ``tile_size``, so paid results stay valid."""
    cache = tmp_path / "old.jsonl"
    params = {
        "slide": cell_slide.name,
        "dimensions": [2000, 1500],
        "level": 0,
        "tile": 512,
        "overlap": 64,
        "roi": None,
        "detector": "old-blob",
    }
    header = {"format": "wsi2rek-detect-cache/1", "params": params}
    cache.write_text(json.dumps(header, sort_keys=True, separators=(",", ":")) + "\n")
    detect_slide(cell_slide, BlobDetector(), **TILING, cache=cache, detector_name="old-blob")
    lines = cache.read_text().splitlines()
    assert json.loads(lines[0]) == header
    assert len(lines) == 1 + 20  # every tile appended to the old file


def test_merge_and_filter_options_reuse_the_cache(cell_slide: Path, tmp_path: Path) -> None:
    cache = tmp_path / "run.jsonl"
    first = detect_slide(cell_slide, BlobDetector(), **TILING, cache=cache)
    again = detect_slide(
        cell_slide, BlobDetector(), **TILING, cache=cache, merge_iou=0.9, min_confidence=1.0
    )
    assert (first.tiles_run, again.tiles_run, again.tiles_cached) == (20, 0, 20)
