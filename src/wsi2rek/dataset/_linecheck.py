"""The checks of one decoded manifest line (see :mod:`wsi2rek.dataset._validate`)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import attrs

from wsi2rek.dataset._imageinfo import image_info
from wsi2rek.errors import ManifestError
from wsi2rek.rekognition import Code, Quota, box_survives_rescale, training_scale

__all__ = ["OBJECT_DETECTION", "Issue", "LineChecker"]

#: The only use case wsi2rek writes and checks.
OBJECT_DETECTION = "groundtruth/object-detection"
_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>.*[^/])$")


@attrs.frozen
class Issue:
    """One problem found by the validator.

    Attributes:
        line: 1-based line number; 0 for a problem with the whole file.
        code: The error or warning code (a :class:`wsi2rek.rekognition.Code` value).
        message: What is wrong, where, and how to fix it.
    """

    line: int
    code: str = attrs.field(converter=str)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form ``{"line", "code", "message"}``."""
        return {"line": self.line, "code": self.code, "message": self.message}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class LineChecker:
    """Checks one decoded line; collects issues and the labels of its boxes.

    Attributes:
        n: The line number.
        ref: The line's ``source-ref`` string when it has a usable one.
        bucket: Its S3 bucket, for ``s3://`` references.
        labels: The label of every valid box.
        background: The line has no box (``WARNING_NO_ANNOTATIONS``).
    """

    def __init__(self, number: int, attribute: str, base_dir: Path | None, quota: Quota) -> None:
        self.n = number
        self.attribute = attribute
        self.base_dir = base_dir
        self.quota = quota
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.labels: list[str] = []
        self.ref: str | None = None
        self.bucket: str | None = None
        self.background = False

    def error(self, code: Code, message: str) -> None:
        """Record an error of this line."""
        self.errors.append(Issue(self.n, code, f"line {self.n}: {message}"))

    def _warn(self, code: Code, message: str) -> None:
        self.warnings.append(Issue(self.n, code, f"line {self.n}: {message}"))

    def check(self, data: dict[str, Any]) -> None:
        """Run every line rule on the decoded JSON object ``data``."""
        local = self._source_ref(data)
        attr = self.attribute
        if attr not in data:
            others = [k for k in data if k != "source-ref" and not k.endswith("-metadata")]
            found = f"found keys {others[:10]}" if others else "found only 'source-ref'"
            self.error(
                Code.ERROR_NO_LABEL_ATTRIBUTES,
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
            self._warn(
                Code.WARNING_NO_ANNOTATIONS,
                "no bounding boxes; Rekognition accepts the image but does not use it for "
                "training (background patches are not negatives: give hard negatives a label "
                "of their own)",
            )
        if local is not None and self.base_dir is not None:
            self._image(local, width, height)

    def _source_ref(self, data: dict[str, Any]) -> str | None:
        """Checks ``source-ref``; returns it when it is a local path to check."""
        if "source-ref" not in data:
            self.error(
                Code.ERROR_MISSING_SOURCE_REF,
                'no \'source-ref\' key; add "source-ref": "s3://bucket/key.png" (or a '
                "local path before upload)",
            )
            return None
        ref = data["source-ref"]
        if not isinstance(ref, str) or not ref.strip():
            self.error(
                Code.ERROR_INVALID_SOURCE_REF_FORMAT,
                f"'source-ref' must be a non-empty string, found {ref!r:.80}",
            )
            return None
        if "://" in ref:
            m = _S3_URI.match(ref)
            if m is None:
                self.error(
                    Code.ERROR_INVALID_SOURCE_REF_FORMAT,
                    f"'source-ref' {ref!r:.120} is not an S3 object URI; expected "
                    "s3://<bucket>/<key> (or a local path before upload)",
                )
                return None
            self.ref = ref
            self.bucket = m.group("bucket")
            return None  # never fetched: S3 images are checked by the service
        self.ref = ref
        return ref

    def _body(self, body: object) -> tuple[int, int] | None:
        attr = self.attribute
        how = (
            f'expected {attr!r}: {{"image_size": [{{"width": W, "height": H, '
            '"depth": 3}], "annotations": [{"class_id", "left", "top", "width", '
            '"height"}, ...]}'
        )
        if not isinstance(body, dict):
            self.error(Code.ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT, f"{how}; found {body!r:.80}")
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
                Code.ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT,
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
                Code.ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT,
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
                Code.ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT,
                f"{attr + '-metadata'!r} is missing or lacks {missing}; it needs objects, "
                "class-map, type, human-annotated and creation-date (job-name is optional)",
            )
            return None
        ok = True
        if not isinstance(meta["objects"], list) or not isinstance(meta["class-map"], dict):
            self.error(
                Code.ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT,
                "'objects' must be a list and 'class-map' an object {\"<class_id>\": name}",
            )
            ok = False
        if meta["type"] != OBJECT_DETECTION:
            self.error(
                Code.ERROR_UNSUPPORTED_USE_CASE_TYPE,
                f"metadata type is {meta['type']!r:.80}; wsi2rek datasets are object "
                f'detection: set "type": "{OBJECT_DETECTION}"',
            )
        if not ok:
            return None
        class_map = {str(k): v for k, v in meta["class-map"].items()}
        limit = self.quota.max_label_length
        for key, name in class_map.items():
            if not isinstance(name, str) or not 1 <= len(name) <= limit:
                length = len(name) if isinstance(name, str) else "n/a"
                self.error(
                    Code.ERROR_INVALID_LABEL_NAME_LENGTH,
                    f"label name of class {key[:20]} has length {length} "
                    f"({str(name)[:40]!r}...); names must be 1 to {limit} characters",
                )
        return {k: str(v) for k, v in class_map.items()}

    def _dimensions(self, width: int, height: int) -> None:
        q = self.quota
        if not (
            q.min_image_side <= width <= q.max_image_side
            and q.min_image_side <= height <= q.max_image_side
        ):
            self.error(
                Code.ERROR_INVALID_IMAGE_DIMENSION,
                f"image_size is {width} x {height}; each side must be {q.min_image_side} to "
                f"{q.max_image_side} px (choose another patch size)",
            )
        elif max(width, height) > q.max_aspect_ratio * min(width, height):
            self.error(
                Code.ERROR_INVALID_IMAGE,
                f"image_size is {width} x {height}; the aspect ratio must be at most "
                f"{q.max_aspect_ratio:g}:1 (choose another patch size)",
            )

    def _boxes(
        self,
        annotations: list[dict[str, Any]],
        width: int,
        height: int,
        class_map: dict[str, str] | None,
    ) -> None:
        q = self.quota
        if len(annotations) > q.max_boxes_per_image:
            self.error(
                Code.ERROR_TOO_MANY_BOUNDING_BOXES,
                f"{len(annotations)} bounding boxes; at most {q.max_boxes_per_image} per image "
                "(use smaller patches in dense regions)",
            )
        bad_boxes = 0
        for i, a in enumerate(annotations):
            bad_boxes += self._box(i, a, size=(width, height), class_map=class_map)
        if annotations and bad_boxes == len(annotations):
            self.error(
                Code.ERROR_NO_VALID_ANNOTATIONS,
                f"none of the {len(annotations)} bounding boxes is valid (see the errors "
                "above); Rekognition drops the line",
            )

    def _box(
        self,
        i: int,
        a: dict[str, Any],
        *,
        size: tuple[int, int],
        class_map: dict[str, str] | None,
    ) -> int:
        """Check one box; returns 1 when it has an error, else 0."""
        width, height = size
        before = len(self.errors)
        cid, x, y, w, h = a["class_id"], a["left"], a["top"], a["width"], a["height"]
        where = f"box {i} (class_id {cid}, left {x}, top {y}, width {w}, height {h})"
        if class_map is not None:
            if str(cid) not in class_map:
                self.error(
                    Code.ERROR_MISSING_CLASS_MAP_ID,
                    f"{where}: class_id {cid} is not in class-map {sorted(class_map)[:10]}; "
                    "add it to the class-map",
                )
            else:
                self.labels.append(class_map[str(cid)])
        if x < 0 or y < 0 or w < 0 or h < 0 or x + w > width or y + h > height:
            self.error(
                Code.ERROR_INVALID_BOUNDING_BOX,
                f"{where} is negative or off the {width} x {height} image; boxes must lie "
                "inside the image frame",
            )
        elif not box_survives_rescale(w, h, width, height, self.quota):
            scale = training_scale(width, height, self.quota)
            self.error(
                Code.ERROR_BOUNDING_BOX_TOO_SMALL,
                f"{where} is at most 1 px wide or high after Rekognition rescales the "
                f"long side to {self.quota.training_long_side} px (scale {scale:.3f}); use "
                "larger boxes (e.g. a larger spot radius) or remove it",
            )
        return int(len(self.errors) > before)

    def _objects(self, objects: list[Any], count: int) -> None:
        if len(objects) != count or not all(
            isinstance(o, dict) and _is_number(o.get("confidence")) for o in objects
        ):
            self.error(
                Code.ERROR_MISSING_BOUNDING_BOX_CONFIDENCE,
                f"metadata 'objects' has {len(objects)} entries for {count} annotations (or "
                'an entry without a numeric confidence); give one {"confidence": 1} per box',
            )

    def _image(self, ref: str, width: int, height: int) -> None:
        assert self.base_dir is not None
        q = self.quota
        try:
            path = Path(ref) if Path(ref).is_absolute() else self.base_dir / ref
            is_file = path.is_file()
        except (OSError, ValueError) as exc:  # e.g. a NUL byte or a name too long
            self.error(Code.ERROR_INVALID_IMAGE, f"source-ref {ref!r:.80} is unusable: {exc}")
            return
        if not is_file:
            self.error(
                Code.ERROR_INVALID_IMAGE,
                f"image {path} does not exist; fix 'source-ref' or rebuild the dataset",
            )
            return
        nbytes = path.stat().st_size
        if nbytes > q.max_image_bytes:
            self.error(
                Code.ERROR_INVALID_IMAGE,
                f"image {path} is {nbytes} bytes; at most {q.max_image_bytes} "
                "(use JPEG or smaller patches)",
            )
        try:
            _fmt, real_w, real_h = image_info(path)
        except ManifestError as exc:
            self.error(Code.ERROR_INVALID_IMAGE, f"{exc}; only PNG and JPEG are accepted")
            return
        if (real_w, real_h) != (width, height):
            self.error(
                Code.ERROR_INVALID_IMAGE_DIMENSION,
                f"image {path} is {real_w} x {real_h} but image_size says {width} x {height}; "
                "make image_size match the file",
            )
