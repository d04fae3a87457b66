"""The Streamlit app's pure logic (wsi2rek.app.logic), without Streamlit."""

from __future__ import annotations

import csv
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from tests.hypothesis_profiles import examples
from wsi2rek.app import logic as app_logic
from wsi2rek.app.logic import (
    MAX_REGION_SIZE,
    AppConfig,
    AppConfigError,
    ModelArnError,
    SlideFolderError,
    UploadError,
    clamp_region,
    decode_image,
    detection_rows,
    detections_csv,
    detections_geojson,
    draw_detections,
    draw_region,
    filter_detections,
    label_position,
    list_slides,
    model_image_problem,
    summary_text,
    translate_detections,
    validate_model_arn,
)
from wsi2rek.detection import Detection
from wsi2rek.geometry import Box
from wsi2rek.inference import label_color, read_detections

ARN = (
    "arn:aws:rekognition:eu-west-1:123456789012:project/mitosis/version/mitosis.2024/1700000000000"
)


def encode(array: np.ndarray, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **params)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares ``width x height`` but which holds almost no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def det(label: str, confidence: float, left: float, top: float, size: float = 10.0) -> Detection:
    return Detection(label, confidence, Box(left, top, left + size, top + size))


# --- decode_image -----------------------------------------------------------------------


@examples(25)
@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.integers(0, 2**32 - 1),
)
def test_png_round_trips_exactly(width: int, height: int, seed: int) -> None:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    decoded = decode_image(encode(pixels, "PNG"), "x.png")
    assert decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded, pixels)


def test_jpeg_decodes_to_rgb_of_the_same_size() -> None:
    pixels = np.full((30, 50, 3), 200, dtype=np.uint8)
    decoded = decode_image(encode(pixels, "JPEG", quality=95), "x.jpg")
    assert decoded.shape == (30, 50, 3)
    assert abs(int(decoded.mean()) - 200) <= 2


def test_rgba_and_grayscale_become_rgb() -> None:
    rgba = np.zeros((8, 9, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 255
    assert decode_image(encode(rgba, "PNG"), "a.png").shape == (8, 9, 3)
    gray = np.full((8, 9), 77, dtype=np.uint8)
    decoded = decode_image(encode(gray, "PNG"), "g.png")
    assert decoded.shape == (8, 9, 3)
    assert (decoded == 77).all()


def test_jpeg_exif_orientation_is_applied() -> None:
    pixels = np.zeros((10, 30, 3), dtype=np.uint8)  # landscape
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", exif=exif)
    assert decode_image(buffer.getvalue(), "phone.jpg").shape == (30, 10, 3)


def test_empty_upload_is_refused() -> None:
    with pytest.raises(UploadError, match=r"empty\.png is empty") as info:
        decode_image(b"", "empty.png")
    assert info.value.name == "empty.png"


def test_file_over_the_byte_limit_is_refused_before_decoding() -> None:
    data = encode(np.zeros((64, 64, 3), dtype=np.uint8), "PNG")
    with pytest.raises(UploadError, match=r"big\.png is .* KB; the limit is .* KB\. Upload"):
        decode_image(data, "big.png", max_bytes=len(data) - 1)
    with pytest.raises(UploadError, match=r"big\.png is 3\.0 MB; the limit is 2\.0 MB"):
        decode_image(b"\0" * 3 * 1024 * 1024, "big.png", max_bytes=2 * 1024 * 1024)


@pytest.mark.parametrize(
    ("fmt", "expected"), [("GIF", "a GIF image"), ("BMP", "a BMP image"), ("TIFF", "a TIFF image")]
)
def test_other_image_formats_are_named_and_refused(fmt: str, expected: str) -> None:
    data = encode(np.zeros((8, 8, 3), dtype=np.uint8), fmt)
    with pytest.raises(UploadError, match=rf"scan\.x is {expected}; the app accepts PNG or JPEG"):
        decode_image(data, "scan.x")


def test_a_text_file_is_not_an_image() -> None:
    with pytest.raises(UploadError, match=r"notes\.png is not an image"):
        decode_image(b"hello, this is text", "notes.png")


def test_image_over_the_pixel_limit_is_refused_before_its_pixels_are_decoded() -> None:
    # 100 megapixels declared, a few bytes of data: decoding would fail as truncated, so
    # the 'megapixels' message proves the size check ran first. It is also above Pillow's
    # warning threshold, which must not leak out as a warning (pytest turns them into errors).
    data = png_header_only(10_000, 10_000)
    assert len(data) < 200
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(UploadError, match=r"10000 x 10000 px \(100\.0 megapixels\); the limit"):
        decode_image(data, "bomb.png")
    assert before == Image.MAX_IMAGE_PIXELS


def test_pillow_scale_decompression_bomb_is_refused_with_our_message() -> None:
    with pytest.raises(UploadError, match=r"huge\.png declares an image too large"):
        decode_image(png_header_only(30_000, 30_000), "huge.png")


def test_custom_pixel_limit() -> None:
    data = encode(np.zeros((40, 40, 3), dtype=np.uint8), "PNG")
    assert decode_image(data, "ok.png", max_pixels=1600).shape == (40, 40, 3)
    with pytest.raises(UploadError, match="megapixels"):
        decode_image(data, "ok.png", max_pixels=1599)


def test_truncated_png_says_it_cannot_be_decoded() -> None:
    data = encode(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8), "PNG")
    with pytest.raises(UploadError, match=r"cut\.png is a PNG image whose pixels cannot be"):
        decode_image(data[: len(data) // 2], "cut.png")


# --- model ARN --------------------------------------------------------------------------


def test_valid_model_arn_is_returned_stripped() -> None:
    assert validate_model_arn(f"  {ARN}\n") == ARN


def test_empty_arn_says_where_to_put_one() -> None:
    with pytest.raises(ModelArnError, match=r"no model ARN given.*WSI2REK_MODEL_ARN.*demo"):
        validate_model_arn("   ")


def test_project_arn_is_recognised_as_such() -> None:
    project = "arn:aws:rekognition:eu-west-1:123456789012:project/mitosis/1700000000000"
    with pytest.raises(ModelArnError, match="is a project ARN, not a model version ARN") as info:
        validate_model_arn(project)
    assert info.value.arn == project


@pytest.mark.parametrize(
    "arn",
    [
        "not-an-arn",
        ARN.replace("123456789012", "1234"),
        ARN.replace("rekognition", "s3"),
        ARN + "/extra",
        ARN.replace("mitosis.2024", "bad name"),
    ],
)
def test_malformed_arns_are_refused_locally(arn: str) -> None:
    with pytest.raises(ModelArnError, match="is not a Rekognition Custom Labels model version"):
        validate_model_arn(arn)


def test_model_image_size_limits() -> None:
    assert model_image_problem(64, 64) is None
    assert model_image_problem(4096, 4096) is None
    assert "at least 64 x 64" in (model_image_problem(63, 500) or "")
    assert "at most 4096 x 4096" in (model_image_problem(4097, 100) or "")
    assert "detect-slide" in (model_image_problem(100, 5000) or "")


# --- filtering, table, exports ----------------------------------------------------------

detections_strategy = st.lists(
    st.builds(
        det,
        st.sampled_from(["mitotic figure", "look-alike"]),
        st.floats(0, 100),
        st.floats(0, 1000),
        st.floats(0, 1000),
    ),
    max_size=20,
)


@examples(50)
@given(detections_strategy, st.floats(0, 100), st.floats(0, 100))
def test_filter_keeps_exactly_those_at_or_above_the_threshold(
    detections: list[Detection], low: float, high: float
) -> None:
    low, high = sorted((low, high))
    kept = filter_detections(detections, low)
    assert sorted(kept, key=id) == sorted((d for d in detections if d.confidence >= low), key=id)
    assert [d.confidence for d in kept] == sorted((d.confidence for d in kept), reverse=True)
    assert set(map(id, filter_detections(detections, high))) <= set(map(id, kept))


def test_translate_moves_boxes_and_keeps_the_rest() -> None:
    moved = translate_detections([det("a", 90, 1, 2)], 100, 200)
    assert moved == (Detection("a", 90, Box(101, 202, 111, 212)),)


def test_summary_text_counts_and_hidden() -> None:
    assert summary_text(1, 1, 50) == "1 detection with confidence ≥ 50%"
    assert (
        summary_text(3, 5, 42.5)
        == "3 detections with confidence ≥ 42.5% (2 below the threshold hidden)"
    )


def test_rows_have_the_table_columns() -> None:
    rows = detection_rows([det("mitotic figure", 97.123, 10.04, 20, size=24.96)])
    assert rows == [
        {
            "label": "mitotic figure",
            "confidence": 97.12,
            "left": 10.0,
            "top": 20.0,
            "width": 25.0,
            "height": 25.0,
        }
    ]


def test_csv_has_the_cli_columns_and_reads_back_with_the_library(tmp_path: Path) -> None:
    dets = [det("mitotic figure", 97.5, 10, 20), det("look, alike", 55, 0, 0, size=5)]
    data = detections_csv(dets)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert [r["label"] for r in rows] == ["mitotic figure", "look, alike"]
    assert list(rows[0])[:2] == ["label", "confidence"]
    assert {"left", "top", "width", "height"} <= set(rows[0])
    path = tmp_path / "download.csv"
    path.write_bytes(data)
    assert sorted(read_detections(path), key=lambda d: d.label) == sorted(
        dets, key=lambda d: d.label
    )


def test_empty_csv_has_a_header_only() -> None:
    assert detections_csv([]).decode("utf-8").count("\n") == 1


def test_geojson_is_a_qupath_feature_collection(tmp_path: Path) -> None:
    dets = [det("mitotic figure", 88, 10, 20)]
    data = detections_geojson(dets)
    collection = json.loads(data)
    assert collection["type"] == "FeatureCollection"
    (feature,) = collection["features"]
    ring = feature["geometry"]["coordinates"][0]
    assert feature["geometry"]["type"] == "Polygon"
    assert ring[0] == ring[-1] == [10, 20]
    assert [10 + 10, 20 + 10] in ring
    props = feature["properties"]
    assert props["objectType"] == "detection"
    assert props["classification"] == {
        "name": "mitotic figure",
        "color": list(label_color("mitotic figure")),
    }
    assert props["measurements"] == {"confidence": 88.0}
    path = tmp_path / "download.geojson"
    path.write_bytes(data)
    assert list(read_detections(path)) == dets


# --- drawing ----------------------------------------------------------------------------


def test_draw_outlines_each_box_in_its_label_colour_on_a_copy() -> None:
    image = np.full((200, 300, 3), 255, dtype=np.uint8)
    original = image.copy()
    drawn = np.asarray(draw_detections(image, [det("mitotic figure", 90, 100, 100, size=50)]))
    np.testing.assert_array_equal(image, original)
    assert drawn.shape == image.shape
    colour = label_color("mitotic figure")
    assert tuple(drawn[125, 100]) == colour  # left edge, middle
    assert tuple(drawn[150, 125]) == colour  # bottom edge, middle
    assert tuple(drawn[125, 125]) == (255, 255, 255)  # inside stays untouched
    # The label sits just above the box.
    assert (drawn[70:100, 100:200] != 255).any()


def test_draw_label_stays_inside_for_a_box_at_the_top_edge() -> None:
    image = np.full((100, 100, 3), 255, dtype=np.uint8)
    drawn = draw_detections(Image.fromarray(image), [det("a", 50, 90, 0, size=10)])
    assert drawn.size == (100, 100)
    assert (np.asarray(drawn)[0:12, 60:100] != 255).any()


def test_draw_nothing_changes_no_pixel() -> None:
    image = np.random.default_rng(1).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(draw_detections(image, [])), image)


def test_draw_region_outlines_the_scaled_region() -> None:
    thumb = Image.new("RGB", (100, 50), "white")
    out = np.asarray(draw_region(thumb, Box(400, 200, 600, 400), (1000, 500)))
    assert (out[20:40, 40] != 255).any()  # left edge at x = 40
    assert (out[25, 45] == 255).all()  # inside untouched
    assert thumb.getpixel((40, 25)) == (255, 255, 255)


# --- slide mode -------------------------------------------------------------------------


@examples(60)
@given(
    st.integers(-10_000, 100_000),
    st.integers(-10_000, 100_000),
    st.integers(-5, 10_000),
    st.integers(1, 50_000),
    st.integers(1, 50_000),
)
def test_clamped_region_is_square_and_on_the_slide(
    x: int, y: int, size: int, width: int, height: int
) -> None:
    region = clamp_region(x, y, size, (width, height))
    assert region.width == region.height
    assert 1 <= region.width <= min(MAX_REGION_SIZE, width, height)
    assert Box(0, 0, width, height).contains(region)
    if 1 <= size <= min(MAX_REGION_SIZE, width, height):
        assert region.width == size
        if 0 <= x <= width - size and 0 <= y <= height - size:
            assert (region.left, region.top) == (x, y)


def test_list_slides_filters_by_suffix_and_sorts(tmp_path: Path) -> None:
    for name in ("b.svs", "A.tiff", "notes.txt", "c.NDPI", "d.png"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "folder.svs").mkdir()
    assert [p.name for p in list_slides(tmp_path)] == ["A.tiff", "b.svs", "c.NDPI", "d.png"]


def test_list_slides_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(SlideFolderError, match=r"WSI2REK_SLIDES_DIR.*does not exist") as info:
        list_slides(tmp_path / "nope")
    assert info.value.path == tmp_path / "nope"
    assert isinstance(info.value, FileNotFoundError)


# --- configuration ----------------------------------------------------------------------


def test_config_defaults_from_an_empty_environment() -> None:
    config = AppConfig.from_env({})
    assert config == AppConfig()
    assert config.slides_dir is None
    assert config.max_upload_mb == 20


def test_config_reads_every_variable(tmp_path: Path) -> None:
    config = AppConfig.from_env(
        {
            "WSI2REK_MODEL_ARN": f" {ARN} ",
            "WSI2REK_SLIDES_DIR": str(tmp_path),
            "WSI2REK_APP_MAX_UPLOAD_MB": "5",
            "WSI2REK_APP_MAX_MEGAPIXELS": "2.5",
        }
    )
    assert config.model_arn == ARN
    assert config.slides_dir == tmp_path
    assert config.max_upload_bytes == 5 * 1024 * 1024
    assert config.max_pixels == 2_500_000


@pytest.mark.parametrize("value", ["0", "-3", "lots", "nan", "inf"])
def test_config_refuses_bad_limits(value: str) -> None:
    with pytest.raises(AppConfigError, match=rf"WSI2REK_APP_MAX_UPLOAD_MB .* found '{value}'"):
        AppConfig.from_env({"WSI2REK_APP_MAX_UPLOAD_MB": value})


# --- sample image -----------------------------------------------------------------------


def test_sample_png_is_an_accepted_upload_with_dark_cells(tmp_path: Path) -> None:
    image = decode_image(app_logic.sample_png(tmp_path), "sample.png")
    assert image.shape == (480, 640, 3)
    for cell in app_logic.sample_cells():
        assert image[int(cell.y), int(cell.x)].max() <= 100
    assert np.percentile(image.min(axis=2), 5) > 100  # the texture is light


# --- label placement --------------------------------------------------------------------


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_a_label_for_a_cell_at_the_top_edge_goes_below_its_box_not_over_the_cell() -> None:
    # The issue: a box touching the image's top edge got its label inside, over the cell.
    x, y = label_position((100, 0, 140, 40), (60, 16), (400, 300), line_width=2)
    assert y >= 40
    assert not _overlap((x, y, x + 60, y + 16), (100, 0, 140, 40))


def test_a_label_goes_above_its_box_when_there_is_room() -> None:
    assert label_position((100, 50, 140, 90), (60, 16), (400, 300), line_width=2) == (100, 32)


def test_a_label_near_the_right_edge_is_shifted_left_to_stay_visible() -> None:
    x, _ = label_position((380, 50, 400, 70), (60, 16), (400, 300))
    assert x == 340


@examples(200)
@given(
    corner=st.tuples(st.integers(0, 399), st.integers(0, 299)),
    size=st.tuples(st.integers(1, 200), st.integers(1, 200)),
    label=st.tuples(st.integers(1, 120), st.integers(1, 30)),
    line=st.integers(0, 4),
)
def test_labels_stay_inside_the_image_and_off_the_box_when_room_allows(
    corner: tuple[int, int], size: tuple[int, int], label: tuple[int, int], line: int
) -> None:
    canvas = (400, 300)
    (left, top), (label_w, label_h) = corner, label
    right, bottom = min(left + size[0], 400), min(top + size[1], 300)
    x, y = label_position((left, top, right, bottom), (label_w, label_h), canvas, line)
    assert y >= 0
    if label_w <= canvas[0]:
        assert x >= 0
        assert x + label_w <= canvas[0]
    room = top - line - label_h >= 0 or bottom + line + 1 + label_h <= canvas[1]
    if room:
        assert not _overlap((x, y, x + label_w, y + label_h), (left, top, right, bottom))


def test_drawn_label_leaves_the_cell_at_the_top_edge_untouched() -> None:
    # Pixels inside the box (below its outline) keep the image's colour.
    image = np.full((200, 300, 3), 255, np.uint8)
    box = Box(100, 0, 140, 40)
    drawn = np.asarray(draw_detections(image, [Detection("mitotic figure", 90.0, box)]))
    assert (drawn[5:35, 105:135] == 255).all()
