"""Opt-in test against real AWS: WSI2REK_AWS_TESTS=1 (and optionally WSI2REK_AWS_BUCKET).

Without WSI2REK_AWS_BUCKET a temporary bucket is created and deleted. Uploads a tiny
dataset, creates a Custom Labels project with TRAIN and TEST datasets from
it, and deletes everything again (also when an assertion fails). It neither trains nor
starts a model: the cost is a few S3 requests. See docs/guide/aws-setup.md.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

pytestmark = [
    pytest.mark.aws,
    pytest.mark.skipif(
        os.environ.get("WSI2REK_AWS_TESTS") != "1",
        reason="talks to real AWS; set WSI2REK_AWS_TESTS=1 to run (see docs/guide/aws-setup.md)",
    ),
]


@pytest.fixture
def real_bucket() -> Iterator[str]:
    """WSI2REK_AWS_BUCKET, or a temporary bucket created (and deleted) for the test."""
    from wsi2rek.aws import make_s3_client

    given = os.environ.get("WSI2REK_AWS_BUCKET")
    if given:
        yield given
        return
    s3 = make_s3_client()
    region = s3.meta.region_name
    name = f"wsi2rek-test-{uuid.uuid4().hex[:12]}"
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(
            Bucket=name,
            CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
        )
    try:
        yield name
    finally:
        s3.delete_bucket(Bucket=name)


@pytest.fixture
def prefix(real_bucket: str) -> Iterator[str]:
    from wsi2rek.aws import make_s3_client

    name = f"wsi2rek-test-{uuid.uuid4().hex[:10]}"
    yield name
    s3 = make_s3_client()
    listing = s3.list_objects_v2(Bucket=real_bucket, Prefix=f"{name}/")
    keys: list[ObjectIdentifierTypeDef] = [
        {"Key": obj["Key"]} for obj in listing.get("Contents", []) if "Key" in obj
    ]
    if keys:
        s3.delete_objects(Bucket=real_bucket, Delete={"Objects": keys})


def test_upload_and_datasets_round_trip(real_bucket: str, prefix: str, dataset_dir: Path) -> None:
    from wsi2rek.aws import CustomLabelsProject, S3Uploader

    report = S3Uploader(real_bucket, prefix, sse="AES256").upload(dataset_dir)
    assert report.ok
    again = S3Uploader(real_bucket, prefix, sse="AES256").upload(dataset_dir)
    assert again.uploaded == ()

    project = CustomLabelsProject.create(prefix, poll_interval=10)
    try:
        arns = project.create_datasets(
            report.manifests["train"], report.manifests["test"], timeout=timedelta(minutes=20)
        )
        assert set(arns) == {"TRAIN", "TEST"}
        assert {d["Status"] for d in project.datasets().values()} == {"CREATE_COMPLETE"}
    finally:
        project.delete()
