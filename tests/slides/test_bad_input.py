"""Every bad input open_slide and read_region must turn into a clear wsi2rek error."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from tests.hypothesis_profiles import examples
from tests.slides.slide_cases import SlideCase
from wsi2rek.errors import (
    RegionError,
    SlideNotFoundError,
    SlideReadError,
    UnsupportedSlideError,
    Wsi2RekError,
)
from wsi2rek.slides import OpenSlideSource, PillowSlideSource, open_slide
from wsi2rek.slides._base import rgba_on_white
from wsi2rek.testing import make_image, make_slide

# --- files that cannot be opened ---------------------------------------------------------


@pytest.mark.parametrize("opener", [open_slide, OpenSlideSource, PillowSlideSource])
def test_missing_file_names_the_path(tmp_path: Path, opener: type) -> None:
    missing = tmp_path / "nope.svs"
    with pytest.raises(SlideNotFoundError, match=r"nope\.svs") as info:
        opener(missing)
    assert isinstance(info.value, FileNotFoundError)
    assert info.value.path is not None
    assert info.value.path.name == "nope.svs"


def test_text_file_named_svs_lists_what_was_tried(tmp_path: Path) -> None:
    fake = tmp_path / "notes.svs"
    fake.write_text("this is not a slide\n")
    with pytest.raises(UnsupportedSlideError, match=r"notes\.svs") as info:
        open_slide(fake)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.path == fake
    assert [t.split(":")[0] for t in err.tried] == ["openslide", "pillow"]
    assert "PNG/JPEG/TIFF" in str(err)


def test_empty_file_is_unsupported(tmp_path: Path) -> None:
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    with pytest.raises(UnsupportedSlideError, match=r"empty\.tif"):
        open_slide(empty)


def test_folder_is_unsupported(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedSlideError, match="is a folder"):
        open_slide(tmp_path)


def test_opensource_rejects_a_plain_png(slide_cases: dict[str, SlideCase]) -> None:
    with pytest.raises(UnsupportedSlideError, match="does not recognise") as info:
        OpenSlideSource(slide_cases["png"].path)
    assert info.value.tried == ("openslide: format not recognised",)


@pytest.fixture(scope="module")
def small_svs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_slide(
        tmp_path_factory.mktemp("bad") / "small.svs", 1200, 900, tile=128, tissue="full"
    )


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.97])
def test_truncated_tiled_tiff_is_unsupported(
    tmp_path: Path, small_svs: Path, fraction: float
) -> None:
    data = small_svs.read_bytes()
    cut = tmp_path / "cut.svs"
    cut.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(UnsupportedSlideError, match=r"cut\.svs") as info:
        open_slide(cut)
    assert info.value.tried[0].startswith("openslide")
    # never half-read as a plain image by Pillow
    assert "pillow: not" in info.value.tried[-1]


def _corrupt_first_tile(src: Path, dst: Path) -> tuple[int, int]:
    """Copy src to dst with the first level-0 tile's JPEG header zeroed; return tile size."""
    data = bytearray(src.read_bytes())
    with tifffile.TiffFile(src) as tif:
        page = tif.pages[0]
        assert isinstance(page, tifffile.TiffPage)
        offset = page.dataoffsets[0]
        tile = (page.tilewidth, page.tilelength)
    data[offset : offset + 32] = bytes(32)
    dst.write_bytes(bytes(data))
    return tile


def test_corrupt_tile_raises_slide_read_error_with_region(tmp_path: Path, small_svs: Path) -> None:
    bad = tmp_path / "bad tile.svs"
    tw, th = _corrupt_first_tile(small_svs, bad)
    with open_slide(bad) as slide:
        with pytest.raises(SlideReadError, match=r"bad tile\.svs") as info:
            slide.read_region(0, 0, tw, th)
        err = info.value
        assert err.region == (0, 0, tw, th, 0)
        assert err.path == bad.absolute()
        assert isinstance(err, OSError)
        # the handle was dropped: other tiles still read after the error
        good = slide.read_region(tw * 2, th * 2, 32, 32)
    assert good.shape == (32, 32, 3)
    assert (good < 255).any()


def test_truncated_png_opens_but_reading_fails(tmp_path: Path) -> None:
    png = make_image(tmp_path / "a.png", 300, 200)
    cut = tmp_path / "cut.png"
    cut.write_bytes(png.read_bytes()[: png.stat().st_size // 2])
    with open_slide(cut) as slide:
        assert slide.dimensions == (300, 200)  # the header is intact
        with pytest.raises(SlideReadError, match=r"cut\.png") as info:
            slide.read_region(1, 2, 3, 4)
        assert info.value.region == (1, 2, 3, 4, 0)
        with pytest.raises(SlideReadError):
            slide.thumbnail(64)


def test_truncated_jpeg_reading_fails(tmp_path: Path) -> None:
    jpg = make_image(tmp_path / "a.jpg", 300, 200)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(jpg.read_bytes()[: jpg.stat().st_size // 2])
    with open_slide(cut) as slide, pytest.raises(SlideReadError):
        slide.read_region(0, 0, 10, 10)


# --- decompression bombs -----------------------------------------------------------------


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that claims width x height pixels but holds a single empty IDAT chunk."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )
    return path


def test_decompression_bomb_is_unsupported_without_touching_pillow(tmp_path: Path) -> None:
    bomb = _png_header_only(tmp_path / "bomb.png", 100_000, 100_000)
    limit_before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(UnsupportedSlideError, match="max_pixels") as info:
        open_slide(bomb)
    assert "decompression bomb" in str(info.value)
    assert limit_before == Image.MAX_IMAGE_PIXELS


def test_max_pixels_option(tmp_path: Path) -> None:
    png = make_image(tmp_path / "a.png", 100, 80)
    with pytest.raises(UnsupportedSlideError, match="8000 pixels"):
        open_slide(png, max_pixels=7999)
    assert open_slide(png, max_pixels=8000).dimensions == (100, 80)


def test_image_over_pillows_own_limit_opens(tmp_path: Path) -> None:
    # Pillow alone refuses > 2 * MAX_IMAGE_PIXELS; our generous default allows it
    w = h = int((2 * (Image.MAX_IMAGE_PIXELS or 0)) ** 0.5) + 10
    big = _png_header_only(tmp_path / "big.png", w, h)
    assert open_slide(big).dimensions == (w, h)


def test_pillow_rejects_bad_max_pixels(tmp_path: Path) -> None:
    png = make_image(tmp_path / "a.png", 10, 10)
    with pytest.raises(ValueError, match="max_pixels"):
        PillowSlideSource(png, max_pixels=0)


# --- invalid regions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "match"),
    [
        ((0, 0, 0, 10, 0), "size must be positive"),
        ((0, 0, 10, 0, 0), "size must be positive"),
        ((0, 0, -5, 10, 0), "size must be positive"),
        ((0, 0, 10, 10, 99), "level 99 does not exist"),
        ((0, 0, 10, 10, -1), "level -1 does not exist"),
        ((0.5, 0, 10, 10, 0), "whole number"),
        ((0, 0, float("nan"), 10, 0), "whole number"),
        (("0", 0, 10, 10, 0), "integer"),
    ],
)
def test_invalid_region_is_a_value_error(
    case: SlideCase, region: tuple[object, ...], match: str
) -> None:
    with case.open() as slide, pytest.raises(RegionError, match=match) as info:
        slide.read_region(*region)  # type: ignore[arg-type]  # wrong types on purpose
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, Wsi2RekError)


@pytest.mark.parametrize("max_size", [0, -3, (10, 0)])
def test_invalid_thumbnail_size(case: SlideCase, max_size: int | tuple[int, int]) -> None:
    with case.open() as slide, pytest.raises(RegionError, match="max_size"):
        slide.thumbnail(max_size)


# --- odd but valid files -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["with space.svs", "ünïcødé 雪.tiff", "dots.in.name.png"])
def test_odd_file_names(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "a folder ✓"
    folder.mkdir()
    path = folder / name
    if name.endswith(".png"):
        make_image(path, 120, 90, cells=[(60, 45)])
    else:
        make_slide(path, 1100, 700, kind="tiff" if name.endswith(".tiff") else "svs")
    with open_slide(path) as slide:
        assert slide.path.name == name
        assert slide.read_region(0, 0, 8, 8).shape == (8, 8, 3)


def test_wrong_suffix_is_judged_by_content(
    slide_cases: dict[str, SlideCase], tmp_path: Path
) -> None:
    misnamed = tmp_path / "really_a_png.svs"
    misnamed.write_bytes(slide_cases["png"].path.read_bytes())
    with open_slide(misnamed) as slide:
        assert slide.backend == "pillow"


def test_transparent_png_reads_white_where_transparent(tmp_path: Path) -> None:
    rgba = np.zeros((4, 3, 4), dtype=np.uint8)
    rgba[..., :3] = (10, 20, 30)
    rgba[0, :, 3] = 0  # fully transparent row
    rgba[1, :, 3] = 255  # opaque row
    rgba[2, :, 3] = 128  # half
    rgba[3, :, 3] = 1
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    with open_slide(path) as slide:
        got = slide.read_region(0, 0, 3, 4)
    assert (got[0] == 255).all()
    assert (got[1] == (10, 20, 30)).all()
    expected_half = [round((v * 128 + 255 * 127) / 255) for v in (10, 20, 30)]
    assert got[2, 0].tolist() == expected_half
    assert (got[3] >= 253).all()


@pytest.mark.parametrize("mode", ["L", "P", "I;16"])
def test_non_rgb_images_come_back_rgb(tmp_path: Path, mode: str) -> None:
    gray = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (5, 1))
    img = Image.fromarray(gray, mode="L")
    if mode == "P":
        img = img.convert("P")
    path = tmp_path / f"img-{mode.replace(';', '')}.png"
    if mode == "I;16":
        path = tmp_path / "img16.tif"
        img = img.convert("I;16")
    img.save(path)
    with open_slide(path) as slide:
        got = slide.read_region(0, 0, gray.shape[1], gray.shape[0])
    assert got.shape == (5, 25, 3)
    assert (got[..., 0] == got[..., 1]).all()
    assert (got[..., 1] == got[..., 2]).all()
    if mode != "I;16":
        np.testing.assert_array_equal(got[..., 0], gray)


@examples(40)
@given(
    rgb=st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)),
    alpha=st.integers(0, 255),
)
def test_rgba_on_white_matches_the_float_formula(rgb: tuple[int, int, int], alpha: int) -> None:
    pixel = np.array([[[*rgb, alpha]]], dtype=np.uint8)
    got = rgba_on_white(Image.fromarray(pixel, mode="RGBA"))
    expected = [round((v * alpha + 255 * (255 - alpha)) / 255) for v in rgb]
    assert got.dtype == np.uint8
    assert got.shape == (1, 1, 3)
    assert got[0, 0].tolist() == expected


@pytest.mark.parametrize(
    ("save_options", "expected"),
    [
        ({"dpi": (25_400 / 0.5, 25_400 / 0.25)}, (0.5, 0.25)),  # unit inch
        ({"resolution_unit": "cm", "resolution": 40_000.0}, (0.25, 0.25)),
        ({}, None),  # no resolution tags: unknown, never a guess
    ],
    ids=["inch", "cm", "none"],
)
def test_plain_tiff_mpp_from_resolution_tags(
    tmp_path: Path, save_options: dict[str, Any], expected: tuple[float, float] | None
) -> None:
    path = tmp_path / "hpf.tif"
    Image.new("RGB", (40, 30), (200, 150, 200)).save(path, **save_options)
    with open_slide(path) as slide:
        assert slide.backend == "pillow"
        if expected is None:
            assert slide.mpp is None
            assert "pillow.mpp-x" not in slide.properties
        else:
            assert slide.mpp == pytest.approx(expected)
            assert float(slide.properties["pillow.mpp-y"]) == pytest.approx(expected[1])
