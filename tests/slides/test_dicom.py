"""DICOM whole-slide image folders, written at test time and read through OpenSlide 4.

The fixture is a real DICOM WSI (``tests/slides/_dicom.py``: one VL Whole Slide
Microscopy Image instance per level, per DICOM PS3.3 A.32.8 / Supplement 145, JPEG
baseline frames), written with pydicom, never committed. OpenSlide's DICOM driver
(``openslide-vendor-dicom.c``) is the reader; Pillow decoding the frames the file holds
is the independent reference for the pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openslide
import pytest
from numpy.typing import NDArray
from PIL import Image

from tests.slides._dicom import decode_level, write_dicom_wsi, write_secondary_capture
from wsi2rek.errors import UnsupportedSlideError
from wsi2rek.slides import OpenSlideSource, open_slide

TILE = 256
#: level 0 is not a multiple of the tile size, so edge frames are padded
SIZE = (1300, 900)


def _levels() -> list[NDArray[np.uint8]]:
    rng = np.random.default_rng(12)
    coarse = rng.integers(0, 256, (SIZE[1] // 10, SIZE[0] // 10, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(coarse).resize(SIZE, Image.Resampling.BILINEAR))
    levels = [base]
    for _ in range(2):
        levels.append(np.asarray(Image.fromarray(levels[-1]).reduce(2)))
    return levels


@pytest.fixture(scope="module")
def dicom_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    folder = tmp_path_factory.mktemp("dicom") / "slide"
    # level 2 sorts first: open_slide takes the first .dcm by name, OpenSlide the series
    names = ["c_level0.dcm", "b_level1.dcm", "a_level2.dcm"]
    files = write_dicom_wsi(folder, _levels(), tile=TILE, mpp=0.25, names=names)
    return folder, files


def test_folder_opens_the_whole_pyramid(dicom_folder: tuple[Path, list[Path]]) -> None:
    folder, _ = dicom_folder
    with open_slide(folder) as slide:
        assert isinstance(slide, OpenSlideSource)
        assert slide.properties["openslide.vendor"] == "dicom"
        assert slide.level_count == 3
        assert slide.level_dimensions == ((1300, 900), (650, 450), (325, 225))
        assert slide.level_downsamples == pytest.approx((1.0, 2.0, 4.0))
        assert slide.mpp == pytest.approx((0.25, 0.25))


def test_folder_pixels_equal_openslide_on_a_file_and_the_frames(
    dicom_folder: tuple[Path, list[Path]],
) -> None:
    folder, files = dicom_folder
    direct = openslide.OpenSlide(files[0])
    try:
        with open_slide(folder) as slide:
            for level, (width, height) in enumerate(slide.level_dimensions):
                down = round(slide.level_downsamples[level])
                ours = slide.read_region(0, 0, width, height, level)
                rgba = np.asarray(direct.read_region((0, 0), level, (width, height)))
                assert (rgba[..., 3] == 255).all()  # every pixel of the level is opaque
                assert np.array_equal(ours, rgba[..., :3])
                # what the file holds, decoded by Pillow from its JPEG frames
                frames = decode_level(files[level], width, height, TILE)
                assert np.array_equal(ours, frames)
                # a window across tile borders, and one hanging over the edge (white)
                x, y = min(TILE - 50, width - 100), min(TILE - 60, height - 120)
                window = slide.read_region(x * down, y * down, 100, 120, level)
                assert np.array_equal(window, frames[y : y + 120, x : x + 100])
                edge = slide.read_region((width - 10) * down, 0, 20, 20, level)
                assert np.array_equal(edge[:, :10], frames[:20, width - 10 :])
                assert (edge[:, 10:] == 255).all()
    finally:
        direct.close()


def test_a_dcm_file_opens_directly(dicom_folder: tuple[Path, list[Path]]) -> None:
    _, files = dicom_folder
    with open_slide(files[1]) as slide:
        assert slide.level_count == 3  # any file of the series opens all of it


def test_folder_of_other_dicom_images_is_explained(tmp_path: Path) -> None:
    image = np.full((64, 64, 3), 200, np.uint8)
    write_secondary_capture(tmp_path / "ct" / "image.dcm", image)
    with pytest.raises(UnsupportedSlideError) as info:
        open_slide(tmp_path / "ct")
    message = str(info.value)
    assert "none is a DICOM whole-slide image" in message
    assert "1.2.840.10008.5.1.4.1.1.77.1.6" in message
    assert "\n" not in message


def test_other_dicom_files_beside_the_slide_are_passed_over(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    write_dicom_wsi(folder, _levels()[1:], tile=TILE, names=["s1.dcm", "s2.dcm"])
    write_secondary_capture(folder / "a_report.dcm", np.zeros((32, 32, 3), np.uint8))
    with open_slide(folder) as slide:
        assert slide.level_dimensions == ((650, 450), (325, 225))
