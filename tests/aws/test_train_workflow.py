"""The train workflow in the library: find an uploaded dataset's manifests, reuse or create
a project's datasets (issue 14: "move workflow logic that only the CLI has into the
library"). ``wsi2rek train`` is a call to :meth:`CustomLabelsProject.ensure_datasets`.

S3 is moto's server over HTTP; Rekognition is the fake server, which validates each
request against botocore's service model (``CreateDataset``'s ``DatasetSource`` shape, the
``DistributeDatasetEntries`` call the guide's "training dataset only" flow makes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from wsi2rek.aws import (
    CustomLabelsProject,
    DatasetManifests,
    find_manifests,
    make_s3_client,
)
from wsi2rek.errors import AwsError, ParameterError
from wsi2rek.testing.fake_rekognition import FakeRekognitionServer

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient
    from mypy_boto3_s3 import S3Client


def _put(s3: S3Client, bucket: str, key: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=b"{}\n")


def _sources(fake: FakeRekognitionServer) -> list[object]:
    return [
        r.params.get("DatasetSource", {}).get("GroundTruthManifest", {}).get("S3Object")
        for r in fake.requests
        if r.operation == "CreateDataset"
    ]


def test_a_prefix_with_both_manifests_finds_both(s3: S3Client, bucket: str) -> None:
    """``wsi2rek upload`` writes ``train.s3.manifest`` and ``test.s3.manifest`` under it."""
    _put(s3, bucket, "ds/train.s3.manifest")
    _put(s3, bucket, "ds/test.s3.manifest")
    found = find_manifests(f"s3://{bucket}/ds/", s3_client=s3)
    assert found == DatasetManifests(
        f"s3://{bucket}/ds/train.s3.manifest", f"s3://{bucket}/ds/test.s3.manifest"
    )


def test_a_prefix_without_a_test_manifest_has_none(s3: S3Client, bucket: str) -> None:
    """No test manifest under the prefix (HeadObject 404): test is None; no slash needed."""
    _put(s3, bucket, "ds/train.s3.manifest")
    found = find_manifests(f"s3://{bucket}/ds", s3_client=s3)
    assert found == DatasetManifests(f"s3://{bucket}/ds/train.s3.manifest", None)


def test_a_bucket_root_prefix(s3: S3Client, bucket: str) -> None:
    """A dataset uploaded to the bucket's root: no leading slash in the keys."""
    _put(s3, bucket, "test.s3.manifest")
    found = find_manifests(f"s3://{bucket}/", s3_client=s3)
    assert found == DatasetManifests(
        f"s3://{bucket}/train.s3.manifest", f"s3://{bucket}/test.s3.manifest"
    )


def test_a_manifest_uri_is_used_alone_without_a_call(s3: S3Client) -> None:
    """A ``....manifest`` URI is the training manifest; S3 is not asked (no bucket here)."""
    found = find_manifests("s3://no-such-bucket/x/mine.manifest", s3_client=s3)
    assert found == DatasetManifests("s3://no-such-bucket/x/mine.manifest")


def test_a_non_s3_uri_is_a_parameter_error(s3: S3Client) -> None:
    with pytest.raises(ParameterError, match="s3://"):
        find_manifests("/local/dataset", s3_client=s3)


def test_an_unreachable_s3_is_one_aws_error_naming_the_object() -> None:
    """A connection error while looking for test.s3.manifest is an AwsError, not botocore's."""
    client = make_s3_client(endpoint_url="http://127.0.0.1:9", max_attempts=1)
    with pytest.raises(AwsError, match=r"HeadObject on s3://bkt/ds/test.s3.manifest failed"):
        find_manifests("s3://bkt/ds/", s3_client=client)


def test_access_denied_is_not_read_as_no_test_manifest(
    s3: S3Client, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only 404 means "no test manifest"; a 403 must not silently train without one."""
    _put(s3, bucket, "ds/train.s3.manifest")

    def deny(**_: object) -> None:
        import botocore.exceptions

        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject"
        )

    monkeypatch.setattr(s3, "head_object", deny)
    with pytest.raises(AwsError) as info:
        find_manifests(f"s3://{bucket}/ds/", s3_client=s3)
    assert info.value.code == "403"


def test_ensure_datasets_creates_both_from_an_uploaded_prefix(
    rek: RekognitionClient, fake: FakeRekognitionServer, s3: S3Client, bucket: str
) -> None:
    _put(s3, bucket, "ds/train.s3.manifest")
    _put(s3, bucket, "ds/test.s3.manifest")
    project = CustomLabelsProject.get_or_create("p", client=rek, s3_client=s3, poll_interval=0.02)
    assert project.ensure_datasets(f"s3://{bucket}/ds/") is True
    assert _sources(fake) == [
        {"Bucket": bucket, "Name": "ds/train.s3.manifest"},
        {"Bucket": bucket, "Name": "ds/test.s3.manifest"},
    ]
    assert fake.calls("DistributeDatasetEntries") == 0


def test_ensure_datasets_without_a_test_manifest_lets_the_service_split(
    rek: RekognitionClient, fake: FakeRekognitionServer, s3: S3Client, bucket: str
) -> None:
    """The guide's "training dataset only" flow: an empty test dataset, then a split."""
    _put(s3, bucket, "ds/train.s3.manifest")
    project = CustomLabelsProject.get_or_create("p", client=rek, s3_client=s3, poll_interval=0.02)
    assert project.ensure_datasets(f"s3://{bucket}/ds/") is True
    assert _sources(fake) == [{"Bucket": bucket, "Name": "ds/train.s3.manifest"}, None]
    assert fake.calls("DistributeDatasetEntries") == 1


def test_ensure_datasets_reuses_a_projects_datasets_without_reading_s3(
    rek: RekognitionClient,
    fake: FakeRekognitionServer,
    s3: S3Client,
    bucket: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A second version trains from the project's datasets: no CreateDataset, S3 unread."""
    project = CustomLabelsProject.get_or_create("p", client=rek, s3_client=s3, poll_interval=0.02)
    project.create_datasets("s3://bkt/ds/train.s3.manifest", "s3://bkt/ds/test.s3.manifest")
    with caplog.at_level("INFO", logger="wsi2rek.aws"):
        assert project.ensure_datasets("s3://no-such-bucket/other/") is False
    assert fake.calls("CreateDataset") == 2
    assert "already has datasets" in caplog.text


def test_ensure_datasets_takes_manifests_as_given(
    rek: RekognitionClient, fake: FakeRekognitionServer
) -> None:
    """``DatasetManifests`` skips the lookup: no S3 client needed."""
    project = CustomLabelsProject.get_or_create("p", client=rek, poll_interval=0.02)
    manifests = DatasetManifests("s3://bkt/a/train.s3.manifest", "s3://bkt/b/test.manifest")
    assert project.ensure_datasets(manifests) is True
    assert _sources(fake) == [
        {"Bucket": "bkt", "Name": "a/train.s3.manifest"},
        {"Bucket": "bkt", "Name": "b/test.manifest"},
    ]


def test_without_an_s3_client_the_lookup_uses_the_projects_region(
    rek: RekognitionClient,
    s3: S3Client,
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As ``CustomLabelsModel`` does, the default S3 client is made in the region of the
    project's ARN, not the machine's default region. (The client factory is replaced so
    that no request leaves for real AWS; the moto client answers instead.)"""
    import wsi2rek.aws._project as project_module

    _put(s3, bucket, "ds/train.s3.manifest")
    regions: list[str | None] = []

    def factory(*, region_name: str | None = None, **_: object) -> S3Client:
        regions.append(region_name)
        return s3

    monkeypatch.setattr(project_module, "make_s3_client", factory)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    project = CustomLabelsProject.get_or_create("p", client=rek, poll_interval=0.02)
    assert project.ensure_datasets(f"s3://{bucket}/ds/") is True
    assert regions == [project.arn.split(":")[3]]
    assert regions != ["eu-west-1"]
