"""The Rekognition operations the fake server implements, as a mixin over its state."""

from __future__ import annotations

import threading
import time
from typing import Any

from wsi2rek.testing.fake_rekognition._state import (
    MAX_IMAGE_BYTES,
    ApiError,
    Dataset,
    Project,
    Timed,
    Version,
)


class Operations:
    """``_op_<Operation>`` handlers and the state helpers they share.

    The server (:class:`~wsi2rek.testing.fake_rekognition.FakeRekognitionServer`) owns the
    attributes declared here and calls the handlers under its lock.
    """

    training_seconds: float
    starting_seconds: float
    stopping_seconds: float
    dataset_seconds: float
    copying_seconds: float
    f1_score: float
    region: str
    account: str
    _lock: threading.RLock
    _projects: dict[str, Project]
    _training_failures: list[tuple[str, list[dict[str, Any]] | None]]
    _dataset_failures: list[tuple[str, str, list[str]]]
    _detections: list[dict[str, Any]]

    # --- state helpers -------------------------------------------------------------------------

    def _arn(self, resource: str) -> str:
        return f"arn:aws:rekognition:{self.region}:{self.account}:{resource}"

    def _advance_all(self) -> None:
        for project in self._projects.values():
            for dataset in project.datasets.values():
                dataset.state.advance()
            for version in project.versions.values():
                version.state.advance()

    def _project(self, arn: str) -> Project:
        for project in self._projects.values():
            if project.arn == arn:
                return project
        raise ApiError("ResourceNotFoundException", f"project {arn} does not exist")

    def _version(self, arn: str) -> Version:
        for project in self._projects.values():
            for version in project.versions.values():
                if version.arn == arn:
                    return version
        raise ApiError("ResourceNotFoundException", f"project version {arn} does not exist")

    def _dataset(self, arn: str) -> tuple[Project, Dataset]:
        for project in self._projects.values():
            for dataset in project.datasets.values():
                if dataset.arn == arn:
                    return project, dataset
        raise ApiError("ResourceNotFoundException", f"dataset {arn} does not exist")

    @staticmethod
    def _stamp() -> int:
        return int(time.time() * 1000)

    # --- operations ----------------------------------------------------------------------------

    def _op_CreateProject(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 - API names
        name = p["ProjectName"]
        if name in self._projects:
            raise ApiError("ResourceInUseException", f"project {name!r} already exists")
        arn = self._arn(f"project/{name}/{self._stamp()}")
        self._projects[name] = Project(name=name, arn=arn, created=time.time())
        return {"ProjectArn": arn}

    def _describe_dataset_brief(self, d: Dataset) -> dict[str, Any]:
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
            raise ApiError(
                "ResourceInUseException",
                f"project {project.name} still has models: delete them first",
            )
        del self._projects[project.name]
        return {"Status": "DELETING"}

    def _op_CreateDataset(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        project = self._project(p["ProjectArn"])
        kind = p["DatasetType"]
        if kind in project.datasets:
            raise ApiError("ResourceAlreadyExistsException", f"{kind} dataset already exists")
        arn = self._arn(f"project/{project.name}/dataset/{kind.lower()}/{self._stamp()}")
        state = Timed("CREATE_IN_PROGRESS")
        errors: list[str] = []
        if self._dataset_failures:
            message, code, errors = self._dataset_failures.pop(0)
            state.schedule(self.dataset_seconds, "CREATE_FAILED", message, code)
        else:
            state.schedule(
                self.dataset_seconds, "CREATE_COMPLETE", "The dataset was created.", "SUCCESS"
            )
        project.datasets[kind] = Dataset(arn, kind, time.time(), state, [], errors)
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
            raise ApiError(
                "InvalidParameterException", "Datasets must be one TRAIN and one TEST dataset"
            )
        return {}

    def _op_CreateProjectVersion(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        project = self._project(p["ProjectArn"])
        name = p["VersionName"]
        if name in project.versions:
            raise ApiError("ResourceInUseException", f"version {name!r} already exists")
        has_assets = "TrainingData" in p
        if project.datasets and has_assets:
            raise ApiError(
                "InvalidParameterException",
                "TrainingData/TestingData cannot be given for a project that has datasets",
            )
        if not project.datasets and not has_assets:
            raise ApiError(
                "InvalidParameterException",
                "the project has no datasets: create them or pass TrainingData",
            )
        if project.datasets and any(
            d.state.status != "CREATE_COMPLETE" for d in project.datasets.values()
        ):
            raise ApiError("ResourceNotReadyException", "the project's datasets are not ready")
        arn = self._arn(f"project/{project.name}/version/{name}/{self._stamp()}")
        state = Timed("TRAINING_IN_PROGRESS")
        validation = None
        if self._training_failures:
            message, validation = self._training_failures.pop(0)
            state.schedule(self.training_seconds, "TRAINING_FAILED", message)
        else:
            state.schedule(self.training_seconds, "TRAINING_COMPLETED", "The model is ready.")
        version = Version(
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

    def _describe_version(self, project: Project, v: Version) -> dict[str, Any]:
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
            raise ApiError(
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
            raise ApiError(
                "ResourceInUseException", f"cannot stop a model that is {v.state.status}"
            )
        v.state.set("STOPPING")
        v.state.schedule(self.stopping_seconds, "STOPPED")
        return {"Status": "STOPPING"}

    def _op_DeleteProjectVersion(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        v = self._version(p["ProjectVersionArn"])
        if v.state.status in ("RUNNING", "STARTING", "STOPPING", "TRAINING_IN_PROGRESS"):
            raise ApiError(
                "ResourceInUseException", f"cannot delete a model that is {v.state.status}"
            )
        project = self._project(v.project_arn)
        del project.versions[v.name]
        return {"Status": "DELETING"}

    def _op_CopyProjectVersion(self, p: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        source = self._version(p["SourceProjectVersionArn"])
        if source.state.status not in ("TRAINING_COMPLETED", "STOPPED", "RUNNING"):
            raise ApiError(
                "ResourceInUseException", f"cannot copy a model that is {source.state.status}"
            )
        dest = self._project(p["DestinationProjectArn"])
        name = p["VersionName"]
        if name in dest.versions:
            raise ApiError("ResourceInUseException", f"version {name!r} already exists")
        arn = self._arn(f"project/{dest.name}/version/{name}/{self._stamp()}")
        state = Timed("COPYING_IN_PROGRESS")
        state.schedule(self.copying_seconds, "COPYING_COMPLETED")
        dest.versions[name] = Version(
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
            raise ApiError(
                "ResourceNotReadyException", f"the model is {v.state.status}, not RUNNING"
            )
        image = p["Image"]
        data = image.get("Bytes")
        if isinstance(data, bytes):
            if len(data) > MAX_IMAGE_BYTES:
                raise ApiError("ImageTooLargeException", f"image is {len(data)} bytes (max 4 MB)")
            if not data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
                raise ApiError("InvalidImageFormatException", "image is neither PNG nor JPEG")
        min_conf = float(p.get("MinConfidence", 0.0))
        labels = [d for d in self._detections if float(d.get("Confidence", 0)) >= min_conf]
        labels.sort(key=lambda d: -float(d.get("Confidence", 0)))
        if "MaxResults" in p:
            labels = labels[: int(p["MaxResults"])]
        return {"CustomLabels": labels}
