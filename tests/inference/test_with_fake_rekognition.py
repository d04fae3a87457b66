"""detect_slide with a real CustomLabelsModel, over real boto3, against the fake server.

The fake Rekognition server (``wsi2rek.testing.fake_rekognition``) binds 127.0.0.1 and
answers DetectCustomLabels with canned labels, so this exercises the path a real model
takes: encoding each tile, the HTTP call, normalised boxes back to tile pixels, then
mapping to level-0 pixels, throttling retries and the TPS limit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import botocore.config
import pytest

from wsi2rek.aws import CustomLabelsModel
from wsi2rek.geometry import Point
from wsi2rek.inference import detect_slide, detector_id
from wsi2rek.testing.fake_rekognition import FakeRekognitionServer


@pytest.fixture
def running_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[CustomLabelsModel, FakeRekognitionServer]]:
    # Never pick up real credentials or profiles from the machine running the tests.
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }.items():
        monkeypatch.setenv(name, value)
    with FakeRekognitionServer(training_seconds=0.0, starting_seconds=0.0) as fake:
        client = boto3.session.Session(region_name="us-east-1").client(
            "rekognition",
            endpoint_url=fake.endpoint_url,
            config=botocore.config.Config(
                retries={"mode": "standard", "total_max_attempts": 4},
                connect_timeout=5,
                read_timeout=5,
            ),
        )
        project = client.create_project(ProjectName="cells")["ProjectArn"]
        version = client.create_project_version(
            ProjectArn=project,
            VersionName="v1",
            OutputConfig={"S3Bucket": "bkt", "S3KeyPrefix": "out"},
            TrainingData={
                "Assets": [{"GroundTruthManifest": {"S3Object": {"Bucket": "bkt", "Name": "m"}}}]
            },
            TestingData={"AutoCreate": True},
        )["ProjectVersionArn"]
        time.sleep(0.05)
        client.describe_project_versions(ProjectArn=project)  # lets the fake finish training
        client.start_project_version(ProjectVersionArn=version, MinInferenceUnits=1)
        client.describe_project_versions(ProjectArn=project)
        fake.set_detections(
            [
                {
                    "Name": "mitotic figure",
                    "Confidence": 91.5,
                    "Geometry": {
                        "BoundingBox": {"Left": 0.25, "Top": 0.5, "Width": 0.05, "Height": 0.05}
                    },
                }
            ]
        )
        yield CustomLabelsModel(version, client=client), fake


def test_a_custom_labels_model_runs_over_a_slide(
    running_model: tuple[CustomLabelsModel, FakeRekognitionServer], cell_slide: Path
) -> None:
    model, fake = running_model
    fake.throttle("DetectCustomLabels", 1)  # retried by botocore, invisible to the caller
    result = detect_slide(
        cell_slide, model, tile_size=512, overlap=64, tissue_only=False, workers=3, max_tps=50
    )
    assert result.tiles_run == 20
    assert fake.calls("DetectCustomLabels") == 20 + 1
    assert len(result) == 20  # one canned box per tile, at distinct slide positions
    centres = {(round(d.box.center.x), round(d.box.center.y)) for d in result.detections}
    # Tile (0, 0) is 512 px: its box centre is at (0.275 * 512, 0.525 * 512).
    assert (141, 269) in centres
    assert all(d.label == "mitotic figure" and d.confidence == 91.5 for d in result.detections)
    first = min(result.detections, key=lambda d: (d.box.top, d.box.left))
    assert first.box.center.distance(Point(140.8, 268.8)) < 1.0


def test_the_cache_identity_of_a_model_is_its_arn(
    running_model: tuple[CustomLabelsModel, FakeRekognitionServer],
) -> None:
    model, _ = running_model
    assert detector_id(model) == f"CustomLabelsModel:{model.arn}"
