"""Image encoding: lossless PNG with the Up filter, JPEG quality, RGB only."""

from __future__ import annotations

import io
import zlib

import imagecodecs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from tests.hypothesis_profiles import examples
from wsi2rek.dataset import ImageOptions, encode_patch
from wsi2rek.dataset._encode import encode_png


@examples(40)
@given(
    hnp.arrays(
        np.uint8,
        st.tuples(st.integers(1, 40), st.integers(1, 40), st.just(3)),
    ),
    st.integers(0, 9),
)
def test_png_is_lossless_rgb(pixels: np.ndarray, level: int) -> None:
    data = encode_png(pixels, level)
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "PNG"
        assert im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im), pixels)


def test_png_bytes_are_deterministic_and_smaller_than_raw() -> None:
    ramp = np.add.outer(np.arange(256), np.arange(256)) // 2
    smooth = np.stack([ramp, ramp // 2, 255 - ramp], axis=-1).astype(np.uint8)
    a = encode_patch(smooth, ImageOptions("png"))
    assert a == encode_patch(smooth.copy(), ImageOptions("png"))
    assert len(a) < smooth.nbytes / 2


def test_higher_png_level_is_not_larger() -> None:
    rng = np.random.default_rng(1)
    pixels = np.repeat(rng.integers(0, 255, (128, 1, 3), dtype=np.uint8), 128, axis=1)
    assert len(encode_png(pixels, 9)) <= len(encode_png(pixels, 1)) <= len(encode_png(pixels, 0))


def test_jpeg_is_rgb_and_quality_changes_size() -> None:
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 255, (128, 128, 3), dtype=np.uint8)
    low = encode_patch(pixels, ImageOptions("jpeg", quality=20))
    high = encode_patch(pixels, ImageOptions("jpeg", quality=95))
    assert low[:3] == b"\xff\xd8\xff"
    assert len(low) < len(high)
    with Image.open(io.BytesIO(high)) as im:
        assert im.mode == "RGB"


@pytest.mark.parametrize(
    "pixels",
    [
        np.zeros((8, 8, 4), np.uint8),
        np.zeros((8, 8), np.uint8),
        np.zeros((8, 8, 3), np.float32),
    ],
    ids=["rgba", "grey", "float"],
)
def test_only_rgb_uint8_is_encoded(pixels: np.ndarray) -> None:
    with pytest.raises(ValueError, match="RGB uint8"):
        encode_patch(pixels, ImageOptions())


def test_options_validate_and_name_extensions() -> None:
    assert ImageOptions("JPG").image_format == "jpeg"
    assert ImageOptions("jpeg").extension == "jpg"
    assert ImageOptions().extension == "png"
    assert ImageOptions("png").to_dict() == {"image_format": "png", "png_compress_level": 1}
    with pytest.raises(ValueError, match="png' or 'jpeg"):
        ImageOptions("tiff")
    with pytest.raises(ValueError, match="quality"):
        ImageOptions("jpeg", quality=0)
    with pytest.raises(ValueError, match="compress level"):
        ImageOptions("png", png_compress_level=10)


def _tissue_patch() -> np.ndarray:
    """A 256 px patch of the synthetic H&E texture (what real builds encode)."""
    from wsi2rek.testing._slides import _scene

    scene = _scene(256, 256, seed=3, cells=[(128, 128)], cell_radius=12.0, tissue="full")
    return scene.render(0, 0, 256, 256)


@pytest.mark.parametrize("level", [0, 1, 3, 6, 9])
def test_png_decodes_the_same_with_pillow_and_libpng(level: int) -> None:
    """Two independent decoders (Pillow's and libpng through imagecodecs) read our PNGs."""
    pixels = _tissue_patch()
    data = encode_png(pixels, level)
    assert data == encode_png(pixels.copy(), level)  # deterministic
    with Image.open(io.BytesIO(data)) as im:
        im.verify()  # chunk CRCs and structure
    with Image.open(io.BytesIO(data)) as im:
        np.testing.assert_array_equal(np.asarray(im), pixels)
    np.testing.assert_array_equal(imagecodecs.png_decode(data), pixels)


def test_png_deflate_is_isal_sized_like_zlib_level_1() -> None:
    """ISA-L at level 1 must not cost size: within 5 % of zlib's level 1 on tissue."""
    pixels = _tissue_patch()
    ours = len(encode_png(pixels, 1))
    flat = pixels.reshape(256, -1)
    rows = np.concatenate([np.full((256, 1), 2, np.uint8), flat - np.roll(flat, 1, axis=0)], 1)
    rows[0, 1:] = flat[0]
    assert ours <= 1.05 * len(zlib.compress(rows.tobytes(), 1))


@pytest.mark.parametrize("quality", [50, 90, 95])
def test_jpeg_bytes_equal_pillows(quality: int) -> None:
    """libjpeg-turbo via imagecodecs, with Pillow's defaults: the very same file."""
    pixels = _tissue_patch()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    assert encode_patch(pixels, ImageOptions("jpeg", quality=quality)) == buffer.getvalue()
