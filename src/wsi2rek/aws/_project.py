"""A Custom Labels project: datasets from S3 manifests, training, its model versions."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs
import botocore.exceptions

from wsi2rek.aws._clients import (
    aws_error,
    error_code,
    make_rekognition_client,
    make_s3_client,
    parse_s3_uri,
    wait_for_status,
)
from wsi2rek.aws._evaluation import TrainingFailedError, extract_entry_errors, format_errors
from wsi2rek.aws._manifests import s3_manifest_name
from wsi2rek.aws._model import CustomLabelsModel
from wsi2rek.errors import AwsError, ParameterError

if TYPE_CHECKING:
    from mypy_boto3_rekognition import RekognitionClient
    from mypy_boto3_s3 import S3Client

__all__ = ["CustomLabelsProject", "DatasetManifests", "find_manifests"]

_log = logging.getLogger("wsi2rek.aws")

_BOTO_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)


def _s3_object(uri: str) -> dict[str, str]:
    bucket, key = parse_s3_uri(uri)
    if not key or key.endswith("/"):
        raise ParameterError(f"expected the S3 URI of a manifest file, got {uri!r}")
    return {"Bucket": bucket, "Name": key}


@attrs.frozen
class DatasetManifests:
    """The manifests a project's datasets are created from.

    Attributes:
        train: ``s3://`` URI of the training manifest.
        test: ``s3://`` URI of the test manifest, or None: the service then splits the
            training images (``DistributeDatasetEntries``).
    """

    train: str
    test: str | None = None


def find_manifests(dataset_uri: str, *, s3_client: S3Client) -> DatasetManifests:
    """The manifests of a dataset uploaded to S3.

    Args:
        dataset_uri: The prefix ``wsi2rek upload`` wrote the dataset folder to
            (``s3://bucket/prefix/``, trailing slash optional): its ``train.s3.manifest``,
            and its ``test.s3.manifest`` when that object exists. Or the ``s3://`` URI of
            one training manifest (``....manifest``), used alone.
        s3_client: The client that looks for the test manifest (``HeadObject``).

    Returns:
        The training manifest's URI and the test manifest's, or None without one.

    Raises:
        ParameterError: ``dataset_uri`` is not an ``s3://`` URI.
        AwsError: S3 could not say whether the test manifest exists (access denied...).
    """
    if dataset_uri.endswith(".manifest"):
        return DatasetManifests(dataset_uri)
    bucket, prefix = parse_s3_uri(dataset_uri.rstrip("/"))
    base = f"{prefix}/" if prefix else ""
    train = f"s3://{bucket}/{base}{s3_manifest_name('train')}"
    test_key = f"{base}{s3_manifest_name('test')}"
    test = f"s3://{bucket}/{test_key}"
    try:
        s3_client.head_object(Bucket=bucket, Key=test_key)
    except _BOTO_ERRORS as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return DatasetManifests(train)
        raise aws_error(exc, operation="HeadObject", resource=test) from exc
    return DatasetManifests(train, test)


class CustomLabelsProject:
    """An Amazon Rekognition Custom Labels project.

    Build one with :meth:`create`, :meth:`get` or :meth:`get_or_create`.

    Args:
        arn: The project ARN.
        name: The project name.
        client: A Rekognition client.
        s3_client: An S3 client handed to the models (evaluation and validation files).
        poll_interval: Seconds between status polls when waiting.
    """

    def __init__(
        self,
        arn: str,
        name: str,
        *,
        client: RekognitionClient,
        s3_client: S3Client | None = None,
        poll_interval: float = 30.0,
    ) -> None:
        self.arn = arn
        self.name = name
        self.client = client
        self.s3_client = s3_client
        self.poll_interval = poll_interval

    def __repr__(self) -> str:
        return f"CustomLabelsProject({self.name!r}, arn={self.arn!r})"

    # --- construction ----------------------------------------------------------------------

    @staticmethod
    def _client(
        client: RekognitionClient | None, endpoint_url: str | None, region_name: str | None
    ) -> RekognitionClient:
        if client is not None:
            return client
        return make_rekognition_client(endpoint_url=endpoint_url, region_name=region_name)

    @classmethod
    def create(
        cls,
        name: str,
        *,
        client: RekognitionClient | None = None,
        s3_client: S3Client | None = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        poll_interval: float = 30.0,
    ) -> CustomLabelsProject:
        """Create a new project named ``name``.

        Raises:
            AwsError: The name is taken (``ResourceInUseException``) or the call failed.
        """
        rek = cls._client(client, endpoint_url, region_name)
        try:
            arn = rek.create_project(ProjectName=name)["ProjectArn"]
        except _BOTO_ERRORS as exc:
            raise aws_error(exc, operation="CreateProject", resource=name) from exc
        _log.info("created project %s (%s)", name, arn)
        return cls(arn, name, client=rek, s3_client=s3_client, poll_interval=poll_interval)

    @classmethod
    def get(
        cls,
        name: str,
        *,
        client: RekognitionClient | None = None,
        s3_client: S3Client | None = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        poll_interval: float = 30.0,
    ) -> CustomLabelsProject:
        """The existing project named ``name``.

        Raises:
            AwsError: No such project (code ``ResourceNotFoundException``) or the call failed.
        """
        rek = cls._client(client, endpoint_url, region_name)
        try:
            found = rek.describe_projects(ProjectNames=[name])["ProjectDescriptions"]
        except _BOTO_ERRORS as exc:
            raise aws_error(exc, operation="DescribeProjects", resource=name) from exc
        if not found:
            raise AwsError(
                f"no Custom Labels project named {name!r} in this account and region; create "
                "it with CustomLabelsProject.create (or get_or_create)",
                operation="DescribeProjects",
                resource=name,
                code="ResourceNotFoundException",
            )
        return cls(
            found[0]["ProjectArn"],
            name,
            client=rek,
            s3_client=s3_client,
            poll_interval=poll_interval,
        )

    @classmethod
    def get_or_create(
        cls,
        name: str,
        *,
        client: RekognitionClient | None = None,
        s3_client: S3Client | None = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        poll_interval: float = 30.0,
    ) -> CustomLabelsProject:
        """The project named ``name``, created when it does not exist."""
        rek = cls._client(client, endpoint_url, region_name)
        options: dict[str, Any] = {
            "client": rek,
            "s3_client": s3_client,
            "poll_interval": poll_interval,
        }
        try:
            return cls.get(name, **options)
        except AwsError as exc:
            if exc.code != "ResourceNotFoundException":
                raise
        return cls.create(name, **options)

    # --- datasets --------------------------------------------------------------------------

    def datasets(self) -> dict[str, dict[str, Any]]:
        """The project's datasets by type (``"TRAIN"``, ``"TEST"``) as the service lists them."""
        try:
            found = self.client.describe_projects(ProjectNames=[self.name])["ProjectDescriptions"]
        except _BOTO_ERRORS as exc:
            raise aws_error(exc, operation="DescribeProjects", resource=self.arn) from exc
        out: dict[str, dict[str, Any]] = {}
        for project in found:
            if project.get("ProjectArn") == self.arn:
                for dataset in project.get("Datasets", []):
                    out[str(dataset.get("DatasetType"))] = dict(dataset)
        return out

    def _dataset_status(self, arn: str) -> tuple[str, str | None]:
        try:
            desc = self.client.describe_dataset(DatasetArn=arn)["DatasetDescription"]
        except _BOTO_ERRORS as exc:
            raise aws_error(exc, operation="DescribeDataset", resource=arn) from exc
        message = desc.get("StatusMessage")
        code = desc.get("StatusMessageCode")
        text = f"{message} [{code}]" if message and code else message
        return str(desc.get("Status")), text

    def _dataset_failed(self, arn: str, kind: str, source: str) -> TrainingFailedError:
        status, message = self._dataset_status(arn)
        entries: list[str] = []
        try:
            response = self.client.list_dataset_entries(
                DatasetArn=arn, HasErrors=True, MaxResults=20
            )
            entries = list(response.get("DatasetEntries", []))
        except _BOTO_ERRORS as exc:
            _log.warning("could not list the failed entries of %s: %s", arn, exc)
        errors = extract_entry_errors("\n".join(entries))
        return TrainingFailedError(
            f"{kind} dataset from {source} ended in {status}: {message or 'no status message'}"
            f"{format_errors(errors)}; fix the manifest (`wsi2rek validate`), delete the "
            "dataset and retry",
            operation="CreateDataset",
            resource=arn,
            code=status,
            entry_errors=errors,
        )

    def create_datasets(
        self,
        train: str,
        test: str | None = None,
        *,
        distribute: bool = False,
        timeout: timedelta = timedelta(hours=2),
    ) -> dict[str, str]:
        """Create the TRAIN (and TEST) datasets from manifests in S3 and wait for them.

        Args:
            train: ``s3://bucket/key.manifest`` of the training manifest.
            test: The test manifest; when None and ``distribute`` is True, an empty TEST
                dataset is created and ``DistributeDatasetEntries`` moves part of the
                training images into it.
            distribute: Split the training set when no test manifest is given.
            timeout: How long to wait for ``CREATE_COMPLETE`` (per dataset).

        Returns:
            ``{"TRAIN": arn, "TEST": arn}`` (TEST only when created).

        Raises:
            TrainingFailedError: A dataset ended in ``CREATE_FAILED``; the message carries
                ``StatusMessage``/``StatusMessageCode`` and the first per-entry errors.
            AwsTimeoutError: The deadline passed.
        """
        if test is None and not distribute:
            _log.info("no test manifest: creating only the TRAIN dataset")
        created: dict[str, str] = {}
        plan: list[tuple[str, dict[str, Any], str]] = [
            (
                "TRAIN",
                {"GroundTruthManifest": {"S3Object": _s3_object(train)}},
                train,
            )
        ]
        if test is not None:
            plan.append(("TEST", {"GroundTruthManifest": {"S3Object": _s3_object(test)}}, test))
        for kind, source, uri in plan:
            created[kind] = self._create_dataset(kind, uri, timeout, source)
        if test is None and distribute:
            created["TEST"] = self._create_dataset("TEST", "(empty)", timeout, None)
            try:
                self.client.distribute_dataset_entries(
                    Datasets=[{"Arn": created["TRAIN"]}, {"Arn": created["TEST"]}]
                )
            except _BOTO_ERRORS as exc:
                raise aws_error(
                    exc, operation="DistributeDatasetEntries", resource=self.arn
                ) from exc
            for arn in (created["TRAIN"], created["TEST"]):
                wait_for_status(
                    lambda arn=arn: self._dataset_status(arn),  # type: ignore[misc]
                    wanted={"UPDATE_COMPLETE", "CREATE_COMPLETE"},
                    failed={"UPDATE_FAILED"},
                    timeout=timeout,
                    poll_interval=self.poll_interval,
                    operation="DistributeDatasetEntries",
                    resource=arn,
                )
        return created

    def ensure_datasets(
        self, dataset: str | DatasetManifests, *, timeout: timedelta = timedelta(hours=2)
    ) -> bool:
        """Reuse the project's datasets, or create them when it has none.

        A project trains from its datasets, so a second version of the same project
        reuses them (logged at INFO on ``wsi2rek.aws``) and ``dataset`` is not read. A
        project without datasets gets them from the manifests: both when there is a test
        manifest, else a training dataset the service splits (``distribute``).

        Args:
            dataset: The S3 prefix of an uploaded dataset folder or a training manifest's
                URI (found with :func:`find_manifests`, with the project's ``s3_client``,
                or a default one in the project's region when it has none), or the manifests
                themselves.
            timeout: How long to wait for each dataset (as :meth:`create_datasets`).

        Returns:
            True when the datasets were created, False when the project's were reused.

        Raises:
            ParameterError: ``dataset`` is not an ``s3://`` URI.
            TrainingFailedError: A dataset ended in ``CREATE_FAILED``.
            AwsError: A call failed.
        """
        if self.datasets():
            _log.info("project %s already has datasets; training from them", self.name)
            return False
        if isinstance(dataset, str):
            s3 = self.s3_client
            if s3 is None:  # as CustomLabelsModel does: the project's region (from its ARN)
                s3 = make_s3_client(region_name=self.arn.split(":")[3])
            dataset = find_manifests(dataset, s3_client=s3)
        self.create_datasets(
            dataset.train, dataset.test, distribute=dataset.test is None, timeout=timeout
        )
        return True

    def _create_dataset(
        self, kind: str, uri: str, timeout: timedelta, source: dict[str, Any] | None
    ) -> str:
        kwargs: dict[str, Any] = {"ProjectArn": self.arn, "DatasetType": kind}
        if source is not None:
            kwargs["DatasetSource"] = source
        try:
            arn = str(self.client.create_dataset(**kwargs)["DatasetArn"])
        except _BOTO_ERRORS as exc:
            raise aws_error(exc, operation="CreateDataset", resource=self.arn) from exc
        wait_for_status(
            lambda: self._dataset_status(arn),
            wanted={"CREATE_COMPLETE"},
            failed={"CREATE_FAILED"},
            timeout=timeout,
            poll_interval=self.poll_interval,
            operation="CreateDataset",
            resource=arn,
            on_failed=lambda _status, _message: self._dataset_failed(arn, kind, uri),
        )
        return arn

    # --- training and models ---------------------------------------------------------------

    def train(
        self,
        version_name: str,
        output: str,
        *,
        train_manifest: str | None = None,
        test_manifest: str | None = None,
        wait: bool = True,
        timeout: timedelta = timedelta(hours=24),
        poll_interval: float | None = None,
        kms_key_id: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> CustomLabelsModel:
        """Train a new model version.

        With datasets (:meth:`create_datasets`), train from them. Projects without
        datasets can use the older asset flow the AWS blog uses: give ``train_manifest``
        (and ``test_manifest``, else the service splits off 20% of the training images).

        Args:
            version_name: Name of the new version.
            output: ``s3://bucket/prefix`` for the evaluation and validation files.
            train_manifest: ``s3://`` URI of a training manifest (asset flow only).
            test_manifest: ``s3://`` URI of a test manifest (asset flow only).
            wait: Wait until ``TRAINING_COMPLETED`` (30 min to 24 h).
            timeout: The wait's deadline (our own loop, not botocore's 12 h waiter).
            poll_interval: Seconds between polls (default: the project's).
            kms_key_id: KMS key for the model and output.
            tags: Tags for the model.

        Returns:
            The model (trained when ``wait``).

        Raises:
            TrainingFailedError: ``TRAINING_FAILED``, with ``StatusMessage`` and the first
                errors of the validation manifests when readable.
            AwsTimeoutError: The deadline passed (training continues on AWS).
        """
        bucket, prefix = parse_s3_uri(output)
        kwargs: dict[str, Any] = {
            "ProjectArn": self.arn,
            "VersionName": version_name,
            "OutputConfig": {"S3Bucket": bucket, "S3KeyPrefix": prefix},
        }
        if test_manifest is not None and train_manifest is None:
            raise ParameterError("test_manifest needs train_manifest (the asset flow)")
        if train_manifest is not None:
            kwargs["TrainingData"] = {
                "Assets": [{"GroundTruthManifest": {"S3Object": _s3_object(train_manifest)}}]
            }
            kwargs["TestingData"] = (
                {"Assets": [{"GroundTruthManifest": {"S3Object": _s3_object(test_manifest)}}]}
                if test_manifest is not None
                else {"AutoCreate": True}
            )
        if kms_key_id:
            kwargs["KmsKeyId"] = kms_key_id
        if tags:
            kwargs["Tags"] = dict(tags)
        try:
            arn = self.client.create_project_version(**kwargs)["ProjectVersionArn"]
        except _BOTO_ERRORS as exc:
            raise aws_error(exc, operation="CreateProjectVersion", resource=self.arn) from exc
        _log.info("training %s started (%s)", version_name, arn)
        model = self.model_for(arn)
        if wait:
            model.wait_until_trained(timeout=timeout, poll_interval=poll_interval)
        return model

    def model_for(self, arn: str) -> CustomLabelsModel:
        """A :class:`CustomLabelsModel` for a version ARN of this project."""
        return CustomLabelsModel(
            arn,
            client=self.client,
            s3_client=self.s3_client,
            project_arn=self.arn,
            poll_interval=self.poll_interval,
        )

    def models(self) -> list[CustomLabelsModel]:
        """Every model version of the project (newest first, as the service lists them)."""
        paginator = self.client.get_paginator("describe_project_versions")
        arns: list[str] = []
        try:
            for page in paginator.paginate(ProjectArn=self.arn):
                arns += [d["ProjectVersionArn"] for d in page.get("ProjectVersionDescriptions", [])]
        except _BOTO_ERRORS as exc:
            raise aws_error(exc, operation="DescribeProjectVersions", resource=self.arn) from exc
        return [self.model_for(arn) for arn in arns]

    def model(self, version_name: str) -> CustomLabelsModel:
        """The model version named ``version_name``.

        Raises:
            AwsError: No such version (``ResourceNotFoundException``).
        """
        try:
            found = self.client.describe_project_versions(
                ProjectArn=self.arn, VersionNames=[version_name]
            )["ProjectVersionDescriptions"]
        except _BOTO_ERRORS as exc:
            raise aws_error(exc, operation="DescribeProjectVersions", resource=self.arn) from exc
        if not found:
            raise AwsError(
                f"project {self.name} has no model version {version_name!r}",
                operation="DescribeProjectVersions",
                resource=self.arn,
                code="ResourceNotFoundException",
            )
        return self.model_for(found[0]["ProjectVersionArn"])

    def delete(self, *, delete_models: bool = False) -> None:
        """Delete the project (and its datasets).

        Args:
            delete_models: Also delete every model version first (they must be stopped);
                otherwise a project with models is refused by the service.
        """
        if delete_models:
            for model in self.models():
                model.delete()
        for dataset in self.datasets().values():
            arn = str(dataset["DatasetArn"])
            try:
                self.client.delete_dataset(DatasetArn=arn)
            except _BOTO_ERRORS as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise aws_error(exc, operation="DeleteDataset", resource=arn) from exc
        try:
            self.client.delete_project(ProjectArn=self.arn)
        except _BOTO_ERRORS as exc:
            raise aws_error(exc, operation="DeleteProject", resource=self.arn) from exc
        _log.info("deleted project %s", self.name)
