"""Creating boto3 clients, parsing S3 URIs and turning botocore errors into ``AwsError``.

This is the only place that builds a boto3 client. Clients are created lazily (never at
import) and only when the caller did not inject one; they use botocore's ``standard``
retry mode, which retries throttling (``ThrottlingException``,
``ProvisionedThroughputExceededException``, ``SlowDown``...), transient 5xx errors and
dropped connections with exponential backoff and jitter.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

import boto3
import botocore.config
import botocore.exceptions

from wsi2rek.errors import AwsError, AwsTimeoutError, ParameterError

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient
    from mypy_boto3_s3 import S3Client

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "aws_error",
    "error_code",
    "make_rekognition_client",
    "make_s3_client",
    "parse_s3_uri",
    "region_from_arn",
    "wait_for_status",
]

_log = logging.getLogger("wsi2rek.aws")

#: Attempts (first call included) botocore makes before giving up on a retryable error.
DEFAULT_MAX_ATTEMPTS = 10

RetryMode = Literal["standard", "adaptive"]


def _config(max_attempts: int, retry_mode: RetryMode) -> botocore.config.Config:
    return botocore.config.Config(
        retries={"mode": retry_mode, "total_max_attempts": max_attempts},
        user_agent_extra="wsi2rek",
    )


_NO_REGION = (
    "no AWS region is configured for {service}: pass region_name=REGION, or set "
    "AWS_DEFAULT_REGION, or run "
    "`aws configure set region us-east-1`"
)


def region_from_arn(arn: str | None) -> str | None:
    """The region field of an ARN (``arn:partition:service:region:account:resource``).

    Args:
        arn: Any ARN, or None.

    Returns:
        The region, or None when ``arn`` is None, not an ARN or has an empty region field
        (global resources such as S3 buckets).
    """
    if not arn:
        return None
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not parts[3]:
        return None
    return parts[3]


def _resolve_region(
    session: boto3.session.Session, region_name: str | None, arn: str | None
) -> str | None:
    """``region_name``, else boto3's own (env, profile), else the ARN's region, else None."""
    return region_name or session.region_name or region_from_arn(arn)


def _client(
    service: Literal["s3", "rekognition"],
    session: boto3.session.Session | None,
    *,
    endpoint_url: str | None,
    region_name: str | None,
    arn: str | None,
    config: botocore.config.Config,
) -> Any:
    session = session or boto3.session.Session()
    region = _resolve_region(session, region_name, arn)
    try:
        return session.client(
            service,
            endpoint_url=endpoint_url,
            region_name=region,
            config=config,
        )
    except botocore.exceptions.NoRegionError as exc:
        raise AwsError(
            _NO_REGION.format(service=service),
            operation="CreateClient",
            code="NoRegion",
            parameter="region_name",
        ) from exc


def make_s3_client(
    *,
    endpoint_url: str | None = None,
    region_name: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    retry_mode: RetryMode = "standard",
    max_pool_connections: int = 10,
    session: boto3.session.Session | None = None,
    arn: str | None = None,
) -> S3Client:
    """Create an S3 client with a retry configuration.

    Args:
        endpoint_url: Any S3-compatible endpoint (MinIO, moto, ...); AWS when None.
        region_name: The region; when None, boto3's usual resolution (env, profile), then
            the region of ``arn``.
        max_attempts: Attempts per call, first one included.
        retry_mode: botocore's ``standard`` or ``adaptive`` (client-side rate limiting).
        max_pool_connections: HTTP connection pool size (match the uploader's ``workers``).
        session: The boto3 session to use (a profile, explicit credentials); a new
            default session when None.
        arn: An ARN whose region is used when neither ``region_name`` nor boto3's
            configuration names one (e.g. the model ARN a command works on).

    Returns:
        A new ``S3Client``.
    """
    config = _config(max_attempts, retry_mode).merge(
        botocore.config.Config(max_pool_connections=max_pool_connections)
    )
    client: S3Client = _client(
        "s3", session, endpoint_url=endpoint_url, region_name=region_name, arn=arn, config=config
    )
    return client


def make_rekognition_client(
    *,
    endpoint_url: str | None = None,
    region_name: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    retry_mode: RetryMode = "standard",
    max_pool_connections: int = 10,
    session: boto3.session.Session | None = None,
    arn: str | None = None,
) -> RekognitionClient:
    """Create a Rekognition client with a retry configuration (see :func:`make_s3_client`).

    Args:
        endpoint_url: A Rekognition endpoint (e.g. a fake server in tests); AWS when None.
        region_name: The region; when None, boto3's usual resolution (env, profile), then
            the region of ``arn``.
        max_attempts: Attempts per call, first one included.
        retry_mode: botocore's ``standard`` or ``adaptive``.
        max_pool_connections: HTTP connection pool size; raise it to at least the number
            of threads calling ``detect`` at once (e.g. ``detect_slide``'s ``workers``).
        session: The boto3 session to use; a new default session when None.
        arn: A model or project ARN whose region is used when neither ``region_name``
            nor boto3's configuration names one.

    Returns:
        A new ``RekognitionClient``.

    Raises:
        AwsError: No region anywhere (argument, environment, profile, ``arn``); the
            message says how to set one.
    """
    config = _config(max_attempts, retry_mode).merge(
        botocore.config.Config(max_pool_connections=max_pool_connections)
    )
    client: RekognitionClient = _client(
        "rekognition",
        session,
        endpoint_url=endpoint_url,
        region_name=region_name,
        arn=arn,
        config=config,
    )
    return client


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/key/prefix`` into ``(bucket, key)``; the key may be empty.

    Args:
        uri: An S3 URI.

    Returns:
        The bucket name and the key (without a leading slash).

    Raises:
        ValueError: ``uri`` does not start with ``s3://`` or names no bucket.
    """
    if not uri.startswith("s3://"):
        raise ParameterError(f"expected an S3 URI like s3://bucket/prefix, got {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ParameterError(f"S3 URI {uri!r} names no bucket; expected s3://bucket/prefix")
    return bucket, key


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore exception (``"ConnectionError"`` for network errors)."""
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", "Unknown"))
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return "NoCredentials"
    if isinstance(exc, botocore.exceptions.EndpointConnectionError | ConnectionError):
        return "ConnectionError"
    return type(exc).__name__


def _error_message(exc: BaseException) -> str:
    """The error's message on one line (botocore's parameter validation spans several)."""
    message = str(exc)
    if isinstance(exc, botocore.exceptions.ClientError):
        message = str(exc.response.get("Error", {}).get("Message", "")) or message
    return " ".join(message.split())


_HINTS = {
    "NoSuchBucket": "create the bucket or fix its name",
    "404": "create the bucket or fix its name",
    "AccessDenied": "grant the IAM permissions listed in docs/guide/aws-setup.md, and check "
    "--expected-bucket-owner",
    "403": "grant the IAM permissions listed in docs/guide/aws-setup.md, and check the "
    "expected bucket owner",
    "NoCredentials": "configure AWS credentials (environment, profile or instance role)",
    "ResourceNotFoundException": "check the name/ARN and the region",
    "ResourceNotReadyException": "start the model first (model.start() or model.running())",
    "ResourceInUseException": "wait for the current operation to finish, or stop the model",
}


def aws_error(
    exc: BaseException, *, operation: str, resource: str, what: str | None = None
) -> AwsError:
    """Build one :class:`AwsError` naming the operation, the resource and the AWS error code.

    Args:
        exc: The botocore exception.
        operation: The API operation (``"PutObject"``, ``"DetectCustomLabels"``...).
        resource: The bucket, ``s3://`` URI or ARN the call was about.
        what: Optional plain words for the action ("uploading images").

    Returns:
        The error to raise (``raise aws_error(...) from exc``).
    """
    code = error_code(exc)
    doing = f" while {what}" if what else ""
    hint = _HINTS.get(code)
    fix = f"; {hint}" if hint else ""
    return AwsError(
        f"{operation} on {resource} failed{doing}: {code}: {_error_message(exc)}{fix}",
        operation=operation,
        resource=resource,
        code=code,
    )


def wait_for_status(
    fetch: Callable[[], tuple[str, str | None]],
    *,
    wanted: Collection[str],
    failed: Collection[str] = (),
    timeout: timedelta,
    poll_interval: float,
    operation: str,
    resource: str,
    on_failed: Callable[[str, str | None], AwsError] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Poll ``fetch`` until the status is in ``wanted``, with a deadline of our own.

    Status changes are logged at INFO on the ``wsi2rek.aws`` logger.

    Args:
        fetch: Returns ``(status, status_message)``.
        wanted: Statuses that end the wait successfully.
        failed: Statuses that end it with an error.
        timeout: How long to wait at most.
        poll_interval: Seconds between polls.
        operation: The operation being waited for (used in errors and logs).
        resource: The ARN being waited for.
        on_failed: Builds the error for a failed status (default: a plain ``AwsError``).
        clock: Monotonic clock (injectable for tests).
        sleep: Sleep function (injectable for tests).

    Returns:
        The wanted status that was reached.

    Raises:
        AwsError: A failed status was reached.
        AwsTimeoutError: The deadline passed first.
    """
    deadline = clock() + timeout.total_seconds()
    last: str | None = None
    while True:
        status, message = fetch()
        if status != last:
            _log.info(
                "%s %s: %s%s", operation, resource, status, f" ({message})" if message else ""
            )
            last = status
        if status in wanted:
            return status
        if status in failed:
            if on_failed is not None:
                raise on_failed(status, message)
            raise AwsError(
                f"{operation} on {resource} ended in {status}: {message or 'no status message'}",
                operation=operation,
                resource=resource,
                code=status,
            )
        remaining = deadline - clock()
        if remaining <= 0:
            raise AwsTimeoutError(
                f"{operation} on {resource} still {status} after {timeout}; it continues on "
                f"AWS: wait longer (timeout=...) or stop/delete it",
                operation=operation,
                resource=resource,
                status=status,
            )
        sleep(min(poll_interval, remaining))
