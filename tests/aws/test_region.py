"""Which region AWS clients use: ``--region``, boto3's configuration, then the model ARN.

Issue 10: with no default region configured, ``model``, ``train`` and ``detect`` crashed
with botocore's ``NoRegionError`` although the model ARN names the region. The ARN layout
``arn:partition:service:region:account-id:resource`` is the one documented in the AWS
General Reference ("Amazon Resource Names (ARNs)"); S3 bucket ARNs have an empty region.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from wsi2rek.aws import CustomLabelsProject, make_rekognition_client, make_s3_client
from wsi2rek.aws._clients import region_from_arn
from wsi2rek.cli import main
from wsi2rek.errors import AwsError
from wsi2rek.testing.fake_rekognition import FakeRekognitionServer

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient

MODEL_ARN = "arn:aws:rekognition:eu-west-1:123456789012:project/p/version/v/1700000000000"


@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch) -> None:
    """No region anywhere: env unset, and conftest points AWS_CONFIG_FILE at nothing."""
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)


@pytest.mark.parametrize(
    ("arn", "region"),
    [
        (MODEL_ARN, "eu-west-1"),
        ("arn:aws-cn:rekognition:cn-north-1:123456789012:project/p/1", "cn-north-1"),
        ("arn:aws:s3:::my-bucket/key", None),  # S3 ARNs have no region
        ("not-an-arn", None),
        ("", None),
        (None, None),
    ],
)
def test_region_from_arn(arn: str | None, region: str | None) -> None:
    assert region_from_arn(arn) == region


@pytest.mark.usefixtures("no_region")
def test_client_takes_the_region_of_the_arn() -> None:
    client = make_rekognition_client(arn=MODEL_ARN)
    assert client.meta.region_name == "eu-west-1"
    assert make_s3_client(arn=MODEL_ARN).meta.region_name == "eu-west-1"


@pytest.mark.usefixtures("no_region")
def test_explicit_region_wins_over_the_arn() -> None:
    assert make_rekognition_client(region_name="us-west-2", arn=MODEL_ARN).meta.region_name == (
        "us-west-2"
    )


def test_configured_region_wins_over_the_arn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert make_rekognition_client(arn=MODEL_ARN).meta.region_name == "ap-south-1"


@pytest.mark.usefixtures("no_region")
def test_no_region_anywhere_is_one_line_saying_how_to_set_it() -> None:
    with pytest.raises(AwsError) as info:
        make_rekognition_client()
    message = str(info.value)
    assert "\n" not in message
    assert "region_name=REGION" in message  # the CLI prints it as --region REGION
    assert "AWS_DEFAULT_REGION" in message


def _trained_arn(rek: RekognitionClient) -> str:
    project = CustomLabelsProject.create("region", client=rek, poll_interval=0.02)
    project.create_datasets("s3://bkt/x/train.s3.manifest")
    return project.train("v1", "s3://bkt/out").arn


@pytest.mark.usefixtures("no_region")
def test_cli_model_status_without_a_default_region(
    capsys: pytest.CaptureFixture[str], fake: FakeRekognitionServer, rek: RekognitionClient
) -> None:
    arn = _trained_arn(rek)
    code = main(["model", "status", arn, "--endpoint-url", fake.endpoint_url])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert "Status: TRAINING_COMPLETED" in out


@pytest.mark.usefixtures("no_region")
def test_cli_detect_without_a_default_region(
    capsys: pytest.CaptureFixture[str],
    fake: FakeRekognitionServer,
    rek: RekognitionClient,
    dataset_dir: Path,
) -> None:
    arn = _trained_arn(rek)
    rek.start_project_version(ProjectVersionArn=arn, MinInferenceUnits=1)
    fake.starting_seconds = 0
    image = dataset_dir / "images" / "train" / "train_0.png"
    code = main(["detect", str(image), "--model", arn, "--endpoint-url", fake.endpoint_url])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert "0 detection(s)" in out


@pytest.mark.usefixtures("no_region")
def test_cli_train_without_any_region_is_one_line(tmp_path: Path) -> None:
    """As a subprocess: the user sees exactly one line, no traceback, exit 2."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wsi2rek",
            "train",
            "--project",
            "p",
            "--version",
            "v",
            "--dataset",
            "s3://bkt/ds/",
            "--output",
            "s3://bkt/out",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert "no AWS region is configured" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.usefixtures("no_region")
def test_a_model_builds_its_client_in_the_region_of_its_arn() -> None:
    """What `wsi2rek detect-slide --model ARN` and the app use: no region configured."""
    from wsi2rek.aws import CustomLabelsModel

    assert CustomLabelsModel(MODEL_ARN).client.meta.region_name == "eu-west-1"
