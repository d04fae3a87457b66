"""Exact request shapes with botocore's Stubber (responses validated against the service model)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import boto3
import numpy as np
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from wsi2rek.aws import CustomLabelsModel, CustomLabelsProject
from wsi2rek.errors import ParameterError

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient
    from mypy_boto3_s3 import S3Client

PROJECT = "arn:aws:rekognition:us-east-1:123456789012:project/mitosis/1700000000000"
ARN = "arn:aws:rekognition:us-east-1:123456789012:project/mitosis/version/v1/1700000000001"


@pytest.fixture(scope="module")
def _session() -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    )


@pytest.fixture(scope="module")
def _rek_client(_session: boto3.session.Session) -> RekognitionClient:
    return _session.client("rekognition")


@pytest.fixture(scope="module")
def _s3_client(_session: boto3.session.Session) -> S3Client:
    return _session.client("s3")


@pytest.fixture
def offline_rek(_rek_client: RekognitionClient) -> Iterator[tuple[RekognitionClient, Stubber]]:
    """A Rekognition client whose calls are answered by a fresh Stubber (no network)."""
    with Stubber(_rek_client) as stub:
        yield _rek_client, stub
        stub.assert_no_pending_responses()


@pytest.fixture
def offline_s3(_s3_client: S3Client) -> Iterator[tuple[S3Client, Stubber]]:
    with Stubber(_s3_client) as stub:
        yield _s3_client, stub
        stub.assert_no_pending_responses()


def _version(status: str, **extra: object) -> dict[str, object]:
    return {"ProjectVersionDescriptions": [{"ProjectVersionArn": ARN, "Status": status, **extra}]}


def test_start_sends_units_and_polls_to_running(
    offline_rek: tuple[RekognitionClient, Stubber],
) -> None:
    client, stub = offline_rek
    stub.add_response(
        "start_project_version",
        {"Status": "STARTING"},
        {"ProjectVersionArn": ARN, "MinInferenceUnits": 2, "MaxInferenceUnits": 4},
    )
    describe = {"ProjectArn": PROJECT, "VersionNames": ["v1"]}
    stub.add_response("describe_project_versions", _version("STARTING"), describe)
    stub.add_response("describe_project_versions", _version("RUNNING"), describe)
    model = CustomLabelsModel(ARN, client=client, project_arn=PROJECT, poll_interval=0)
    assert model.start(2, 4) == "RUNNING"


def test_stop_polls_until_stopped(offline_rek: tuple[RekognitionClient, Stubber]) -> None:
    client, stub = offline_rek
    stub.add_response("stop_project_version", {"Status": "STOPPING"}, {"ProjectVersionArn": ARN})
    for status in ("STOPPING", "STOPPING", "STOPPED"):
        stub.add_response("describe_project_versions", _version(status), None)
    model = CustomLabelsModel(ARN, client=client, project_arn=PROJECT, poll_interval=0)
    assert model.stop() == "STOPPED"


def test_project_arn_is_looked_up_by_name(offline_rek: tuple[RekognitionClient, Stubber]) -> None:
    client, stub = offline_rek
    stub.add_response(
        "describe_projects",
        {"ProjectDescriptions": [{"ProjectArn": PROJECT}]},
        {"ProjectNames": ["mitosis"]},
    )
    stub.add_response(
        "describe_project_versions",
        _version("TRAINING_COMPLETED"),
        {"ProjectArn": PROJECT, "VersionNames": ["v1"]},
    )
    assert CustomLabelsModel(ARN, client=client).fetch_status() == "TRAINING_COMPLETED"


def test_dataset_then_train_request_shapes(offline_rek: tuple[RekognitionClient, Stubber]) -> None:
    client, stub = offline_rek
    dataset = "arn:aws:rekognition:us-east-1:123456789012:project/mitosis/dataset/train/1"
    stub.add_response(
        "create_dataset",
        {"DatasetArn": dataset},
        {
            "ProjectArn": PROJECT,
            "DatasetType": "TRAIN",
            "DatasetSource": {
                "GroundTruthManifest": {
                    "S3Object": {"Bucket": "bkt", "Name": "ds/train.s3.manifest"}
                }
            },
        },
    )
    stub.add_response(
        "describe_dataset",
        {"DatasetDescription": {"Status": "CREATE_COMPLETE", "StatusMessageCode": "SUCCESS"}},
        {"DatasetArn": dataset},
    )
    stub.add_response(
        "create_project_version",
        {"ProjectVersionArn": ARN},
        {
            "ProjectArn": PROJECT,
            "VersionName": "v1",
            "OutputConfig": {"S3Bucket": "bkt", "S3KeyPrefix": "out/run1"},
            "Tags": {"team": "path"},
        },
    )
    project = CustomLabelsProject(PROJECT, "mitosis", client=client, poll_interval=0)
    assert project.create_datasets("s3://bkt/ds/train.s3.manifest") == {"TRAIN": dataset}
    model = project.train("v1", "s3://bkt/out/run1", wait=False, tags={"team": "path"})
    assert model.arn == ARN


def test_detect_request_shape(offline_rek: tuple[RekognitionClient, Stubber]) -> None:
    client, stub = offline_rek
    stub.add_response(
        "detect_custom_labels",
        {
            "CustomLabels": [
                {
                    "Name": "mitotic figure",
                    "Confidence": 88.0,
                    "Geometry": {
                        "BoundingBox": {"Left": 0.5, "Top": 0.5, "Width": 0.25, "Height": 0.25}
                    },
                },
                {"Name": "whole image", "Confidence": 70.0},
            ]
        },
        {
            "ProjectVersionArn": ARN,
            "Image": {"Bytes": ANY},
            "MinConfidence": 40.0,
            "MaxResults": 10,
        },
    )
    model = CustomLabelsModel(ARN, client=client, project_arn=PROJECT)
    found = model.detect(np.zeros((80, 40, 3), dtype=np.uint8), min_confidence=40, max_results=10)
    assert len(found) == 1  # the label without a box is counted and logged, not returned
    assert (found[0].box.left, found[0].box.top, found[0].box.right, found[0].box.bottom) == (
        20,
        40,
        30,
        60,
    )


def test_evaluation_reads_summary_object(
    offline_rek: tuple[RekognitionClient, Stubber], offline_s3: tuple[S3Client, Stubber]
) -> None:
    client, stub = offline_rek
    s3, s3_stub = offline_s3
    stub.add_response(
        "describe_project_versions",
        _version(
            "TRAINING_COMPLETED",
            EvaluationResult={
                "F1Score": 0.5,
                "Summary": {"S3Object": {"Bucket": "bkt", "Name": "out/EvaluationSummary.json"}},
            },
        ),
        None,
    )
    body = json.dumps({"LabelEvaluationResults": [{"Label": "a", "Metrics": {"Threshold": 0.3}}]})
    s3_stub.add_response(
        "get_object",
        {"Body": StreamingBody(io.BytesIO(body.encode()), len(body))},
        {"Bucket": "bkt", "Key": "out/EvaluationSummary.json"},
    )
    model = CustomLabelsModel(ARN, client=client, s3_client=s3, project_arn=PROJECT)
    evaluation = model.evaluation()
    assert evaluation.f1 == 0.5
    assert evaluation.label("a").threshold == 0.3
    with pytest.raises(ParameterError, match="labels: a"):
        evaluation.label("b")


def test_copy_request_shape(offline_rek: tuple[RekognitionClient, Stubber]) -> None:
    client, stub = offline_rek
    dest = "arn:aws:rekognition:us-east-1:123456789012:project/other/1700000000009"
    copy_arn = "arn:aws:rekognition:us-east-1:123456789012:project/other/version/c/1700000000010"
    stub.add_response(
        "copy_project_version",
        {"ProjectVersionArn": copy_arn},
        {
            "SourceProjectArn": PROJECT,
            "SourceProjectVersionArn": ARN,
            "DestinationProjectArn": dest,
            "VersionName": "c",
            "OutputConfig": {"S3Bucket": "bkt", "S3KeyPrefix": "copies"},
        },
    )
    model = CustomLabelsModel(ARN, client=client, project_arn=PROJECT)
    copy = model.copy_to(dest, "c", "s3://bkt/copies", wait=False, timeout=timedelta(seconds=1))
    assert copy.arn == copy_arn
    assert copy.project_name == "other"


def test_status_is_fetched_only_when_asked(offline_rek: tuple[RekognitionClient, Stubber]) -> None:
    """``last_status`` reads no network; each ``fetch_status()`` is one Describe call.

    The Stubber fails any call it was not given a response for, so reading
    ``last_status`` before the first fetch proves no request is made.
    """
    client, stub = offline_rek
    model = CustomLabelsModel(ARN, client=client, project_arn=PROJECT)
    assert (model.last_status, model.last_status_message) == (None, None)
    describe = {"ProjectArn": PROJECT, "VersionNames": ["v1"]}
    stub.add_response("describe_project_versions", _version("STARTING"), describe)
    stub.add_response(
        "describe_project_versions",
        _version("FAILED", StatusMessage="not enough capacity"),
        describe,
    )
    assert model.fetch_status() == "STARTING"
    assert model.last_status == "STARTING"
    assert model.fetch_status() == "FAILED"
    assert (model.last_status, model.last_status_message) == ("FAILED", "not enough capacity")
    stub.assert_no_pending_responses()
