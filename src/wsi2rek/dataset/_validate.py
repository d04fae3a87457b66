"""Local validation of object-detection manifests against Rekognition's rules.

Every check that Rekognition Custom Labels applies and that can be done without AWS is
here, reported with the code the service would use (``ERROR_INVALID_BOUNDING_BOX``, ...)
and the 1-based line number. Whole-file problems (size, row count, labels, share of
invalid lines, buckets, test/train label overlap) are reported on line 0.
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
from PIL import Image

from wsi2rek.errors import ManifestError

__all__ = ["Issue", "Limits", "ValidationReport", "image_info", "validate_manifest"]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>.*[^/])$")
_OBJECT_DETECTION = "groundtruth/object-detection"


@attrs.frozen
class Issue:
    """One problem found by the validator.

    Attributes:
        line: 1-based line number; 0 for a problem with the whole file.
        code: The Rekognition error or warning code.
        message: What is wrong, where, and how to fix it.
    """

    line: int
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form ``{"line", "code", "message"}``."""
        return {"line": self.line, "code": self.code, "message": self.message}


@attrs.frozen
class Limits:
    """Rekognition Custom Labels quotas (see ``REKOGNITION.md``); override only to test."""

    min_side: int = 64
    max_side: int = 4096
    max_aspect: float = 20.0
    max_image_bytes: int = 15 * 1024 * 1024
    max_boxes: int = 50
    rescale_side: int = 1280
    max_label_length: int = 256
    max_labels: int = 250
    max_rows: int = 250_000
    max_manifest_bytes: int = 1024**3
    max_invalid_fraction: float = 0.20
    min_label_overlap: float = 0.50
    min_images_per_label_to_distribute: int = 2


@attrs.frozen
class ValidationReport:
    """The result of validating one manifest.

    Attributes:
        lines: Number of lines in the manifest.
        errors: Every error found, in line order (whole-file errors, line 0, last).
        warnings: Every warning (``WARNING_NO_ANNOTATIONS`` for background lines).
        labels: Label name -> number of boxes, over the lines without errors.
        background: Lines without any box: accepted by Rekognition but unused by
            training (pure background patches teach the service nothing).
        invalid_lines: Lines with at least one error (Rekognition drops them).
    """

    lines: int
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()
    labels: Mapping[str, int] = attrs.field(factory=dict)
    background: int = 0
    invalid_lines: int = 0

    @property
    def ok(self) -> bool:
        """True when no error was found (warnings allowed)."""
        return not self.errors

    def codes(self) -> set[str]:
        """The distinct error and warning codes found."""
        return {i.code for i in (*self.errors, *self.warnings)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``ok``, ``lines``, ``errors``, ``warnings``, ``labels``..."""
        return {
            "ok": self.ok,
            "lines": self.lines,
            "errors": [i.to_dict() for i in self.errors],
            "warnings": [i.to_dict() for i in self.warnings],
            "labels": dict(self.labels),
            "background": self.background,
            "invalid_lines": self.invalid_lines,
        }


def image_info(path: Path) -> tuple[str, int, int]:
    """``(format, width, height)`` of a PNG or JPEG file, read from its header only.

    Raises:
        ManifestError: The file is neither PNG nor JPEG by its magic bytes, or its
            header is unreadable (code ``ERROR_INVALID_IMAGE``).
    """
    with path.open("rb") as f:
        head = f.read(32)
    if head.startswith(_PNG_MAGIC) and head[12:16] == b"IHDR":
        width, height = struct.unpack(">II", head[16:24])
        return "png", int(width), int(height)
    if head.startswith(_JPEG_MAGIC):
        try:
            with Image.open(path) as im:
                return "jpeg", int(im.width), int(im.height)
        except (OSError, ValueError) as exc:
            raise ManifestError(
                f"{path} starts like a JPEG but its header is unreadable: {exc}",
                path=path,
                code="ERROR_INVALID_IMAGE",
            ) from exc
    raise ManifestError(
        f"{path} is not a PNG or JPEG file (first bytes {head[:8]!r})",
        path=path,
        code="ERROR_INVALID_IMAGE",
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _LineChecker:
    """Checks one decoded line; collects issues and the labels of its boxes."""

    def __init__(self, number: int, attribute: str, base_dir: Path | None, limits: Limits) -> None:
        self.n = number
        self.attribute = attribute
        self.base_dir = base_dir
        self.limits = limits
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.labels: list[str] = []
        self.bucket: str | None = None
        self.background = False

    def error(self, code: str, message: str) -> None:
        self.errors.append(Issue(self.n, code, f"line {self.n}: {message}"))

    def check(self, data: dict[str, Any]) -> None:
        ref = self._source_ref(data)
        attr = self.attribute
        if attr not in data:
            others = [k for k in data if k != "source-ref" and not k.endswith("-metadata")]
            found = f"found keys {others}" if others else "found only 'source-ref'"
            self.error(
                "ERROR_NO_LABEL_ATTRIBUTES",
                f"no label attribute {attr!r} ({found}); add the object-detection attribute "
                f"{attr!r} and its {attr + '-metadata'!r} twin, or validate with the "
                "attribute name the file uses",
            )
            return
        size = self._body(data[attr])
        meta = data.get(f"{attr}-metadata")
        class_map = self._metadata(meta)
        if size is None:
            return
        width, height = size
        self._dimensions(width, height)
        annotations: list[dict[str, Any]] = data[attr]["annotations"]
        self._boxes(annotations, width, height, class_map)
        if isinstance(meta, dict) and isinstance(meta.get("objects"), list):
            self._objects(meta["objects"], len(annotations))
        if not annotations:
            self.background = True
            self.warnings.append(
                Issue(
                    self.n,
                    "WARNING_NO_ANNOTATIONS",
                    f"line {self.n}: no bounding boxes; Rekognition accepts the image but does "
                    "not use it for training (background patches are not negatives: give hard "
                    "negatives a label of their own)",
                )
            )
        if ref is not None and self.base_dir is not None:
            self._image(ref, width, height)

    def _source_ref(self, data: dict[str, Any]) -> str | None:
        if "source-ref" not in data:
            self.error(
                "ERROR_MISSING_SOURCE_REF",
                'no \'source-ref\' key; add "source-ref": "s3://bucket/key.png" (or a '
                "local path before upload)",
            )
            return None
        ref = data["source-ref"]
        if not isinstance(ref, str) or not ref.strip():
            self.error(
                "ERROR_INVALID_SOURCE_REF_FORMAT",
                f"'source-ref' must be a non-empty string, found {ref!r}",
            )
            return None
        if "://" in ref:
            m = _S3_URI.match(ref)
            if m is None:
                self.error(
                    "ERROR_INVALID_SOURCE_REF_FORMAT",
                    f"'source-ref' {ref!r} is not an S3 object URI; expected "
                    "s3://<bucket>/<key> (or a local path before upload)",
                )
                return None
            self.bucket = m.group("bucket")
            return None  # never fetched: S3 images are checked by the service
        return ref

    def _body(self, body: object) -> tuple[int, int] | None:
        attr = self.attribute
        how = (
            f'expected {attr!r}: {{"image_size": [{{"width": W, "height": H, '
            '"depth": 3}], "annotations": [{"class_id", "left", "top", "width", '
            '"height"}, ...]}'
        )
        if not isinstance(body, dict):
            self.error("ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT", f"{how}; found {body!r:.80}")
            return None
        sizes = body.get("image_size")
        annotations = body.get("annotations")
        if (
            not isinstance(sizes, list)
            or len(sizes) != 1
            or not isinstance(sizes[0], dict)
            or not all(_is_int(sizes[0].get(k)) for k in ("width", "height", "depth"))
        ):
            self.error(
                "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT",
                f"bad 'image_size' {sizes!r:.80}; {how}",
            )
            return None
        if not isinstance(annotations, list) or not all(
            isinstance(a, dict)
            and all(_is_number(a.get(k)) for k in ("left", "top", "width", "height"))
            and _is_int(a.get("class_id"))
            for a in annotations
        ):
            self.error(
                "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT",
                f"bad 'annotations' {annotations!r:.80}; {how} with integer class_id and "
                "numeric pixel coordinates",
            )
            return None
        return int(sizes[0]["width"]), int(sizes[0]["height"])

    def _metadata(self, meta: object) -> dict[str, str] | None:
        attr = self.attribute
        required = ("objects", "class-map", "type", "human-annotated", "creation-date")
        if not isinstance(meta, dict) or any(k not in meta for k in required):
            missing = [k for k in required if not isinstance(meta, dict) or k not in meta]
            self.error(
                "ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT",
                f"{attr + '-metadata'!r} is missing or lacks {missing}; it needs objects, "
                "class-map, type, human-annotated and creation-date",
            )
            return None
        ok = True
        if not isinstance(meta["objects"], list) or not isinstance(meta["class-map"], dict):
            self.error(
                "ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT",
                "'objects' must be a list and 'class-map' an object {\"<class_id>\": name}",
            )
            ok = False
        if meta["type"] != _OBJECT_DETECTION:
            self.error(
                "ERROR_UNSUPPORTED_USE_CASE_TYPE",
                f"metadata type is {meta['type']!r}; wsi2rek datasets are object detection: "
                f'set "type": "{_OBJECT_DETECTION}"',
            )
        if not ok:
            return None
        class_map = {str(k): v for k, v in meta["class-map"].items()}
        for key, name in class_map.items():
            if not isinstance(name, str) or not 1 <= len(name) <= self.limits.max_label_length:
                self.error(
                    "ERROR_INVALID_LABEL_NAME_LENGTH",
                    f"label name of class {key} has length "
                    f"{len(name) if isinstance(name, str) else 'n/a'} ({str(name)[:40]!r}...); "
                    f"names must be 1 to {self.limits.max_label_length} characters",
                )
        return {k: str(v) for k, v in class_map.items()}

    def _dimensions(self, width: int, height: int) -> None:
        lim = self.limits
        problem = None
        if not (lim.min_side <= width <= lim.max_side and lim.min_side <= height <= lim.max_side):
            problem = f"each side must be {lim.min_side} to {lim.max_side} px"
        elif max(width, height) > lim.max_aspect * min(width, height):
            problem = f"the aspect ratio must be at most {lim.max_aspect:g}:1"
        if problem:
            self.error(
                "ERROR_INVALID_IMAGE_DIMENSION",
                f"image_size is {width} x {height}; {problem} (choose another patch size)",
            )

    def _boxes(
        self,
        annotations: list[dict[str, Any]],
        width: int,
        height: int,
        class_map: dict[str, str] | None,
    ) -> None:
        lim = self.limits
        if len(annotations) > lim.max_boxes:
            self.error(
                "ERROR_TOO_MANY_BOUNDING_BOXES",
                f"{len(annotations)} bounding boxes; at most {lim.max_boxes} per image "
                "(use smaller patches in dense regions)",
            )
        long_side = max(width, height)
        scale = lim.rescale_side / long_side if long_side > lim.rescale_side else 1.0
        bad_boxes = 0
        for i, a in enumerate(annotations):
            bad_boxes += self._box(i, a, size=(width, height), scale=scale, class_map=class_map)
        if annotations and bad_boxes == len(annotations):
            self.error(
                "ERROR_NO_VALID_ANNOTATIONS",
                f"none of the {len(annotations)} bounding boxes is valid (see the errors "
                "above); Rekognition drops the line",
            )

    def _box(
        self,
        i: int,
        a: dict[str, Any],
        *,
        size: tuple[int, int],
        scale: float,
        class_map: dict[str, str] | None,
    ) -> int:
        """Check one box; returns 1 when it has an error, else 0."""
        lim = self.limits
        width, height = size
        before = len(self.errors)
        cid, x, y, w, h = a["class_id"], a["left"], a["top"], a["width"], a["height"]
        where = f"box {i} (class_id {cid}, left {x}, top {y}, width {w}, height {h})"
        if class_map is not None:
            if str(cid) not in class_map:
                self.error(
                    "ERROR_MISSING_CLASS_MAP_ID",
                    f"{where}: class_id {cid} is not in class-map {sorted(class_map)}; "
                    "add it to the class-map",
                )
            else:
                self.labels.append(class_map[str(cid)])
        if x < 0 or y < 0 or w < 0 or h < 0 or x + w > width or y + h > height:
            self.error(
                "ERROR_INVALID_BOUNDING_BOX",
                f"{where} is negative or off the {width} x {height} image; boxes must lie "
                "inside the image frame",
            )
        elif w * scale <= 1 or h * scale <= 1:
            self.error(
                "ERROR_BOUNDING_BOX_TOO_SMALL",
                f"{where} is at most 1 px wide or high after Rekognition rescales the "
                f"long side to {lim.rescale_side} px (scale {scale:.3f}); use larger boxes "
                "(e.g. a larger spot radius) or remove it",
            )
        return int(len(self.errors) > before)

    def _objects(self, objects: list[Any], count: int) -> None:
        if len(objects) != count or not all(
            isinstance(o, dict) and _is_number(o.get("confidence")) for o in objects
        ):
            self.error(
                "ERROR_MISSING_BOUNDING_BOX_CONFIDENCE",
                f"metadata 'objects' has {len(objects)} entries for {count} annotations (or "
                'an entry without a numeric confidence); give one {"confidence": 1} per box',
            )

    def _image(self, ref: str, width: int, height: int) -> None:
        assert self.base_dir is not None
        path = Path(ref) if Path(ref).is_absolute() else self.base_dir / ref
        if not path.is_file():
            self.error(
                "ERROR_INVALID_IMAGE",
                f"image {path} does not exist; fix 'source-ref' or rebuild the dataset",
            )
            return
        nbytes = path.stat().st_size
        if nbytes > self.limits.max_image_bytes:
            self.error(
                "ERROR_INVALID_IMAGE",
                f"image {path} is {nbytes} bytes; at most {self.limits.max_image_bytes} "
                "(use JPEG or smaller patches)",
            )
        try:
            _fmt, real_w, real_h = image_info(path)
        except ManifestError as exc:
            self.error("ERROR_INVALID_IMAGE", f"{exc}; only PNG and JPEG are accepted")
            return
        if (real_w, real_h) != (width, height):
            self.error(
                "ERROR_INVALID_IMAGE_DIMENSION",
                f"image {path} is {real_w} x {real_h} but image_size says {width} x {height}; "
                "make image_size match the file",
            )


def validate_texts(
    texts: Sequence[str],
    *,
    attribute: str,
    size_bytes: int,
    base_dir: Path | None,
    train_labels: Mapping[str, int] | None = None,
    limits: Limits | None = None,
    distribute: bool = False,
) -> ValidationReport:
    """Validate raw manifest lines (see :meth:`wsi2rek.dataset.Manifest.validate`)."""
    lim = limits or Limits()
    errors: list[Issue] = []
    warnings: list[Issue] = []
    labels: Counter[str] = Counter()
    images_per_label: Counter[str] = Counter()
    buckets: set[str] = set()
    invalid = background = 0
    for number, text in enumerate(texts, start=1):
        checker = _LineChecker(number, attribute, base_dir, lim)
        try:
            data = json.loads(text)
        except ValueError as exc:
            data = None
            reason = "a blank line" if not text.strip() else f"not JSON ({exc})"
        else:
            reason = f"a JSON {type(data).__name__}, not an object"
        if isinstance(data, dict):
            checker.check(data)
        else:
            checker.error(
                "ERROR_INVALID_JSON_LINE",
                f"{reason}; every line must be one JSON object (remove or fix the line)",
            )
        errors.extend(checker.errors)
        warnings.extend(checker.warnings)
        if checker.bucket is not None:
            buckets.add(checker.bucket)
        if checker.errors:
            invalid += 1
        else:
            labels.update(checker.labels)
            images_per_label.update(set(checker.labels))
            background += checker.background
    errors.extend(
        _whole_file(
            texts,
            size_bytes=size_bytes,
            labels=labels,
            invalid=invalid,
            buckets=buckets,
            train_labels=train_labels,
            lim=lim,
        )
    )
    if distribute:
        errors.extend(_distribute_check(images_per_label, lim))
    return ValidationReport(
        lines=len(texts),
        errors=tuple(errors),
        warnings=tuple(warnings),
        labels=dict(sorted(labels.items())),
        background=background,
        invalid_lines=invalid,
    )


def _whole_file(
    texts: Sequence[str],
    *,
    size_bytes: int,
    labels: Counter[str],
    invalid: int,
    buckets: set[str],
    train_labels: Mapping[str, int] | None,
    lim: Limits,
) -> list[Issue]:
    out: list[Issue] = []
    if not texts:
        out.append(
            Issue(
                0,
                "ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT",
                "the manifest is empty; it needs one JSON line per image",
            )
        )
    if size_bytes > lim.max_manifest_bytes:
        out.append(
            Issue(
                0,
                "ERROR_MANIFEST_SIZE_TOO_LARGE",
                f"the manifest is {size_bytes} bytes; at most {lim.max_manifest_bytes} "
                "(split the dataset)",
            )
        )
    if len(texts) > lim.max_rows:
        out.append(
            Issue(
                0,
                "ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM",
                f"the manifest has {len(texts)} lines; at most {lim.max_rows} (sample fewer "
                "patches)",
            )
        )
    if len(labels) > lim.max_labels:
        out.append(
            Issue(
                0,
                "ERROR_MANIFEST_TOO_MANY_LABELS",
                f"the manifest uses {len(labels)} labels; at most {lim.max_labels} (merge "
                "classes in the label map)",
            )
        )
    if texts and invalid / len(texts) > lim.max_invalid_fraction:
        out.append(
            Issue(
                0,
                "ERROR_TOO_MANY_RECORDS_IN_ERROR",
                f"{invalid} of {len(texts)} lines have errors "
                f"(more than {lim.max_invalid_fraction:.0%}); Rekognition refuses the whole "
                "manifest: fix the line errors above",
            )
        )
    if len(buckets) > 1:
        out.append(
            Issue(
                0,
                "ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS",
                f"images come from {len(buckets)} S3 buckets {sorted(buckets)}; a dataset's "
                "images must all be in one bucket",
            )
        )
    if train_labels is not None and labels:
        shared = set(labels) & set(train_labels)
        if len(shared) / len(labels) < lim.min_label_overlap:
            out.append(
                Issue(
                    0,
                    "ERROR_INSUFFICIENT_USABLE_LABEL_OVERLAP",
                    f"only {len(shared)} of the {len(labels)} test labels {sorted(labels)} "
                    f"are training labels {sorted(train_labels)}; at least "
                    f"{lim.min_label_overlap:.0%} must overlap (use the same label map for "
                    "both splits)",
                )
            )
    return out


def _distribute_check(images_per_label: Counter[str], lim: Limits) -> list[Issue]:
    """``distribute_dataset_entries`` needs enough images of every label to split."""
    need = lim.min_images_per_label_to_distribute
    short = {label: n for label, n in sorted(images_per_label.items()) if n < need}
    if not images_per_label or not short:
        return []
    return [
        Issue(
            0,
            "ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE",
            f"labels {short} have fewer than {need} images each; Rekognition cannot split "
            "this training set into a test set (give an explicit test manifest, or sample "
            "more patches of those labels)",
        )
    ]


def validate_manifest(
    path: str | Path,
    *,
    check_images: bool = True,
    train: str | Path | None = None,
    limits: Limits | None = None,
    distribute: bool = False,
) -> ValidationReport:
    """Read and validate the manifest at ``path``.

    Args:
        path: The manifest file.
        check_images: Also check each local image file (see :meth:`Manifest.validate`).
        train: The training manifest, when ``path`` is a test manifest.
        limits: Quotas to check against (default: Rekognition's).
        distribute: The manifest is a training set that Rekognition will split into a
            test set (``distribute_dataset_entries``): every label needs at least two
            images.

    Raises:
        ManifestError: The file cannot be read at all.
    """
    from wsi2rek.dataset._manifest import Manifest  # noqa: PLC0415  (import cycle)

    manifest = Manifest.read(path)
    train_manifest = Manifest.read(train) if train is not None else None
    return manifest.validate(
        check_images=check_images, train=train_manifest, limits=limits, distribute=distribute
    )
