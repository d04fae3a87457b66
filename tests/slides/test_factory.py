"""wsi2rek.testing.make_slide / make_image: structure, determinism and the painted cells."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import openslide
import pytest
import tifffile
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray
from PIL import Image

from tests.hypothesis_profiles import examples
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


@pytest.mark.slow
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


# each example writes a file: a small budget
@pytest.mark.slow
@examples(25)
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


LOOKALIKES = [(150.0, 120.0), (400.0, 260.0), (620.0, 140.0)]


def _dark_component(pixels: NDArray[np.uint8], x: float, y: float) -> NDArray[np.intp]:
    """(row, col) of the dark pixels (channel mean <= 110) within 30 px of ``(x, y)``."""
    window = pixels[int(y) - 30 : int(y) + 30, int(x) - 30 : int(x) + 30].astype(float)
    rows, cols = np.nonzero(window.mean(axis=2) <= 110)
    return np.stack([rows, cols], axis=1)


def test_lookalikes_are_paler_elongated_and_mottled(tmp_path: Path) -> None:
    """Look-alikes resemble the cells (dark enough for a ~110 threshold) but are not discs.

    Shape is measured independently of the detector: the eigenvalues of the pixel
    coordinates' covariance give the axis ratio (numpy.linalg.eigvalsh).
    """
    cells = [(300.0, 120.0)]
    path = make_image(tmp_path / "a.png", 800, 400, cells=cells, lookalikes=LOOKALIKES)
    pixels = _pixels(path)
    for x, y in LOOKALIKES:
        points = _dark_component(pixels, x, y)
        values = pixels[points[:, 0] + int(y) - 30, points[:, 1] + int(x) - 30].astype(float)
        assert 84 <= values.mean() <= 100  # paler than a cell (mean 66) ...
        assert values.mean(axis=1).std() > 2  # ... mottled, where a cell is flat
        minor, major = np.linalg.eigvalsh(np.cov(points.T.astype(float)))
        assert 0.4 <= np.sqrt(minor / major) <= 0.7
        assert 12 * 12 * 0.4 < len(points) < 15 * 15 * 0.7 * np.pi  # about a cell's size
    cell = _dark_component(pixels, *cells[0])
    minor, major = np.linalg.eigvalsh(np.cov(cell.T.astype(float)))
    assert np.sqrt(minor / major) > 0.95


def test_lookalikes_change_only_their_own_pixels(tmp_path: Path) -> None:
    plain = _pixels(make_image(tmp_path / "a.png", 800, 400, seed=4))
    painted = _pixels(make_image(tmp_path / "b.png", 800, 400, seed=4, lookalikes=LOOKALIKES))
    changed_rows, changed_cols = np.nonzero((plain != painted).any(axis=2))
    assert len(changed_rows) > 0
    for r, c in zip(changed_rows, changed_cols, strict=True):
        assert min(np.hypot(c + 0.5 - x, r + 0.5 - y) for x, y in LOOKALIKES) <= 15.5


def test_lookalikes_render_the_same_across_slide_tiles(tmp_path: Path) -> None:
    """A look-alike straddling tile and strip borders is painted as in the plain image.

    The slide is read back with OpenSlide; the dark pixels (channel mean <= 110) of each
    quarter around the centre match the lossless image's, up to JPEG's blur at the rim.
    """
    on_border = [(256.0, 256.0), (511.0, 100.0)]
    image = _pixels(make_image(tmp_path / "a.png", 768, 512, seed=2, lookalikes=on_border))
    slide_path = make_slide(
        tmp_path / "a.svs", 768, 512, seed=2, lookalikes=on_border, tissue="full", quality=100
    )
    with openslide.OpenSlide(slide_path) as slide:
        level0 = np.asarray(slide.read_region((0, 0), 0, (768, 512)).convert("RGB"))
    for x, y in on_border:
        cx, cy = int(x), int(y)
        for rows, cols in [
            (slice(cy - 20, cy), slice(cx - 20, cx)),
            (slice(cy - 20, cy), slice(cx, cx + 20)),
            (slice(cy, cy + 20), slice(cx - 20, cx)),
            (slice(cy, cy + 20), slice(cx, cx + 20)),
        ]:
            expected = int((image[rows, cols].mean(axis=2) <= 110).sum())
            got = int((level0[rows, cols].mean(axis=2) <= 110).sum())
            assert expected > 20
            assert abs(got - expected) <= 0.15 * expected


def test_lookalikes_are_deterministic_per_seed(tmp_path: Path) -> None:
    a = make_image(tmp_path / "a.png", 400, 300, seed=1, lookalikes=LOOKALIKES[:1])
    b = make_image(tmp_path / "b.png", 400, 300, seed=1, lookalikes=LOOKALIKES[:1])
    c = make_image(tmp_path / "c.png", 400, 300, seed=2, lookalikes=LOOKALIKES[:1])
    assert np.array_equal(_pixels(a), _pixels(b))
    near = (slice(100, 140), slice(130, 170))
    assert not np.array_equal(_pixels(a)[near], _pixels(c)[near])
