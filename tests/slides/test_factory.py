"""wsi2rek.testing.make_slide / make_image: structure, determinism and the painted cells."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import openslide
import pytest
import tifffile
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from PIL import Image

from wsi2rek.geometry import Point
from wsi2rek.testing import make_image, make_slide

GLASS = (244, 243, 246)


def _pixels(path: Path) -> NDArray[np.uint8]:
    with Image.open(path) as img:
        return np.array(img.convert("RGB"))


def test_svs_is_aperio_with_mpp_and_thumbnail(tmp_path: Path) -> None:
    path = make_slide(tmp_path / "a.svs", 2100, 1300, mpp=0.5, kind="svs")
    with openslide.OpenSlide(path) as slide:
        assert slide.properties["openslide.vendor"] == "aperio"
        assert float(slide.properties["openslide.mpp-x"]) == pytest.approx(0.5)
        assert float(slide.properties["openslide.mpp-y"]) == pytest.approx(0.5)
        assert slide.properties["openslide.objective-power"] == "20"
        assert slide.level_dimensions == ((2100, 1300), (1050, 650), (525, 325))
        assert "thumbnail" in slide.associated_images
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        assert isinstance(page, tifffile.TiffPage)
        desc = page.description
        assert desc.startswith("Aperio Image Library")
        assert "|MPP = 0.5|" in desc


def test_generic_tiff_has_cm_resolution_and_reduced_levels(tmp_path: Path) -> None:
    path = make_slide(tmp_path / "a.tiff", 4100, 1000, mpp=0.25, kind="tiff", tile=512)
    with openslide.OpenSlide(path) as slide:
        assert slide.properties["openslide.vendor"] == "generic-tiff"
        assert float(slide.properties["openslide.mpp-x"]) == pytest.approx(0.25)
        assert slide.level_dimensions[-1] == (512, 125)
        assert max(slide.level_dimensions[-2]) >= 1000
    with tifffile.TiffFile(path) as tif:
        pages = [p for p in tif.pages if isinstance(p, tifffile.TiffPage)]
        assert all(p.is_tiled and p.tilewidth == 512 for p in pages)
        assert [p.subfiletype for p in pages] == [0] + [1] * (len(pages) - 1)
        assert all(p.compression == tifffile.COMPRESSION.JPEG for p in pages)
        assert pages[0].tags["ResolutionUnit"].value == tifffile.RESUNIT.CENTIMETER


def test_same_seed_same_bytes_other_seed_other_pixels(tmp_path: Path) -> None:
    a = make_slide(tmp_path / "a.svs", 1500, 1100, seed=7, cells=[(100, 100)])
    b = make_slide(tmp_path / "b.svs", 1500, 1100, seed=7, cells=[(100, 100)])
    c = make_slide(tmp_path / "c.svs", 1500, 1100, seed=8, cells=[(100, 100)])
    assert a.read_bytes() == b.read_bytes()
    with openslide.OpenSlide(a) as sa, openslide.OpenSlide(c) as sc:
        pa = np.asarray(sa.read_region((0, 0), 1, (750, 550)))
        pc = np.asarray(sc.read_region((0, 0), 1, (750, 550)))
    assert not np.array_equal(pa, pc)


def test_points_and_tuples_paint_the_same(tmp_path: Path) -> None:
    a = make_image(tmp_path / "a.png", 200, 100, cells=[Point(50, 50), Point(150.5, 20)])
    b = make_image(tmp_path / "b.png", 200, 100, cells=[(50, 50), (150.5, 20)])
    np.testing.assert_array_equal(_pixels(a), _pixels(b))


# each example writes a file: no shrinking phase, a failure is reported as found
@settings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(
    cx=st.floats(-20, 140, allow_nan=False),
    cy=st.floats(-20, 100, allow_nan=False),
    radius=st.floats(1.0, 30.0),
    tissue=st.sampled_from(["full", "blobs"]),
)
def test_cell_is_exactly_the_disc_of_pixel_centres(
    cx: float, cy: float, radius: float, tissue: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = make_image(
            Path(tmp) / "c.png",
            128,
            96,
            cells=[(cx, cy)],
            cell_radius=radius,
            tissue="full" if tissue == "full" else "blobs",
        )
        pixels = _pixels(path)
    yy, xx = np.mgrid[0:96, 0:128] + 0.5
    disc = (xx - cx) ** 2 + (yy - cy) ** 2 <= radius**2
    dark = pixels.max(axis=2) <= 90
    np.testing.assert_array_equal(dark, disc)
    assert (pixels[~disc].min(axis=1) >= 150).all()  # texture and glass never dark


def test_jpeg_slide_texture_stays_light(tmp_path: Path) -> None:
    path = make_slide(tmp_path / "t.svs", 1024, 1024, tissue="full", seed=3, quality=70)
    with openslide.OpenSlide(path) as slide:
        level0 = np.asarray(slide.read_region((0, 0), 0, (1024, 1024)))[..., :3]
    assert level0.min() >= 130


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_blobs_cover_about_half_to_seventy_percent(tmp_path: Path, seed: int) -> None:
    pixels = _pixels(make_image(tmp_path / "b.png", 400, 300, seed=seed, tissue="blobs"))
    glass = (pixels == GLASS).all(axis=2)
    assert 0.45 <= 1.0 - glass.mean() <= 0.75


def test_full_tissue_has_no_glass(tmp_path: Path) -> None:
    pixels = _pixels(make_image(tmp_path / "f.png", 300, 200, tissue="full"))
    assert not (pixels == GLASS).all(axis=2).any()
    # H&E-like: pink/purple, red and blue above green
    mean = pixels.reshape(-1, 3).mean(axis=0)
    assert mean[0] > mean[1]
    assert mean[2] > mean[1]


def test_lower_levels_are_downsampled_level0(tmp_path: Path) -> None:
    path = make_slide(tmp_path / "d.tiff", 2048, 1024, kind="tiff", quality=100, tissue="full")
    with openslide.OpenSlide(path) as slide:
        l0 = np.asarray(slide.read_region((0, 0), 0, (2048, 1024)))[..., :3].astype(float)
        l1 = np.asarray(slide.read_region((0, 0), 1, (1024, 512)))[..., :3].astype(float)
    box = l0.reshape(512, 2, 1024, 2, 3).mean(axis=(1, 3))
    assert np.abs(box - l1).mean() < 3.0


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".jpeg", ".tif", ".tiff"])
def test_make_image_formats(tmp_path: Path, suffix: str) -> None:
    path = make_image(tmp_path / f"i{suffix}", 64, 48)
    with Image.open(path) as img:
        assert img.size == (64, 48)
        assert img.format == {".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF"}.get(suffix, "JPEG")


def test_make_image_tiff_resolution(tmp_path: Path) -> None:
    path = make_image(tmp_path / "r.tif", 64, 48, mpp=0.25)
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        assert isinstance(page, tifffile.TiffPage)
        assert not page.is_tiled
        assert page.tags["ResolutionUnit"].value == tifffile.RESUNIT.CENTIMETER
        num, den = page.tags["XResolution"].value
        assert num / den == pytest.approx(40_000, rel=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "ndpi"}, "kind"),
        ({"tile": 100}, "tile"),
        ({"quality": 0}, "quality"),
        ({"mpp": 0.0}, "mpp"),
        ({"mpp": float("nan")}, "mpp"),
        ({"tissue": "sparse"}, "tissue"),
        ({"cell_radius": 0}, "cell_radius"),
    ],
)
def test_make_slide_rejects_bad_options(
    tmp_path: Path, kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        make_slide(tmp_path / "x.svs", 500, 500, **kwargs)  # type: ignore[arg-type]  # bad on purpose
    assert not (tmp_path / "x.svs").exists()


@pytest.mark.parametrize(("width", "height"), [(0, 10), (10, -1)])
def test_make_slide_rejects_bad_sizes(tmp_path: Path, width: int, height: int) -> None:
    with pytest.raises(ValueError, match="width and height"):
        make_slide(tmp_path / "x.svs", width, height)


def test_make_image_rejects_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.bmp"):
        make_image(tmp_path / "x.bmp", 10, 10)


def test_small_slide_has_one_level(tmp_path: Path) -> None:
    path = make_slide(tmp_path / "s.svs", 900, 300)
    with openslide.OpenSlide(path) as slide:
        assert slide.level_dimensions == ((900, 300),)
        assert float(slide.properties["openslide.mpp-x"]) == pytest.approx(0.25)


def test_writes_atomically_and_overwrites(tmp_path: Path) -> None:
    make_slide(tmp_path / "a.svs", 600, 400, seed=1)
    make_image(tmp_path / "b.png", 60, 40)
    first = (tmp_path / "a.svs").read_bytes()
    make_slide(tmp_path / "a.svs", 600, 400, seed=2)
    assert (tmp_path / "a.svs").read_bytes() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.svs", "b.png"]  # no temp files


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from wsi2rek.testing import _slides

    def boom(_: object) -> None:
        raise RuntimeError("interrupted")

    # fails half-way through writing level 0 (when the first strip is downsampled)
    monkeypatch.setattr(_slides, "_downsample2", boom)
    with pytest.raises(RuntimeError, match="interrupted"):
        make_slide(tmp_path / "a.svs", 2000, 1500)
    assert list(tmp_path.iterdir()) == []
