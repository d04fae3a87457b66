"""A FAKE Amazon Rekognition Custom Labels HTTP server, for tests only.

This is not Rekognition and trains nothing. It speaks the same wire protocol (AWS JSON
1.1, ``X-Amz-Target: RekognitionService.<Operation>``) so that real boto3 clients,
their retry logic and wsi2rek's own polling loops can be tested over real HTTP without
an AWS account and without cost. What it does:

- Validates every request body against botocore's service model for Rekognition
  (``botocore.validate.ParamValidator`` on the operation's input shape); an invalid body
  gets ``400 ValidationException`` with botocore's own report, as the service would.
- Keeps projects, datasets and model versions in memory and walks them through their
  states (``CREATE_IN_PROGRESS`` -> ``CREATE_COMPLETE``; ``TRAINING_IN_PROGRESS`` ->
  ``TRAINING_COMPLETED``; ``STARTING`` -> ``RUNNING``; ``STOPPING`` -> ``STOPPED``;
  ``COPYING_IN_PROGRESS`` -> ``COPYING_COMPLETED``) after configurable, short durations.
- Can be told to fail the next training or dataset import (with status messages and
  per-entry errors), to throttle an operation N times, or to drop N connections.
- Answers ``DetectCustomLabels`` with canned labels (:meth:`set_detections`), only for a
  ``RUNNING`` model, and rejects payloads over 4 MB or that are neither PNG nor JPEG.

Usage::

    import boto3
    from wsi2rek.testing.fake_rekognition import FakeRekognitionServer

    with FakeRekognitionServer(training_seconds=0.1) as fake:
        client = boto3.client(
            "rekognition", endpoint_url=fake.endpoint_url, region_name="us-east-1",
            aws_access_key_id="x", aws_secret_access_key="x",
        )
        arn = client.create_project(ProjectName="demo")["ProjectArn"]

The server binds 127.0.0.1 on a free port and runs in a daemon thread. Operations not
listed in :attr:`FakeRekognitionServer.OPERATIONS` answer ``UnknownOperationException``.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self

import attrs
import botocore.model
import botocore.session
import botocore.validate

__all__ = ["FakeRekognitionServer", "RecordedRequest"]

_MAX_IMAGE_BYTES = 4 * 1024 * 1024
_JSON = "application/x-amz-json-1.1"


class _ApiError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@attrs.frozen
class RecordedRequest:
    """One request the fake received: the operation and its (decoded) parameters."""

    operation: str
    params: Mapping[str, Any]


@attrs.define
class _Timed:
    """A status with scheduled transitions ``(at, status, message)``."""

    status: str
    message: str | None = None
    code: str | None = None
    pending: list[tuple[float, str, str | None, str | None]] = attrs.field(factory=list)

    def schedule(
        self, delay: float, status: str, message: str | None = None, code: str | None = None
    ) -> None:
        at = (self.pending[-1][0] if self.pending else time.monotonic()) + delay
        self.pending.append((at, status, message, code))

    def advance(self) -> None:
        now = time.monotonic()
        while self.pending and self.pending[0][0] <= now:
            _, self.status, self.message, self.code = self.pending.pop(0)

    def set(self, status: str, message: str | None = None) -> None:
        self.pending.clear()
        self.status, self.message, self.code = status, message, None


@attrs.define
class _Dataset:
    arn: str
    kind: str
    created: float
    state: _Timed
    entries: list[str]
    errors: list[str]


@attrs.define
class _Version:
    arn: str
    name: str
    project_arn: str
    created: float
    state: _Timed
    output: dict[str, Any]
    min_units: int | None = None
    max_units: int | None = None
    validation: dict[str, Any] | None = None


@attrs.define
class _Project:
    name: str
    arn: str
    created: float
    datasets: dict[str, _Dataset] = attrs.field(factory=dict)
    versions: dict[str, _Version] = attrs.field(factory=dict)


def _decode(value: Any, shape: botocore.model.Shape | None) -> Any:
    """Turn wire JSON into the Python values botocore's validator expects (blobs -> bytes)."""
    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        assert isinstance(shape, botocore.model.StructureShape)
        members = shape.members
        return {k: _decode(v, members.get(k)) for k, v in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        assert isinstance(shape, botocore.model.ListShape)
        return [_decode(v, shape.member) for v in value]
    if shape.type_name == "map" and isinstance(value, dict):
        assert isinstance(shape, botocore.model.MapShape)
        return {k: _decode(v, shape.value) for k, v in value.items()}
    if shape.type_name == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise _ApiError("SerializationException", f"blob is not base64: {exc}") from exc
    return value


class FakeRekognitionServer:
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
        self._projects: dict[str, _Project] = {}
        self._throttles: dict[str, list[str]] = {}
        self._drops: dict[str, int] = {}
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
            self._throttles.clear()
            self._drops.clear()
            self._training_failures.clear()
            self._dataset_failures.clear()
            self._detections = []
            self._requests.clear()

    # --- test controls -------------------------------------------------------------------------

    def throttle(self, operation: str, times: int, code: str = "ThrottlingException") -> None:
        """Answer the next ``times`` calls of ``operation`` with a throttling error ``code``."""
        with self._lock:
            self._throttles.setdefault(operation, []).extend([code] * times)

    def drop_connections(self, operation: str, times: int) -> None:
        """Close the connection without answering the next ``times`` calls of ``operation``."""
        with self._lock:
            self._drops[operation] = self._drops.get(operation, 0) + times

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
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

        return Handler

    def _dispatch(self, operation: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        """Answer one request: ``(http_status, body)``; status 0 means drop the connection."""
        try:
            return self._handle(operation, raw)
        except _ApiError as exc:
            return exc.status, {"__type": exc.code, "message": exc.message, "Message": exc.message}

    def _handle(self, operation: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        if operation not in self.OPERATIONS:
            raise _ApiError(
                "UnknownOperationException",
                f"the fake Rekognition server does not implement {operation!r}",
            )
        op_model = self._model.operation_model(operation)
        input_shape = op_model.input_shape
        assert input_shape is not None  # every Rekognition operation takes an input
        try:
            wire = json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            raise _ApiError("SerializationException", f"body is not JSON: {exc}") from exc
        params = _decode(wire, input_shape)
        with self._lock:
            self._requests.append(RecordedRequest(operation, params))
            drops = self._drops.get(operation, 0)
            if drops:
                self._drops[operation] = drops - 1
                return 0, {}
            throttles = self._throttles.get(operation)
            if throttles:
                code = throttles.pop(0)
                raise _ApiError(code, "Rate exceeded (fake throttling)")
        report = self._validator.validate(params, input_shape)
        if report.has_errors():
            raise _ApiError("ValidationException", report.generate_report())
        handler: Callable[[dict[str, Any]], dict[str, Any]] = getattr(self, f"_op_{operation}")
        with self._lock:
            self._advance_all()
            return 200, handler(params)

    # --- state helpers -------------------------------------------------------------------------

    def _arn(self, resource: str) -> str:
        return f"arn:aws:rekognition:{self.region}:{self.account}:{resource}"

    def _advance_all(self) -> None:
        for project in self._projects.values():
            for dataset in project.datasets.values():
                dataset.state.advance()
            for version in project.versions.values():
                version.state.advance()

    def _project(self, arn: str) -> _Project:
        for project in self._projects.values():
            if project.arn == arn:
                return project
        raise _ApiError("ResourceNotFoundException", f"project {arn} does not exist")

    def _version(self, arn: str) -> _Version:
        for project in self._projects.values():
            for version in project.versions.values():
                if version.arn == arn:
                    return version
        raise _ApiError("ResourceNotFoundException", f"project version {arn} does not exist")

    def _dataset(self, arn: str) -> tuple[_Project, _Dataset]:
        for project in self._projects.values():
            for dataset in project.datasets.values():
                if dataset.arn == arn:
                    return project, dataset
        raise _ApiError("ResourceNotFoundException", f"dataset {arn} does not exist")

    @staticmethod
    def _stamp() -> int:
        return int(time.time() * 1000)

    # --- operations ----------------------------------------------------------------------------

    def _op_CreateProject(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 - API names
        name = p["ProjectName"]
        if name in self._projects:
            raise _ApiError("ResourceInUseException", f"project {name!r} already exists")
        arn = self._arn(f"project/{name}/{self._stamp()}")
        self._projects[name] = _Project(name=name, arn=arn, created=time.time())
        return {"ProjectArn": arn}

    def _describe_dataset_brief(self, d: _Dataset) -> dict[str, Any]:
        out: dict[str, Any] = {
            "CreationTimestamp": d.created,
            "DatasetType": d.kind,
            "DatasetArn": d.arn,
            "Status": d.state.status,
        }
        if d.state.message:
            out["StatusMessage"] = d.state.message
        if d.state.code:
            out["StatusMessageCode"] = d.state.code
        return out

    def _op_DescribeProjects(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        names = p.get("ProjectNames")
        projects = [pr for name, pr in sorted(self._projects.items()) if not names or name in names]
        start = int(p.get("NextToken") or 0)
        size = int(p.get("MaxResults") or 100)
        page = projects[start : start + size]
        out: dict[str, Any] = {
            "ProjectDescriptions": [
                {
                    "ProjectArn": pr.arn,
                    "ProjectName": pr.name,
                    "CreationTimestamp": pr.created,
                    "Status": "CREATED",
                    "Datasets": [self._describe_dataset_brief(d) for d in pr.datasets.values()],
                }
                for pr in page
            ]
        }
        if start + size < len(projects):
            out["NextToken"] = str(start + size)
        return out

    def _op_DeleteProject(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        project = self._project(p["ProjectArn"])
        if project.versions:
            raise _ApiError(
                "ResourceInUseException",
                f"project {project.name} still has models: delete them first",
            )
        del self._projects[project.name]
        return {"Status": "DELETING"}

    def _op_CreateDataset(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        project = self._project(p["ProjectArn"])
        kind = p["DatasetType"]
        if kind in project.datasets:
            raise _ApiError("ResourceAlreadyExistsException", f"{kind} dataset already exists")
        arn = self._arn(f"project/{project.name}/dataset/{kind.lower()}/{self._stamp()}")
        state = _Timed("CREATE_IN_PROGRESS")
        errors: list[str] = []
        if self._dataset_failures:
            message, code, errors = self._dataset_failures.pop(0)
            state.schedule(self.dataset_seconds, "CREATE_FAILED", message, code)
        else:
            state.schedule(
                self.dataset_seconds, "CREATE_COMPLETE", "The dataset was created.", "SUCCESS"
            )
        project.datasets[kind] = _Dataset(arn, kind, time.time(), state, [], errors)
        return {"DatasetArn": arn}

    def _op_DescribeDataset(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        _, d = self._dataset(p["DatasetArn"])
        out = self._describe_dataset_brief(d)
        out.pop("DatasetType")
        out.pop("DatasetArn")
        out["LastUpdatedTimestamp"] = d.created
        out["DatasetStats"] = {
            "LabeledEntries": 0,
            "TotalEntries": len(d.errors),
            "TotalLabels": 0,
            "ErrorEntries": len(d.errors),
        }
        return {"DatasetDescription": out}

    def _op_DeleteDataset(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        project, d = self._dataset(p["DatasetArn"])
        del project.datasets[d.kind]
        return {}

    def _op_ListDatasetEntries(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        _, d = self._dataset(p["DatasetArn"])
        entries = d.errors if p.get("HasErrors") else d.entries + d.errors
        size = int(p.get("MaxResults") or 100)
        start = int(p.get("NextToken") or 0)
        out: dict[str, Any] = {"DatasetEntries": entries[start : start + size]}
        if start + size < len(entries):
            out["NextToken"] = str(start + size)
        return out

    def _op_DistributeDatasetEntries(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        arns = [d["Arn"] for d in p["Datasets"]]
        kinds = sorted(self._dataset(arn)[1].kind for arn in arns)
        if kinds != ["TEST", "TRAIN"]:
            raise _ApiError(
                "InvalidParameterException", "Datasets must be one TRAIN and one TEST dataset"
            )
        return {}

    def _op_CreateProjectVersion(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        project = self._project(p["ProjectArn"])
        name = p["VersionName"]
        if name in project.versions:
            raise _ApiError("ResourceInUseException", f"version {name!r} already exists")
        has_assets = "TrainingData" in p
        if project.datasets and has_assets:
            raise _ApiError(
                "InvalidParameterException",
                "TrainingData/TestingData cannot be given for a project that has datasets",
            )
        if not project.datasets and not has_assets:
            raise _ApiError(
                "InvalidParameterException",
                "the project has no datasets: create them or pass TrainingData",
            )
        if project.datasets and any(
            d.state.status != "CREATE_COMPLETE" for d in project.datasets.values()
        ):
            raise _ApiError("ResourceNotReadyException", "the project's datasets are not ready")
        arn = self._arn(f"project/{project.name}/version/{name}/{self._stamp()}")
        state = _Timed("TRAINING_IN_PROGRESS")
        validation = None
        if self._training_failures:
            message, validation = self._training_failures.pop(0)
            state.schedule(self.training_seconds, "TRAINING_FAILED", message)
        else:
            state.schedule(self.training_seconds, "TRAINING_COMPLETED", "The model is ready.")
        version = _Version(
            arn=arn,
            name=name,
            project_arn=project.arn,
            created=time.time(),
            state=state,
            output=dict(p["OutputConfig"]),
            validation={"Assets": validation} if validation else None,
        )
        project.versions[name] = version
        return {"ProjectVersionArn": arn}

    def _describe_version(self, project: _Project, v: _Version) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ProjectVersionArn": v.arn,
            "VersionDescription": v.name,
            "CreationTimestamp": v.created,
            "Status": v.state.status,
            "OutputConfig": v.output,
        }
        if v.state.message:
            out["StatusMessage"] = v.state.message
        if v.min_units is not None:
            out["MinInferenceUnits"] = v.min_units
        if v.max_units is not None:
            out["MaxInferenceUnits"] = v.max_units
        if v.validation is not None:
            out["TrainingDataResult"] = {"Validation": v.validation}
        trained = v.state.status not in ("TRAINING_IN_PROGRESS", "TRAINING_FAILED")
        if trained:
            prefix = str(v.output.get("S3KeyPrefix", ""))
            key = f"{prefix.rstrip('/')}/" if prefix else ""
            out["BillableTrainingTimeInSeconds"] = max(1, int(self.training_seconds))
            out["TrainingEndTimestamp"] = v.created + self.training_seconds
            out["EvaluationResult"] = {
                "F1Score": self.f1_score,
                "Summary": {
                    "S3Object": {
                        "Bucket": v.output["S3Bucket"],
                        "Name": f"{key}EvaluationSummary-{project.name}-{v.name}.json",
                    }
                },
            }
        return out

    def _op_DescribeProjectVersions(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        project = self._project(p["ProjectArn"])
        names = p.get("VersionNames")
        versions = [v for n, v in sorted(project.versions.items()) if not names or n in names]
        start = int(p.get("NextToken") or 0)
        size = int(p.get("MaxResults") or 100)
        out: dict[str, Any] = {
            "ProjectVersionDescriptions": [
                self._describe_version(project, v) for v in versions[start : start + size]
            ]
        }
        if start + size < len(versions):
            out["NextToken"] = str(start + size)
        return out

    def _op_StartProjectVersion(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        v = self._version(p["ProjectVersionArn"])
        if v.state.status not in ("TRAINING_COMPLETED", "STOPPED", "COPYING_COMPLETED"):
            raise _ApiError(
                "ResourceInUseException", f"cannot start a model that is {v.state.status}"
            )
        v.min_units = int(p["MinInferenceUnits"])
        v.max_units = p.get("MaxInferenceUnits")
        v.state.set("STARTING")
        v.state.schedule(self.starting_seconds, "RUNNING")
        return {"Status": "STARTING"}

    def _op_StopProjectVersion(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        v = self._version(p["ProjectVersionArn"])
        if v.state.status not in ("RUNNING", "STARTING"):
            raise _ApiError(
                "ResourceInUseException", f"cannot stop a model that is {v.state.status}"
            )
        v.state.set("STOPPING")
        v.state.schedule(self.stopping_seconds, "STOPPED")
        return {"Status": "STOPPING"}

    def _op_DeleteProjectVersion(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        v = self._version(p["ProjectVersionArn"])
        if v.state.status in ("RUNNING", "STARTING", "STOPPING", "TRAINING_IN_PROGRESS"):
            raise _ApiError(
                "ResourceInUseException", f"cannot delete a model that is {v.state.status}"
            )
        project = self._project(v.project_arn)
        del project.versions[v.name]
        return {"Status": "DELETING"}

    def _op_CopyProjectVersion(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        source = self._version(p["SourceProjectVersionArn"])
        if source.state.status not in ("TRAINING_COMPLETED", "STOPPED", "RUNNING"):
            raise _ApiError(
                "ResourceInUseException", f"cannot copy a model that is {source.state.status}"
            )
        dest = self._project(p["DestinationProjectArn"])
        name = p["VersionName"]
        if name in dest.versions:
            raise _ApiError("ResourceInUseException", f"version {name!r} already exists")
        arn = self._arn(f"project/{dest.name}/version/{name}/{self._stamp()}")
        state = _Timed("COPYING_IN_PROGRESS")
        state.schedule(self.copying_seconds, "COPYING_COMPLETED")
        dest.versions[name] = _Version(
            arn=arn,
            name=name,
            project_arn=dest.arn,
            created=time.time(),
            state=state,
            output=dict(p["OutputConfig"]),
        )
        return {"ProjectVersionArn": arn}

    def _op_DetectCustomLabels(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        v = self._version(p["ProjectVersionArn"])
        if v.state.status != "RUNNING":
            raise _ApiError(
                "ResourceNotReadyException", f"the model is {v.state.status}, not RUNNING"
            )
        image = p["Image"]
        data = image.get("Bytes")
        if isinstance(data, bytes):
            if len(data) > _MAX_IMAGE_BYTES:
                raise _ApiError("ImageTooLargeException", f"image is {len(data)} bytes (max 4 MB)")
            if not data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
                raise _ApiError("InvalidImageFormatException", "image is neither PNG nor JPEG")
        min_conf = float(p.get("MinConfidence", 0.0))
        labels = [d for d in self._detections if float(d.get("Confidence", 0)) >= min_conf]
        labels.sort(key=lambda d: -float(d.get("Confidence", 0)))
        if "MaxResults" in p:
            labels = labels[: int(p["MaxResults"])]
        return {"CustomLabels": labels}
