"""Implausible pixel sizes are treated as absent, with a warning (issue 10, "Inputs").

Before: a plain TIFF saved at the 72 dpi many programs write by default reported 352.78
um/px, and ``--spot-radius-um`` turned a 4 um radius into boxes of a hundredth of a
pixel (or, the other way round, um options into giant boxes) without a word.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.guarantees._cli import run_wsi2rek
from wsi2rek.errors import ImplausibleMppWarning
from wsi2rek.slides import PLAUSIBLE_MPP, open_slide
from wsi2rek.testing import make_slide, make_sliderunner_db, spot

INCH_UM = 25_400.0  # TIFF 6.0, ResolutionUnit 2: pixels per inch


def tiff(path: Path, **save: object) -> Path:
    pixels = np.full((64, 80, 3), 200, dtype=np.uint8)
    Image.fromarray(pixels).save(path, format="TIFF", **save)
    return path


def test_a_72_dpi_tiff_has_no_mpp_and_warns(tmp_path: Path) -> None:
    path = tiff(tmp_path / "screen.tif", dpi=(72, 72))
    assert pytest.approx(352.78, abs=0.01) == INCH_UM / 72
    with pytest.warns(ImplausibleMppWarning, match=r"352\.778"):
        slide = open_slide(path)
    assert slide.mpp is None
    assert "pillow.mpp-x" not in slide.properties


def test_a_plausible_tiff_resolution_is_kept(tmp_path: Path) -> None:
    # 101600 pixels per inch = 0.25 um/px, a 40x scan
    path = tiff(tmp_path / "scan.tif", dpi=(101_600, 101_600))
    assert open_slide(path).mpp == pytest.approx((0.25, 0.25))


def test_an_implausible_slide_mpp_is_ignored(tmp_path: Path) -> None:
    low, high = PLAUSIBLE_MPP
    assert (low, high) == (0.01, 20.0)
    path = make_slide(tmp_path / "s.svs", 600, 400, cells=[(100, 100)], mpp=352.78)
    with pytest.warns(ImplausibleMppWarning, match="slide metadata"):
        slide = open_slide(path)
    assert slide.mpp is None
    edge = make_slide(tmp_path / "edge.svs", 600, 400, cells=[(100, 100)], mpp=high)
    assert open_slide(edge).mpp == pytest.approx((high, high))


def test_um_options_on_a_72_dpi_image_fail_clearly(tmp_path: Path) -> None:
    slides = tmp_path / "slides"
    slides.mkdir()
    make_slide(slides / "s.svs", 1000, 800, cells=[(300, 300)], mpp=352.78)
    db = make_sliderunner_db(
        tmp_path / "db.sqlite", ["s.svs"], [spot(1, 300, 300, 2)], classes={2: "cell"}
    )
    result = run_wsi2rek(
        "build",
        "--db",
        db,
        "--slides",
        slides,
        "--out",
        tmp_path / "ds",
        "--label",
        "cell=2",
        "--patch-size",
        "128",
        "--spot-radius-um",
        "4",
        "--workers",
        "0",
        cwd=tmp_path,
    )
    assert result.code != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[-1].startswith("wsi2rek build: error: "), lines
    assert "has no microns-per-pixel (MPP)" in lines[-1]
    assert "--spot-radius" in lines[-1]
    assert any("352.78" in line and "ignored" in line for line in lines[:-1]), lines
    assert not (tmp_path / "ds" / "images").exists()


def test_the_warning_is_one_plain_line_on_a_successful_build(tmp_path: Path) -> None:
    slides = tmp_path / "slides"
    slides.mkdir()
    make_slide(slides / "s.svs", 1000, 800, cells=[(300, 300)], mpp=352.78)
    db = make_sliderunner_db(
        tmp_path / "db.sqlite", ["s.svs"], [spot(1, 300, 300, 2)], classes={2: "cell"}
    )
    args: list[str | Path] = ["build", "--db", db, "--slides", slides, "--out", "ds"]
    args += ["--label", "cell=2", "--patch-size", "128", "--workers", "0"]
    result = run_wsi2rek(*args, cwd=tmp_path)
    assert result.code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines, "the ignored pixel size must be reported"
    # the planner and the image writer both open the slide: every report is one plain line
    assert all(line.startswith("wsi2rek build: warning: ") for line in lines), lines
    assert "352.78" in lines[0]
