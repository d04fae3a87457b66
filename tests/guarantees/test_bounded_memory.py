"""Memory stays bounded whatever the input (issue 10, "Inputs: bounded memory").

Before: the limit on plain images was 2^31 pixels, so a 2.6 MB, 30000 x 30000 PNG went
through ``open_slide`` and ``build`` and needed about 9 GB, and ``read_region`` of
60000 x 60000 pixels (about 14 GB) was attempted until the kernel killed the process.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests.guarantees._cli import assert_one_line_error, run_wsi2rek
from wsi2rek.errors import ImageTooLargeError, ParameterError, RegionError
from wsi2rek.slides import (
    DEFAULT_MAX_PIXELS,
    MAX_PIXELS_ENV,
    MAX_REGION_PIXELS,
    open_slide,
)
from wsi2rek.testing import make_image, make_slide


def png_header(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose IHDR claims ``width`` x ``height`` (PNG spec, section 11.2.2).

    Its size is read from the header alone: that is what a decompression bomb exploits.
    """

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


def test_a_large_plain_image_is_refused_before_decoding(tmp_path: Path) -> None:
    assert DEFAULT_MAX_PIXELS == 2**28
    pillow_limit = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageTooLargeError, match="tiled pyramid") as info:
        open_slide(png_header(tmp_path / "bomb.png", 30_000, 30_000))
    assert "vips tiffsave" in str(info.value)
    assert "WSI2REK_MAX_IMAGE_PIXELS" in str(info.value)
    # the boundary: exactly 2^28 pixels opens (header only), one row more does not
    assert open_slide(png_header(tmp_path / "edge.png", 2**14, 2**14)).dimensions == (
        2**14,
        2**14,
    )
    with pytest.raises(ImageTooLargeError):
        open_slide(png_header(tmp_path / "over.png", 2**14, 2**14 + 1))
    assert pillow_limit == Image.MAX_IMAGE_PIXELS  # never changed process-wide


def test_info_on_a_large_plain_image_is_one_line(tmp_path: Path) -> None:
    png_header(tmp_path / "bomb.png", 30_000, 30_000)
    result = run_wsi2rek("info", "bomb.png", cwd=tmp_path)
    assert_one_line_error(result, "info", "tiled pyramid", "900000000 pixels")


def test_the_limit_follows_the_parameter_and_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    png = make_image(tmp_path / "a.png", 100, 80)
    monkeypatch.setenv(MAX_PIXELS_ENV, "7999")
    with pytest.raises(ImageTooLargeError, match="max_pixels=7999"):
        open_slide(png)
    assert open_slide(png, max_pixels=8000).dimensions == (100, 80)  # the parameter wins
    monkeypatch.setenv(MAX_PIXELS_ENV, "8_000")
    assert open_slide(png).dimensions == (100, 80)
    monkeypatch.setenv(MAX_PIXELS_ENV, "lots")
    with pytest.raises(ParameterError, match=MAX_PIXELS_ENV):
        open_slide(png)
    result = run_wsi2rek("info", png, cwd=tmp_path)  # the variable reaches the CLI
    assert_one_line_error(result, "info", MAX_PIXELS_ENV, "'lots'")


def test_an_absurd_region_is_refused_before_allocating(tmp_path: Path) -> None:
    svs = make_slide(tmp_path / "s.svs", 1000, 800, cells=[(100, 100)])
    png = make_image(tmp_path / "a.png", 100, 80)
    for path in (svs, png):
        with open_slide(path) as slide:
            with pytest.raises(RegionError, match="pixel budget"):
                slide.read_region(0, 0, 60_000, 60_000)
            side = 2**14
            with pytest.raises(RegionError, match=str(MAX_REGION_PIXELS)):
                slide.read_region(0, 0, side, side + 1)
            slide.max_region_pixels = 100  # a source can narrow its own budget
            with pytest.raises(RegionError, match="100-pixel budget"):
                slide.read_region(0, 0, 11, 10)
            assert slide.read_region(0, 0, 10, 10).shape == (10, 10, 3)
    with open_slide(svs) as slide:
        expected = slide.thumbnail(64).size
        slide.max_region_pixels = 6000  # thumbnails then read strips of at most 12 rows
        assert slide.thumbnail(64).size == expected
