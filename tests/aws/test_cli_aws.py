"""The AWS subcommands, in-process, against moto (S3) and the fake Rekognition server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image

from wsi2rek.aws import CustomLabelsProject
from wsi2rek.cli import main
from wsi2rek.testing.fake_rekognition import FakeRekognitionServer

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient
    from mypy_boto3_s3 import S3Client


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_upload_json_then_rerun(
    capsys: pytest.CaptureFixture[str], s3_endpoint: str, bucket: str, dataset_dir: Path
) -> None:
    args = ["upload", str(dataset_dir), f"s3://{bucket}/cli", "--endpoint-url", s3_endpoint]
    code, out, _ = _run(capsys, *args, "--sse", "AES256", "--json")
    assert code == 0
    report = json.loads(out)
    assert (report["uploaded"], report["skipped"], report["failed"]) == (7, 0, 0)
    assert report["manifests"]["train"] == f"s3://{bucket}/cli/train.s3.manifest"
    code, out, _ = _run(capsys, *args)
    assert code == 0
    assert "uploaded 0, skipped 7 (unchanged), failed 0" in out


def test_upload_dry_run_lists_keys(
    capsys: pytest.CaptureFixture[str],
    s3_endpoint: str,
    bucket: str,
    dataset_dir: Path,
    s3: S3Client,
) -> None:
    code, out, _ = _run(
        capsys,
        "upload",
        str(dataset_dir),
        f"s3://{bucket}/d",
        "--endpoint-url",
        s3_endpoint,
        "--dry-run",
    )
    assert code == 0
    assert "dry run: 7 object(s) would be uploaded" in out
    assert f"s3://{bucket}/d/images/train/train_0.png" in out
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_upload_missing_bucket_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], s3_endpoint: str, dataset_dir: Path
) -> None:
    code, out, err = _run(
        capsys, "upload", str(dataset_dir), "s3://missing-bucket/x", "--endpoint-url", s3_endpoint
    )
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "HeadBucket on missing-bucket failed" in err


def test_upload_bad_uri_is_refused(capsys: pytest.CaptureFixture[str], dataset_dir: Path) -> None:
    assert main(["upload", str(dataset_dir), "bucket/prefix"]) == 2
    err = capsys.readouterr().err
    assert "s3://bucket/prefix" in err
    assert len(err.strip().splitlines()) == 1  # one clear line, no traceback


def _trained_arn(rek: RekognitionClient) -> str:
    project = CustomLabelsProject.get_or_create("cli", client=rek, poll_interval=0.02)
    project.create_datasets("s3://bkt/x/train.s3.manifest")
    return project.train("v1", "s3://bkt/out").arn


def test_model_status_start_stop(
    capsys: pytest.CaptureFixture[str], fake: FakeRekognitionServer, rek: RekognitionClient
) -> None:
    arn = _trained_arn(rek)
    common = ["--endpoint-url", fake.endpoint_url, "--poll-interval", "0.02"]
    code, out, _ = _run(capsys, "model", "status", arn, *common, "--json")
    assert code == 0
    info = json.loads(out)
    assert info["Status"] == "TRAINING_COMPLETED"
    assert info["F1Score"] == pytest.approx(0.8)
    code, out, err = _run(capsys, "model", "start", arn, *common)
    assert code == 0
    assert "Status: RUNNING" in out
    assert "billed per hour" in out
    assert "RUNNING" in err  # status changes logged on stderr
    code, out, _ = _run(capsys, "model", "stop", arn, *common, "--json")
    assert json.loads(out)["Status"] == "STOPPED"


def test_model_status_unknown_project(
    capsys: pytest.CaptureFixture[str], fake: FakeRekognitionServer
) -> None:
    arn = "arn:aws:rekognition:us-east-1:123456789012:project/none/version/v/1"
    code, _, err = _run(capsys, "model", "status", arn, "--endpoint-url", fake.endpoint_url)
    assert code == 2
    assert "project 'none'" in err


def test_model_evaluate(
    capsys: pytest.CaptureFixture[str],
    fake: FakeRekognitionServer,
    rek: RekognitionClient,
    s3: S3Client,
    s3_endpoint: str,
) -> None:
    s3.create_bucket(Bucket="bkt")
    arn = _trained_arn(rek)
    summary = {
        "LabelEvaluationResults": [{"Label": "m", "Metrics": {"F1Score": 0.5, "Threshold": 0.3}}]
    }
    s3.put_object(
        Bucket="bkt", Key="out/EvaluationSummary-cli-v1.json", Body=json.dumps(summary).encode()
    )
    code, out, _ = _run(
        capsys,
        "model",
        "evaluate",
        arn,
        "--endpoint-url",
        fake.endpoint_url,
        "--s3-endpoint-url",
        s3_endpoint,
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["f1"] == pytest.approx(0.8)
    assert data["labels"][0]["threshold"] == pytest.approx(0.3)


def test_train_creates_datasets_from_the_upload_prefix(
    capsys: pytest.CaptureFixture[str],
    fake: FakeRekognitionServer,
    s3: S3Client,
    s3_endpoint: str,
) -> None:
    s3.create_bucket(Bucket="bkt")
    s3.put_object(Bucket="bkt", Key="ds/train.s3.manifest", Body=b"{}\n")
    s3.put_object(Bucket="bkt", Key="ds/test.s3.manifest", Body=b"{}\n")
    code, out, _ = _run(
        capsys,
        "train",
        "--project",
        "p",
        "--version",
        "v1",
        "--dataset",
        "s3://bkt/ds/",
        "--output",
        "s3://bkt/out",
        "--endpoint-url",
        fake.endpoint_url,
        "--s3-endpoint-url",
        s3_endpoint,
        "--poll-interval",
        "0.02",
        "--json",
    )
    assert code == 0
    assert json.loads(out)["status"] == "TRAINING_COMPLETED"
    sources = [
        r.params.get("DatasetSource") for r in fake.requests if r.operation == "CreateDataset"
    ]
    names = [s["GroundTruthManifest"]["S3Object"]["Name"] for s in sources if s]
    assert names == ["ds/train.s3.manifest", "ds/test.s3.manifest"]
    assert fake.calls("DistributeDatasetEntries") == 0


def test_detect_json_and_draw(
    capsys: pytest.CaptureFixture[str],
    fake: FakeRekognitionServer,
    rek: RekognitionClient,
    tmp_path: Path,
) -> None:
    arn = _trained_arn(rek)
    fake.starting_seconds = 0
    rek.start_project_version(ProjectVersionArn=arn, MinInferenceUnits=1)
    fake.set_detections(
        [
            {
                "Name": "mitotic figure",
                "Confidence": 77.0,
                "Geometry": {"BoundingBox": {"Left": 0.1, "Top": 0.2, "Width": 0.5, "Height": 0.5}},
            }
        ]
    )
    image = tmp_path / "patch.png"
    Image.fromarray(np.full((100, 100, 3), 255, dtype=np.uint8)).save(image)
    drawn = tmp_path / "drawn.png"
    code, out, _ = _run(
        capsys,
        "detect",
        str(image),
        "--model",
        arn,
        "--endpoint-url",
        fake.endpoint_url,
        "--json",
        "--draw",
        str(drawn),
    )
    assert code == 0
    rows = json.loads(out)
    assert rows == [
        {
            "label": "mitotic figure",
            "confidence": 77.0,
            "left": 10.0,
            "top": 20.0,
            "right": 60.0,
            "bottom": 70.0,
        }
    ]
    with Image.open(drawn) as result:
        pixels = np.asarray(result)
    assert tuple(pixels[20, 30]) == (255, 0, 0)  # top edge of the drawn box
    assert tuple(pixels[50, 90]) == (255, 255, 255)


def test_detect_missing_image(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    arn = "arn:aws:rekognition:us-east-1:123456789012:project/p/version/v/1"
    code, _, err = _run(capsys, "detect", str(tmp_path / "nope.png"), "--model", arn)
    assert code == 2
    assert "does not exist" in err
