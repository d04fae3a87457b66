"""The fake server: HTTP front end, request validation, fault injection, test controls."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self

import attrs
import botocore.session
import botocore.validate

from wsi2rek.errors import ParameterError
from wsi2rek.testing.fake_rekognition._operations import Operations
from wsi2rek.testing.fake_rekognition._state import ApiError, Project, RecordedRequest, decode

_JSON = "application/x-amz-json-1.1"


@attrs.frozen
class _Fault:
    kind: str
    code: str
    delay: float


class FakeRekognitionServer(Operations):
    """A fake Rekognition endpoint on ``127.0.0.1`` (see the module docs).

    Args:
        training_seconds: Time from ``CreateProjectVersion`` to ``TRAINING_COMPLETED``.
        starting_seconds: Time from ``StartProjectVersion`` to ``RUNNING``.
        stopping_seconds: Time from ``StopProjectVersion`` to ``STOPPED``.
        dataset_seconds: Time from ``CreateDataset`` to ``CREATE_COMPLETE``.
        copying_seconds: Time from ``CopyProjectVersion`` to ``COPYING_COMPLETED``.
        f1_score: The ``EvaluationResult.F1Score`` of trained versions.
        region: Region used in ARNs.
        account: Account id used in ARNs.
    """

    #: The fault kinds :meth:`inject` accepts.
    FAULTS: ClassVar[frozenset[str]] = frozenset(
        {"throttle", "server_error", "drop", "drop_after_apply", "timeout"}
    )

    OPERATIONS: ClassVar[frozenset[str]] = frozenset(
        {
            "CreateProject",
            "DescribeProjects",
            "DeleteProject",
            "CreateDataset",
            "DescribeDataset",
            "DeleteDataset",
            "ListDatasetEntries",
            "DistributeDatasetEntries",
            "CreateProjectVersion",
            "DescribeProjectVersions",
            "StartProjectVersion",
            "StopProjectVersion",
            "DeleteProjectVersion",
            "CopyProjectVersion",
            "DetectCustomLabels",
        }
    )

    def __init__(
        self,
        *,
        training_seconds: float = 0.5,
        starting_seconds: float = 0.2,
        stopping_seconds: float = 0.2,
        dataset_seconds: float = 0.2,
        copying_seconds: float = 0.2,
        f1_score: float = 0.8,
        region: str = "us-east-1",
        account: str = "123456789012",
    ) -> None:
        self.training_seconds = training_seconds
        self.starting_seconds = starting_seconds
        self.stopping_seconds = stopping_seconds
        self.dataset_seconds = dataset_seconds
        self.copying_seconds = copying_seconds
        self.f1_score = f1_score
        self.region = region
        self.account = account
        self._model = botocore.session.get_session().get_service_model("rekognition")
        self._validator = botocore.validate.ParamValidator()
        self._lock = threading.RLock()
        self._projects: dict[str, Project] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._training_failures: list[tuple[str, list[dict[str, Any]] | None]] = []
        self._dataset_failures: list[tuple[str, str, list[str]]] = []
        self._detections: list[dict[str, Any]] = []
        self._requests: list[RecordedRequest] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind ``127.0.0.1`` on a free port and serve in a daemon thread."""
        if self._server is not None:
            return self
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-rekognition", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.endpoint_url if self._server is not None else "stopped"
        return f"FakeRekognitionServer({where})"

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>``; pass it as boto3's ``endpoint_url``."""
        if self._server is None:
            raise RuntimeError("FakeRekognitionServer is not started; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def reset(self) -> None:
        """Forget every project, queued failure, throttle, drop, detection and request.

        Durations and other constructor settings are kept, so one server can serve a
        whole test session (loading botocore's service model takes about half a second).
        """
        with self._lock:
            self._projects.clear()
            self._faults.clear()
            self._training_failures.clear()
            self._dataset_failures.clear()
            self._detections = []
            self._requests.clear()

    # --- test controls -------------------------------------------------------------------------

    def inject(
        self,
        operation: str,
        fault: str,
        times: int = 1,
        *,
        code: str | None = None,
        delay: float = 2.0,
    ) -> None:
        """Make the next ``times`` calls of ``operation`` fail in the way ``fault`` names.

        Faults queue per operation, in order, and each is used up by one request (a
        request botocore retries is a new request). The kinds (:attr:`FAULTS`):

        - ``"throttle"``: ``400`` with ``code`` (default ``ThrottlingException``); nothing
          is applied.
        - ``"server_error"``: ``500`` with ``code`` (default ``InternalServerError``);
          nothing is applied.
        - ``"drop"``: the connection is closed without an answer; nothing is applied.
        - ``"drop_after_apply"``: the request IS applied, then the connection is closed
          without an answer (a response lost on the way back).
        - ``"timeout"``: the request IS applied, then the answer is held for ``delay``
          seconds (longer than the client's read timeout: the client times out; while
          held, the call is "in flight").

        Args:
            operation: The API operation (``"StopProjectVersion"``...).
            fault: One of :attr:`FAULTS`.
            times: How many consecutive calls fail.
            code: The error code for ``throttle`` and ``server_error``.
            delay: Seconds the answer is held for ``timeout``.

        Raises:
            ParameterError: Unknown ``fault`` or ``operation``, or ``times`` < 1.
        """
        if fault not in self.FAULTS:
            raise ParameterError(f"unknown fault {fault!r}; expected one of {sorted(self.FAULTS)}")
        if operation not in self.OPERATIONS:
            raise ParameterError(f"the fake does not implement {operation!r}")
        if times < 1:
            raise ParameterError(f"times must be >= 1, got {times}")
        default = "InternalServerError" if fault == "server_error" else "ThrottlingException"
        with self._lock:
            queue = self._faults.setdefault(operation, [])
            queue.extend([_Fault(fault, code or default, delay)] * times)

    def throttle(self, operation: str, times: int, code: str = "ThrottlingException") -> None:
        """Answer the next ``times`` calls of ``operation`` with a throttling error ``code``."""
        self.inject(operation, "throttle", times, code=code)

    def drop_connections(self, operation: str, times: int) -> None:
        """Close the connection without answering the next ``times`` calls of ``operation``."""
        self.inject(operation, "drop", times)

    def pending_faults(self, operation: str) -> int:
        """How many injected faults of ``operation`` are not used up yet."""
        with self._lock:
            return len(self._faults.get(operation, []))

    def billed_versions(self) -> list[str]:
        """ARNs of model versions that are ``STARTING`` or ``RUNNING`` (billed) right now."""
        with self._lock:
            self._advance_all()
            return [
                v.arn
                for project in self._projects.values()
                for v in project.versions.values()
                if v.state.status in ("STARTING", "RUNNING")
            ]

    def fail_next_training(
        self,
        message: str = "The manifest file contains too many invalid data objects.",
        *,
        validation_manifest: Mapping[str, str] | None = None,
    ) -> None:
        """Make the next ``CreateProjectVersion`` end in ``TRAINING_FAILED``.

        Args:
            message: The version's ``StatusMessage``.
            validation_manifest: ``{"Bucket": ..., "Name": ...}`` reported as the training
                validation manifest (``TrainingDataResult.Validation``), so clients can
                read per-line errors you put there.
        """
        asset = (
            [{"GroundTruthManifest": {"S3Object": dict(validation_manifest)}}]
            if validation_manifest
            else None
        )
        with self._lock:
            self._training_failures.append((message, asset))

    def fail_next_dataset(
        self,
        message: str = "The manifest file contains too many invalid data objects.",
        code: str = "CLIENT_ERROR",
        entry_errors: Sequence[str] = (),
    ) -> None:
        """Make the next ``CreateDataset`` end in ``CREATE_FAILED``.

        Args:
            message: ``StatusMessage``.
            code: ``StatusMessageCode`` (``SUCCESS``, ``SERVICE_ERROR`` or ``CLIENT_ERROR``).
            entry_errors: JSON lines returned by ``ListDatasetEntries(HasErrors=True)``.
        """
        with self._lock:
            self._dataset_failures.append((message, code, list(entry_errors)))

    def set_detections(self, labels: Sequence[Mapping[str, Any]]) -> None:
        """Set the ``CustomLabels`` every ``DetectCustomLabels`` call answers with."""
        with self._lock:
            self._detections = [dict(label) for label in labels]

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every valid request received so far, in order."""
        with self._lock:
            return list(self._requests)

    def calls(self, operation: str) -> int:
        """How many requests for ``operation`` arrived (throttled and dropped ones included)."""
        with self._lock:
            return sum(1 for r in self._requests if r.operation == operation)

    def version_status(self, arn: str) -> str:
        """The current status of a model version (for assertions)."""
        with self._lock:
            self._advance_all()
            return self._version(arn).state.status

    # --- HTTP ----------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                target = self.headers.get("X-Amz-Target", "")
                operation = target.removeprefix("RekognitionService.")
                status, body = fake._dispatch(operation, raw)
                if status == 0:  # drop the connection without an answer
                    self.close_connection = True
                    return
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", _JSON)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
                if status >= 400:
                    self.send_header("x-amzn-ErrorType", str(body.get("__type", "")))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

        return Handler

    def _dispatch(self, operation: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        """Answer one request: ``(http_status, body)``; status 0 means drop the connection."""
        try:
            return self._handle(operation, raw)
        except ApiError as exc:
            return exc.status, {"__type": exc.code, "message": exc.message, "Message": exc.message}

    def _handle(self, operation: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        if operation not in self.OPERATIONS:
            raise ApiError(
                "UnknownOperationException",
                f"the fake Rekognition server does not implement {operation!r}",
            )
        op_model = self._model.operation_model(operation)
        input_shape = op_model.input_shape
        assert input_shape is not None  # every Rekognition operation takes an input
        try:
            wire = json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            raise ApiError("SerializationException", f"body is not JSON: {exc}") from exc
        params = decode(wire, input_shape)
        with self._lock:
            self._requests.append(RecordedRequest(operation, params))
            queue = self._faults.get(operation)
            fault = queue.pop(0) if queue else None
        if fault is not None and fault.kind == "drop":
            return 0, {}
        if fault is not None and fault.kind == "throttle":
            raise ApiError(fault.code, "Rate exceeded (fake throttling)")
        if fault is not None and fault.kind == "server_error":
            raise ApiError(fault.code, "Internal server error (fake)", status=500)
        report = self._validator.validate(params, input_shape)
        if report.has_errors():
            raise ApiError("ValidationException", report.generate_report())
        handler: Callable[[dict[str, Any]], dict[str, Any]] = getattr(self, f"_op_{operation}")
        with self._lock:
            self._advance_all()
            answer = handler(params)
        if fault is not None and fault.kind == "drop_after_apply":
            return 0, {}
        if fault is not None and fault.kind == "timeout":
            time.sleep(fault.delay)
        return 200, answer
