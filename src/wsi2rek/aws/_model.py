"""A trained Custom Labels model version: status, evaluation, start/stop, detect.

A running model is billed per inference-unit hour until it is stopped, so
:meth:`CustomLabelsModel.running` is the way to use one: it starts the model if needed and
stops it again on every way out (see ``wsi2rek.aws._running``), unless the model was
already running when the block began.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs
import botocore.exceptions

from wsi2rek.aws._clients import (
    aws_error,
    make_rekognition_client,
    make_s3_client,
    parse_s3_uri,
    wait_for_status,
)
from wsi2rek.aws._evaluation import (
    EntryError,
    ModelEvaluation,
    TrainingFailedError,
    extract_entry_errors,
    format_errors,
    parse_evaluation_summary,
)
from wsi2rek.aws._images import ImageInput, encode_for_detection, to_detection
from wsi2rek.aws._running import ensure_stopped, signals_raise_system_exit
from wsi2rek.detection import Detection
from wsi2rek.errors import AwsError, ParameterError
from wsi2rek.rekognition import MODEL_ARN

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient
    from mypy_boto3_s3 import S3Client

__all__ = ["CustomLabelsModel"]

_log = logging.getLogger("wsi2rek.aws")


# --- the model -------------------------------------------------------------------------------


class CustomLabelsModel:
    """One model version of a Custom Labels project, addressed by its ARN.

    Args:
        arn: The project version ARN
            (``arn:aws:rekognition:<region>:<account>:project/<p>/version/<v>/<n>``).
        client: A Rekognition client; one with standard retries is created when None.
        s3_client: An S3 client for reading the evaluation summary and validation files.
        endpoint_url: Rekognition endpoint for the created client.
        region_name: Region for created clients (default: the ARN's region).
        project_arn: The project's ARN when known (saves a ``DescribeProjects`` call).
        poll_interval: Seconds between status polls when waiting.
    """

    def __init__(
        self,
        arn: str,
        *,
        client: RekognitionClient | None = None,
        s3_client: S3Client | None = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        project_arn: str | None = None,
        poll_interval: float = 30.0,
    ) -> None:
        match = MODEL_ARN.match(arn)
        if match is None:
            raise ParameterError(
                "expected a Custom Labels model ARN like arn:aws:rekognition:us-east-1:"
                f"123456789012:project/NAME/version/VERSION/1234567890123, got {arn!r}"
            )
        self.arn = arn
        self.project_name = match["project"]
        self.version_name = match["version"]
        self.poll_interval = poll_interval
        self._client = client
        self._s3_client = s3_client
        self._endpoint_url = endpoint_url
        self._region_name = region_name or arn.split(":")[3]
        self._project_arn = project_arn
        self._description: dict[str, Any] | None = None

    def __repr__(self) -> str:
        status = self._description.get("Status") if self._description else "unknown"
        return f"CustomLabelsModel({self.arn!r}, status={status})"

    @property
    def client(self) -> RekognitionClient:
        """The Rekognition client (created on first use when none was injected)."""
        if self._client is None:
            self._client = make_rekognition_client(
                endpoint_url=self._endpoint_url, region_name=self._region_name
            )
        return self._client

    @property
    def s3_client(self) -> S3Client:
        """The S3 client (created on first use when none was injected)."""
        if self._s3_client is None:
            self._s3_client = make_s3_client(region_name=self._region_name)
        return self._s3_client

    # --- status ----------------------------------------------------------------------------

    def _call_error(self, exc: BaseException, operation: str) -> AwsError:
        return aws_error(exc, operation=operation, resource=self.arn)

    @property
    def project_arn(self) -> str:
        """The project's ARN (looked up by name once when not given)."""
        if self._project_arn is None:
            try:
                found = self.client.describe_projects(ProjectNames=[self.project_name])
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                raise self._call_error(exc, "DescribeProjects") from exc
            projects = found.get("ProjectDescriptions", [])
            if not projects:
                raise AwsError(
                    f"project {self.project_name!r} of model {self.arn} was not found; check "
                    "the ARN and the region",
                    operation="DescribeProjects",
                    resource=self.arn,
                    code="ResourceNotFoundException",
                )
            self._project_arn = projects[0]["ProjectArn"]
        return self._project_arn

    def describe(self) -> dict[str, Any]:
        """Fetch and return the version's ``DescribeProjectVersions`` entry."""
        try:
            response = self.client.describe_project_versions(
                ProjectArn=self.project_arn, VersionNames=[self.version_name]
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self._call_error(exc, "DescribeProjectVersions") from exc
        for entry in response.get("ProjectVersionDescriptions", []):
            if entry.get("ProjectVersionArn") == self.arn:
                self._description = dict(entry)
                return self._description
        raise AwsError(
            f"model {self.arn} was not found in project {self.project_arn}; it may have "
            "been deleted",
            operation="DescribeProjectVersions",
            resource=self.arn,
            code="ResourceNotFoundException",
        )

    def fetch_status(self) -> str:
        """Ask the service for the current status (one ``DescribeProjectVersions`` call).

        Returns:
            The status, e.g. ``"TRAINING_COMPLETED"`` or ``"RUNNING"``; :attr:`last_status`
            and :attr:`last_status_message` then hold what this call saw.
        """
        return str(self.describe()["Status"])

    @property
    def last_status(self) -> str | None:
        """The status the last :meth:`describe`/:meth:`fetch_status` saw; no network call.

        None before the first call.
        """
        return None if self._description is None else str(self._description["Status"])

    @property
    def last_status_message(self) -> str | None:
        """The ``StatusMessage`` the last :meth:`describe` saw (None if none); no network call."""
        if self._description is None:
            return None
        message = self._description.get("StatusMessage")
        return str(message) if message else None

    def _status_and_message(self) -> tuple[str, str | None]:
        entry = self.describe()
        message = entry.get("StatusMessage")
        return str(entry["Status"]), (str(message) if message else None)

    def _read_s3(self, bucket: str, key: str) -> str:
        body = self.s3_client.get_object(Bucket=bucket, Key=key)["Body"]
        try:
            return body.read().decode("utf-8")
        finally:
            body.close()

    def validation_errors(self, *, limit: int = 10) -> list[EntryError]:
        """Per-line errors from the training/testing validation manifests, if readable.

        Best effort: files that cannot be read (missing, permission) are skipped with a
        log line, since this is only used to explain a failure.
        """
        entry = self._description or self.describe()
        errors: list[EntryError] = []
        for field in ("TrainingDataResult", "TestingDataResult"):
            assets = ((entry.get(field) or {}).get("Validation") or {}).get("Assets") or []
            for asset in assets:
                obj = (asset.get("GroundTruthManifest") or {}).get("S3Object") or {}
                if "Bucket" not in obj or "Name" not in obj:
                    continue
                try:
                    text = self._read_s3(obj["Bucket"], obj["Name"])
                except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                    _log.warning(
                        "could not read validation manifest s3://%s/%s: %s",
                        obj["Bucket"],
                        obj["Name"],
                        exc,
                    )
                    continue
                errors += extract_entry_errors(text, limit=limit - len(errors))
        return errors[:limit]

    def _training_failed(self, status: str, message: str | None) -> AwsError:
        errors = self.validation_errors()
        return TrainingFailedError(
            f"training of {self.arn} ended in {status}: {message or 'no status message'}"
            f"{format_errors(errors)}",
            operation="CreateProjectVersion",
            resource=self.arn,
            code=status,
            entry_errors=errors,
        )

    def wait_until_trained(
        self, *, timeout: timedelta = timedelta(hours=24), poll_interval: float | None = None
    ) -> str:
        """Wait for training (or copying) to finish, with a deadline of our own.

        Training takes 30 minutes to 24 hours; botocore's waiter gives up after 12 hours,
        so this loop is used instead. Status changes are logged.

        Raises:
            TrainingFailedError: ``TRAINING_FAILED`` or ``COPYING_FAILED``, with the status
                message and the first validation errors.
            AwsTimeoutError: The deadline passed (training continues on AWS).
        """
        return wait_for_status(
            self._status_and_message,
            wanted={"TRAINING_COMPLETED", "COPYING_COMPLETED", "RUNNING", "STOPPED"},
            failed={"TRAINING_FAILED", "COPYING_FAILED", "FAILED", "DEPRECATED", "EXPIRED"},
            timeout=timeout,
            poll_interval=self.poll_interval if poll_interval is None else poll_interval,
            operation="training",
            resource=self.arn,
            on_failed=self._training_failed,
        )

    # --- evaluation ------------------------------------------------------------------------

    def evaluation(self) -> ModelEvaluation:
        """The F1 score and, read from S3, per-label precision, recall, F1 and threshold.

        Raises:
            AwsError: The model has no evaluation (not trained), or the summary file
                cannot be read.
        """
        entry = self.describe()
        result = entry.get("EvaluationResult")
        if not result:
            raise AwsError(
                f"model {self.arn} has no evaluation yet (status {entry.get('Status')}); "
                "wait for TRAINING_COMPLETED",
                operation="DescribeProjectVersions",
                resource=self.arn,
                code="NoEvaluation",
            )
        score = result.get("F1Score")
        f1 = float(score) if isinstance(score, int | float) else None
        obj = (result.get("Summary") or {}).get("S3Object") or {}
        if "Bucket" not in obj or "Name" not in obj:
            return ModelEvaluation(f1=f1)
        uri = f"s3://{obj['Bucket']}/{obj['Name']}"
        try:
            text = self._read_s3(obj["Bucket"], obj["Name"])
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise aws_error(
                exc, operation="GetObject", resource=uri, what="reading the evaluation summary"
            ) from exc
        try:
            summary = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AwsError(
                f"evaluation summary {uri} is not JSON ({exc.msg} at line {exc.lineno})",
                operation="GetObject",
                resource=uri,
                code="InvalidSummary",
            ) from exc
        return attrs.evolve(parse_evaluation_summary(summary, f1=f1), summary_uri=uri)

    # --- start / stop ----------------------------------------------------------------------

    def start(
        self,
        min_inference_units: int = 1,
        max_inference_units: int | None = None,
        *,
        wait: bool = True,
        timeout: timedelta = timedelta(minutes=60),
    ) -> str:
        """Start the model (billed per inference-unit hour until stopped!).

        Args:
            min_inference_units: Units always provisioned (>= 1).
            max_inference_units: Upper bound for auto-scaling (None: no scaling).
            wait: Poll until ``RUNNING``.
            timeout: How long to wait.

        Returns:
            The status after the call (``RUNNING`` when waited).
        """
        if min_inference_units < 1:
            raise ParameterError(f"min_inference_units must be >= 1, got {min_inference_units}")
        if max_inference_units is not None and max_inference_units < min_inference_units:
            raise ParameterError(
                f"max_inference_units ({max_inference_units}) must be >= min_inference_units "
                f"({min_inference_units})"
            )
        kwargs: dict[str, Any] = {"MinInferenceUnits": min_inference_units}
        if max_inference_units is not None:
            kwargs["MaxInferenceUnits"] = max_inference_units
        try:
            status = str(
                self.client.start_project_version(ProjectVersionArn=self.arn, **kwargs)["Status"]
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self._call_error(exc, "StartProjectVersion") from exc
        _log.warning(
            "started model %s with %d inference unit(s): it is billed per hour until stopped",
            self.arn,
            min_inference_units,
        )
        if not wait:
            return status
        return wait_for_status(
            self._status_and_message,
            wanted={"RUNNING"},
            failed={"FAILED", "TRAINING_FAILED", "STOPPED", "DEPRECATED", "EXPIRED"},
            timeout=timeout,
            poll_interval=self.poll_interval,
            operation="StartProjectVersion",
            resource=self.arn,
        )

    def stop(self, *, wait: bool = True, timeout: timedelta = timedelta(minutes=30)) -> str:
        """Stop the model; polls until ``STOPPED`` when ``wait`` (there is no waiter).

        Returns:
            The status after the call (``STOPPED`` when waited).
        """
        try:
            status = str(self.client.stop_project_version(ProjectVersionArn=self.arn)["Status"])
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self._call_error(exc, "StopProjectVersion") from exc
        if not wait:
            return status
        return wait_for_status(
            self._status_and_message,
            wanted={"STOPPED"},
            failed={"FAILED"},
            timeout=timeout,
            poll_interval=self.poll_interval,
            operation="StopProjectVersion",
            resource=self.arn,
        )

    @contextmanager
    def running(
        self,
        min_inference_units: int = 1,
        max_inference_units: int | None = None,
        *,
        timeout: timedelta = timedelta(minutes=60),
    ) -> Iterator[CustomLabelsModel]:
        """Use the model inside a ``with`` block; it is stopped on EVERY way out.

        Starts the model unless it is already ``RUNNING`` (or ``STARTING``, then waits).
        Once the block has been entered, a ``StopProjectVersion`` is sent however it ends:
        normally, by an exception, by Ctrl-C (even while the start request is in flight),
        when the start's response was lost after the service applied it, when status
        lookups fail, and on SIGTERM/SIGHUP. The stop is retried with exponential
        backoff past throttling, 5xx answers and dropped connections until ``timeout``;
        SIGINT/SIGTERM/SIGHUP arriving meanwhile are held until it is accepted.

        Signals: while inside the block, in the main thread only, SIGTERM and SIGHUP
        raise ``SystemExit(128 + signal number)`` (so ``finally`` blocks run and the
        model is stopped); the previous handlers are restored when the block ends, and
        signals the process ignores (``nohup``) stay ignored. ``kill -9`` and power loss
        cannot be caught: see ``docs/guide/aws-cleanup.md``.

        A model that was already running before the block is left running (a WARNING
        with the ARN is logged, since it keeps costing money).

        Raises:
            ModelNotStoppedError: The stop could not be sent before ``timeout`` (or was
                refused, e.g. AccessDenied); the message and an ERROR log line carry the
                ARN and the exact commands that stop the model.

        Yields:
            This model, ready for :meth:`detect`.
        """
        before = self.fetch_status()
        was_running = before in ("RUNNING", "STARTING")
        if before == "STOPPING":
            self._wait_stopped(timeout)
        if was_running:
            try:
                if self.last_status != "RUNNING":
                    self._wait_running(timeout)
                yield self
            finally:
                _log.warning(
                    "model %s was running before and is LEFT RUNNING (billed per hour): "
                    "stop it with `wsi2rek model stop %s` when done",
                    self.arn,
                    self.arn,
                )
            return
        with signals_raise_system_exit():
            try:
                self._start_for_block(min_inference_units, max_inference_units)
                if self.last_status != "RUNNING":
                    self._wait_running(timeout)
                yield self
            finally:
                ensure_stopped(self, timeout=timeout.total_seconds())

    def _start_for_block(self, min_units: int, max_units: int | None) -> None:
        """Start; a "cannot start" answer from our own lost start request is success."""
        try:
            self.start(min_units, max_units, wait=False)
        except AwsError as exc:
            if exc.code != "ResourceInUseException":
                raise
            # Botocore retried a start whose first attempt was applied but whose answer
            # was lost: the model is already starting, which is what we asked for.
            if self.fetch_status() not in ("STARTING", "RUNNING"):
                raise

    def _wait_running(self, timeout: timedelta) -> None:
        wait_for_status(
            self._status_and_message,
            wanted={"RUNNING"},
            failed={"FAILED", "STOPPED"},
            timeout=timeout,
            poll_interval=self.poll_interval,
            operation="StartProjectVersion",
            resource=self.arn,
        )

    def _wait_stopped(self, timeout: timedelta) -> None:
        wait_for_status(
            self._status_and_message,
            wanted={"STOPPED"},
            failed={"FAILED"},
            timeout=timeout,
            poll_interval=self.poll_interval,
            operation="StopProjectVersion",
            resource=self.arn,
        )

    # --- other lifecycle -------------------------------------------------------------------

    def delete(self) -> None:
        """Delete this model version (it must not be running or training)."""
        try:
            self.client.delete_project_version(ProjectVersionArn=self.arn)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self._call_error(exc, "DeleteProjectVersion") from exc

    def copy_to(
        self,
        destination_project_arn: str,
        version_name: str,
        output: str,
        *,
        kms_key_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        wait: bool = True,
        timeout: timedelta = timedelta(hours=24),
    ) -> CustomLabelsModel:
        """Copy this model to another project (same region; cross-account needs a policy).

        Args:
            destination_project_arn: The project receiving the copy.
            version_name: The copy's version name.
            output: ``s3://bucket/prefix`` for the copy's output files.
            kms_key_id: KMS key for the copy.
            tags: Tags for the copy.
            wait: Poll until ``COPYING_COMPLETED``.
            timeout: How long to wait.

        Returns:
            The copy.
        """
        bucket, prefix = parse_s3_uri(output)
        kwargs: dict[str, Any] = {
            "SourceProjectArn": self.project_arn,
            "SourceProjectVersionArn": self.arn,
            "DestinationProjectArn": destination_project_arn,
            "VersionName": version_name,
            "OutputConfig": {"S3Bucket": bucket, "S3KeyPrefix": prefix},
        }
        if kms_key_id:
            kwargs["KmsKeyId"] = kms_key_id
        if tags:
            kwargs["Tags"] = dict(tags)
        try:
            arn = self.client.copy_project_version(**kwargs)["ProjectVersionArn"]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self._call_error(exc, "CopyProjectVersion") from exc
        copy = CustomLabelsModel(
            arn,
            client=self.client,
            s3_client=self._s3_client,
            project_arn=destination_project_arn,
            poll_interval=self.poll_interval,
        )
        if wait:
            copy.wait_until_trained(timeout=timeout)
        return copy

    # --- inference -------------------------------------------------------------------------

    def detect(
        self,
        image: ImageInput,
        min_confidence: float | None = None,
        max_results: int | None = None,
    ) -> list[Detection]:
        """Detect objects in one image with the running model.

        Args:
            image: PNG/JPEG path, bytes, a PIL image or an RGB uint8 array; encoded (and
                re-encoded to JPEG above 4 MB) as needed.
            min_confidence: Minimum confidence in percent (0-100); the service default
                (each label's assumed threshold) when None.
            max_results: Keep at most this many labels.

        Returns:
            Detections with boxes in pixels of ``image``.

        Raises:
            AwsError: The call failed (not running, bad image...); carries the ARN and code.
                Throttling is retried by botocore first.
            ValueError: ``image`` cannot be encoded.
        """
        encoded = encode_for_detection(image)
        kwargs: dict[str, Any] = {"ProjectVersionArn": self.arn, "Image": {"Bytes": encoded.data}}
        if min_confidence is not None:
            kwargs["MinConfidence"] = float(min_confidence)
        if max_results is not None:
            kwargs["MaxResults"] = int(max_results)
        try:
            response = self.client.detect_custom_labels(**kwargs)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self._call_error(exc, "DetectCustomLabels") from exc
        detections: list[Detection] = []
        without_box = 0
        for label in response.get("CustomLabels", []):
            detection = to_detection(dict(label), encoded.width, encoded.height)
            if detection is None:
                without_box += 1
            else:
                detections.append(detection)
        if without_box:
            _log.warning(
                "%d label(s) from %s had no bounding box (an image-classification model?) "
                "and were skipped",
                without_box,
                self.arn,
            )
        return detections
