"""The app with a Custom Labels model, against wsi2rek's fake Rekognition server (no AWS).

The app builds its own boto3 client; boto3's standard ``AWS_ENDPOINT_URL_REKOGNITION``
variable points it at the fake on 127.0.0.1, with dummy credentials.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from wsi2rek.app import SCRIPT
from wsi2rek.testing import make_image
from wsi2rek.testing.fake_rekognition import FakeRekognitionServer

if TYPE_CHECKING:  # boto3-stubs are a development-only dependency
    from mypy_boto3_rekognition.type_defs import AssetTypeDef

APP = SCRIPT
REGION = "us-east-1"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeRekognitionServer]:
    with FakeRekognitionServer(training_seconds=0.05, starting_seconds=0.05) as server:
        for name in ("WSI2REK_MODEL_ARN", "WSI2REK_SLIDES_DIR", "AWS_PROFILE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_ENDPOINT_URL_REKOGNITION", server.endpoint_url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
        st.cache_data.clear()
        st.cache_resource.clear()
        yield server
        st.cache_data.clear()
        st.cache_resource.clear()


def trained_model(fake: FakeRekognitionServer, *, running: bool) -> str:
    """A model version on the fake, trained (and running when asked); returns its ARN."""
    client = boto3.client(
        "rekognition",
        endpoint_url=fake.endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    project = client.create_project(ProjectName="mitosis")["ProjectArn"]
    manifest: AssetTypeDef = {
        "GroundTruthManifest": {"S3Object": {"Bucket": "wsi2rek-data", "Name": "train.manifest"}}
    }
    arn = client.create_project_version(
        ProjectArn=project,
        VersionName="v1",
        OutputConfig={"S3Bucket": "wsi2rek-data", "S3KeyPrefix": "out"},
        TrainingData={"Assets": [manifest]},
        TestingData={"AutoCreate": True},
    )["ProjectVersionArn"]
    wait_for(fake, arn, "TRAINING_COMPLETED")
    if running:
        client.start_project_version(ProjectVersionArn=arn, MinInferenceUnits=1)
        wait_for(fake, arn, "RUNNING")
    return arn


def wait_for(fake: FakeRekognitionServer, arn: str, status: str) -> None:
    deadline = time.monotonic() + 10
    while fake.version_status(arn) != status:
        assert time.monotonic() < deadline, f"{arn} stuck in {fake.version_status(arn)}"
        time.sleep(0.02)


def label(confidence: float, left: float) -> dict[str, object]:
    box = {"Left": left, "Top": 0.25, "Width": 0.1, "Height": 0.125}
    return {"Name": "mitotic figure", "Confidence": confidence, "Geometry": {"BoundingBox": box}}


def app_with_model(arn: str, tmp_path: Path) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.sidebar.radio(key="detector").set_value("Custom Labels model").run()
    at.sidebar.text_input(key="arn").input(arn).run()
    image = make_image(tmp_path / "field.png", 400, 320, seed=5)
    at.file_uploader(key="upload").set_value(("field.png", image.read_bytes(), "image/png"))
    return at.run()


def test_model_detections_are_shown_and_the_slider_filters_without_new_calls(
    fake: FakeRekognitionServer, tmp_path: Path
) -> None:
    arn = trained_model(fake, running=True)
    fake.set_detections([label(97.0, 0.1), label(72.0, 0.5), label(31.0, 0.8)])
    at = app_with_model(arn, tmp_path)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert int(at.metric[0].value) == 2  # 97 and 72 at the default 50 %
    table = at.dataframe[0].value
    assert list(table["left"]) == [40.0, 200.0]  # normalised 0.1 and 0.5 of 400 px
    assert list(table["width"]) == [40.0, 40.0]
    detect_calls = [r for r in fake.requests if r.operation == "DetectCustomLabels"]
    assert len(detect_calls) == 1
    assert detect_calls[0].params["MinConfidence"] == 0.0  # everything once, filtered locally
    at.sidebar.slider(key="min_confidence").set_value(20).run()
    assert int(at.metric[0].value) == 3
    at.sidebar.slider(key="min_confidence").set_value(90).run()
    assert int(at.metric[0].value) == 1
    assert fake.calls("DetectCustomLabels") == 1


def test_a_model_that_is_not_running_is_an_error_message_not_a_traceback(
    fake: FakeRekognitionServer, tmp_path: Path
) -> None:
    arn = trained_model(fake, running=False)
    at = app_with_model(arn, tmp_path)
    assert not at.exception, [e.value for e in at.exception]
    (error,) = at.error
    assert "ResourceNotReady" in error.value
    assert arn in error.value
    assert not at.metric


def test_an_image_too_large_for_the_model_is_refused_before_the_call(
    fake: FakeRekognitionServer, tmp_path: Path
) -> None:
    arn = trained_model(fake, running=True)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.sidebar.radio(key="detector").set_value("Custom Labels model").run()
    at.sidebar.text_input(key="arn").input(arn).run()
    wide = make_image(tmp_path / "wide.png", 5000, 80, seed=1)
    at.file_uploader(key="upload").set_value(("wide.png", wide.read_bytes(), "image/png"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "at most 4096 x 4096 px" in at.error[0].value
    assert fake.calls("DetectCustomLabels") == 0
