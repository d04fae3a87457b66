"""No leaked model: once ``running()`` is entered, the model never ends RUNNING (issue 10).

Fault injection through real boto3 over HTTP against the fake Rekognition server: every
call of the start/describe/stop path fails in each way the fake can fail (throttling,
5xx, a dropped connection, a response lost after the request was applied, a read
timeout after it was applied), at entry and at exit, and the fake must end with no model
``STARTING`` or ``RUNNING``. The error codes are the ones the API reference lists for
StartProjectVersion/StopProjectVersion (``ThrottlingException``, ``InternalServerError``,
``AccessDeniedException``, ``ResourceInUseException``). Signals are tested on a real
subprocess in ``test_no_leaked_model_signals.py``.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

import boto3
import botocore.config
import pytest

from wsi2rek.aws import CustomLabelsModel, CustomLabelsProject
from wsi2rek.errors import AwsError, ModelNotStoppedError, Wsi2RekError
from wsi2rek.testing.fake_rekognition import FakeRekognitionServer

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient

POLL = 0.02
#: The client's read timeout; the fake holds "timeout" answers longer than this.
READ_TIMEOUT = 0.5
#: botocore attempts per call: three injected faults exhaust one call entirely.
ATTEMPTS = 2
OPERATIONS = ("StartProjectVersion", "DescribeProjectVersions", "StopProjectVersion")


@pytest.fixture(scope="module")
def impatient_client(fake_server: FakeRekognitionServer) -> RekognitionClient:
    """Real boto3, standard retries with only 2 attempts and a short read timeout."""
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client(
        "rekognition",
        endpoint_url=fake_server.endpoint_url,
        config=botocore.config.Config(
            retries={"mode": "standard", "total_max_attempts": ATTEMPTS},
            connect_timeout=2,
            read_timeout=READ_TIMEOUT,
        ),
    )


@pytest.fixture
def model(
    fake: FakeRekognitionServer, rek: RekognitionClient, impatient_client: RekognitionClient
) -> CustomLabelsModel:
    """A trained (not running) model; the trained setup uses the patient client."""
    project = CustomLabelsProject.get_or_create("leak", client=rek, poll_interval=POLL)
    project.create_datasets("s3://bkt/ds/train.s3.manifest")
    trained = project.train("v1", "s3://bkt/out/", timeout=timedelta(seconds=10))
    return CustomLabelsModel(
        trained.arn, client=impatient_client, project_arn=project.arn, poll_interval=POLL
    )


def _use(
    model: CustomLabelsModel, inject_inside: tuple[FakeRekognitionServer, str, str] | None
) -> bool:
    """Enter running(); optionally inject a fault from inside the body (the exit path)."""
    ran = False
    with model.running(timeout=timedelta(seconds=20)):
        ran = True
        if inject_inside is not None:
            fake, operation, kind = inject_inside
            fake.inject(operation, kind, 3, delay=2 * READ_TIMEOUT)
    return ran


@pytest.mark.parametrize("kind", sorted(FakeRekognitionServer.FAULTS))
@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("phase", ["entry", "exit"])
def test_no_model_is_left_running(
    model: CustomLabelsModel,
    fake: FakeRekognitionServer,
    phase: str,
    operation: str,
    kind: str,
) -> None:
    if phase == "entry":
        fake.inject(operation, kind, 3, delay=2 * READ_TIMEOUT)
    error: BaseException | None = None
    try:
        _use(model, (fake, operation, kind) if phase == "exit" else None)
    except Wsi2RekError as exc:
        error = exc
    # The one guarantee: nothing is billed any more.
    assert fake.billed_versions() == []
    if phase == "exit":
        # Faults at exit never hide the exit: the stop got through, nothing was raised.
        assert error is None, error
        assert fake.calls("StopProjectVersion") >= 1
    else:
        # At entry a failed start or status lookup may surface, always as one AwsError.
        assert error is None or isinstance(error, AwsError), error


@pytest.mark.parametrize("kind", ["drop_after_apply", "timeout"])
def test_a_start_applied_but_unanswered_still_runs_the_body(
    model: CustomLabelsModel, fake: FakeRekognitionServer, kind: str
) -> None:
    """botocore retries the lost start and gets ResourceInUseException: that is our start."""
    fake.inject("StartProjectVersion", kind, 1, delay=2 * READ_TIMEOUT)
    seen: list[str] = []
    with model.running(timeout=timedelta(seconds=20)):
        seen.append(fake.version_status(model.arn))
    assert seen == ["RUNNING"]
    assert fake.billed_versions() == []


def test_a_status_lookup_failing_at_exit_does_not_prevent_the_stop(
    model: CustomLabelsModel, fake: FakeRekognitionServer
) -> None:
    """Issue 10: the exit path read the status first and gave up when that failed."""
    with model.running(timeout=timedelta(seconds=20)):
        fake.inject("DescribeProjectVersions", "server_error", 8)
    assert fake.billed_versions() == []
    assert fake.calls("StopProjectVersion") == 1


def test_stop_throttled_many_times_in_a_row_is_retried_with_backoff(
    model: CustomLabelsModel, fake: FakeRekognitionServer, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="wsi2rek.aws"),
        model.running(timeout=timedelta(seconds=30)),
    ):
        fake.throttle("StopProjectVersion", 20)
    assert fake.pending_faults("StopProjectVersion") == 0
    assert fake.calls("StopProjectVersion") == 21
    assert fake.billed_versions() == []
    assert any("retrying in" in r.getMessage() for r in caplog.records)


def test_a_model_that_cannot_be_stopped_is_said_loudly_with_the_commands(
    model: CustomLabelsModel, fake: FakeRekognitionServer, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.ERROR, logger="wsi2rek.aws"),
        pytest.raises(ModelNotStoppedError) as info,
        model.running(timeout=timedelta(seconds=1)),
    ):
        fake.throttle("StopProjectVersion", 10_000)
    message = str(info.value)
    assert model.arn in message
    assert "\n" not in message
    assert (
        f"aws rekognition stop-project-version --project-version-arn {model.arn} "
        "--region us-east-1" in message
    )
    assert f"wsi2rek model stop {model.arn}" in message
    assert info.value.resource == model.arn
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [message]
    # It really is still running (the fake refused every stop): the error was not a lie.
    assert fake.billed_versions() == [model.arn]
    fake.reset()


def test_access_denied_on_stop_is_not_retried_and_is_loud(
    model: CustomLabelsModel, fake: FakeRekognitionServer
) -> None:
    with pytest.raises(ModelNotStoppedError, match="AccessDeniedException"), model.running():
        fake.throttle("StopProjectVersion", 1, code="AccessDeniedException")
    assert fake.calls("StopProjectVersion") == 1
    fake.reset()


def test_the_body_exception_is_kept_when_the_stop_succeeds(
    model: CustomLabelsModel, fake: FakeRekognitionServer
) -> None:
    def body() -> None:
        with model.running():
            fake.inject("StopProjectVersion", "drop_after_apply", 1)
            raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        body()
    assert fake.billed_versions() == []


def test_running_in_a_worker_thread_installs_no_signal_handler(
    model: CustomLabelsModel, fake: FakeRekognitionServer
) -> None:
    """Python allows signal handlers only in the main thread: a thread still gets the
    stop on every exception path, and the main thread's handlers are untouched."""
    import signal
    import threading

    before = signal.getsignal(signal.SIGTERM)
    errors: list[BaseException] = []
    seen: list[object] = []

    def body() -> None:
        with model.running(timeout=timedelta(seconds=20)):
            seen.append(signal.getsignal(signal.SIGTERM))
            raise RuntimeError("boom in a thread")

    def work() -> None:
        try:
            body()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=60)
    assert [str(e) for e in errors] == ["boom in a thread"]
    assert seen == [before]
    assert fake.billed_versions() == []


def test_signal_handlers_are_restored_after_the_block(model: CustomLabelsModel) -> None:
    import signal

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    inside: dict[int, object] = {}
    with model.running(timeout=timedelta(seconds=20)):
        inside = {sig: signal.getsignal(sig) for sig in before}
    assert all(inside[sig] != before[sig] for sig in before)
    assert {sig: signal.getsignal(sig) for sig in before} == before
