"""The fake server's in-memory state: resources, timed status transitions, wire decoding."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping
from typing import Any

import attrs
import botocore.model

from wsi2rek.rekognition import DETECT_MAX_IMAGE_BYTES

#: DetectCustomLabels' image bytes limit, from the one owner of the service's rules.
MAX_IMAGE_BYTES = DETECT_MAX_IMAGE_BYTES


class ApiError(Exception):
    """An error answer: the AWS error ``code``, its message and the HTTP status."""

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
class Timed:
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
class Dataset:
    arn: str
    kind: str
    created: float
    state: Timed
    entries: list[str]
    errors: list[str]


@attrs.define
class Version:
    arn: str
    name: str
    project_arn: str
    created: float
    state: Timed
    output: dict[str, Any]
    min_units: int | None = None
    max_units: int | None = None
    validation: dict[str, Any] | None = None


@attrs.define
class Project:
    name: str
    arn: str
    created: float
    datasets: dict[str, Dataset] = attrs.field(factory=dict)
    versions: dict[str, Version] = attrs.field(factory=dict)


def decode(value: Any, shape: botocore.model.Shape | None) -> Any:
    """Turn wire JSON into the Python values botocore's validator expects (blobs -> bytes)."""
    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        assert isinstance(shape, botocore.model.StructureShape)
        members = shape.members
        return {k: decode(v, members.get(k)) for k, v in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        assert isinstance(shape, botocore.model.ListShape)
        return [decode(v, shape.member) for v in value]
    if shape.type_name == "map" and isinstance(value, dict):
        assert isinstance(shape, botocore.model.MapShape)
        return {k: decode(v, shape.value) for k, v in value.items()}
    if shape.type_name == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ApiError("SerializationException", f"blob is not base64: {exc}") from exc
    return value
