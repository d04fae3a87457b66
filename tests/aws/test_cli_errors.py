"""AWS commands fail with ONE line on stderr, no traceback, a non-zero exit (issue 10).

Run as subprocesses (what a user sees), against the fake Rekognition server and moto S3.
"""

from __future__ import annotations

import os
import subprocess
import sys

from wsi2rek.testing.fake_rekognition import FakeRekognitionServer


def run_cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m wsi2rek ARGV`` with the test's (dummy) AWS environment."""
    return subprocess.run(
        [sys.executable, "-m", "wsi2rek", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    """The error is the last line of stderr and the only one that says ``error:``.

    Status lines before it (``created project ...``) are progress, logged on stderr.
    """
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert lines, "nothing on stderr"
    assert lines[-1].startswith("wsi2rek "), result.stderr
    assert [line for line in lines if ": error:" in line] == [lines[-1]], result.stderr
    assert result.stderr.endswith("\n")
    for needle in needles:
        assert needle in lines[-1]


def test_train_with_a_too_short_bucket_name_is_one_line(
    fake: FakeRekognitionServer, s3_endpoint: str
) -> None:
    """Rekognition's model requires S3Bucket of length >= 3; botocore's validation report
    spans two lines ("Parameter validation failed:" then the reason)."""
    result = run_cli(
        "train",
        "--project",
        "p",
        "--version",
        "v1",
        "--dataset",
        "s3://ab/ds/train.s3.manifest",
        "--output",
        "s3://ab/out",
        "--endpoint-url",
        fake.endpoint_url,
        "--s3-endpoint-url",
        s3_endpoint,
        "--poll-interval",
        "0.02",
    )
    assert_one_line_error(result, "Parameter validation failed", "Bucket", "min length: 3")
