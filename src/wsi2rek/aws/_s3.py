"""Upload a built dataset folder to S3, idempotently, with SHA-256 integrity checks.

The folder layout is the one :func:`wsi2rek.build_dataset` writes: ``images/**`` plus
``train.manifest`` / ``test.manifest`` whose ``source-ref`` values are relative paths
(``images/train/x.png``). :class:`S3Uploader` uploads the images under
``s3://bucket/prefix/images/...``, verifies each one, then writes ``train.s3.manifest`` /
``test.s3.manifest`` next to the local manifests with every ``source-ref`` rewritten to the
uploaded object's URI, and uploads those too.

Integrity: every object is sent with ``ChecksumAlgorithm="SHA256"`` (botocore computes
the checksum while streaming and S3 rejects a corrupted body). After the upload,
``head_object(ChecksumMode="ENABLED")`` is compared with the local file using only what
S3 itself computed (see ``wsi2rek.aws._checksums``): the whole-object SHA-256, or for
multipart objects the composite SHA-256 recomputed from the local file and S3's part
size, or a full-object CRC-32. The ``wsi2rek-sha256`` user metadata is still written, for
information, but never trusted. When S3 computed nothing comparable (some S3-compatible
stores), ``verify="download"`` downloads the object and hashes it; by default such an
object fails verification (and a rerun uploads it again). A rerun compares the same way
and uploads only objects that are missing or differ.

Only regular files are uploaded: a symbolic link anywhere under ``images/`` is refused
before anything is sent (it could point outside the dataset, at data never meant for
S3).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs
import botocore.exceptions
from boto3.s3.transfer import TransferConfig, create_transfer_manager

from wsi2rek._atomic import atomic_write_text
from wsi2rek.aws._checksums import is_multipart, matches, sha256_b64
from wsi2rek.aws._clients import aws_error, error_code, make_s3_client
from wsi2rek.aws._local import read_manifest, regular_files, unreadable
from wsi2rek.aws._manifests import rewrite_manifest, s3_manifest_name
from wsi2rek.errors import DatasetError, ParameterError
from wsi2rek.execution import (
    BoundedRun,
    Outcome,
    ProgressSubscriber,
    as_subscriber,
    bounded_map,
    tracked,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["METADATA_SHA256", "S3Uploader", "UploadFailure", "UploadReport", "Verify"]

#: How uploaded objects are verified: ``"checksum"`` compares S3's own checksums,
#: ``"download"`` also downloads and hashes objects for which S3 computed none (and every
#: object right after its upload).
Verify = Literal["checksum", "download"]

_log = logging.getLogger("wsi2rek.aws")

#: User-metadata key holding the base64 SHA-256 of the whole object.
METADATA_SHA256 = "wsi2rek-sha256"

#: Error codes that concern the bucket or the credentials, not one object: they abort the
#: whole upload with a single error instead of being counted per file.
_FATAL_CODES = frozenset(
    {
        "NoSuchBucket",
        "AccessDenied",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "NoCredentials",
        "InvalidBucketName",
        "PermanentRedirect",
        "AuthorizationHeaderMalformed",
        "KMS.NotFoundException",
        "KMS.DisabledException",
        "403",
        "404",
        "301",
        "400",
    }
)

_CONTENT_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


@attrs.frozen
class UploadFailure:
    """One object that could not be uploaded or verified."""

    key: str
    reason: str


@attrs.frozen
class UploadReport:
    """What :meth:`S3Uploader.upload` did (or, in a dry run, would do).

    Attributes:
        uploaded: Keys uploaded and verified in this run.
        skipped: Keys already present with the same SHA-256 (not uploaded again).
        failed: Keys that failed, with the reason; their manifests were not uploaded.
        manifests: ``{split: "s3://bucket/prefix/<split>.s3.manifest"}`` once uploaded.
        planned: Keys that needed uploading (missing or changed) when the run started.
        bytes_uploaded: Total size of the uploaded objects.
        dry_run: True when nothing was uploaded on purpose.
    """

    uploaded: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    failed: tuple[UploadFailure, ...] = ()
    manifests: Mapping[str, str] = attrs.field(factory=dict)
    planned: tuple[str, ...] = ()
    bytes_uploaded: int = 0
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary with counts and lists."""
        return {
            "uploaded": len(self.uploaded),
            "skipped": len(self.skipped),
            "failed": len(self.failed),
            "planned": len(self.planned),
            "bytes_uploaded": self.bytes_uploaded,
            "dry_run": self.dry_run,
            "manifests": dict(self.manifests),
            "failures": [{"key": f.key, "reason": f.reason} for f in self.failed],
            "planned_keys": list(self.planned),
        }


def _text_matches(head: Mapping[str, Any], text: str) -> bool:
    """Whether S3's whole-object SHA-256 proves an object holds ``text`` (UTF-8)."""
    checksum = head.get("ChecksumSHA256")
    if not isinstance(checksum, str) or not checksum or is_multipart(head):
        return False  # nothing S3 computed to compare with: upload the manifest again
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()
    return checksum == digest


@attrs.frozen
class _LocalFile:
    path: Path
    key: str
    sha256: str
    size: int


class S3Uploader:
    """Upload dataset folders to ``s3://bucket/prefix/`` (see the module docs).

    Args:
        bucket: Target bucket (all images of a dataset must be in one bucket).
        prefix: Key prefix, e.g. ``"datasets/mitosis-v1"``; slashes at either end ignored.
        client: An S3 client; one with standard retries is created when None.
        endpoint_url: S3-compatible endpoint for the created client.
        region_name: Region for the created client.
        workers: Threads uploading (and hashing, comparing, verifying) at once.
        multipart_threshold: File size from which multipart upload is used (bytes).
        sse: Server-side encryption: ``"AES256"`` or ``"aws:kms"``.
        kms_key_id: KMS key id/ARN for ``sse="aws:kms"`` (the bucket default when None).
        expected_bucket_owner: Account id the bucket must belong to (sent with every call).
        storage_class: ``"STANDARD"``, ``"INTELLIGENT_TIERING"``... (S3 default when None).
        tags: Object tags.
        verify: ``"checksum"`` (default): trust only checksums S3 computed;
            ``"download"``: also download and hash (see :data:`Verify`).
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: S3Client | None = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        workers: int = 8,
        multipart_threshold: int = 8 * 1024 * 1024,
        sse: Literal["AES256", "aws:kms"] | None = None,
        kms_key_id: str | None = None,
        expected_bucket_owner: str | None = None,
        storage_class: str | None = None,
        tags: Mapping[str, str] | None = None,
        verify: Verify = "checksum",
    ) -> None:
        if not bucket or "/" in bucket:
            raise ParameterError(f"bucket must be a bucket name like 'my-bucket', got {bucket!r}")
        if sse not in (None, "AES256", "aws:kms"):
            raise ParameterError(f"sse must be None, 'AES256' or 'aws:kms', got {sse!r}")
        if kms_key_id is not None and sse != "aws:kms":
            raise ParameterError("kms_key_id needs sse='aws:kms'")
        if verify not in ("checksum", "download"):
            raise ParameterError(f"verify must be 'checksum' or 'download', got {verify!r}")
        if workers < 1:
            raise ParameterError(f"workers must be >= 1, got {workers}", parameter="workers")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client
        self._endpoint_url = endpoint_url
        self._region_name = region_name
        self.workers = workers
        self.multipart_threshold = multipart_threshold
        self.sse = sse
        self.kms_key_id = kms_key_id
        self.expected_bucket_owner = expected_bucket_owner
        self.storage_class = storage_class
        self.tags = dict(tags or {})
        self.verify = verify

    def __repr__(self) -> str:
        return f"S3Uploader({self.base_uri!r}, sse={self.sse!r})"

    @property
    def base_uri(self) -> str:
        """``s3://bucket/prefix`` (no trailing slash)."""
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    @property
    def client(self) -> S3Client:
        """The S3 client (created on first use when none was injected)."""
        if self._client is None:
            self._client = make_s3_client(
                endpoint_url=self._endpoint_url,
                region_name=self._region_name,
                max_pool_connections=max(10, self.workers + 2),
            )
        return self._client

    def key_for(self, relative: str) -> str:
        """The object key of a dataset-relative path (``images/train/x.png``)."""
        return f"{self.prefix}/{relative}" if self.prefix else relative

    # --- the upload ------------------------------------------------------------------------

    def upload(
        self,
        dataset_dir: str | Path,
        *,
        dry_run: bool = False,
        progress: bool | ProgressSubscriber = False,
    ) -> UploadReport:
        """Upload a dataset folder; only missing or changed objects are sent.

        Args:
            dataset_dir: Folder with ``images/`` and ``*.manifest`` files.
            dry_run: Compare with S3 and report what would be uploaded; upload nothing,
                write nothing.
            progress: ``True`` shows a tqdm bar on stderr; a
                :class:`~wsi2rek.execution.ProgressSubscriber` receives the job
                ``"upload"``, counted in image files (not started on a dry run).

        Returns:
            An :class:`UploadReport`. When some image failed, its manifests are neither
            written nor uploaded (``manifests`` is empty) and ``report.ok`` is False.

        Raises:
            DatasetError: The folder has no ``images/`` or no manifest.
            ManifestError: A manifest line cannot be rewritten.
            AwsError: The bucket is missing, access is denied or the owner differs; raised
                once, and nothing is reported as uploaded.
        """
        root = Path(dataset_dir)
        images, manifests = self._scan(root)
        # Rewrite manifests first: a malformed manifest, or one naming an image that is
        # not in the folder, must fail before anything is uploaded.
        known = {p.relative_to(root).as_posix() for p in images}
        rewritten = {
            split: rewrite_manifest(
                read_manifest(path), base_uri=self.base_uri, path=path, known=known
            )
            for split, path in manifests.items()
        }
        self._check_bucket()
        local = self._hash_all(images, root)
        todo, skipped = self._compare(local)
        manifest_todo: dict[str, str] = {}
        manifest_uris: dict[str, str] = {}
        for split, text in rewritten.items():
            key = self.key_for(s3_manifest_name(split))
            head = self._head_or_raise(key)
            if head is not None and _text_matches(head, text):
                skipped.append(key)
                manifest_uris[split] = f"s3://{self.bucket}/{key}"
            else:
                manifest_todo[split] = key
        planned = tuple(f.key for f in todo) + tuple(manifest_todo.values())
        if dry_run:
            return UploadReport(skipped=tuple(skipped), planned=planned, dry_run=True)
        uploaded, failed, nbytes = self._transfer(todo, progress=as_subscriber(progress))
        if failed:
            _log.error(
                "%d of %d objects failed to upload to %s; manifests not uploaded",
                len(failed),
                len(todo),
                self.base_uri,
            )
            manifest_uris.clear()
        for split, text in rewritten.items():
            if failed:  # an image (or a manifest) failed: publish no manifest pointing at it
                break
            # The local *.s3.manifest is (re)written even when S3 already has it, so the
            # folder always shows what was uploaded.
            local_path = root / s3_manifest_name(split)
            atomic_write_text(local_path, text)
            if split not in manifest_todo:
                continue
            item = _LocalFile(
                local_path, manifest_todo[split], sha256_b64(local_path), local_path.stat().st_size
            )
            m_up, m_failed, m_bytes = self._transfer([item], progress=None)
            uploaded += m_up
            failed += m_failed
            nbytes += m_bytes
            if not m_failed:
                manifest_uris[split] = f"s3://{self.bucket}/{item.key}"
        return UploadReport(
            uploaded=tuple(uploaded),
            skipped=tuple(skipped),
            failed=tuple(failed),
            manifests=manifest_uris,
            planned=planned,
            bytes_uploaded=nbytes,
        )

    # --- steps -----------------------------------------------------------------------------

    def _scan(self, root: Path) -> tuple[list[Path], dict[str, Path]]:
        images_dir = root / "images"
        if not images_dir.is_dir():
            raise DatasetError(
                f"{root} is not a dataset folder: expected an images/ folder inside it "
                "(build one with `wsi2rek build`)",
                path=root,
            )
        images = regular_files(images_dir)
        manifests = {
            p.name.removesuffix(".manifest"): p
            for p in sorted(root.glob("*.manifest"))
            if not p.name.endswith(".s3.manifest")
        }
        if not manifests:
            raise DatasetError(
                f"{root} has no *.manifest file (expected train.manifest and test.manifest)",
                path=root,
            )
        return images, manifests

    def _bucket_args(self) -> dict[str, Any]:
        if self.expected_bucket_owner:
            return {"ExpectedBucketOwner": self.expected_bucket_owner}
        return {}

    def _check_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket, **self._bucket_args())
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise aws_error(
                exc,
                operation="HeadBucket",
                resource=self.bucket,
                what=f"checking bucket {self.bucket!r}",
            ) from exc

    def _hash_all(self, images: list[Path], root: Path) -> list[_LocalFile]:
        def one(path: Path) -> _LocalFile:
            rel = path.relative_to(root).as_posix()
            try:
                return _LocalFile(path, self.key_for(rel), sha256_b64(path), path.stat().st_size)
            except OSError as exc:
                raise unreadable(path, exc) from exc

        return bounded_map(one, images, workers=self.workers)

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            head = self.client.head_object(
                Bucket=self.bucket, Key=key, ChecksumMode="ENABLED", **self._bucket_args()
            )
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return dict(head)

    def _head_or_raise(self, key: str) -> dict[str, Any] | None:
        try:
            return self._head(key)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise aws_error(
                exc,
                operation="HeadObject",
                resource=self.bucket,
                what="comparing checksums",
            ) from exc

    def _existing_keys(self) -> set[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        prefix = self.key_for("images/")
        keys: set[str] = set()
        try:
            for page in paginator.paginate(
                Bucket=self.bucket, Prefix=prefix, **self._bucket_args()
            ):
                keys.update(obj["Key"] for obj in page.get("Contents", []) if "Key" in obj)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise aws_error(
                exc,
                operation="ListObjectsV2",
                resource=self.bucket,
                what="listing existing objects",
            ) from exc
        return keys

    def _compare(self, local: list[_LocalFile]) -> tuple[list[_LocalFile], list[str]]:
        existing = self._existing_keys()
        candidates = [f for f in local if f.key in existing]
        todo = [f for f in local if f.key not in existing]
        skipped: list[str] = []

        def same(item: _LocalFile) -> bool:
            head = self._head(item.key)
            return head is not None and self._proven(head, item) is True

        try:
            results = bounded_map(same, candidates, workers=self.workers)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise aws_error(
                exc,
                operation="HeadObject",
                resource=self.bucket,
                what="comparing checksums",
            ) from exc
        for item, unchanged in zip(candidates, results, strict=True):
            (skipped.append(item.key) if unchanged else todo.append(item))
        todo.sort(key=lambda f: f.key)
        return todo, skipped

    def _extra_args(self, item: _LocalFile) -> dict[str, Any]:
        args: dict[str, Any] = {
            "ChecksumAlgorithm": "SHA256",
            "Metadata": {METADATA_SHA256: item.sha256},
            **self._bucket_args(),
        }
        content_type = _CONTENT_TYPES.get(item.path.suffix.lower())
        if content_type:
            args["ContentType"] = content_type
        elif item.path.suffix == ".manifest":
            args["ContentType"] = "application/x-ndjson"
        if self.sse:
            args["ServerSideEncryption"] = self.sse
        if self.kms_key_id:
            args["SSEKMSKeyId"] = self.kms_key_id
        if self.storage_class:
            args["StorageClass"] = self.storage_class
        if self.tags:
            args["Tagging"] = urllib.parse.urlencode(self.tags)
        return args

    def _proven(self, head: Mapping[str, Any], item: _LocalFile) -> bool | None:
        """S3's own checksums compared with the local file; downloads when asked to."""
        try:
            proof = matches(
                head,
                item.path,
                item.sha256,
                first_part=lambda: self._head_part(item.key),
            )
        except OSError as exc:
            raise unreadable(item.path, exc) from exc
        if proof is None and self.verify == "download":
            return self._download_sha256(item.key) == item.sha256
        return proof

    def _head_part(self, key: str) -> dict[str, Any]:
        head = self.client.head_object(
            Bucket=self.bucket, Key=key, PartNumber=1, **self._bucket_args()
        )
        return dict(head)

    def _download_sha256(self, key: str) -> str:
        body = self.client.get_object(Bucket=self.bucket, Key=key, **self._bucket_args())["Body"]
        digest = hashlib.sha256()
        try:
            for chunk in iter(lambda: body.read(1 << 20), b""):
                digest.update(chunk)
        finally:
            body.close()
        return base64.b64encode(digest.digest()).decode("ascii")

    def _verify(self, item: _LocalFile) -> str | None:
        """None when S3 proves the object equals the local file, else the reason."""
        head = self._head(item.key)
        if head is None:
            return "object missing after upload"
        if self.verify == "download":
            remote = self._download_sha256(item.key)
            if remote != item.sha256:
                return f"downloaded object differs: local SHA-256 {item.sha256}, S3 {remote}"
            return None
        proof = self._proven(head, item)
        if proof is None:
            return (
                "S3 has no SHA-256 (or CRC-32) checksum of its own for the object, so it "
                "cannot be verified (it was overwritten meanwhile, or the store keeps no "
                "checksums); pass verify='download' (CLI: --verify download) to download "
                "and hash it"
            )
        if not proof:
            return "checksum mismatch after upload: S3's checksum differs from the local file"
        return None

    def _transfer(
        self, items: list[_LocalFile], *, progress: ProgressSubscriber | None
    ) -> tuple[list[str], list[UploadFailure], int]:
        """Upload and verify ``items``, ``workers`` at a time, in order of ``items``.

        Each object is verified as soon as its upload ends, on the same worker thread.
        """
        uploaded: list[str] = []
        failed: list[UploadFailure] = []
        nbytes = 0
        if not items:
            return uploaded, failed, nbytes
        config = TransferConfig(
            multipart_threshold=self.multipart_threshold,
            max_concurrency=self.workers,
            use_threads=True,
        )
        with create_transfer_manager(self.client, config) as manager:

            def send(item: _LocalFile) -> str | None:
                manager.upload(
                    str(item.path), self.bucket, item.key, extra_args=self._extra_args(item)
                ).result()
                return self._verify(item)

            run = BoundedRun(send, items, workers=self.workers, ordered=True)
            with tracked(progress, "upload", len(items), unit="file") as advance, run:
                for outcome in run:
                    reason = self._result(outcome)
                    if reason is None:
                        uploaded.append(outcome.item.key)
                        nbytes += outcome.item.size
                    else:
                        failed.append(UploadFailure(outcome.item.key, reason))
                    advance(1)
        return uploaded, failed, nbytes

    def _result(self, outcome: Outcome[_LocalFile, str | None]) -> str | None:
        """The failure reason of one upload (None: uploaded and verified)."""
        item = outcome.item
        try:
            return outcome.get()
        except OSError as exc:  # the local file vanished or became unreadable meanwhile
            raise unreadable(item.path, exc) from exc
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            code = error_code(exc)
            if code in _FATAL_CODES:
                # A bucket- or credential-level problem: every other object would fail the
                # same way, so stop with one error naming the bucket.
                raise aws_error(
                    exc,
                    operation="PutObject",
                    resource=self.bucket,
                    what=f"uploading s3://{self.bucket}/{item.key}",
                ) from exc
            _log.warning("upload of s3://%s/%s failed: %s", self.bucket, item.key, exc)
            return f"{code}: {exc}"
