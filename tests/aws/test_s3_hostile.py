"""Uploads against hostile inputs and untrustworthy stores (issue 10), on moto over HTTP.

S3 facts used (S3 User Guide, "Checking object integrity in Amazon S3"): a single-part
object's ``ChecksumSHA256`` is the SHA-256 of the whole object; a multipart object's is
the SHA-256 of the concatenated part digests (``COMPOSITE``); user metadata
(``x-amz-meta-*``) is whatever the writer sent and proves nothing.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import botocore.config
import pytest
from boto3.s3.transfer import TransferConfig

from wsi2rek.aws import S3Uploader
from wsi2rek.aws._s3 import METADATA_SHA256
from wsi2rek.errors import DatasetError, ManifestError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

TARGET = "ds/images/train/train_1.png"


def _sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _raw_writer(endpoint: str) -> S3Client:
    """Another writer that sends no checksum at all (as some tools and stores do)."""
    return boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    ).client(
        "s3",
        endpoint_url=endpoint,
        config=botocore.config.Config(request_checksum_calculation="when_required"),
    )


def test_metadata_claiming_our_sha256_is_not_trusted(
    s3: S3Client, bucket: str, dataset_dir: Path, s3_endpoint: str
) -> None:
    """An object whose metadata carries the local file's SHA-256 but whose bytes differ,
    and for which S3 computed no checksum, must be uploaded again, not skipped."""
    local = (dataset_dir / "images" / "train" / "train_1.png").read_bytes()
    _raw_writer(s3_endpoint).put_object(
        Bucket=bucket,
        Key=TARGET,
        Body=b"not the image",
        Metadata={METADATA_SHA256: _sha256_b64(local)},
    )
    head = s3.head_object(Bucket=bucket, Key=TARGET, ChecksumMode="ENABLED")
    assert "ChecksumSHA256" not in dict(head)  # the premise: S3 computed no SHA-256
    report = S3Uploader(bucket, "ds", client=s3).upload(dataset_dir)
    assert report.ok
    assert TARGET in report.uploaded
    assert s3.get_object(Bucket=bucket, Key=TARGET)["Body"].read() == local


class _StripChecksums:
    """A store that keeps no checksums: HeadObject answers lose every Checksum* field."""

    def __init__(self, client: S3Client) -> None:
        self.client = client

    def __call__(self, parsed: dict[str, Any], **_: object) -> None:
        for key in [k for k in parsed if k.startswith("Checksum")]:
            del parsed[key]

    def __enter__(self) -> None:
        self.client.meta.events.register("after-call.s3.HeadObject", self)

    def __exit__(self, *exc: object) -> None:
        self.client.meta.events.unregister("after-call.s3.HeadObject", self)


def test_a_store_without_checksums_fails_verification_unless_download_is_asked(
    s3: S3Client, bucket: str, dataset_dir: Path
) -> None:
    with _StripChecksums(s3):
        report = S3Uploader(bucket, "ds", client=s3).upload(dataset_dir)
    assert not report.ok
    assert len(report.failed) == 5  # every image: nothing S3 computed to compare with
    assert "verify='download'" in report.failed[0].reason
    assert report.manifests == {}
    with _StripChecksums(s3):
        report = S3Uploader(bucket, "ds", client=s3, verify="download").upload(dataset_dir)
    assert report.ok, report.failed
    assert set(report.manifests) == {"train", "test"}


def test_download_verification_catches_a_corrupted_object(
    s3: S3Client, bucket: str, dataset_dir: Path, s3_endpoint: str
) -> None:
    """Download mode hashes the bytes S3 serves: another writer's object is caught."""
    writer = _raw_writer(s3_endpoint)
    done: list[bool] = []

    def overwrite(params: dict[str, Any], **_: object) -> None:
        if params.get("Key") == TARGET and not done:
            done.append(True)
            writer.put_object(Bucket=bucket, Key=TARGET, Body=b"corrupt")

    s3.meta.events.register("before-parameter-build.s3.HeadObject", overwrite)
    try:
        report = S3Uploader(bucket, "ds", client=s3, verify="download").upload(dataset_dir)
    finally:
        s3.meta.events.unregister("before-parameter-build.s3.HeadObject", overwrite)
    assert [f.key for f in report.failed] == [TARGET]
    assert "downloaded object differs" in report.failed[0].reason


def test_multipart_objects_are_proven_by_the_composite_checksum(
    s3: S3Client, bucket: str, dataset_dir: Path, s3_endpoint: str
) -> None:
    """Several parts: S3's COMPOSITE SHA-256 is recomputed from the local file; a same-size
    multipart object with other bytes (and our metadata) is uploaded again."""
    big = dataset_dir / "images" / "train" / "train_1.png"
    big.write_bytes(big.read_bytes() + os.urandom(12 * 1024 * 1024))
    uploader = S3Uploader(bucket, "ds", client=s3, multipart_threshold=5 * 1024 * 1024)
    assert uploader.upload(dataset_dir).ok
    head = s3.head_object(Bucket=bucket, Key=TARGET, ChecksumMode="ENABLED")
    assert int(head["ETag"].strip('"').rsplit("-", 1)[1]) >= 2  # several parts
    assert TARGET in uploader.upload(dataset_dir).skipped
    # Another multipart object of the same size, with our metadata, other bytes.
    other = dataset_dir.parent / "other.bin"
    other.write_bytes(os.urandom(big.stat().st_size))
    boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    ).client("s3", endpoint_url=s3_endpoint).upload_file(
        str(other),
        bucket,
        TARGET,
        ExtraArgs={
            "ChecksumAlgorithm": "SHA256",
            "Metadata": {METADATA_SHA256: head["Metadata"][METADATA_SHA256]},
        },
        Config=TransferConfig(multipart_threshold=5 * 1024 * 1024),
    )
    again = uploader.upload(dataset_dir)
    assert TARGET in again.uploaded
    assert again.ok


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_symlinks_inside_images_are_refused_before_any_upload(
    s3: S3Client, bucket: str, dataset_dir: Path, tmp_path: Path, kind: str
) -> None:
    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "private.png").write_bytes(b"not for S3")
    link = dataset_dir / "images" / "train" / "link"
    link.symlink_to(secret / "private.png" if kind == "file" else secret)
    with pytest.raises(DatasetError, match=r"symbolic link.*images/train/link") as info:
        S3Uploader(bucket, "ds", client=s3).upload(dataset_dir)
    assert info.value.path == link
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_a_non_utf8_manifest_is_a_manifest_error(
    s3: S3Client, bucket: str, dataset_dir: Path
) -> None:
    manifest = dataset_dir / "train.manifest"
    manifest.write_bytes(manifest.read_bytes().replace(b"mitotic", b"mit\xf6tic", 1))
    with pytest.raises(ManifestError, match=r"not UTF-8 text \(byte 0xf6") as info:
        S3Uploader(bucket, "ds", client=s3).upload(dataset_dir)
    assert info.value.path == manifest
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_cli_upload_of_a_non_utf8_manifest_is_one_line(
    s3_endpoint: str, bucket: str, dataset_dir: Path
) -> None:
    manifest = dataset_dir / "test.manifest"
    manifest.write_bytes(b"\xff\xfe" + manifest.read_bytes())
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wsi2rek",
            "upload",
            str(dataset_dir),
            f"s3://{bucket}/ds",
            "--endpoint-url",
            s3_endpoint,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "test.manifest is not UTF-8 text" in result.stderr


def test_a_file_deleted_during_the_upload_is_a_dataset_error_naming_it(
    s3: S3Client, bucket: str, dataset_dir: Path
) -> None:
    """Deleted after hashing, before its transfer (hooked on the listing in between)."""
    victim = dataset_dir / "images" / "test" / "test_0.png"

    def delete(**_: object) -> None:
        victim.unlink(missing_ok=True)

    s3.meta.events.register("before-call.s3.ListObjectsV2", delete)
    try:
        with pytest.raises(DatasetError, match=r"test_0\.png could not be read") as info:
            S3Uploader(bucket, "ds", client=s3).upload(dataset_dir)
    finally:
        s3.meta.events.unregister("before-call.s3.ListObjectsV2", delete)
    assert info.value.path == victim
    assert "deleted, moved or changed" in str(info.value)
