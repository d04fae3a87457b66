"""``wsi2rek upload``, ``train``, ``model`` and ``detect``: the AWS subcommands.

boto3 is imported only when one of these commands runs, so the rest of the CLI starts
fast and never loads it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wsi2rek._atomic import atomic_path
from wsi2rek.cli._common import add_json_flag, print_json, show_progress
from wsi2rek.errors import InputNotFoundError, ParameterError

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient
    from mypy_boto3_s3 import S3Client

    from wsi2rek.aws import CustomLabelsModel

__all__ = ["register"]


def _add_endpoint_flags(parser: argparse.ArgumentParser, *, rekognition: bool) -> None:
    parser.add_argument(
        "--profile",
        default=None,
        help="AWS profile of ~/.aws/config to use (default: boto3's, e.g. AWS_PROFILE)",
    )
    parser.add_argument(
        "--region",
        dest="region_name",
        default=None,
        help="AWS region (default: the model ARN's region, else boto3's resolution)",
    )
    if rekognition:
        parser.add_argument(
            "--endpoint-url", default=None, help="Rekognition endpoint (default: AWS)"
        )
        parser.add_argument(
            "--s3-endpoint-url", default=None, help="S3 endpoint for manifests and summaries"
        )
    else:
        parser.add_argument(
            "--endpoint-url", default=None, help="S3-compatible endpoint (default: AWS S3)"
        )


def _tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``upload``, ``train``, ``model`` and ``detect``."""
    # Long but flat (issue 14's ~80-line rule): one add_argument per flag, read top to
    # bottom as the command's --help; splitting it would scatter one command's flags.
    up = subparsers.add_parser(
        "upload",
        help="upload a dataset folder to S3 (only missing/changed files) and write S3 manifests",
        description="Upload OUT/images/** to s3://bucket/prefix/, verify SHA-256 checksums, "
        "write OUT/<split>.s3.manifest with S3 source-refs and upload them.",
    )
    up.add_argument("dataset", type=Path, metavar="OUT", help="dataset folder (wsi2rek build)")
    up.add_argument("destination", metavar="S3_URI", help="s3://bucket/prefix")
    _add_endpoint_flags(up, rekognition=False)
    up.add_argument(
        "--sse", choices=["AES256", "aws:kms"], default=None, help="server-side encryption"
    )
    up.add_argument("--kms-key-id", default=None, help="KMS key for --sse aws:kms")
    up.add_argument(
        "--expected-bucket-owner",
        default=None,
        metavar="ACCOUNT_ID",
        help="refuse to write to a bucket owned by another account",
    )
    up.add_argument(
        "--storage-class", default=None, help="S3 storage class (default: the bucket's)"
    )
    up.add_argument(
        "--tag", type=_tag, action="append", default=[], metavar="KEY=VALUE", help="object tag"
    )
    up.add_argument("--workers", type=int, default=8, help="threads uploading at once (default 8)")
    up.add_argument(
        "--verify",
        choices=["checksum", "download"],
        default="checksum",
        help="checksum: compare the checksums S3 computed (default); download: also download "
        "and hash objects (for stores that keep no checksums)",
    )
    up.add_argument("--dry-run", action="store_true", help="list what would be uploaded")
    add_json_flag(up)
    up.set_defaults(handler=_upload)

    tr = subparsers.add_parser(
        "train",
        help="create/reuse a Custom Labels project, its datasets, and train a model",
        description="Train from s3://.../train.s3.manifest (and test.s3.manifest when present; "
        "otherwise the training set is split by the service). Training costs money.",
    )
    tr.add_argument("--project", required=True, help="Custom Labels project name")
    tr.add_argument(
        "--version-name",
        dest="version_name",
        metavar="NAME",
        help="name of the model version to train (required)",
    )
    # Deprecated spelling, kept working but hidden: it read like the program's version.
    tr.add_argument("--version", dest="version_name", help=argparse.SUPPRESS)
    tr.add_argument(
        "--dataset",
        required=True,
        metavar="S3_URI",
        help="the upload prefix (s3://bucket/prefix/) or a training .manifest URI",
    )
    tr.add_argument(
        "--output", required=True, metavar="S3_URI", help="s3://bucket/prefix for results"
    )
    tr.add_argument("--no-wait", action="store_true", help="return once training has started")
    tr.add_argument(
        "--timeout-hours", type=float, default=24.0, help="give up waiting after this long"
    )
    tr.add_argument("--poll-interval", type=float, default=60.0, help="seconds between polls")
    _add_endpoint_flags(tr, rekognition=True)
    add_json_flag(tr)
    tr.set_defaults(handler=_train)

    mo = subparsers.add_parser(
        "model",
        help="status, start, stop or evaluate a Custom Labels model",
        description="A running model is billed per inference-unit hour: stop it when done.",
    )
    mo.add_argument(
        "action",
        choices=["status", "start", "stop", "evaluate"],
        help="status, start (billed per hour until stopped), stop, or evaluate (scores)",
    )
    mo.add_argument("arn", metavar="ARN", help="model (project version) ARN")
    mo.add_argument("--min-units", type=int, default=1, help="inference units for start")
    mo.add_argument("--max-units", type=int, default=None, help="auto-scaling maximum for start")
    mo.add_argument("--no-wait", action="store_true", help="do not wait for RUNNING/STOPPED")
    mo.add_argument(
        "--poll-interval", type=float, default=15.0, help="seconds between status polls"
    )
    _add_endpoint_flags(mo, rekognition=True)
    add_json_flag(mo)
    mo.set_defaults(handler=_model)

    de = subparsers.add_parser(
        "detect",
        help="detect objects in one image with a RUNNING model",
        description="The model must be running (wsi2rek model start ARN); this does not start it.",
    )
    de.add_argument("image", type=Path, metavar="IMAGE", help="PNG or JPEG image")
    de.add_argument("--model", required=True, metavar="ARN", help="model version ARN")
    de.add_argument("--min-confidence", type=float, default=None, help="percent (0-100)")
    de.add_argument("--max-results", type=int, default=None, help="at most this many detections")
    de.add_argument("--draw", type=Path, default=None, metavar="OUT.png", help="save boxes drawn")
    _add_endpoint_flags(de, rekognition=True)
    add_json_flag(de)
    de.set_defaults(handler=_detect)


@contextmanager
def _status_log(args: argparse.Namespace) -> Iterator[None]:
    """Show wsi2rek.aws INFO lines (status changes) on stderr unless --json."""
    if getattr(args, "json", False):
        yield
        return
    logger = logging.getLogger("wsi2rek.aws")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _upload(args: argparse.Namespace) -> int:
    from wsi2rek.aws import S3Uploader, make_s3_client, parse_s3_uri  # noqa: PLC0415

    bucket, prefix = parse_s3_uri(args.destination)
    client = None
    if args.profile is not None:  # otherwise the uploader makes its own, tuned client
        client = make_s3_client(
            endpoint_url=args.endpoint_url,
            region_name=args.region_name,
            session=_session(args),
            max_pool_connections=max(10, args.workers + 2),
        )
    uploader = S3Uploader(
        bucket,
        prefix,
        client=client,
        endpoint_url=args.endpoint_url,
        region_name=args.region_name,
        workers=args.workers,
        sse=args.sse,
        kms_key_id=args.kms_key_id,
        expected_bucket_owner=args.expected_bucket_owner,
        storage_class=args.storage_class,
        tags=dict(args.tag),
        verify=args.verify,
    )
    with _status_log(args):
        report = uploader.upload(args.dataset, dry_run=args.dry_run, progress=show_progress(args))
    if args.json:
        print_json(report.to_dict())
    elif report.dry_run:
        print(f"dry run: {len(report.planned)} object(s) would be uploaded to {uploader.base_uri}")
        for key in report.planned:
            print(f"  s3://{bucket}/{key}")
        print(f"{len(report.skipped)} already up to date")
    else:
        print(
            f"uploaded {len(report.uploaded)}, skipped {len(report.skipped)} (unchanged), "
            f"failed {len(report.failed)} -> {uploader.base_uri}"
        )
        for failure in report.failed:
            print(f"  FAILED {failure.key}: {failure.reason}", file=sys.stderr)
        for split, uri in sorted(report.manifests.items()):
            print(f"{split}: {uri}")
    return 0 if report.ok else 1


def _session(args: argparse.Namespace) -> Any:
    """The boto3 session of ``--profile`` (boto3's default session when not given)."""
    import boto3  # noqa: PLC0415
    import botocore.exceptions  # noqa: PLC0415

    try:
        return boto3.session.Session(profile_name=getattr(args, "profile", None))
    except botocore.exceptions.ProfileNotFound as exc:
        raise ParameterError(
            f"--profile {args.profile}: no such profile in the AWS config files ({exc})"
        ) from exc


def _clients(
    args: argparse.Namespace, arn: str | None = None
) -> tuple[RekognitionClient, S3Client]:
    """Clients for a command; a model ARN's region wins over the configured default.

    A model lives in the region its ARN names, so ``--region`` (when given) or that
    region is used; without an ARN (``train``), boto3's configuration decides and a
    missing region is one line saying how to set it.
    """
    from wsi2rek.aws import (  # noqa: PLC0415
        make_rekognition_client,
        make_s3_client,
        region_from_arn,
    )

    region = args.region_name or region_from_arn(arn)
    # One session: the second client reuses its loaded endpoint and service data.
    session = _session(args)
    rek = make_rekognition_client(
        endpoint_url=args.endpoint_url, region_name=region, session=session, arn=arn
    )
    s3 = make_s3_client(
        endpoint_url=args.s3_endpoint_url, region_name=region, session=session, arn=arn
    )
    return rek, s3


def _train(args: argparse.Namespace) -> int:
    from wsi2rek.aws import CustomLabelsProject  # noqa: PLC0415

    if not args.version_name:
        raise ParameterError("--version-name is required: the name of the version to train")
    rek, s3 = _clients(args)
    with _status_log(args):
        project = CustomLabelsProject.get_or_create(
            args.project, client=rek, s3_client=s3, poll_interval=args.poll_interval
        )
        project.ensure_datasets(args.dataset)
        model = project.train(
            args.version_name,
            args.output,
            wait=not args.no_wait,
            timeout=timedelta(hours=args.timeout_hours),
        )
    info = {"project": project.arn, "model": model.arn, "status": model.fetch_status()}
    if args.json:
        print_json(info)
    else:
        print(f"model {model.arn}: {info['status']}")
    return 0


def _model_info(model: CustomLabelsModel) -> dict[str, Any]:
    entry = model.describe()
    keys = (
        "Status",
        "StatusMessage",
        "BillableTrainingTimeInSeconds",
        "MinInferenceUnits",
        "MaxInferenceUnits",
    )
    info: dict[str, Any] = {"arn": model.arn}
    info.update({key: entry[key] for key in keys if key in entry})
    f1 = (entry.get("EvaluationResult") or {}).get("F1Score")
    if f1 is not None:
        info["F1Score"] = f1
    return info


def _model(args: argparse.Namespace) -> int:
    from wsi2rek.aws import CustomLabelsModel  # noqa: PLC0415

    rek, s3 = _clients(args, args.arn)
    model = CustomLabelsModel(args.arn, client=rek, s3_client=s3, poll_interval=args.poll_interval)
    with _status_log(args):
        if args.action == "start":
            model.start(args.min_units, args.max_units, wait=not args.no_wait)
        elif args.action == "stop":
            model.stop(wait=not args.no_wait)
    if args.action == "evaluate":
        evaluation = model.evaluation()
        if args.json:
            print_json(evaluation.to_dict())
        else:
            print(f"F1 {evaluation.f1}  ({evaluation.summary_uri or 'no summary file'})")
            for m in evaluation.labels:
                print(
                    f"  {m.label}: precision {m.precision} recall {m.recall} F1 {m.f1} "
                    f"assumed threshold {m.threshold}"
                )
        return 0
    info = _model_info(model)
    if args.json:
        print_json(info)
    else:
        for key, value in info.items():
            print(f"{key}: {value}")
        if info.get("Status") in ("RUNNING", "STARTING"):
            print(
                "note: the model is billed per hour while running; stop it with "
                f"`wsi2rek model stop {model.arn}`"
            )
    return 0


def _detect(args: argparse.Namespace) -> int:
    from PIL import Image, ImageDraw  # noqa: PLC0415

    from wsi2rek.aws import CustomLabelsModel  # noqa: PLC0415

    if not args.image.is_file():
        raise InputNotFoundError(f"image {args.image} does not exist", path=args.image)
    rek, s3 = _clients(args, args.model)
    model = CustomLabelsModel(args.model, client=rek, s3_client=s3)
    detections = model.detect(args.image, args.min_confidence, args.max_results)
    if args.draw is not None:
        with Image.open(args.image) as opened:
            canvas = opened.convert("RGB")
        draw = ImageDraw.Draw(canvas)
        for d in detections:
            draw.rectangle(
                (d.box.left, d.box.top, d.box.right, d.box.bottom), outline=(255, 0, 0), width=2
            )
            draw.text(
                (d.box.left + 2, d.box.top + 2), f"{d.label} {d.confidence:.0f}", fill=(255, 0, 0)
            )
        fmt = Image.registered_extensions().get(Path(args.draw).suffix.lower())
        if fmt is None:
            raise ParameterError(
                f"--draw {args.draw}: unknown image suffix; use .png, .jpg or .tif"
            )
        with atomic_path(args.draw) as tmp:
            canvas.save(tmp, format=fmt)
    rows = [
        {
            "label": d.label,
            "confidence": d.confidence,
            "left": d.box.left,
            "top": d.box.top,
            "right": d.box.right,
            "bottom": d.box.bottom,
        }
        for d in detections
    ]
    if args.json:
        print_json(rows)
    else:
        print(f"{len(rows)} detection(s) in {args.image}")
        for r in rows:
            print(
                f"  {r['label']} {r['confidence']:.1f}%  "
                f"({r['left']:.0f}, {r['top']:.0f}, {r['right']:.0f}, {r['bottom']:.0f})"
            )
    return 0
