"""``wsi2rek app``: serve the detector app (Streamlit) shipped in the package."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from wsi2rek.errors import ParameterError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``app`` subcommand."""
    parser = subparsers.add_parser(
        "app",
        help="serve the detector web app (needs the 'app' extra)",
        description="Serve the wsi2rek detector app: upload an image (or pick a region of a "
        "slide), run the offline demo detector or a Custom Labels model, move the confidence "
        "slider and download the detections. Needs Streamlit: pip install 'wsi2rek[app]'. "
        "Stop it with Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=8501, help="TCP port to listen on")
    parser.add_argument(
        "--address",
        default="127.0.0.1",
        help="interface to bind; 0.0.0.0 serves every interface (only behind an "
        "authenticating proxy: the app has no login)",
    )
    parser.add_argument(
        "--model",
        metavar="ARN",
        default=None,
        help="model version ARN pre-filled in the sidebar (else WSI2REK_MODEL_ARN)",
    )
    parser.add_argument(
        "--slides",
        metavar="DIR",
        default=None,
        help="folder of slides; enables the 'Region of a slide' mode (else WSI2REK_SLIDES_DIR)",
    )
    parser.add_argument(
        "--profile",
        default=None,
        help="AWS profile of ~/.aws/config for the model calls (default: boto3's, e.g. "
        "AWS_PROFILE)",
    )
    parser.add_argument(
        "--region", default=None, help="AWS region of the model calls (default: the ARN's)"
    )
    parser.add_argument(
        "--endpoint-url", default=None, help="Rekognition endpoint (default: AWS's)"
    )
    parser.set_defaults(handler=_run)


def _check_profile(profile: str) -> None:
    """Refuse a profile the AWS config files do not define, before the app starts."""
    import boto3  # noqa: PLC0415  (keep `wsi2rek --help` fast)
    import botocore.exceptions  # noqa: PLC0415

    try:
        boto3.session.Session(profile_name=profile)
    except botocore.exceptions.ProfileNotFound as exc:
        raise ParameterError(
            f"--profile {profile}: no such profile in the AWS config files ({exc})"
        ) from exc


def _run(args: argparse.Namespace) -> int:
    # Keep `wsi2rek --help` fast: the app package imports numpy and Pillow.
    from wsi2rek.app import streamlit_command  # noqa: PLC0415
    from wsi2rek.app.logic import (  # noqa: PLC0415
        ARN_ENV,
        ENDPOINT_ENV,
        PROFILE_ENV,
        REGION_ENV,
        SLIDES_DIR_ENV,
        AppConfig,
        validate_model_arn,
    )

    if not 0 < args.port < 65536:
        raise ParameterError(f"--port must be between 1 and 65535, got {args.port}")
    if importlib.util.find_spec("streamlit") is None:
        raise ParameterError(
            "wsi2rek app needs Streamlit, which is not installed; "
            "install it with: pip install 'wsi2rek[app]'"
        )
    env = dict(os.environ)
    if args.model is not None:
        env[ARN_ENV] = validate_model_arn(args.model)
    if args.slides is not None:
        slides = Path(args.slides).expanduser()
        if not slides.is_dir():
            raise ParameterError(f"--slides {args.slides}: not a folder; give a folder of slides")
        env[SLIDES_DIR_ENV] = str(slides.resolve())
    if args.profile is not None:
        _check_profile(args.profile)
        env[PROFILE_ENV] = args.profile
    if args.region is not None:
        env[REGION_ENV] = args.region
    if args.endpoint_url is not None:
        env[ENDPOINT_ENV] = args.endpoint_url
    config = AppConfig.from_env(env)
    command = streamlit_command(
        port=args.port, address=args.address, max_upload_mb=config.max_upload_mb
    )
    print(
        f"wsi2rek app: serving on http://{args.address}:{args.port} (Ctrl-C stops it)",
        file=sys.stderr,
    )
    # The child gets Ctrl-C too and stops; its exit code becomes ours.
    return subprocess.run(command, env=env, check=False).returncode  # noqa: S603 -- our own argv
