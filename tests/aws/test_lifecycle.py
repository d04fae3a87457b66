"""Project and model lifecycle through real boto3 against the fake Rekognition server."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING

import boto3
import botocore.config
import numpy as np
import pytest

from wsi2rek.aws import CustomLabelsModel, CustomLabelsProject, TrainingFailedError
from wsi2rek.detection import Detector
from wsi2rek.errors import AwsError, AwsTimeoutError
from wsi2rek.testing.fake_rekognition import FakeRekognitionServer

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient
    from mypy_boto3_s3 import S3Client

POLL = 0.02


def _project(rek: RekognitionClient, s3: S3Client | None = None) -> CustomLabelsProject:
    return CustomLabelsProject.get_or_create(
        "mitosis", client=rek, s3_client=s3, poll_interval=POLL
    )


def _trained(rek: RekognitionClient, s3: S3Client | None = None) -> CustomLabelsModel:
    project = _project(rek, s3)
    project.create_datasets("s3://bkt/ds/train.s3.manifest", "s3://bkt/ds/test.s3.manifest")
    return project.train("v1", "s3://bkt/out/", timeout=timedelta(seconds=10))


def test_get_or_create_creates_once(rek: RekognitionClient, fake: FakeRekognitionServer) -> None:
    first = CustomLabelsProject.get_or_create("p", client=rek)
    second = CustomLabelsProject.get_or_create("p", client=rek)
    assert first.arn == second.arn
    assert fake.calls("CreateProject") == 1


def test_get_missing_project_is_an_error(rek: RekognitionClient) -> None:
    with pytest.raises(AwsError) as info:
        CustomLabelsProject.get("nope", client=rek)
    assert info.value.code == "ResourceNotFoundException"
    assert "nope" in str(info.value)


def test_create_taken_name_is_an_error(rek: RekognitionClient) -> None:
    CustomLabelsProject.create("p", client=rek)
    with pytest.raises(AwsError) as info:
        CustomLabelsProject.create("p", client=rek)
    assert (info.value.operation, info.value.code) == ("CreateProject", "ResourceInUseException")


def test_datasets_are_waited_for(rek: RekognitionClient, fake: FakeRekognitionServer) -> None:
    project = _project(rek)
    arns = project.create_datasets("s3://bkt/ds/train.s3.manifest", "s3://bkt/ds/test.s3.manifest")
    assert set(arns) == {"TRAIN", "TEST"}
    assert {d["Status"] for d in project.datasets().values()} == {"CREATE_COMPLETE"}
    assert fake.calls("DescribeDataset") >= 2
    create = [r.params for r in fake.requests if r.operation == "CreateDataset"]
    assert create[0]["DatasetSource"] == {
        "GroundTruthManifest": {"S3Object": {"Bucket": "bkt", "Name": "ds/train.s3.manifest"}}
    }


def test_failed_dataset_surfaces_message_and_entry_errors(
    rek: RekognitionClient, fake: FakeRekognitionServer
) -> None:
    entry = json.dumps(
        {
            "source-ref": "s3://bkt/ds/images/train/a.png",
            "bounding-box-metadata": {
                "errors": [{"code": "ERROR_INVALID_BOUNDING_BOX", "message": "box off frame"}]
            },
        }
    )
    fake.fail_next_dataset("too many invalid lines", "CLIENT_ERROR", [entry])
    with pytest.raises(TrainingFailedError) as info:
        _project(rek).create_datasets("s3://bkt/ds/train.s3.manifest")
    message = str(info.value)
    assert "CREATE_FAILED" in message
    assert "too many invalid lines [CLIENT_ERROR]" in message
    assert "ERROR_INVALID_BOUNDING_BOX (s3://bkt/ds/images/train/a.png): box off frame" in message
    assert info.value.entry_errors[0].code == "ERROR_INVALID_BOUNDING_BOX"


def test_distribute_creates_an_empty_test_set_and_splits(
    rek: RekognitionClient, fake: FakeRekognitionServer
) -> None:
    arns = _project(rek).create_datasets("s3://bkt/ds/train.s3.manifest", distribute=True)
    assert set(arns) == {"TRAIN", "TEST"}
    assert fake.calls("DistributeDatasetEntries") == 1
    test_create = [r.params for r in fake.requests if r.operation == "CreateDataset"][1]
    assert "DatasetSource" not in test_create


def test_train_waits_until_completed(
    rek: RekognitionClient, fake: FakeRekognitionServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Long enough that the first poll sees TRAINING_IN_PROGRESS even on a loaded machine.
    fake.training_seconds = 1.0
    with caplog.at_level(logging.INFO, logger="wsi2rek.aws"):
        model = _trained(rek)
    assert model.fetch_status() == "TRAINING_COMPLETED"
    assert model.version_name == "v1"
    changes = [r.getMessage() for r in caplog.records if r.getMessage().startswith("training ")]
    assert any("TRAINING_IN_PROGRESS" in m for m in changes)
    assert any("TRAINING_COMPLETED" in m for m in changes)


def test_train_no_wait_returns_at_once(rek: RekognitionClient) -> None:
    project = _project(rek)
    project.create_datasets("s3://bkt/ds/train.s3.manifest")
    model = project.train("v1", "s3://bkt/out", wait=False)
    assert model.fetch_status() == "TRAINING_IN_PROGRESS"
    assert [m.arn for m in project.models()] == [model.arn]
    assert project.model("v1").arn == model.arn


def test_training_deadline(rek: RekognitionClient, fake: FakeRekognitionServer) -> None:
    fake.training_seconds = 30
    project = _project(rek)
    project.create_datasets("s3://bkt/ds/train.s3.manifest")
    started = time.monotonic()
    with pytest.raises(AwsTimeoutError) as info:
        project.train("v1", "s3://bkt/out", timeout=timedelta(seconds=0.3))
    assert time.monotonic() - started < 5
    assert info.value.status == "TRAINING_IN_PROGRESS"
    assert isinstance(info.value, TimeoutError)


def test_training_failure_carries_message_and_validation_errors(
    rek: RekognitionClient, fake: FakeRekognitionServer, s3: S3Client, bucket: str
) -> None:
    lines = [
        {
            "source-ref": "s3://bkt/x.png",
            "errors": [{"code": "ERROR_INVALID_IMAGE", "message": "bad"}],
        },
        {"source-ref": "s3://bkt/y.png"},
    ]
    s3.put_object(
        Bucket=bucket,
        Key="out/validation.manifest",
        Body="\n".join(json.dumps(line) for line in lines).encode(),
    )
    fake.fail_next_training(
        "The manifest has errors.",
        validation_manifest={"Bucket": bucket, "Name": "out/validation.manifest"},
    )
    project = _project(rek, s3)
    project.create_datasets("s3://bkt/ds/train.s3.manifest")
    with pytest.raises(TrainingFailedError) as info:
        project.train("v1", f"s3://{bucket}/out", timeout=timedelta(seconds=10))
    assert info.value.code == "TRAINING_FAILED"
    assert "The manifest has errors." in str(info.value)
    assert "ERROR_INVALID_IMAGE (s3://bkt/x.png): bad" in str(info.value)


def test_asset_flow_for_projects_without_datasets(
    rek: RekognitionClient, fake: FakeRekognitionServer
) -> None:
    project = _project(rek)
    project.train(
        "v1",
        "s3://bkt/out",
        train_manifest="s3://bkt/ds/train.s3.manifest",
        timeout=timedelta(seconds=10),
    )
    params = next(r.params for r in fake.requests if r.operation == "CreateProjectVersion")
    assert params["TestingData"] == {"AutoCreate": True}
    assert params["TrainingData"]["Assets"][0]["GroundTruthManifest"]["S3Object"] == {
        "Bucket": "bkt",
        "Name": "ds/train.s3.manifest",
    }


def test_evaluation_reads_the_summary_from_s3(
    rek: RekognitionClient, s3: S3Client, bucket: str
) -> None:
    summary = {
        "AggregatedEvaluationResults": {
            "Metrics": {"F1Score": 0.7, "Precision": 0.75, "Recall": 0.66}
        },
        "EvaluationDetails": {"NumberOfTrainingImages": 40, "NumberOfTestingImages": 10},
        "LabelEvaluationResults": [
            {
                "Label": "mitotic figure",
                "NumberOfTestingImages": 10,
                "Metrics": {"F1Score": 0.7, "Precision": 0.75, "Recall": 0.66, "Threshold": 0.42},
            }
        ],
    }
    project = _project(rek, s3)
    project.create_datasets("s3://bkt/ds/train.s3.manifest")
    model = project.train("v1", f"s3://{bucket}/out", timeout=timedelta(seconds=10))
    s3.put_object(
        Bucket=bucket,
        Key="out/EvaluationSummary-mitosis-v1.json",
        Body=json.dumps(summary).encode(),
    )
    evaluation = model.evaluation()
    assert evaluation.f1 == pytest.approx(0.8)  # EvaluationResult.F1Score wins
    assert evaluation.summary_uri == f"s3://{bucket}/out/EvaluationSummary-mitosis-v1.json"
    metrics = evaluation.label("mitotic figure")
    assert metrics.threshold == pytest.approx(0.42)
    assert metrics.min_confidence == pytest.approx(42.0)
    assert (evaluation.training_images, evaluation.testing_images) == (40, 10)


def test_evaluation_with_missing_summary_names_the_object(
    rek: RekognitionClient, s3: S3Client, bucket: str
) -> None:
    project = _project(rek, s3)
    project.create_datasets("s3://bkt/ds/train.s3.manifest")
    model = project.train("v1", f"s3://{bucket}/out", timeout=timedelta(seconds=10))
    with pytest.raises(AwsError) as info:
        model.evaluation()
    assert info.value.operation == "GetObject"
    assert info.value.resource == f"s3://{bucket}/out/EvaluationSummary-mitosis-v1.json"


def test_start_and_stop_wait_for_their_states(rek: RekognitionClient) -> None:
    model = _trained(rek)
    assert model.start(min_inference_units=1, max_inference_units=2) == "RUNNING"
    assert model.stop() == "STOPPED"
    assert model.fetch_status() == "STOPPED"


def test_model_found_from_its_arn_alone(rek: RekognitionClient) -> None:
    arn = _trained(rek).arn
    again = CustomLabelsModel(arn, client=rek)
    assert again.fetch_status() == "TRAINING_COMPLETED"
    assert again.project_name == "mitosis"


def test_bad_arn_is_refused() -> None:
    with pytest.raises(ValueError, match="model ARN"):
        CustomLabelsModel("arn:aws:rekognition:us-east-1:123456789012:project/p/1")


def test_running_stops_the_model_when_the_body_raises(
    rek: RekognitionClient, fake: FakeRekognitionServer
) -> None:
    model = _trained(rek)
    seen: list[str] = []

    def body() -> None:
        with model.running():
            seen.append(fake.version_status(model.arn))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        body()
    assert seen == ["RUNNING"]
    assert fake.version_status(model.arn) == "STOPPED"


def test_running_stops_on_keyboard_interrupt(
    rek: RekognitionClient, fake: FakeRekognitionServer
) -> None:
    model = _trained(rek)
    with pytest.raises(KeyboardInterrupt), model.running():
        raise KeyboardInterrupt
    assert fake.version_status(model.arn) == "STOPPED"


def test_running_leaves_an_already_running_model_running_and_warns(
    rek: RekognitionClient, fake: FakeRekognitionServer, caplog: pytest.LogCaptureFixture
) -> None:
    model = _trained(rek)
    model.start()
    with caplog.at_level(logging.WARNING, logger="wsi2rek.aws"), model.running():
        pass
    assert fake.version_status(model.arn) == "RUNNING"
    assert any(
        model.arn in r.getMessage() and "LEFT RUNNING" in r.getMessage() for r in caplog.records
    )
    assert fake.calls("StopProjectVersion") == 0


def test_detect_maps_normalised_boxes_to_pixels(
    rek: RekognitionClient, fake: FakeRekognitionServer
) -> None:
    fake.set_detections(
        [
            {
                "Name": "mitotic figure",
                "Confidence": 91.5,
                "Geometry": {
                    "BoundingBox": {"Left": 0.25, "Top": 0.5, "Width": 0.1, "Height": 0.2}
                },
            },
            {
                "Name": "look-alike",
                "Confidence": 30.0,
                "Geometry": {"BoundingBox": {"Left": 0.9, "Top": 0.9, "Width": 0.2, "Height": 0.2}},
            },
        ]
    )
    model = _trained(rek)
    image = np.zeros((100, 200, 3), dtype=np.uint8)
    with model.running():
        assert isinstance(model, Detector)
        found = model.detect(image)
        strong = model.detect(image, min_confidence=50, max_results=5)
    assert [d.label for d in found] == ["mitotic figure", "look-alike"]
    box = found[0].box
    assert (box.left, box.top, box.right, box.bottom) == pytest.approx((50, 50, 70, 70))
    assert found[1].box.right == 200  # clipped to the image
    assert found[0].confidence == pytest.approx(91.5)
    assert [d.label for d in strong] == ["mitotic figure"]
    sent = [r.params for r in fake.requests if r.operation == "DetectCustomLabels"]
    assert sent[1]["MinConfidence"] == 50
    assert sent[1]["MaxResults"] == 5
    assert sent[0]["Image"]["Bytes"].startswith(b"\x89PNG")


def test_detect_on_a_stopped_model_names_the_arn(rek: RekognitionClient) -> None:
    model = _trained(rek)
    with pytest.raises(AwsError) as info:
        model.detect(np.zeros((64, 64, 3), dtype=np.uint8))
    assert info.value.code == "ResourceNotReadyException"
    assert info.value.resource == model.arn
    assert model.arn in str(info.value)


def test_throttling_is_retried(rek: RekognitionClient, fake: FakeRekognitionServer) -> None:
    model = _trained(rek)
    model.start()
    fake.throttle("DetectCustomLabels", 2, code="ProvisionedThroughputExceededException")
    assert model.detect(np.zeros((64, 64, 3), dtype=np.uint8)) == []
    assert fake.calls("DetectCustomLabels") == 3


def test_throttling_beyond_the_retry_budget_is_an_error(
    fake: FakeRekognitionServer, rek: RekognitionClient
) -> None:
    model = _trained(rek)
    model.start()
    impatient = boto3.session.Session().client(
        "rekognition",
        endpoint_url=fake.endpoint_url,
        region_name="us-east-1",
        config=botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    fake.throttle("DetectCustomLabels", 1)
    with pytest.raises(AwsError) as info:
        CustomLabelsModel(model.arn, client=impatient).detect(np.zeros((64, 64, 3), dtype=np.uint8))
    assert info.value.code == "ThrottlingException"
    assert info.value.resource == model.arn


def test_dropped_connections_are_retried(
    rek: RekognitionClient, fake: FakeRekognitionServer
) -> None:
    model = _trained(rek)
    fake.drop_connections("DescribeProjectVersions", 2)
    assert model.fetch_status() == "TRAINING_COMPLETED"
    assert fake.calls("DescribeProjectVersions") >= 3


def test_copy_to_another_project(rek: RekognitionClient) -> None:
    model = _trained(rek)
    target = CustomLabelsProject.create("target", client=rek, poll_interval=POLL)
    copy = model.copy_to(target.arn, "copied", "s3://bkt/copy", timeout=timedelta(seconds=10))
    assert copy.fetch_status() == "COPYING_COMPLETED"
    assert "project/target/version/copied/" in copy.arn


def test_delete_model_and_project(rek: RekognitionClient, fake: FakeRekognitionServer) -> None:
    project = _project(rek)
    project.create_datasets("s3://bkt/ds/train.s3.manifest")
    project.train("v1", "s3://bkt/out", timeout=timedelta(seconds=10))
    with pytest.raises(AwsError) as info:
        project.delete()
    assert info.value.code == "ResourceInUseException"
    project.delete(delete_models=True)
    assert fake.calls("DeleteDataset") == 1
    with pytest.raises(AwsError):
        CustomLabelsProject.get("mitosis", client=rek)
