"""The Streamlit app's behaviour, run in-process with ``streamlit.testing.v1.AppTest``."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from wsi2rek.app import SCRIPT
from wsi2rek.geometry import Point
from wsi2rek.testing import make_image

APP = SCRIPT
ARN = "arn:aws:rekognition:eu-west-1:123456789012:project/mitosis/version/v1/1700000000000"
CELLS = [Point(60, 60), Point(200, 80), Point(330, 200), Point(100, 220)]


@pytest.fixture(autouse=True)
def clean_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No configuration leaks in from the environment, and no cache between tests."""
    for name in (
        "WSI2REK_MODEL_ARN",
        "WSI2REK_SLIDES_DIR",
        "WSI2REK_APP_MAX_UPLOAD_MB",
        "WSI2REK_APP_MAX_MEGAPIXELS",
    ):
        monkeypatch.delenv(name, raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def run_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def cells_png(tmp_path: Path, cells: list[Point] = CELLS) -> bytes:
    return make_image(tmp_path / "cells.png", 400, 300, cells=cells, seed=3).read_bytes()


def metric_value(at: AppTest) -> int:
    (metric,) = at.metric
    return int(metric.value)


def test_first_page_uses_the_offline_demo_detector_and_asks_for_an_image() -> None:
    at = run_app()
    assert at.sidebar.radio(key="detector").value == "Offline demo detector"
    assert at.sidebar.slider(key="min_confidence").value == 50
    assert not at.error
    assert "Upload a PNG or JPEG image" in at.info[0].value
    assert not at.metric
    # Slide mode is hidden without a slide folder, and the sidebar says how to enable it.
    assert "WSI2REK_SLIDES_DIR" in at.sidebar.caption[0].value


def test_uploaded_image_gets_one_detection_per_painted_cell(tmp_path: Path) -> None:
    at = run_app()
    at.file_uploader(key="upload").set_value(("cells.png", cells_png(tmp_path), "image/png"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert metric_value(at) == len(CELLS)
    table = at.dataframe[0].value
    assert list(table.columns) == ["label", "confidence", "left", "top", "width", "height"]
    assert len(table) == len(CELLS)
    centres = sorted(
        (round(r.left + r.width / 2), round(r.top + r.height / 2)) for r in table.itertuples()
    )
    expected = sorted((round(c.x), round(c.y)) for c in CELLS)
    assert all(
        abs(a - c) <= 3 and abs(b - d) <= 3
        for (a, b), (c, d) in zip(centres, expected, strict=True)
    )
    labels = [b.label for b in at.download_button]
    assert labels == ["Download CSV", "Download GeoJSON"]


def test_slider_filters_without_running_the_detector_again(tmp_path: Path) -> None:
    """The slider separates cells from look-alikes (the blob detector scores them lower)."""
    lookalikes = [Point(150, 150), Point(300, 60)]
    image = make_image(tmp_path / "cells.png", 400, 300, cells=CELLS, lookalikes=lookalikes)
    at = run_app()
    at.file_uploader(key="upload").set_value(("cells.png", image.read_bytes(), "image/png"))
    at.sidebar.slider(key="min_confidence").set_value(0).run()
    everything = metric_value(at)
    assert everything == len(CELLS) + len(lookalikes)
    at.sidebar.slider(key="min_confidence").set_value(80).run()
    assert not at.exception
    strict = metric_value(at)
    assert strict == len(CELLS)
    assert f"({everything - strict} below the threshold hidden)" in at.markdown[0].value


def test_sample_image_checkbox_runs_the_whole_flow() -> None:
    at = run_app()
    at.checkbox(key="sample").check().run()
    assert not at.exception, [e.value for e in at.exception]
    assert metric_value(at) == 6
    assert len(at.image) == 1


def test_a_gif_upload_gets_a_clear_message_and_no_results() -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(buffer, format="GIF")
    at = run_app()
    at.file_uploader(key="upload").set_value(("cat.gif", buffer.getvalue(), "image/gif"))
    at.run()
    assert not at.exception
    assert "cat.gif is a GIF image; the app accepts PNG or JPEG" in at.error[0].value
    assert not at.metric


def test_an_image_over_the_pixel_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WSI2REK_APP_MAX_MEGAPIXELS", "0.1")  # 400 x 300 = 0.12 MP
    at = run_app()
    at.file_uploader(key="upload").set_value(("cells.png", cells_png(tmp_path), "image/png"))
    at.run()
    assert "400 x 300 px (0.1 megapixels); the limit is 0.1 megapixels" in at.error[0].value
    assert not at.metric


def test_a_malformed_model_arn_is_refused_before_any_aws_call() -> None:
    at = run_app()
    at.sidebar.radio(key="detector").set_value("Custom Labels model").run()
    assert not at.exception
    assert not at.error
    assert "Paste a model version ARN in the sidebar" in at.info[0].value
    at.sidebar.text_input(key="arn").input("arn:aws:rekognition:eu-west-1:1:project/x").run()
    assert not at.exception
    assert "is not a Rekognition Custom Labels model version ARN" in at.error[0].value
    assert not at.file_uploader  # the run stopped before the image section


def test_the_model_arn_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSI2REK_MODEL_ARN", ARN)
    # No image is given, so no call is made; should one happen, it fails locally.
    monkeypatch.setenv("AWS_ENDPOINT_URL_REKOGNITION", "http://127.0.0.1:9")
    at = run_app()
    at.sidebar.radio(key="detector").set_value("Custom Labels model").run()
    assert at.sidebar.text_input(key="arn").value == ARN


def test_a_bad_limit_in_the_environment_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSI2REK_APP_MAX_UPLOAD_MB", "many")
    at = run_app()
    assert "WSI2REK_APP_MAX_UPLOAD_MB must be a positive number, found 'many'" in at.error[0].value


def test_slide_mode_detects_in_the_chosen_region_in_level0_coordinates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wsi2rek.testing import make_slide

    inside = [Point(1100, 700), Point(1400, 900)]
    outside = [Point(200, 200), Point(1900, 300)]
    slides = tmp_path / "slides"
    slides.mkdir()
    make_slide(slides / "case 1.svs", 2048, 1536, cells=inside + outside, tissue="full", seed=1)
    (slides / "readme.txt").write_text("not a slide")
    monkeypatch.setenv("WSI2REK_SLIDES_DIR", str(slides))

    at = run_app()
    at.sidebar.radio(key="source").set_value("Region of a slide").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.sidebar.selectbox(key="slide").options == ["case 1.svs"]
    at.sidebar.number_input(key="size").set_value(1024)
    at.sidebar.number_input(key="x").set_value(1000)
    at.sidebar.number_input(key="y").set_value(512).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert metric_value(at) == len(inside)
    table = at.dataframe[0].value
    centres = sorted(
        (round(r.left + r.width / 2), round(r.top + r.height / 2)) for r in table.itertuples()
    )
    assert all(
        abs(a - c.x) <= 3 and abs(b - c.y) <= 3
        for (a, b), c in zip(centres, sorted(inside, key=lambda p: (p.x, p.y)), strict=True)
    )
    assert any("level-0 slide pixels" in c.value for c in at.caption)


def test_slide_mode_with_a_missing_folder_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WSI2REK_SLIDES_DIR", str(tmp_path / "gone"))
    at = run_app()
    at.sidebar.radio(key="source").set_value("Region of a slide").run()
    assert not at.exception
    assert "does not exist or is not a folder" in at.error[0].value


def test_a_jpeg_upload_works_too(tmp_path: Path) -> None:
    path = make_image(tmp_path / "cells.jpg", 400, 300, cells=CELLS, seed=3)
    at = run_app()
    at.file_uploader(key="upload").set_value(("cells.jpg", path.read_bytes(), "image/jpeg"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert metric_value(at) == len(CELLS)


def test_an_upload_over_the_size_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WSI2REK_APP_MAX_UPLOAD_MB", "0.01")  # about 10 KB
    at = run_app()
    at.file_uploader(key="upload").set_value(("cells.png", cells_png(tmp_path), "image/png"))
    at.run()
    assert not at.exception
    assert "the limit is 10.2 KB" in at.error[0].value
    assert not at.metric


def test_changing_the_size_keeps_the_chosen_corner_and_switching_slides_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wsi2rek.testing import make_slide

    slides = tmp_path / "slides"
    slides.mkdir()
    make_slide(slides / "a.svs", 3000, 2500, cells=[(2800, 2300)], tissue="full", seed=2)
    make_slide(slides / "b.svs", 1200, 900, cells=[(600, 450)], tissue="full", seed=3)
    monkeypatch.setenv("WSI2REK_SLIDES_DIR", str(slides))
    at = run_app()
    at.sidebar.radio(key="source").set_value("Region of a slide").run()
    at.sidebar.number_input(key="x").set_value(2500)
    at.sidebar.number_input(key="y").set_value(2000).run()
    at.sidebar.number_input(key="size").set_value(512).run()
    assert (at.sidebar.number_input(key="x").value, at.sidebar.number_input(key="y").value) == (
        2500,
        2000,
    )
    assert metric_value(at) == 1  # region 2488..3000 x 1988..2500 after clamping
    # A smaller slide: the region inputs start over inside it, without an error.
    at.sidebar.selectbox(key="slide").set_value(slides / "b.svs").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert metric_value(at) == 1
