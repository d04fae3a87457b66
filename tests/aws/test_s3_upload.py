"""S3Uploader against moto's server over real HTTP with real boto3."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from tests.recording import Recorder
from wsi2rek.aws import METADATA_SHA256, S3Uploader, UploadReport, rewrite_manifest
from wsi2rek.errors import AwsError, DatasetError, ManifestError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

IMAGE_KEYS = sorted(
    [f"ds1/images/train/train_{i}.png" for i in range(3)]
    + [f"ds1/images/test/test_{i}.png" for i in range(2)]
)


def _keys(s3: S3Client, bucket: str) -> list[str]:
    listing = s3.list_objects_v2(Bucket=bucket)
    return sorted(obj["Key"] for obj in listing.get("Contents", []))


def test_upload_sends_images_and_rewritten_manifests(
    s3: S3Client, bucket: str, dataset_dir: Path
) -> None:
    report = S3Uploader(bucket, "/ds1/", client=s3).upload(dataset_dir)

    assert sorted(report.uploaded) == sorted(
        [*IMAGE_KEYS, "ds1/test.s3.manifest", "ds1/train.s3.manifest"]
    )
    assert report.skipped == ()
    assert report.ok
    assert report.manifests == {
        "test": f"s3://{bucket}/ds1/test.s3.manifest",
        "train": f"s3://{bucket}/ds1/train.s3.manifest",
    }
    assert _keys(s3, bucket) == sorted(
        [*IMAGE_KEYS, "ds1/test.s3.manifest", "ds1/train.s3.manifest"]
    )
    local = (dataset_dir / "train.s3.manifest").read_text().splitlines()
    refs = [json.loads(line)["source-ref"] for line in local]
    assert refs == [f"s3://{bucket}/ds1/images/train/train_{i}.png" for i in range(3)]
    remote = s3.get_object(Bucket=bucket, Key="ds1/train.s3.manifest")["Body"].read().decode()
    assert remote.splitlines() == local
    # every referenced object exists
    for ref in refs:
        s3.head_object(Bucket=bucket, Key=ref.removeprefix(f"s3://{bucket}/"))


def test_rerun_uploads_nothing(s3: S3Client, bucket: str, dataset_dir: Path) -> None:
    uploader = S3Uploader(bucket, "ds1", client=s3)
    uploader.upload(dataset_dir)
    again = uploader.upload(dataset_dir)
    assert again.uploaded == ()
    assert sorted(again.skipped) == sorted(
        [*IMAGE_KEYS, "ds1/test.s3.manifest", "ds1/train.s3.manifest"]
    )
    assert again.planned == ()


def test_only_the_changed_file_is_uploaded_again(
    s3: S3Client, bucket: str, dataset_dir: Path
) -> None:
    uploader = S3Uploader(bucket, "ds1", client=s3)
    uploader.upload(dataset_dir)
    changed = dataset_dir / "images" / "train" / "train_1.png"
    changed.write_bytes(changed.read_bytes() + b"trailing bytes")
    report = uploader.upload(dataset_dir)
    assert [k for k in report.uploaded if "/images/" in k] == ["ds1/images/train/train_1.png"]
    assert report.uploaded == ("ds1/images/train/train_1.png",)  # manifests unchanged
    assert len(report.skipped) == 6
    body = s3.get_object(Bucket=bucket, Key="ds1/images/train/train_1.png")["Body"].read()
    assert body == changed.read_bytes()


def test_objects_carry_a_verified_sha256(s3: S3Client, bucket: str, dataset_dir: Path) -> None:
    S3Uploader(bucket, "ds1", client=s3).upload(dataset_dir)
    path = dataset_dir / "images" / "test" / "test_0.png"
    expected = base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()
    head = s3.head_object(Bucket=bucket, Key="ds1/images/test/test_0.png", ChecksumMode="ENABLED")
    assert head["Metadata"][METADATA_SHA256] == expected
    assert head.get("ChecksumSHA256") == expected
    assert head["ContentType"] == "image/png"


def test_a_tampered_remote_object_is_replaced(s3: S3Client, bucket: str, dataset_dir: Path) -> None:
    uploader = S3Uploader(bucket, "ds1", client=s3)
    uploader.upload(dataset_dir)
    # Someone overwrites an object with other bytes (and no checksum/metadata).
    s3.put_object(Bucket=bucket, Key="ds1/images/test/test_1.png", Body=b"not the image")
    report = uploader.upload(dataset_dir)
    assert [k for k in report.uploaded if "/images/" in k] == ["ds1/images/test/test_1.png"]
    body = s3.get_object(Bucket=bucket, Key="ds1/images/test/test_1.png")["Body"].read()
    assert body == (dataset_dir / "images" / "test" / "test_1.png").read_bytes()


def test_sse_and_storage_class_and_tags_are_sent(
    s3: S3Client, bucket: str, dataset_dir: Path
) -> None:
    uploader = S3Uploader(
        bucket, "enc", client=s3, sse="AES256", storage_class="STANDARD_IA", tags={"team": "path"}
    )
    uploader.upload(dataset_dir)
    head = s3.head_object(Bucket=bucket, Key="enc/images/train/train_0.png")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["StorageClass"] == "STANDARD_IA"
    tags = s3.get_object_tagging(Bucket=bucket, Key="enc/images/train/train_0.png")["TagSet"]
    assert tags == [{"Key": "team", "Value": "path"}]


def test_dry_run_uploads_and_writes_nothing(s3: S3Client, bucket: str, dataset_dir: Path) -> None:
    report = S3Uploader(bucket, "ds1", client=s3).upload(dataset_dir, dry_run=True)
    assert report.dry_run
    assert report.uploaded == ()
    assert report.planned == (*IMAGE_KEYS, "ds1/test.s3.manifest", "ds1/train.s3.manifest")
    assert _keys(s3, bucket) == []
    assert not (dataset_dir / "train.s3.manifest").exists()


def test_missing_bucket_is_one_error_naming_bucket_and_operation(
    s3: S3Client, dataset_dir: Path
) -> None:
    with pytest.raises(AwsError) as info:
        S3Uploader("no-such-bucket", "ds1", client=s3).upload(dataset_dir)
    assert info.value.operation == "HeadBucket"
    assert info.value.resource == "no-such-bucket"
    assert info.value.code in {"404", "NoSuchBucket"}
    assert "no-such-bucket" in str(info.value)
    assert not (dataset_dir / "train.s3.manifest").exists()


def test_expected_bucket_owner_is_sent_with_every_call(
    s3: S3Client, bucket: str, dataset_dir: Path
) -> None:
    seen: list[tuple[str, str | None]] = []

    def capture(request: AWSPreparedRequest, **_: object) -> None:
        owner = request.headers.get("x-amz-expected-bucket-owner")
        seen.append((request.method, owner.decode() if isinstance(owner, bytes) else owner))

    s3.meta.events.register("before-send.s3", capture)
    try:
        uploader = S3Uploader(bucket, "ds1", client=s3, expected_bucket_owner="123456789012")
        uploader.upload(dataset_dir)
    finally:
        s3.meta.events.unregister("before-send.s3", capture)
    assert len(seen) > 10
    assert {owner for _, owner in seen} == {"123456789012"}


def test_wrong_owner_or_denied_is_one_error_and_nothing_uploaded(
    s3: S3Client, bucket: str, dataset_dir: Path
) -> None:
    with Stubber(s3) as stub:
        stub.add_client_error(
            "head_bucket",
            service_error_code="403",
            service_message="Forbidden",
            http_status_code=403,
            expected_params={"Bucket": bucket, "ExpectedBucketOwner": "999999999999"},
        )
        uploader = S3Uploader(bucket, "ds1", client=s3, expected_bucket_owner="999999999999")
        with pytest.raises(AwsError) as info:
            uploader.upload(dataset_dir)
        stub.assert_no_pending_responses()
    assert (info.value.operation, info.value.resource, info.value.code) == (
        "HeadBucket",
        bucket,
        "403",
    )
    assert "expected bucket owner" in str(info.value)
    assert _keys(s3, bucket) == []


def test_access_denied_on_put_is_one_error(s3: S3Client, bucket: str, dataset_dir: Path) -> None:
    def deny(params: dict[str, object], **_: object) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject"
        )

    s3.meta.events.register("provide-client-params.s3.PutObject", deny)
    try:
        with pytest.raises(AwsError) as info:
            S3Uploader(bucket, "ds1", client=s3).upload(dataset_dir)
    finally:
        s3.meta.events.unregister("provide-client-params.s3.PutObject", deny)
    assert (info.value.operation, info.value.resource, info.value.code) == (
        "PutObject",
        bucket,
        "AccessDenied",
    )
    assert bucket in str(info.value)
    assert not (dataset_dir / "train.s3.manifest").exists()


def test_not_a_dataset_folder(s3: S3Client, bucket: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="images/"):
        S3Uploader(bucket, "x", client=s3).upload(tmp_path)


def test_bad_manifest_fails_before_any_upload(s3: S3Client, bucket: str, dataset_dir: Path) -> None:
    (dataset_dir / "test.manifest").write_text('{"source-ref": "images/test/test_0.png"}\n{oops\n')
    with pytest.raises(ManifestError) as info:
        S3Uploader(bucket, "ds1", client=s3).upload(dataset_dir)
    assert info.value.line == 2
    assert _keys(s3, bucket) == []


def test_report_to_dict_has_counts() -> None:
    report = UploadReport(uploaded=("a", "b"), skipped=("c",), planned=("a", "b"))
    data = report.to_dict()
    assert (data["uploaded"], data["skipped"], data["failed"], data["planned"]) == (2, 1, 0, 2)


def test_rewrite_manifest_keeps_absolute_refs_and_rejects_escapes() -> None:
    text = '{"source-ref": "s3://b/x.png", "a": 1}\n\n{"source-ref": "images/y.png"}\n'
    out = rewrite_manifest(text, base_uri="s3://bucket/p/")
    assert out.splitlines() == [
        '{"source-ref":"s3://b/x.png","a":1}',
        '{"source-ref":"s3://bucket/p/images/y.png"}',
    ]
    with pytest.raises(ManifestError, match="relative"):
        rewrite_manifest('{"source-ref": "../secret.png"}', base_uri="s3://b")


def test_manifest_naming_a_missing_image_fails_before_upload(
    s3: S3Client, bucket: str, dataset_dir: Path
) -> None:
    (dataset_dir / "images" / "test" / "test_1.png").unlink()
    with pytest.raises(ManifestError, match=r"test_1\.png") as info:
        S3Uploader(bucket, "ds1", client=s3).upload(dataset_dir)
    assert (info.value.line, info.value.path) == (2, dataset_dir / "test.manifest")
    assert _keys(s3, bucket) == []


def test_multipart_objects_are_verified_through_the_composite_checksum(
    s3: S3Client, bucket: str, dataset_dir: Path
) -> None:
    big = dataset_dir / "images" / "train" / "train_0.png"
    big.write_bytes(big.read_bytes() + bytes(600_000))
    uploader = S3Uploader(bucket, "mp", client=s3, multipart_threshold=256 * 1024)
    first = uploader.upload(dataset_dir)
    assert first.ok
    assert "mp/images/train/train_0.png" in first.uploaded
    head = s3.head_object(Bucket=bucket, Key="mp/images/train/train_0.png", ChecksumMode="ENABLED")
    assert head["ETag"].strip('"').endswith("-1")  # one part: a multipart upload
    again = uploader.upload(dataset_dir)
    assert again.uploaded == ()
    assert "mp/images/train/train_0.png" in again.skipped


def test_sse_kms_sends_the_key(s3: S3Client, bucket: str, dataset_dir: Path) -> None:
    key_id = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    S3Uploader(bucket, "kms", client=s3, sse="aws:kms", kms_key_id=key_id).upload(dataset_dir)
    head = s3.head_object(Bucket=bucket, Key="kms/images/test/test_0.png")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head.get("SSEKMSKeyId") == key_id


def test_invalid_options_are_refused() -> None:
    with pytest.raises(ValueError, match="sse='aws:kms'"):
        S3Uploader("bkt", "p", kms_key_id="k")
    with pytest.raises(ValueError, match="bucket name"):
        S3Uploader("bkt/p", "x")
    with pytest.raises(ValueError, match="workers"):
        S3Uploader("bkt", "p", workers=0)


def test_an_object_overwritten_before_verification_is_failed_not_uploaded(
    s3: S3Client, bucket: str, dataset_dir: Path, s3_endpoint: str
) -> None:
    other_writer = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    ).client("s3", endpoint_url=s3_endpoint)
    target = "ds1/images/train/train_1.png"
    done: list[str] = []

    def overwrite(params: dict[str, object], **_: object) -> None:
        if params.get("Key") == target and not done:
            other_writer.put_object(Bucket=bucket, Key=target, Body=b"someone else's bytes")
            done.append(target)

    s3.meta.events.register("before-parameter-build.s3.HeadObject", overwrite)
    try:
        report = S3Uploader(bucket, "ds1", client=s3).upload(dataset_dir)
    finally:
        s3.meta.events.unregister("before-parameter-build.s3.HeadObject", overwrite)
    assert not report.ok
    assert [f.key for f in report.failed] == [target]
    # The other writer's object has S3's own checksum (botocore's default CRC-32) and a
    # different length: S3's numbers prove it is not our file.
    assert "mismatch" in report.failed[0].reason
    assert target not in report.uploaded
    assert len(report.uploaded) == 4
    assert report.manifests == {}
    assert not (dataset_dir / "train.s3.manifest").exists()
    assert "ds1/train.s3.manifest" not in _keys(s3, bucket)


def test_progress_bar_goes_to_stderr(
    s3: S3Client, bucket: str, dataset_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    S3Uploader(bucket, "ds1", client=s3).upload(dataset_dir, progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "upload" in err
    assert "5/5" in err


def test_a_progress_subscriber_counts_the_uploaded_images(
    s3: S3Client, bucket: str, dataset_dir: Path
) -> None:
    rec = Recorder()
    S3Uploader(bucket, "ds1", client=s3).upload(dataset_dir, dry_run=True, progress=rec)
    assert rec.events == []  # a dry run transfers nothing
    S3Uploader(bucket, "ds1", client=s3).upload(dataset_dir, progress=rec)
    assert rec.events == [
        ("start", "upload", 5, "file", 0),
        *[("progress", 1)] * 5,
        ("done", None),
    ]


def test_an_upload_stopped_by_a_fatal_error_reports_it_to_the_subscriber(
    s3: S3Client, bucket: str, dataset_dir: Path
) -> None:
    def deny(params: dict[str, object], **_: object) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject"
        )

    rec = Recorder()
    s3.meta.events.register("provide-client-params.s3.PutObject", deny)
    try:
        with pytest.raises(AwsError):
            S3Uploader(bucket, "ds1", client=s3).upload(dataset_dir, progress=rec)
    finally:
        s3.meta.events.unregister("provide-client-params.s3.PutObject", deny)
    assert rec.advanced == 0
    assert len(rec.errors) == 1
    assert isinstance(rec.errors[0], AwsError)
