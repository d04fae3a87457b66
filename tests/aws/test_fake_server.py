"""The fake Rekognition server itself: protocol, validation, controls."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

from wsi2rek.testing.fake_rekognition import FakeRekognitionServer

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient


def _raw_post(
    fake: FakeRekognitionServer, operation: str, body: object
) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(
        fake.endpoint_url,
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"RekognitionService.{operation}",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_invalid_body_is_a_validation_exception(fake: FakeRekognitionServer) -> None:
    status, body = _raw_post(fake, "CreateProject", {"ProjectNameTypo": "x"})
    assert status == 400
    assert body["__type"] == "ValidationException"
    assert "ProjectName" in body["message"]


def test_wrong_type_is_rejected(fake: FakeRekognitionServer) -> None:
    status, body = _raw_post(
        fake,
        "StartProjectVersion",
        {
            "ProjectVersionArn": "arn:aws:rekognition:us-east-1:1:project/p/version/v/1",
            "MinInferenceUnits": "one",
        },
    )
    assert status == 400
    assert body["__type"] == "ValidationException"
    assert "MinInferenceUnits" in body["message"]


def test_unknown_operation(fake: FakeRekognitionServer) -> None:
    status, body = _raw_post(fake, "DetectFaces", {})
    assert status == 400
    assert body["__type"] == "UnknownOperationException"


def test_client_with_validation_off_still_gets_validated(fake: FakeRekognitionServer) -> None:
    client = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    ).client(
        "rekognition",
        endpoint_url=fake.endpoint_url,
        config=botocore.config.Config(parameter_validation=False),
    )
    with pytest.raises(ClientError) as info:
        client.create_project(ProjectName="")
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_states_walk_and_requests_are_recorded(
    rek: RekognitionClient, fake: FakeRekognitionServer
) -> None:
    arn = rek.create_project(ProjectName="p")["ProjectArn"]
    assert fake.requests[0].operation == "CreateProject"
    assert fake.requests[0].params == {"ProjectName": "p"}
    with pytest.raises(ClientError) as info:
        rek.create_project_version(
            ProjectArn=arn, VersionName="v", OutputConfig={"S3Bucket": "bkt", "S3KeyPrefix": "o"}
        )
    assert info.value.response["Error"]["Code"] == "InvalidParameterException"


def test_detect_rejects_large_and_non_image_payloads(
    rek: RekognitionClient, fake: FakeRekognitionServer
) -> None:
    fake.training_seconds = 0
    arn = rek.create_project(ProjectName="p")["ProjectArn"]
    version = rek.create_project_version(
        ProjectArn=arn,
        VersionName="v",
        OutputConfig={"S3Bucket": "bkt", "S3KeyPrefix": "o"},
        TrainingData={
            "Assets": [{"GroundTruthManifest": {"S3Object": {"Bucket": "bkt", "Name": "m"}}}]
        },
        TestingData={"AutoCreate": True},
    )["ProjectVersionArn"]
    fake.starting_seconds = 0
    rek.start_project_version(ProjectVersionArn=version, MinInferenceUnits=1)
    with pytest.raises(ClientError) as info:
        rek.detect_custom_labels(ProjectVersionArn=version, Image={"Bytes": b"GIF89a" + b"0" * 10})
    assert info.value.response["Error"]["Code"] == "InvalidImageFormatException"
    with pytest.raises(ClientError) as info:
        rek.detect_custom_labels(
            ProjectVersionArn=version, Image={"Bytes": b"\xff\xd8\xff" + b"0" * (4 * 1024 * 1024)}
        )
    assert info.value.response["Error"]["Code"] == "ImageTooLargeException"


def test_not_started_is_an_error() -> None:
    server = FakeRekognitionServer()
    assert "stopped" in repr(server)
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.endpoint_url
