"""The tifffile backend returns OpenSlide's pixels, on every layout it claims.

OpenSlide is the reference: each file here is opened with every backend that reads it
(``open_slide(path, backend=...)``) and the same regions are compared pixel for pixel
(``np.array_equal``, no tolerance). Regions are drawn at random over and past the
edges, at every level, at level-0 positions that map to whole level pixels (decoded by
the tifffile backend) and positions that do not (OpenSlide resamples; the tifffile
backend must hand those to OpenSlide).

Layouts: Aperio SVS and generic tiled TIFF as written by ``wsi2rek.testing.make_slide``;
generic tiled TIFFs written here with tifffile (JPEG with RGB or subsampled YCbCr
photometric, LZW, Deflate with horizontal predictor, uncompressed, odd sizes whose
downsamples are not whole numbers); a pyramidal OME-TIFF; and the real Aperio file
``CMU-1-Small-Region.svs`` (240 px tiles, RGB JPEG with shared ``JPEGTables``), whose
tile layout no factory of ours wrote. The layout rules followed are OpenSlide 4's
(``openslide-vendor-aperio.c``, ``openslide-vendor-generic-tiff.c``,
``openslide-grid.c``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
import tifffile
from numpy.typing import NDArray

from wsi2rek.errors import ParameterError, UnsupportedSlideError
from wsi2rek.slides import SlideSource, TiffSlideSource, open_slide
from wsi2rek.testing import make_image, make_slide

REPO = Path(__file__).resolve().parents[2]
CMU = (
    (
        Path(os.environ["WSI2REK_SHARED_DATA"])
        if "WSI2REK_SHARED_DATA" in os.environ
        else REPO.parent / "shared" / "data"
    )
    / "slides"
    / "CMU-1-Small-Region.svs"
)


def _regions(
    slide: SlideSource, rng: np.random.Generator, level: int, n: int, *, aligned: bool
) -> list[tuple[int, int, int, int]]:
    """Random regions of ``level``: inside, across the edges and fully outside."""
    w0, h0 = slide.dimensions
    ds = slide.level_downsamples[level]
    step = round(ds) if aligned and float(ds).is_integer() else 1
    out = []
    for _ in range(n):
        x = int(rng.integers(-300, w0 + 100)) // step * step
        y = int(rng.integers(-300, h0 + 100)) // step * step
        if not aligned:
            x, y = x + 1, y + 1  # off the level's pixel grid when ds > 1
        out.append((x, y, int(rng.integers(1, 600)), int(rng.integers(1, 600))))
    return out


def _assert_same_pixels(path: Path, backends: tuple[str, ...], n: int = 25) -> None:
    rng = np.random.default_rng(12)
    slides = [open_slide(path, backend=b) for b in backends]
    try:
        ref = slides[0]
        assert ref.backend == backends[0]
        for other in slides[1:]:
            assert other.backend == backends[slides.index(other)]
            assert other.level_dimensions[: ref.level_count] == ref.level_dimensions
            assert other.level_downsamples[: ref.level_count] == ref.level_downsamples
        for level in range(ref.level_count):
            regions = _regions(ref, rng, level, n, aligned=True)
            if level:
                regions += _regions(ref, rng, level, 5, aligned=False)
            regions.append((0, 0, *ref.level_dimensions[level]))  # the whole level
            for region in regions:
                want = ref.read_region(*region, level)
                for other in slides[1:]:
                    got = other.read_region(*region, level)
                    assert np.array_equal(got, want), (other.backend, region, level)
    finally:
        for s in slides:
            s.close()


# --- the layouts -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def texture(tmp_path_factory: pytest.TempPathFactory) -> NDArray[np.uint8]:
    """An H&E-like RGB picture (odd size) to write in each layout."""
    png = make_image(
        tmp_path_factory.mktemp("tex") / "t.png", 1001, 703, cells=[(500, 350)], tissue="blobs"
    )
    with open_slide(png) as slide:
        return slide.read_region(0, 0, 1001, 703)


def _halve(a: NDArray[np.uint8]) -> NDArray[np.uint8]:
    h, w = a.shape[0] // 2 * 2, a.shape[1] // 2 * 2
    s = a[:h:2, :w:2].astype(np.uint16) + a[1:h:2, :w:2] + a[:h:2, 1:w:2] + a[1:h:2, 1:w:2]
    return ((s + 2) // 4).astype(np.uint8)


def _write_tiff(path: Path, image: NDArray[np.uint8], levels: int, **options: Any) -> Path:
    """A generic tiled TIFF: level 0 then reduced-resolution pages (NewSubfileType 1)."""
    with tifffile.TiffWriter(path) as tif:
        current = image
        for level in range(levels):
            tif.write(
                current,
                tile=(128, 128),
                subfiletype=1 if level else 0,
                metadata=None,
                **options,
            )
            current = _halve(current)
    return path


GENERIC: dict[str, dict[str, Any]] = {
    "jpeg-rgb": {"photometric": "rgb", "compression": "jpeg", "compressionargs": {"level": 80}},
    "jpeg-ycbcr": {
        "photometric": "ycbcr",
        "compression": "jpeg",
        "compressionargs": {"level": 80},
        "subsampling": (2, 2),
    },
    "lzw": {"photometric": "rgb", "compression": "lzw"},
    "deflate-predictor": {"photometric": "rgb", "compression": "zlib", "predictor": True},
    "uncompressed": {"photometric": "rgb"},
}


@pytest.mark.parametrize("layout", sorted(GENERIC))
def test_generic_tiff_layouts(tmp_path: Path, texture: NDArray[np.uint8], layout: str) -> None:
    """1001 x 703 px: levels 500 x 351 and 250 x 175 have downsamples 2.0014..., 4.0..."""
    path = _write_tiff(tmp_path / f"{layout}.tiff", texture, 3, **GENERIC[layout])
    with open_slide(path) as slide:
        assert slide.backend == "tifffile"  # chosen automatically: it is exact
        assert slide.level_count == 3
    _assert_same_pixels(path, ("openslide", "tifffile"))


@pytest.mark.parametrize("layout", ["lzw", "uncompressed", "deflate-predictor"])
def test_pillow_reads_level0_of_lossless_tiffs_the_same(
    tmp_path: Path, texture: NDArray[np.uint8], layout: str
) -> None:
    """The third backend agrees too where it can read the file (a one-level tiled TIFF)."""
    path = _write_tiff(tmp_path / f"{layout}.tiff", texture, 1, **GENERIC[layout])
    _assert_same_pixels(path, ("openslide", "tifffile", "pillow"))


@pytest.mark.parametrize("kind", ["svs", "tiff"])
def test_make_slide_layouts(tmp_path: Path, kind: Literal["svs", "tiff"]) -> None:
    """Odd size: level downsamples are 2.0007... and 4.003..., not whole numbers."""
    path = make_slide(tmp_path / f"a.{kind}", 2301, 1503, kind=kind, cells=[(700, 700)])
    with open_slide(path) as slide:
        assert slide.backend == "tifffile"
    _assert_same_pixels(path, ("openslide", "tifffile"))


@pytest.mark.skipif(not CMU.is_file(), reason=f"real Aperio slide not found at {CMU}")
def test_real_aperio_file() -> None:
    """A scanner-written SVS: 240 px tiles, RGB JPEG with shared JPEGTables, 1 level."""
    with open_slide(CMU) as slide:
        assert slide.backend == "tifffile"
        assert slide.vendor == "aperio"
        assert slide.dimensions == (2220, 2967)
        assert slide.associated_images == ("label", "macro", "thumbnail")
    _assert_same_pixels(CMU, ("openslide", "tifffile"), n=60)


def test_metadata_is_openslides(slide_cases_paths: tuple[Path, ...]) -> None:
    for path in slide_cases_paths:
        with open_slide(path, backend="openslide") as ref, open_slide(path) as fast:
            assert fast.backend == "tifffile"
            assert dict(fast.properties) == dict(ref.properties)
            assert fast.mpp == ref.mpp
            assert fast.vendor == ref.vendor
            assert fast.associated_images == ref.associated_images


@pytest.fixture
def slide_cases_paths(slide_cases: dict[str, Any]) -> tuple[Path, ...]:
    return tuple(slide_cases[n].path for n in ("svs", "tiff"))


# --- OME-TIFF: levels OpenSlide does not see ---------------------------------------------


def test_pyramidal_ome_tiff_has_all_levels(tmp_path: Path, texture: NDArray[np.uint8]) -> None:
    """tifffile's documented way of writing a pyramid: sub-resolutions in SubIFDs."""
    path = tmp_path / "pyramid.ome.tif"
    options: dict[str, Any] = {"tile": (128, 128), "photometric": "rgb", "compression": "jpeg"}
    with tifffile.TiffWriter(path, ome=True) as tif:
        tif.write(
            texture, subifds=2, metadata={"PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5}, **options
        )
        level1 = _halve(texture)
        tif.write(level1, subfiletype=1, **options)
        tif.write(_halve(level1), subfiletype=1, **options)
    with open_slide(path, backend="openslide") as ref:
        assert ref.level_count == 1  # OpenSlide reads only the first resolution
    with open_slide(path) as slide:
        assert isinstance(slide, TiffSlideSource)
        assert slide.layout == "ome-tiff"
        assert slide.level_dimensions == ((1001, 703), (500, 351), (250, 175))
        assert slide.level_downsamples[1] == pytest.approx((1001 / 500 + 703 / 351) / 2)
        assert slide.properties["openslide.level-count"] == "3"
        # each level equals tifffile's own decode of that SubIFD, padded with white
        with tifffile.TiffFile(path) as tif:
            levels = [lv.asarray() for lv in tif.series[0].levels]
        for level, want in enumerate(levels):
            h, w = want.shape[:2]
            got = slide.read_region(0, 0, w + 7, h + 5, level)
            assert np.array_equal(got[:h, :w], want)
            assert (got[h:] == 255).all()
            assert (got[:, w:] == 255).all()
        assert slide.best_level_for_downsample(4.5) == 2
    # level 0 is OpenSlide's
    _assert_same_pixels(path, ("openslide", "tifffile"))


# --- choosing and forcing ----------------------------------------------------------------


def test_layouts_it_cannot_follow_go_to_openslide(
    tmp_path: Path, texture: NDArray[np.uint8]
) -> None:
    """16-bit samples: not a layout the backend claims, so OpenSlide reads the file."""
    path = tmp_path / "wide.tiff"
    with tifffile.TiffWriter(path) as tif:
        tif.write(
            texture.astype(np.uint16) * 257, tile=(128, 128), photometric="rgb", metadata=None
        )
    with open_slide(path) as slide:
        assert slide.backend == "openslide"
    with pytest.raises(UnsupportedSlideError, match="not 8-bit RGB") as info:
        open_slide(path, backend="tifffile")
    assert info.value.tried[0].startswith("tifffile:")


def test_forced_backends(slide_cases: dict[str, Any]) -> None:
    svs, png = slide_cases["svs"].path, slide_cases["png"].path
    assert open_slide(svs, backend="openslide").backend == "openslide"
    assert open_slide(svs, backend="tifffile").backend == "tifffile"
    assert open_slide(png, backend="pillow").backend == "pillow"
    with pytest.raises(UnsupportedSlideError, match="OpenSlide"):
        open_slide(png, backend="tifffile")
    with pytest.raises(UnsupportedSlideError, match="OpenSlide does not recognise"):
        open_slide(png, backend="openslide")
    with pytest.raises(ParameterError, match="backend must be one of auto, openslide"):
        open_slide(svs, backend="libvips")


def test_dicom_folder_without_dcm_files_is_explained(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedSlideError, match=r"folder without \.dcm files"):
        open_slide(tmp_path)
