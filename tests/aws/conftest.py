"""Fixtures for the AWS layer: a moto S3 server and the fake Rekognition server, on 127.0.0.1."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import botocore.config
import numpy as np
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image

from wsi2rek.testing.fake_rekognition import FakeRekognitionServer

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient
    from mypy_boto3_s3 import S3Client

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def _dummy_credentials(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if request.node.get_closest_marker("aws") is not None:
        return  # the opt-in real-AWS tier uses the machine's real configuration
    # Never pick up real credentials or profiles from the machine running the tests.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_endpoint(moto_server: str) -> Iterator[str]:
    yield moto_server
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


@pytest.fixture(scope="session")
def s3_session_client(moto_server: str) -> S3Client:
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    ).client(
        "s3",
        endpoint_url=moto_server,
        config=botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 2}),
    )


@pytest.fixture
def s3(s3_endpoint: str, s3_session_client: S3Client) -> S3Client:
    """An S3 client on the (reset after the test) moto server.

    Shared by the session: a test that registers event handlers must unregister them.
    """
    return s3_session_client


@pytest.fixture
def bucket(s3: S3Client) -> str:
    s3.create_bucket(Bucket="wsi2rek-test")
    return "wsi2rek-test"


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeRekognitionServer]:
    with FakeRekognitionServer() as server:
        yield server


@pytest.fixture
def fake(fake_server: FakeRekognitionServer) -> Iterator[FakeRekognitionServer]:
    """The session's fake server, reset, with short durations."""
    fake_server.reset()
    fake_server.training_seconds = 0.1
    fake_server.starting_seconds = 0.05
    fake_server.stopping_seconds = 0.05
    fake_server.dataset_seconds = 0.05
    fake_server.copying_seconds = 0.05
    fake_server.f1_score = 0.8
    yield fake_server
    fake_server.reset()


@pytest.fixture(scope="session")
def rek_session(fake_server: FakeRekognitionServer) -> RekognitionClient:
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    ).client(
        "rekognition",
        endpoint_url=fake_server.endpoint_url,
        config=botocore.config.Config(
            retries={"mode": "standard", "total_max_attempts": 4},
            connect_timeout=5,
            read_timeout=5,
        ),
    )


@pytest.fixture
def rek(rek_session: RekognitionClient, fake: FakeRekognitionServer) -> RekognitionClient:
    """A Rekognition client (standard retries, 4 attempts) talking to the reset fake."""
    return rek_session


def _line(ref: str) -> str:
    return json.dumps(
        {
            "source-ref": ref,
            "bounding-box": {
                "image_size": [{"width": 64, "height": 64, "depth": 3}],
                "annotations": [{"class_id": 0, "left": 1, "top": 2, "width": 10, "height": 10}],
            },
            "bounding-box-metadata": {
                "objects": [{"confidence": 1}],
                "class-map": {"0": "mitotic figure"},
                "type": "groundtruth/object-detection",
                "human-annotated": "yes",
                "creation-date": "2000-01-01T00:00:00.000000",
                "job-name": "wsi2rek",
            },
        }
    )


@pytest.fixture
def dataset_dir(tmp_path: Path) -> Path:
    """A small dataset folder as the builder writes it: 3 train + 2 test PNGs."""
    root = tmp_path / "ds"
    rng = np.random.default_rng(0)
    for split, count in (("train", 3), ("test", 2)):
        folder = root / "images" / split
        folder.mkdir(parents=True)
        refs = []
        for i in range(count):
            pixels = rng.integers(0, 255, size=(64, 64, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{split}_{i}.png")
            refs.append(f"images/{split}/{split}_{i}.png")
        (root / f"{split}.manifest").write_text("".join(_line(r) + "\n" for r in refs))
    return root
