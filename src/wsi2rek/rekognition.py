"""Amazon Rekognition Custom Labels: every rule of the service that wsi2rek respects.

This module is the single owner of the service's knowledge: quotas, error and warning
codes, the training-rescale formula, the model ARN pattern and the detection payload
limit. Each value carries the sentence of the *Amazon Rekognition Custom Labels Developer
Guide* it comes from (page and quote), so a reader can check it and the documentation's
quota and troubleshooting tables are generated from it. Everything else in wsi2rek
imports these names; nothing repeats a number.

Where the guide contradicts itself, the choice is stated next to the value:

* Minimum labels of an object-detection dataset: the limits page says 1, the
  "Validation rules" table says 2 and ``ERROR_MANIFEST_TOO_FEW_USABLE_LABELS`` says 2 for
  object locations. wsi2rek checks 1 (the quota that is specific to detection datasets).
* Label overlap between test and train: the error pages' prose speaks of the share of
  *test* labels found in train, the only formula ("(common labels between test and
  train)/(train labels)") divides by the *train* labels. wsi2rek follows the formula.

Example:
    >>> training_scale(2560, 512)
    0.5
    >>> Code.ERROR_EMPTY_MANIFEST.info.scope
    'file'
    >>> QUOTA.max_test_images_per_label
    1000
    >>> parse_model_arn("arn:aws:rekognition:eu-west-1:123456789012:project/p/version/v1/1")
    ('eu-west-1', '123456789012', 'p', 'v1')
"""

from __future__ import annotations

import enum
import re
from datetime import UTC, datetime
from typing import Literal

import attrs

__all__ = [
    "CODES",
    "CREATION_DATE_FORMAT",
    "DETECT_MAX_IMAGE_BYTES",
    "GUIDE_URL",
    "MODEL_ARN",
    "NOT_CHECKED",
    "PROJECT_ARN",
    "QUOTA",
    "QUOTAS",
    "TERMINAL_CONTENT_CODES",
    "Code",
    "CodeInfo",
    "Quota",
    "QuotaInfo",
    "box_survives_rescale",
    "creation_date",
    "parse_model_arn",
    "training_scale",
]

#: Root of the developer guide; each page below is ``GUIDE_URL + page``.
GUIDE_URL = "https://docs.aws.amazon.com/rekognition/latest/customlabels-dg/"

_LIMITS = "limits.html"
_RULES = "md-create-manifest-file-validation-rules.html"
_TERMINAL = "debugging-datasets-terminal-errors.html"
_AGGREGATE = "tm-debugging-aggregate-errors.html"
_FILE_ERRORS = "tm-terminal-errors-reference.html"
_LINE_ERRORS = "tm-debugging-json-line-errors.html"
_OBJECT_DETECTION = "md-create-manifest-file-object-detection.html"
_SECURITY = "sc-introduction.html"


@attrs.frozen
class QuotaInfo:
    """One quota of the service with its source.

    Attributes:
        name: Attribute name in :class:`Quota`.
        what: What is limited, in words.
        page: Guide page (relative to :data:`GUIDE_URL`).
        quote: The guide's sentence.
    """

    name: str
    what: str
    page: str
    quote: str


@attrs.frozen
class Quota:
    """Rekognition Custom Labels quotas for object-detection datasets.

    The defaults are the service's (see :data:`QUOTAS` for each one's source); pass a
    modified copy (``attrs.evolve(QUOTA, max_test_images_per_label=10)``) only to test.
    """

    min_image_side: int = 64
    max_image_side: int = 4096
    max_aspect_ratio: float = 20.0
    max_image_bytes: int = 15 * 1024 * 1024
    max_boxes_per_image: int = 50
    max_labels_per_image: int = 50
    training_long_side: int = 1280
    min_box_side_after_rescale: float = 1.0
    max_label_length: int = 256
    min_labels: int = 1
    max_labels: int = 250
    max_manifest_bytes: int = 1024**3
    max_manifest_lines: int = 250_000
    max_line_chars: int = 100_000
    max_invalid_fraction: float = 0.20
    min_label_overlap: float = 0.50
    max_test_images_per_label: int = 1000
    min_training_images_per_label: int = 1
    min_images_per_label_to_distribute: int = 2
    detect_max_image_bytes: int = 4 * 1024 * 1024


#: The service's quotas.
QUOTA = Quota()

#: Every quota with the guide's sentence, in the order of the docs' quota table.
QUOTAS: tuple[QuotaInfo, ...] = (
    QuotaInfo(
        "min_image_side",
        "image side, minimum (px)",
        _LIMITS,
        "Minimum image dimension of image file in an Amazon S3 bucket is 64 pixels x 64 pixels.",
    ),
    QuotaInfo(
        "max_image_side",
        "image side, maximum (px)",
        _LIMITS,
        "Maximum image dimension of image file in an Amazon S3 bucket is 4096 pixels x "
        "4096 pixels.",
    ),
    QuotaInfo(
        "max_aspect_ratio", "image aspect ratio", _LIMITS, "Maximum image aspect ratio is 20:1."
    ),
    QuotaInfo(
        "max_image_bytes",
        "image file size (bytes)",
        _LIMITS,
        "Maximum file size for an image in an Amazon S3 bucket is 15 MB.",
    ),
    QuotaInfo(
        "max_boxes_per_image",
        "bounding boxes per image",
        _LIMITS,
        "Maximum number of bounding boxes in an image is 50.",
    ),
    QuotaInfo(
        "max_labels_per_image",
        "labels per image",
        _LIMITS,
        "Maximum number of labels per image is 50.",
    ),
    QuotaInfo(
        "training_long_side",
        "training rescale: long side (px)",
        _LINE_ERRORS,
        "During training, Amazon Rekognition Custom Labels resizes an image if any of its "
        "dimensions are greater than 1280 pixels (the source images aren't affected).",
    ),
    QuotaInfo(
        "min_box_side_after_rescale",
        "box side after the rescale, exclusive minimum (px)",
        _LINE_ERRORS,
        "The resulting bounding box heights and widths must be greater than 1 x 1 pixels.",
    ),
    QuotaInfo(
        "max_label_length",
        "label name length (characters)",
        _LINE_ERRORS,
        "The length of a label name is too long. The maximum length is 256 characters.",
    ),
    QuotaInfo(
        "min_labels",
        "unique labels per dataset, minimum",
        _LIMITS,
        "Minimum number of unique labels per Object Location (detection) dataset is 1.",
    ),
    QuotaInfo(
        "max_labels",
        "unique labels per manifest, maximum",
        _LIMITS,
        "Maximum number of unique labels per manifest is 250.",
    ),
    QuotaInfo(
        "max_manifest_bytes",
        "manifest file size (bytes)",
        _LIMITS,
        "Maximum dataset manifest file size is 1 GB.",
    ),
    QuotaInfo(
        "max_manifest_lines",
        "manifest lines (images)",
        _RULES,
        "Maximum of 250,000 dataset objects as lines in a manifest.",
    ),
    QuotaInfo(
        "max_line_chars",
        "JSON line length (characters)",
        _TERMINAL,
        "The length of a JSON line is too long. The maximum length is 100,000 characters.",
    ),
    QuotaInfo(
        "max_invalid_fraction",
        "share of invalid lines, maximum",
        _RULES,
        "The 20% invalidity rules apply cumulatively across all validation rules.",
    ),
    QuotaInfo(
        "min_label_overlap",
        "test/train label overlap, minimum",
        _RULES,
        "Overlaps are (common labels between test and train)/(train labels).",
    ),
    QuotaInfo(
        "max_test_images_per_label",
        "test images per label, maximum",
        _LIMITS,
        "Testing: Maximum number of images per label is 1000.",
    ),
    QuotaInfo(
        "min_training_images_per_label",
        "training images per label, minimum",
        _LIMITS,
        "Training: Minimum number of images per label is 1.",
    ),
    QuotaInfo(
        "min_images_per_label_to_distribute",
        "images per label to split a training set (wsi2rek's reading)",
        _TERMINAL,
        "The manifest file doesn't have enough labeled images to distribute the dataset.",
    ),
    QuotaInfo(
        "detect_max_image_bytes",
        "DetectCustomLabels image bytes (bytes)",
        _LIMITS,
        "Maximum size of images passed as raw bytes is 4 MB.",
    ),
)

#: ``DetectCustomLabels`` payload limit for image bytes (the guide's 4 MB; the service
#: model allows 5 MiB, the smaller one is what wsi2rek sends).
DETECT_MAX_IMAGE_BYTES = QUOTA.detect_max_image_bytes


def training_scale(width: float, height: float, quota: Quota = QUOTA) -> float:
    """The factor training scales an image of ``width x height`` px by (at most 1).

    "During training, Amazon Rekognition Custom Labels resizes an image if any of its
    dimensions are greater than 1280 pixels" (JSON line errors page): the long side
    becomes 1280 px.
    """
    long_side = max(width, height)
    return min(1.0, quota.training_long_side / long_side) if long_side > 0 else 1.0


def box_survives_rescale(
    box_width: float, box_height: float, width: float, height: float, quota: Quota = QUOTA
) -> bool:
    """True when a box stays larger than 1 x 1 px after the training rescale.

    Otherwise the service reports ``ERROR_BOUNDING_BOX_TOO_SMALL``.
    """
    scale = training_scale(width, height, quota)
    limit = quota.min_box_side_after_rescale
    return box_width * scale > limit and box_height * scale > limit


# --- manifest fields --------------------------------------------------------------------

#: ``strftime`` format of a manifest's ``creation-date``. The object-detection manifest
#: page defines the field as "(Required) The Coordinated Universal Time (UTC) date and time
#: that the label was created", and the guide's examples write it without a zone and with
#: microseconds, e.g. ``"2018-10-18T22:18:13.527256"`` (COCO transform page,
#: ``md-transform-coco.html``, which also says Custom Labels "expects the format of
#: creation-date to be Y-M-DTH:M:S").
CREATION_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def creation_date(moment: datetime) -> str:
    """``moment`` as a manifest ``creation-date``: UTC, no zone suffix, microseconds.

    A naive ``moment`` is taken as UTC already; an aware one is converted.

    Example:
        >>> creation_date(datetime(2018, 10, 18, 22, 18, 13, 527256))
        '2018-10-18T22:18:13.527256'
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime(CREATION_DATE_FORMAT)


# --- ARNs -------------------------------------------------------------------------------

#: A model (project version) ARN: botocore's pattern for ``ProjectVersionArn`` of
#: ``DetectCustomLabels`` (rekognition 2016-06-27), with named groups. The guide's form
#: is ``arn:aws:rekognition:*:*:project/project_name/version/name/datetime``.
MODEL_ARN = re.compile(
    r"^arn:(?P<partition>[a-z\d-]+):rekognition:(?P<region>[a-z\d-]+):(?P<account>\d{12})"
    r":project/(?P<project>[a-zA-Z0-9_.\-]{1,255})/version/(?P<version>[a-zA-Z0-9_.\-]{1,255})"
    r"/(?P<timestamp>[0-9]+)$"
)
#: A project ARN (``arn:aws:rekognition:*:*:project/project_name/datetime``).
PROJECT_ARN = re.compile(
    r"^arn:(?P<partition>[a-z\d-]+):rekognition:(?P<region>[a-z\d-]+):(?P<account>\d{12})"
    r":project/(?P<project>[a-zA-Z0-9_.\-]{1,255})/(?P<timestamp>[0-9]+)$"
)


def parse_model_arn(arn: str) -> tuple[str, str, str, str] | None:
    """``(region, account, project, version)`` of a model version ARN, or None."""
    m = MODEL_ARN.match(arn)
    if m is None:
        return None
    return m["region"], m["account"], m["project"], m["version"]


# --- codes ------------------------------------------------------------------------------

Scope = Literal["line", "file", "pair"]
Severity = Literal["error", "warning"]


@attrs.frozen
class CodeInfo:
    """What a code means, where it applies and where the guide says so.

    Attributes:
        severity: ``"error"`` or ``"warning"``.
        scope: ``"line"`` (reported with the line number), ``"file"`` (line 0) or
            ``"pair"`` (a rule between the train and test manifests).
        page: Guide page (relative to :data:`GUIDE_URL`).
        quote: The guide's sentence.
        fix: What to do about it with wsi2rek.
        terminal: A terminal content error: the service drops the line silently and
            counts it towards ``ERROR_TOO_MANY_RECORDS_IN_ERROR``.
        guide_code: False for wsi2rek's own codes (``WSI2REK_*``), used where the guide
            states the rule but names no code.
    """

    severity: Severity
    scope: Scope
    page: str
    quote: str
    fix: str
    terminal: bool = False
    guide_code: bool = True


class Code(enum.StrEnum):
    """Every error and warning code the validator reports.

    ``ERROR_*`` and ``WARNING_*`` are the service's names; ``WSI2REK_*`` codes report
    rules the guide states without naming a code. :attr:`info` says more.
    """

    # terminal content errors (the line is dropped)
    WSI2REK_LINE_TOO_LONG = "WSI2REK_LINE_TOO_LONG"
    ERROR_MISSING_SOURCE_REF = "ERROR_MISSING_SOURCE_REF"
    ERROR_INVALID_SOURCE_REF_FORMAT = "ERROR_INVALID_SOURCE_REF_FORMAT"
    ERROR_INVALID_JSON_LINE = "ERROR_INVALID_JSON_LINE"
    WSI2REK_DUPLICATE_SOURCE_REF = "WSI2REK_DUPLICATE_SOURCE_REF"
    # non-terminal JSON line errors
    ERROR_NO_LABEL_ATTRIBUTES = "ERROR_NO_LABEL_ATTRIBUTES"
    ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT = "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT"
    ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT = "ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT"
    ERROR_UNSUPPORTED_USE_CASE_TYPE = "ERROR_UNSUPPORTED_USE_CASE_TYPE"
    ERROR_INVALID_LABEL_NAME_LENGTH = "ERROR_INVALID_LABEL_NAME_LENGTH"
    ERROR_MISSING_CLASS_MAP_ID = "ERROR_MISSING_CLASS_MAP_ID"
    ERROR_MISSING_BOUNDING_BOX_CONFIDENCE = "ERROR_MISSING_BOUNDING_BOX_CONFIDENCE"
    ERROR_TOO_MANY_BOUNDING_BOXES = "ERROR_TOO_MANY_BOUNDING_BOXES"
    ERROR_INVALID_BOUNDING_BOX = "ERROR_INVALID_BOUNDING_BOX"
    ERROR_BOUNDING_BOX_TOO_SMALL = "ERROR_BOUNDING_BOX_TOO_SMALL"
    ERROR_NO_VALID_ANNOTATIONS = "ERROR_NO_VALID_ANNOTATIONS"
    ERROR_INVALID_IMAGE = "ERROR_INVALID_IMAGE"
    ERROR_INVALID_IMAGE_DIMENSION = "ERROR_INVALID_IMAGE_DIMENSION"
    WARNING_NO_ANNOTATIONS = "WARNING_NO_ANNOTATIONS"
    # whole-file errors
    ERROR_EMPTY_MANIFEST = "ERROR_EMPTY_MANIFEST"
    ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT = (
        "ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT"
    )
    ERROR_MANIFEST_SIZE_TOO_LARGE = "ERROR_MANIFEST_SIZE_TOO_LARGE"
    ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM = "ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM"
    ERROR_TOO_MANY_RECORDS_IN_ERROR = "ERROR_TOO_MANY_RECORDS_IN_ERROR"
    ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST = "ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST"
    ERROR_MANIFEST_TOO_FEW_LABELS = "ERROR_MANIFEST_TOO_FEW_LABELS"
    ERROR_MANIFEST_TOO_MANY_LABELS = "ERROR_MANIFEST_TOO_MANY_LABELS"
    ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS = "ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS"
    ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE = (
        "ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE"
    )
    WSI2REK_TOO_MANY_TEST_IMAGES_PER_LABEL = "WSI2REK_TOO_MANY_TEST_IMAGES_PER_LABEL"
    # rules between the train and test manifests
    ERROR_INSUFFICIENT_USABLE_LABEL_OVERLAP = "ERROR_INSUFFICIENT_USABLE_LABEL_OVERLAP"
    WSI2REK_TRAIN_TEST_OVERLAP = "WSI2REK_TRAIN_TEST_OVERLAP"

    @property
    def info(self) -> CodeInfo:
        """Meaning, scope and source of this code."""
        return CODES[self]


_FIX_LINE = "fix or remove the line (rebuilding with `wsi2rek build` writes valid lines)"

#: Every code with its meaning and the guide's sentence, in the docs' table order.
CODES: dict[Code, CodeInfo] = {
    Code.WSI2REK_LINE_TOO_LONG: CodeInfo(
        "error",
        "line",
        _TERMINAL,
        "The length of a JSON line is too long. The maximum length is 100,000 characters.",
        "shorten the line (fewer boxes or shorter label names); the service drops it silently",
        terminal=True,
        guide_code=False,
    ),
    Code.ERROR_MISSING_SOURCE_REF: CodeInfo(
        "error",
        "line",
        _LINE_ERRORS,
        "This error occurs when the source-ref key is missing or is misspelt.",
        'add "source-ref": "s3://bucket/key.png" (a path relative to the manifest before upload)',
        terminal=True,
    ),
    Code.ERROR_INVALID_SOURCE_REF_FORMAT: CodeInfo(
        "error",
        "line",
        _LINE_ERRORS,
        "The source-ref key is present in the JSON Line, but the schema of the Amazon S3 "
        "path is incorrect.",
        "use s3://<bucket>/<key>, or a relative path before `wsi2rek upload`",
        terminal=True,
    ),
    Code.ERROR_INVALID_JSON_LINE: CodeInfo(
        "error",
        "line",
        _LINE_ERRORS,
        "An unexpected character was found in the JSON Line.",
        "make the line one JSON object in UTF-8 (blank lines count as invalid lines too)",
        terminal=True,
    ),
    Code.WSI2REK_DUPLICATE_SOURCE_REF: CodeInfo(
        "error",
        "line",
        _TERMINAL,
        "The value a source-ref field appears more than once. An image can only be "
        "referenced once in a dataset.",
        "merge the boxes of both lines into one line, or remove the repeated line",
        terminal=True,
        guide_code=False,
    ),
    Code.ERROR_NO_LABEL_ATTRIBUTES: CodeInfo(
        "error",
        "line",
        _LINE_ERRORS,
        "The label attribute or the label attribute -metadata key name (or both) is "
        "invalid or missing.",
        "add the label attribute and its -metadata twin (or validate with the attribute "
        "name the file uses)",
    ),
    Code.ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT: CodeInfo(
        "error",
        "line",
        _LINE_ERRORS,
        "The schema for the label attribute key is missing or invalid.",
        "give image_size as a one-element list of integer width, height, depth and "
        "annotations with an integer class_id and numeric left, top, width, height",
    ),
    Code.ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT: CodeInfo(
        "error",
        "line",
        _LINE_ERRORS,
        "The schema for the label attribute metadata key is missing or invalid.",
        "give objects, class-map, type, human-annotated and creation-date (job-name is optional)",
    ),
    Code.ERROR_UNSUPPORTED_USE_CASE_TYPE: CodeInfo(
        "error",
        "line",
        _LINE_ERRORS,
        "The value of the type field isn't groundtruth/image-classification or "
        "groundtruth/object-detection.",
        'set "type": "groundtruth/object-detection"',
    ),
    Code.ERROR_INVALID_LABEL_NAME_LENGTH: CodeInfo(
        "error",
        "line",
        _LINE_ERRORS,
        "The length of a label name is too long. The maximum length is 256 characters.",
        "shorten the label name in the label map",
    ),
    Code.ERROR_MISSING_CLASS_MAP_ID: CodeInfo(
        "error",
        "line",
        _LINE_ERRORS,
        "The class_id in an annotation (bounding box) object doesn't have a matching entry "
        "in the label attribute metadata class map (class-map).",
        "add the class id to class-map",
    ),
    Code.ERROR_MISSING_BOUNDING_BOX_CONFIDENCE: CodeInfo(
        "error",
        "line",
        _LINE_ERRORS,
        "The confidence key is missing for one or more object location bounding boxes.",
        'give one {"confidence": 1} in objects per annotation',
    ),
    Code.ERROR_TOO_MANY_BOUNDING_BOXES: CodeInfo(
        "error",
        "line",
        _LIMITS,
        "Maximum number of bounding boxes in an image is 50.",
        "use smaller patches in dense regions (the samplers' max_boxes)",
    ),
    Code.ERROR_INVALID_BOUNDING_BOX: CodeInfo(
        "error",
        "line",
        _LINE_ERRORS,
        "The bounding box information specifies an image that is either off the image "
        "frame or contains negative values.",
        "keep boxes inside the image (non-integer coordinates are fine)",
    ),
    Code.ERROR_BOUNDING_BOX_TOO_SMALL: CodeInfo(
        "error",
        "line",
        _LINE_ERRORS,
        "The resulting bounding box heights and widths must be greater than 1 x 1 pixels.",
        "use larger boxes (e.g. a larger --spot-radius) or smaller patches",
    ),
    Code.ERROR_NO_VALID_ANNOTATIONS: CodeInfo(
        "error",
        "line",
        _LINE_ERRORS,
        "None of the annotation objects in the JSON Line contain valid bounding box information.",
        "fix the boxes reported on the same line",
    ),
    Code.ERROR_INVALID_IMAGE: CodeInfo(
        "error",
        "line",
        _LINE_ERRORS,
        "The file referenced by source-ref is not a valid image. Potential causes include "
        "the image aspect ratio, the size of the image, and the image format.",
        "PNG or JPEG, at most 15 MB, aspect ratio at most 20:1, at the path source-ref names",
    ),
    Code.ERROR_INVALID_IMAGE_DIMENSION: CodeInfo(
        "error",
        "line",
        _LINE_ERRORS,
        "The minimum dimension is 64 pixels. The maximum dimension is 4096 pixels.",
        "choose a patch size of 64 to 4096 px and make image_size match the file",
    ),
    Code.WARNING_NO_ANNOTATIONS: CodeInfo(
        "warning",
        "line",
        _LINE_ERRORS,
        "The JSON Line is valid, but isn't used for training.",
        "give hard negatives a label of their own; background patches teach nothing",
    ),
    Code.ERROR_EMPTY_MANIFEST: CodeInfo(
        "error",
        "file",
        _FILE_ERRORS,
        "The training or testing manifest file used for training exists, but it is empty.",
        "add one JSON line per image (check the label map and sampler options)",
    ),
    Code.ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT: CodeInfo(
        "error",
        "file",
        _TERMINAL,
        "The training or testing manifest file doesn't have a file extension or its "
        "contents are invalid.",
        "give a readable file (conventionally *.manifest)",
    ),
    Code.ERROR_MANIFEST_SIZE_TOO_LARGE: CodeInfo(
        "error",
        "file",
        _LIMITS,
        "Maximum dataset manifest file size is 1 GB.",
        "sample fewer patches or split the dataset",
    ),
    Code.ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM: CodeInfo(
        "error",
        "file",
        _RULES,
        "Maximum of 250,000 dataset objects as lines in a manifest.",
        "sample fewer patches",
    ),
    Code.ERROR_TOO_MANY_RECORDS_IN_ERROR: CodeInfo(
        "error",
        "file",
        _TERMINAL,
        "The manifest file has too many terminal errors.",
        "fix the lines with terminal content errors (wsi2rek assumes the 20% rule applies)",
    ),
    Code.ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST: CodeInfo(
        "error",
        "file",
        _AGGREGATE,
        "An ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST error occurs if there are too many "
        "JSON Lines that contain invalid content.",
        "fix the line errors: more than 20% of the lines are invalid",
    ),
    Code.ERROR_MANIFEST_TOO_FEW_LABELS: CodeInfo(
        "error",
        "file",
        _LIMITS,
        "Minimum number of unique labels per Object Location (detection) dataset is 1.",
        "the manifest has no valid bounding box at all: check the label map",
    ),
    Code.ERROR_MANIFEST_TOO_MANY_LABELS: CodeInfo(
        "error",
        "file",
        _LIMITS,
        "Maximum number of unique labels per manifest is 250.",
        "merge classes in the label map",
    ),
    Code.ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS: CodeInfo(
        "error",
        "file",
        _AGGREGATE,
        "A manifest can only reference images stored in a single bucket.",
        "upload every image of the dataset to one bucket",
    ),
    Code.ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE: CodeInfo(
        "error",
        "file",
        _TERMINAL,
        "The manifest file doesn't have enough labeled images to distribute the dataset.",
        "give an explicit test manifest, or sample more patches of those labels",
    ),
    Code.WSI2REK_TOO_MANY_TEST_IMAGES_PER_LABEL: CodeInfo(
        "error",
        "file",
        _LIMITS,
        "Testing: Maximum number of images per label is 1000.",
        "rebuild with the default --max-test-images-per-label 1000, which subsamples the "
        "test split reproducibly and reports what it left out",
        guide_code=False,
    ),
    Code.ERROR_INSUFFICIENT_USABLE_LABEL_OVERLAP: CodeInfo(
        "error",
        "pair",
        _RULES,
        "Overlaps are (common labels between test and train)/(train labels).",
        "use the same label map for both splits; wsi2rek follows the guide's formula "
        "(shared / train labels), not its prose (share of test labels)",
    ),
    Code.WSI2REK_TRAIN_TEST_OVERLAP: CodeInfo(
        "error",
        "pair",
        _RULES,
        "There should not be an overlap between test and training datasets.",
        "split by slide (wsi2rek build does): an image must be in one split only",
        guide_code=False,
    ),
}

#: Codes of terminal content errors: the service drops such lines silently.
TERMINAL_CONTENT_CODES: frozenset[Code] = frozenset(c for c, i in CODES.items() if i.terminal)

#: Codes of the guide that the validator cannot check locally, and why.
NOT_CHECKED: dict[str, str] = {
    "ERROR_NO_VALID_LABEL_ATTRIBUTES": "reported through the underlying "
    "ERROR_INVALID_LABEL_ATTRIBUTE_* or ERROR_UNSUPPORTED_USE_CASE_TYPE code, which says "
    "what to fix",
    "WARNING_UNANNOTATED_RECORD": "a console state (an image added but never labelled); a "
    "manifest line without label attribute is ERROR_NO_LABEL_ATTRIBUTES",
    "WARNING_NO_ATTRIBUTE_ANNOTATIONS": "reported as WARNING_NO_ANNOTATIONS (empty "
    "annotations) or ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT (missing annotations)",
    "ERROR_INVALID_PERMISSIONS_MANIFEST_S3_BUCKET": "needs the service's own access to the "
    "bucket; see the AWS setup page for the bucket policy",
    "ERROR_INVALID_PERMISSIONS_IMAGES_S3_BUCKET": "needs the service's own access to the "
    "images' bucket",
    "ERROR_INVALID_IMAGES_S3_BUCKET_OWNER": "needs the buckets' ACLs (owner ids)",
    "ERROR_FAILED_IMAGES_S3_COPY": "happens inside the service (permissions, KMS policy)",
    "ERROR_CANNOT_WRITE_OUTPUT_S3_BUCKET": "needs the service's access to the output bucket",
    "ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_AUTOSPLIT": "the service's split threshold is "
    "not documented; validate --distribute checks two images per label",
    "ERROR_MANIFEST_TOO_FEW_USABLE_LABELS": "depends on the use case the service chooses; "
    "wsi2rek writes object-detection lines only and checks ERROR_MANIFEST_TOO_FEW_LABELS",
    "ERROR_INSUFFICIENT_LABEL_OVERLAP": "checked as ERROR_INSUFFICIENT_USABLE_LABEL_OVERLAP "
    "(the same formula; all wsi2rek lines are usable object-detection lines)",
    "images per dataset in Mumbai and London (28,000 train / 7,000 test)": "depends on the "
    "region the dataset is created in, unknown to a local validation",
}
