"""No leaked model when the process gets SIGTERM, SIGHUP or SIGINT (issue 10).

A real subprocess enters ``running()`` against the fake Rekognition server (which runs
in this test process) and is sent a signal, either while its ``with`` body runs or while
its StartProjectVersion request is in flight (the fake applied it and holds the answer).
The fake must end with no model STARTING or RUNNING, and the process must exit as the
signal asked: ``128 + signal`` for SIGTERM/SIGHUP (``SystemExit``), by SIGINT for Ctrl-C
(Python re-raises an unhandled KeyboardInterrupt as the signal).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from wsi2rek.aws import CustomLabelsProject
from wsi2rek.testing.fake_rekognition import FakeRekognitionServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SCRIPT = """
import sys, time
import boto3, botocore.config
from wsi2rek.aws import CustomLabelsModel

endpoint, arn = sys.argv[1], sys.argv[2]
client = boto3.session.Session(
    aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
).client(
    "rekognition",
    endpoint_url=endpoint,
    config=botocore.config.Config(retries={"total_max_attempts": 2}, read_timeout=60),
)
model = CustomLabelsModel(arn, client=client, poll_interval=0.02)
print("entering", flush=True)
with model.running():
    print("inside", flush=True)
    time.sleep(60)
print("left the block normally", flush=True)
"""

EXPECTED_CODE = {
    signal.SIGTERM: 128 + signal.SIGTERM,
    signal.SIGHUP: 128 + signal.SIGHUP,
    signal.SIGINT: -signal.SIGINT,
}


def _wait_for(condition: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not callable(condition) or not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize("when", ["body", "start_in_flight"])
@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name
)
def test_a_signal_never_leaves_the_model_running(
    fake: FakeRekognitionServer,
    tmp_path: Path,
    when: str,
    sig: signal.Signals,
) -> None:
    project = CustomLabelsProject.create("signals", endpoint_url=fake.endpoint_url)
    project.poll_interval = 0.02
    project.create_datasets("s3://bkt/ds/train.s3.manifest")
    arn = project.train("v1", "s3://bkt/out/", timeout=timedelta(seconds=10)).arn
    if when == "start_in_flight":
        fake.inject("StartProjectVersion", "timeout", 1, delay=30)
    script = tmp_path / "use_model.py"
    script.write_text(SCRIPT)
    # A fresh process group keeps a SIGINT from reaching pytest too.
    child = subprocess.Popen(
        [sys.executable, str(script), fake.endpoint_url, arn],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert child.stdout is not None
        if when == "body":
            for line in child.stdout:
                if line.strip() == "inside":
                    break
            else:
                pytest.fail(f"the child never entered the block: {child.stderr}")
            assert fake.billed_versions() == [arn]
        else:
            _wait_for(lambda: fake.calls("StartProjectVersion") >= 1, "the start request")
            assert fake.version_status(arn) == "STARTING"  # applied; its answer is held
        os.kill(child.pid, sig)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == EXPECTED_CODE[sig], err
    assert "left the block normally" not in out
    assert "Traceback" not in err or sig == signal.SIGINT, err
    assert fake.calls("StopProjectVersion") >= 1
    assert fake.billed_versions() == []


def test_a_signal_during_the_stop_is_held_until_the_stop_is_accepted(
    fake: FakeRekognitionServer, tmp_path: Path
) -> None:
    """Ctrl-C in the body starts the stop; a SIGTERM while that StopProjectVersion is in
    flight does not abort it: it is held, then the process exits as SIGTERM asked."""
    project = CustomLabelsProject.create("held", endpoint_url=fake.endpoint_url)
    project.poll_interval = 0.02
    project.create_datasets("s3://bkt/ds/train.s3.manifest")
    arn = project.train("v1", "s3://bkt/out/", timeout=timedelta(seconds=10)).arn
    script = tmp_path / "use_model.py"
    script.write_text(SCRIPT)
    child = subprocess.Popen(
        [sys.executable, str(script), fake.endpoint_url, arn],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.strip() == "inside":
                break
        # The stop is applied at once but its answer is held for 3 s: "in flight".
        fake.inject("StopProjectVersion", "timeout", 1, delay=3)
        os.kill(child.pid, signal.SIGINT)
        _wait_for(lambda: fake.calls("StopProjectVersion") >= 1, "the stop request")
        os.kill(child.pid, signal.SIGTERM)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 128 + signal.SIGTERM, err
    assert "received SIGTERM while stopping model" in err
    assert fake.billed_versions() == []
