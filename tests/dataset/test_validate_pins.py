"""Pins of the validator's line rules: each test breaks exactly one rule of one line.

Every manifest starts from the developer guide's own object-detection line (page "Object
localization in manifest files", md-create-manifest-file-object-detection.md: IMG_1186.png,
640 x 480 px, "Echo" and "Echo Dot"), five lines each referring to its own ``s3://`` image
(never fetched). Line 3 breaks one rule; the test asserts the whole report: the one issue
with its code, its line number and its message (what, where, how to fix), so that a
mutant of the rule, of its boundary or of its message fails a test (issue 15, mutation
testing). The numbers come from the guide's pages named in each docstring; the page
names are those of github.com/awsdocs/amazon-rekognition-custom-labels-developer-guide
(doc_source/).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from PIL import Image

from wsi2rek.dataset import validate_manifest
from wsi2rek.dataset._linecheck import Issue
from wsi2rek.dataset._validate import ValidationReport
from wsi2rek.rekognition import QUOTA, Code

Line = dict[str, Any]

#: The guide's line (md-create-manifest-file-object-detection.md), as a Python value.
GUIDE: Line = {
    "source-ref": "s3://bucket/images/IMG_1186.png",
    "bounding-box": {
        "image_size": [{"width": 640, "height": 480, "depth": 3}],
        "annotations": [
            {"class_id": 1, "top": 251, "left": 399, "width": 155, "height": 101},
            {"class_id": 0, "top": 65, "left": 86, "width": 220, "height": 334},
        ],
    },
    "bounding-box-metadata": {
        "objects": [{"confidence": 1}, {"confidence": 1}],
        "class-map": {"0": "Echo", "1": "Echo Dot"},
        "type": "groundtruth/object-detection",
        "human-annotated": "yes",
        "creation-date": "2013-11-18T02:53:27",
        "job-name": "my job",
    },
}

BROKEN = 3


def guide(i: int) -> Line:
    """The guide's line for image number ``i``."""
    line = copy.deepcopy(GUIDE)
    line["source-ref"] = f"s3://bucket/images/IMG_{i}.png"
    return line


def body(line: Line) -> Line:
    value: Line = line["bounding-box"]
    return value


def meta(line: Line) -> Line:
    value: Line = line["bounding-box-metadata"]
    return value


def box(line: Line, i: int = 0) -> Line:
    value: Line = body(line)["annotations"][i]
    return value


def validate(tmp_path: Path, change: Callable[[Line], object], **kwargs: Any) -> ValidationReport:
    """Validate five guide lines of which line 3 went through ``change``."""
    lines = [guide(i) for i in range(1, 6)]
    change(lines[BROKEN - 1])
    path = tmp_path / "m.manifest"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return validate_manifest(path, **kwargs)


def one_error(code: Code, message: str) -> tuple[Issue, ...]:
    """The report's errors when line 3 breaks the rule of ``code`` and nothing else."""
    return (Issue(BROKEN, code, f"line {BROKEN}: {message}"),)


def size(width: int, height: int) -> Callable[[Line], None]:
    def change(line: Line) -> None:
        body(line)["image_size"] = [{"width": width, "height": height, "depth": 3}]
        body(line)["annotations"] = [
            {"class_id": 0, "top": 0, "left": 0, "width": 10, "height": 10}
        ]
        meta(line)["objects"] = [{"confidence": 1}]

    return change


# --- the guide's line is valid, and lines without any rule broken stay clean -------------


def test_five_guide_lines_are_valid_and_counted(tmp_path: Path) -> None:
    report = validate(tmp_path, lambda line: None)
    assert report.errors == ()
    assert report.warnings == ()
    assert (report.lines, report.invalid_lines, report.background) == (5, 0, 0)
    assert report.labels == {"Echo": 5, "Echo Dot": 5}
    assert report.images_per_label == {"Echo": 5, "Echo Dot": 5}


# --- source-ref (tm-debugging-json-line-errors.md) --------------------------------------


def test_missing_source_ref(tmp_path: Path) -> None:
    """ERROR_MISSING_SOURCE_REF: "the source-ref key is missing or is misspelt"."""
    report = validate(tmp_path, lambda line: line.pop("source-ref"))
    assert report.errors == one_error(
        Code.ERROR_MISSING_SOURCE_REF,
        'no \'source-ref\' key; add "source-ref": "s3://bucket/key.png" (or a local path '
        "before upload)",
    )


def test_two_lines_without_source_ref_are_not_duplicates_of_each_other(tmp_path: Path) -> None:
    """A line without a usable source-ref names no image, so it cannot repeat one."""
    lines = [guide(1), guide(2), guide(3)]
    del lines[0]["source-ref"], lines[1]["source-ref"]
    path = tmp_path / "m.manifest"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    report = validate_manifest(path)
    assert [(i.line, i.code) for i in report.errors[:2]] == [
        (1, Code.ERROR_MISSING_SOURCE_REF),
        (2, Code.ERROR_MISSING_SOURCE_REF),
    ]
    assert Code.WSI2REK_DUPLICATE_SOURCE_REF not in report.codes()


@pytest.mark.parametrize("ref", ["", "   ", 5])
def test_source_ref_that_is_not_a_non_empty_string(tmp_path: Path, ref: object) -> None:
    """ERROR_INVALID_SOURCE_REF_FORMAT: "the schema of the Amazon S3 path is incorrect"."""
    report = validate(tmp_path, lambda line: line.update({"source-ref": ref}))
    assert report.errors == one_error(
        Code.ERROR_INVALID_SOURCE_REF_FORMAT,
        f"'source-ref' must be a non-empty string, found {ref!r}",
    )


@pytest.mark.parametrize(
    "ref",
    [
        "https://bucket.s3.amazonaws.com/images/IMG_3.png",
        "s3://bucket/images/",  # a key must not end with '/'
        "s3://Bucket/images/IMG_3.png",  # bucket names are lower case
        "s3://b/images/IMG_3.png",  # at least 3 characters
        "s3://-bucket/images/IMG_3.png",  # starts with a letter or digit
        "s3://bucket-/images/IMG_3.png",  # ends with a letter or digit
        "s3://" + "b" * 64 + "/images/IMG_3.png",  # at most 63 characters
        "S3://bucket/images/IMG_3.png",
        " s3://bucket/images/IMG_3.png",
    ],
)
def test_source_ref_that_is_not_an_s3_object_uri(tmp_path: Path, ref: str) -> None:
    """ERROR_INVALID_SOURCE_REF_FORMAT for a URI that is not ``s3://<bucket>/<key>``."""
    report = validate(tmp_path, lambda line: line.update({"source-ref": ref}))
    assert report.errors == one_error(
        Code.ERROR_INVALID_SOURCE_REF_FORMAT,
        f"'source-ref' {ref!r} is not an S3 object URI; expected s3://<bucket>/<key> (or a "
        "local path before upload)",
    )


@pytest.mark.parametrize(
    "ref", ["s3://abc/k", "s3://a.b-c/images/x.png", "s3://" + "b" * 63 + "/k/x.png"]
)
def test_shortest_and_longest_bucket_names_are_valid(tmp_path: Path, ref: str) -> None:
    """Bucket names of 3 to 63 lower-case letters, digits, dots and hyphens."""
    report = validate(tmp_path, lambda line: line.update({"source-ref": ref}))
    bucket = ref.split("/")[2]
    assert report.errors == (
        Issue(
            0,
            Code.ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS,
            f"images come from 2 S3 buckets {sorted([bucket, 'bucket'])}; a dataset's images "
            "must all be in one bucket",
        ),
    )


def test_the_bucket_of_each_line_is_collected(tmp_path: Path) -> None:
    """tm-debugging-aggregate-errors.md: "A manifest can only reference images stored in a
    single bucket." Only line 3 is elsewhere; the message names both buckets."""
    report = validate(
        tmp_path, lambda line: line.update({"source-ref": "s3://other/images/IMG_3.png"})
    )
    assert report.errors == (
        Issue(
            0,
            Code.ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS,
            "images come from 2 S3 buckets ['bucket', 'other']; a dataset's images must all "
            "be in one bucket",
        ),
    )


# --- the label attribute (tm-debugging-json-line-errors.md) ------------------------------


def test_line_without_the_label_attribute(tmp_path: Path) -> None:
    """ERROR_NO_LABEL_ATTRIBUTES: the message lists the keys found instead."""

    def change(line: Line) -> None:
        line["labels"] = line.pop("bounding-box")
        line["labels-metadata"] = line.pop("bounding-box-metadata")

    report = validate(tmp_path, change)
    assert report.errors == one_error(
        Code.ERROR_NO_LABEL_ATTRIBUTES,
        "no label attribute 'bounding-box' (found keys ['labels']); add the "
        "object-detection attribute 'bounding-box' and its 'bounding-box-metadata' twin, or "
        "validate with the attribute name the file uses",
    )


def test_line_with_only_a_source_ref(tmp_path: Path) -> None:
    """ERROR_NO_LABEL_ATTRIBUTES, saying that only source-ref was found."""

    def change(line: Line) -> None:
        del line["bounding-box"], line["bounding-box-metadata"]

    report = validate(tmp_path, change)
    assert report.errors == one_error(
        Code.ERROR_NO_LABEL_ATTRIBUTES,
        "no label attribute 'bounding-box' (found only 'source-ref'); add the "
        "object-detection attribute 'bounding-box' and its 'bounding-box-metadata' twin, or "
        "validate with the attribute name the file uses",
    )


def test_the_keys_found_instead_are_listed_up_to_ten(tmp_path: Path) -> None:
    def change(line: Line) -> None:
        del line["bounding-box"]
        line.update({f"k{i:02}": 0 for i in range(11)})

    report = validate(tmp_path, change)
    keys = [f"k{i:02}" for i in range(10)]
    assert report.errors[0].message.startswith(
        f"line 3: no label attribute 'bounding-box' (found keys {keys});"
    )


def test_body_that_is_not_an_object(tmp_path: Path) -> None:
    """ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT: "The schema for the label attribute key is
    missing or invalid"."""
    report = validate(tmp_path, lambda line: line.update({"bounding-box": [1]}))
    assert report.errors == one_error(
        Code.ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT,
        """expected 'bounding-box': {"image_size": [{"width": W, "height": H, "depth": 3}], """
        """"annotations": [{"class_id", "left", "top", "width", "height"}, ...]}; found [1]""",
    )


@pytest.mark.parametrize(
    "image_size",
    [
        [{"width": 640, "height": 480}],  # no depth
        [{"width": 640.0, "height": 480, "depth": 3}],  # not an integer
        [{"width": 640, "height": True, "depth": 3}],  # a boolean is no integer
        [{"width": 640, "height": 480, "depth": 3}] * 2,  # one element only
        ["640x480"],
        {"width": 640, "height": 480, "depth": 3},
    ],
)
def test_bad_image_size(tmp_path: Path, image_size: object) -> None:
    """The guide's schema: image_size is a list of one {width, height, depth} of integers."""
    report = validate(tmp_path, lambda line: body(line).update({"image_size": image_size}))
    assert report.errors == one_error(
        Code.ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT,
        f"bad 'image_size' {image_size!r:.80}; expected 'bounding-box': "
        """{"image_size": [{"width": W, "height": H, "depth": 3}], "annotations": """
        """[{"class_id", "left", "top", "width", "height"}, ...]}""",
    )


@pytest.mark.parametrize(
    "change",
    [
        {"left": "399"},
        {"top": None},
        {"height": True},
        {"class_id": "1"},
        {"class_id": 1.0},
        {"class_id": True},
    ],
    ids=repr,
)
def test_bad_annotation(tmp_path: Path, change: Line) -> None:
    """Annotations have an integer class_id and numeric left, top, width and height."""
    report = validate(tmp_path, lambda line: box(line, 1).update(change))
    assert [(i.line, i.code) for i in report.errors] == [
        (BROKEN, Code.ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT)
    ]
    assert report.errors[0].message.startswith("line 3: bad 'annotations' [")
    assert report.errors[0].message.endswith("with integer class_id and numeric pixel coordinates")


def test_annotation_that_is_not_an_object(tmp_path: Path) -> None:
    report = validate(tmp_path, lambda line: body(line)["annotations"].append(5))
    assert [(i.line, i.code) for i in report.errors] == [
        (BROKEN, Code.ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT)
    ]


# --- the metadata (tm-debugging-json-line-errors.md) ------------------------------------


def test_metadata_without_a_required_key(tmp_path: Path) -> None:
    """ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT names the missing keys."""

    def change(line: Line) -> None:
        del meta(line)["human-annotated"], meta(line)["type"]

    report = validate(tmp_path, change)
    assert report.errors == one_error(
        Code.ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT,
        "'bounding-box-metadata' is missing or lacks ['type', 'human-annotated']; it needs "
        "objects, class-map, type, human-annotated and creation-date (job-name is optional)",
    )


def test_objects_that_are_not_a_list(tmp_path: Path) -> None:
    report = validate(tmp_path, lambda line: meta(line).update({"objects": {}}))
    assert report.errors == one_error(
        Code.ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT,
        "'objects' must be a list and 'class-map' an object {\"<class_id>\": name}",
    )


def test_bad_metadata_does_not_hide_a_bad_type(tmp_path: Path) -> None:
    """Both metadata problems of one line are reported, in the order of the checks."""

    def change(line: Line) -> None:
        meta(line).update({"class-map": [], "type": "groundtruth/image-classification"})

    report = validate(tmp_path, change)
    assert [(i.line, i.code) for i in report.errors] == [
        (BROKEN, Code.ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT),
        (BROKEN, Code.ERROR_UNSUPPORTED_USE_CASE_TYPE),
    ]


def test_classification_type(tmp_path: Path) -> None:
    """ERROR_UNSUPPORTED_USE_CASE_TYPE: wsi2rek writes and checks object detection only."""
    report = validate(
        tmp_path, lambda line: meta(line).update({"type": "groundtruth/image-classification"})
    )
    assert report.errors == one_error(
        Code.ERROR_UNSUPPORTED_USE_CASE_TYPE,
        "metadata type is 'groundtruth/image-classification'; wsi2rek datasets are object "
        'detection: set "type": "groundtruth/object-detection"',
    )


def test_label_name_of_257_characters(tmp_path: Path) -> None:
    """ERROR_INVALID_LABEL_NAME_LENGTH: "The maximum length is 256 characters."."""
    name = "E" * 257
    report = validate(tmp_path, lambda line: meta(line)["class-map"].update({"1": name}))
    assert report.errors == one_error(
        Code.ERROR_INVALID_LABEL_NAME_LENGTH,
        f"label name of class 1 has length 257 ({'E' * 40!r}...); names must be 1 to 256 "
        "characters",
    )


def test_label_name_of_256_characters_is_valid(tmp_path: Path) -> None:
    name = "E" * 256
    report = validate(tmp_path, lambda line: meta(line)["class-map"].update({"1": name}))
    assert report.errors == ()
    assert report.labels[name] == 1


def test_empty_label_name(tmp_path: Path) -> None:
    """A label name has at least one character; a long class key is cut to 20 characters."""
    key = "12345678901234567890123"
    report = validate(tmp_path, lambda line: meta(line)["class-map"].update({key: ""}))
    assert report.errors == one_error(
        Code.ERROR_INVALID_LABEL_NAME_LENGTH,
        "label name of class 12345678901234567890 has length 0 (''...); names must be 1 to "
        "256 characters",
    )


def test_label_name_that_is_not_a_string(tmp_path: Path) -> None:
    report = validate(tmp_path, lambda line: meta(line)["class-map"].update({"1": 5}))
    assert report.errors == one_error(
        Code.ERROR_INVALID_LABEL_NAME_LENGTH,
        "label name of class 1 has length n/a ('5'...); names must be 1 to 256 characters",
    )


def test_class_id_missing_from_the_class_map(tmp_path: Path) -> None:
    """ERROR_MISSING_CLASS_MAP_ID: "The class_id in an annotation ... doesn't have a
    matching entry in the label attribute metadata class map"."""
    report = validate(tmp_path, lambda line: box(line, 1).update({"class_id": 7}))
    assert report.errors == one_error(
        Code.ERROR_MISSING_CLASS_MAP_ID,
        "box 1 (class_id 7, left 86, top 65, width 220, height 334): class_id 7 is not in "
        "class-map ['0', '1']; add it to the class-map",
    )


def test_missing_class_id_lists_ten_of_the_class_map(tmp_path: Path) -> None:
    def change(line: Line) -> None:
        meta(line)["class-map"] = {str(i): f"label {i}" for i in range(2, 13)}

    report = validate(tmp_path, change)
    keys = sorted(str(i) for i in range(2, 13))[:10]
    assert report.errors[0].message == (
        "line 3: box 0 (class_id 1, left 399, top 251, width 155, height 101): class_id 1 "
        f"is not in class-map {keys}; add it to the class-map"
    )


@pytest.mark.parametrize("objects", [[{"confidence": 1}], [{"confidence": 1}, {}]])
def test_objects_without_a_confidence_per_box(tmp_path: Path, objects: list[Line]) -> None:
    """ERROR_MISSING_BOUNDING_BOX_CONFIDENCE: "The confidence key is missing for one or
    more object location bounding boxes"."""
    report = validate(tmp_path, lambda line: meta(line).update({"objects": objects}))
    assert report.errors == one_error(
        Code.ERROR_MISSING_BOUNDING_BOX_CONFIDENCE,
        f"metadata 'objects' has {len(objects)} entries for 2 annotations (or an entry "
        'without a numeric confidence); give one {"confidence": 1} per box',
    )


# --- image dimensions (limits.md, tm-debugging-json-line-errors.md) ----------------------


@pytest.mark.parametrize(("width", "height"), [(63, 480), (640, 63), (4097, 480), (640, 4097)])
def test_image_side_outside_64_to_4096(tmp_path: Path, width: int, height: int) -> None:
    """limits.md: "Minimum image dimension ... is 64 pixels x 64 pixels", "Maximum ... is
    4096 pixels x 4096 pixels"; ERROR_INVALID_IMAGE_DIMENSION."""
    report = validate(tmp_path, size(width, height))
    assert report.errors == one_error(
        Code.ERROR_INVALID_IMAGE_DIMENSION,
        f"image_size is {width} x {height}; each side must be 64 to 4096 px (choose another "
        "patch size)",
    )


@pytest.mark.parametrize(("width", "height"), [(64, 64), (4096, 4096), (1280, 64), (64, 1280)])
def test_image_sides_and_aspect_ratio_at_the_limits_are_valid(
    tmp_path: Path, width: int, height: int
) -> None:
    """Sides of exactly 64 and 4096 px and an aspect ratio of exactly 20:1 are allowed."""
    report = validate(tmp_path, size(width, height))
    assert report.errors == ()


@pytest.mark.parametrize(("width", "height"), [(1281, 64), (64, 1281)])
def test_aspect_ratio_over_20_to_1(tmp_path: Path, width: int, height: int) -> None:
    """limits.md: "Maximum image aspect ratio is 20:1"; ERROR_INVALID_IMAGE ("Potential
    causes include the image aspect ratio")."""
    report = validate(tmp_path, size(width, height))
    assert report.errors == one_error(
        Code.ERROR_INVALID_IMAGE,
        f"image_size is {width} x {height}; the aspect ratio must be at most 20:1 (choose "
        "another patch size)",
    )


# --- bounding boxes (limits.md, tm-debugging-json-line-errors.md) ------------------------


def _boxes(n: int) -> Callable[[Line], None]:
    def change(line: Line) -> None:
        body(line)["annotations"] = [
            {"class_id": 0, "top": 0, "left": i, "width": 10, "height": 10} for i in range(n)
        ]
        meta(line)["objects"] = [{"confidence": 1}] * n

    return change


def test_51_boxes(tmp_path: Path) -> None:
    """limits.md: "Maximum number of bounding boxes in an image is 50"."""
    report = validate(tmp_path, _boxes(51))
    assert report.errors == one_error(
        Code.ERROR_TOO_MANY_BOUNDING_BOXES,
        "51 bounding boxes; at most 50 per image (use smaller patches in dense regions)",
    )


def test_50_boxes_are_valid(tmp_path: Path) -> None:
    report = validate(tmp_path, _boxes(50))
    assert report.errors == ()
    assert report.labels["Echo"] == 4 + 50


@pytest.mark.parametrize(
    "change",
    [
        {"left": -1},
        {"top": -1},
        {"width": -1},
        {"height": -1},
        {"left": 485.5},  # 485.5 + 155 > 640
        {"top": 379.5},  # 379.5 + 101 > 480
    ],
    ids=repr,
)
def test_box_negative_or_off_the_image(tmp_path: Path, change: Line) -> None:
    """ERROR_INVALID_BOUNDING_BOX: "either off the image frame or contains negative
    values". Box 0 of the guide's line (left 399, top 251, 155 x 101) breaks it."""
    report = validate(tmp_path, lambda line: box(line).update(change))
    b = {**box(guide(3)), **change}
    where = (
        f"box 0 (class_id 1, left {b['left']}, top {b['top']}, width {b['width']}, "
        f"height {b['height']})"
    )
    assert report.errors == one_error(
        Code.ERROR_INVALID_BOUNDING_BOX,
        f"{where} is negative or off the 640 x 480 image; boxes must lie inside the image frame",
    )


def test_box_touching_the_image_edges_is_valid(tmp_path: Path) -> None:
    """A box from (0, 0) to the image's bottom right corner lies inside the frame."""
    whole = {"left": 0, "top": 0, "width": 640, "height": 480}
    report = validate(tmp_path, lambda line: box(line).update(whole))
    assert report.errors == ()


@pytest.mark.parametrize(("width", "height"), [(1, 10), (10, 1), (1, 1)])
def test_box_of_1_px(tmp_path: Path, width: int, height: int) -> None:
    """ERROR_BOUNDING_BOX_TOO_SMALL: "The bounding box dimensions (height and width) have
    to be greater than 1 x 1 pixels"."""
    report = validate(tmp_path, lambda line: box(line).update(width=width, height=height))
    assert report.errors == one_error(
        Code.ERROR_BOUNDING_BOX_TOO_SMALL,
        f"box 0 (class_id 1, left 399, top 251, width {width}, height {height}) is at most "
        "1 px wide or high after Rekognition rescales the long side to 1280 px (scale "
        "1.000); use larger boxes (e.g. a larger spot radius) or remove it",
    )


@pytest.mark.parametrize(("width", "height"), [(0, 10), (10, 0), (0.5, 10), (10, 0.5)])
def test_box_without_area_is_too_small_not_off_the_image(
    tmp_path: Path, width: float, height: float
) -> None:
    """A 0 or 0.5 px side is not negative: ERROR_BOUNDING_BOX_TOO_SMALL, not
    ERROR_INVALID_BOUNDING_BOX ("contains negative values")."""
    report = validate(tmp_path, lambda line: box(line).update(width=width, height=height))
    assert [(i.line, i.code) for i in report.errors] == [
        (BROKEN, Code.ERROR_BOUNDING_BOX_TOO_SMALL)
    ]


def test_the_line_rules_rescale_with_the_quota_given(tmp_path: Path) -> None:
    """With a training long side of 320 px the guide's 640 px image is halved: a 2 px
    high box becomes 1 px."""
    limits = attrs.evolve(QUOTA, training_long_side=320)
    report = validate(tmp_path, lambda line: box(line).update(height=2), limits=limits)
    assert report.errors == one_error(
        Code.ERROR_BOUNDING_BOX_TOO_SMALL,
        "box 0 (class_id 1, left 399, top 251, width 155, height 2) is at most 1 px wide or "
        "high after Rekognition rescales the long side to 320 px (scale 0.500); use larger "
        "boxes (e.g. a larger spot radius) or remove it",
    )


def test_box_of_1_px_after_the_training_rescale(tmp_path: Path) -> None:
    """tm-debugging-json-line-errors.md: images with a side over 1280 px are resized
    during training; a 2 px high box of a 2560 px wide image becomes 1 px high."""

    def change(line: Line) -> None:
        body(line)["image_size"] = [{"width": 2560, "height": 480, "depth": 3}]
        box(line).update(height=2)

    report = validate(tmp_path, change)
    assert report.errors == one_error(
        Code.ERROR_BOUNDING_BOX_TOO_SMALL,
        "box 0 (class_id 1, left 399, top 251, width 155, height 2) is at most 1 px wide or "
        "high after Rekognition rescales the long side to 1280 px (scale 0.500); use larger "
        "boxes (e.g. a larger spot radius) or remove it",
    )


def test_every_box_invalid(tmp_path: Path) -> None:
    """ERROR_NO_VALID_ANNOTATIONS: "None of the annotation objects in the JSON Line contain
    valid bounding box information" follows the errors of each box."""

    def change(line: Line) -> None:
        box(line, 0).update(left=-1)
        box(line, 1).update(class_id=7)

    report = validate(tmp_path, change)
    assert [(i.line, i.code) for i in report.errors] == [
        (BROKEN, Code.ERROR_INVALID_BOUNDING_BOX),
        (BROKEN, Code.ERROR_MISSING_CLASS_MAP_ID),
        (BROKEN, Code.ERROR_NO_VALID_ANNOTATIONS),
    ]
    assert report.errors[2].message == (
        "line 3: none of the 2 bounding boxes is valid (see the errors above); Rekognition "
        "drops the line"
    )
    assert report.errors[1].message.startswith("line 3: box 1 (class_id 7,")


def test_a_box_with_two_errors_counts_once(tmp_path: Path) -> None:
    """Box 0 is off the image and of an unknown class; box 1 is fine, so the line still
    has a valid annotation."""
    report = validate(tmp_path, lambda line: box(line, 0).update(class_id=7, left=-1))
    assert [(i.line, i.code) for i in report.errors] == [
        (BROKEN, Code.ERROR_MISSING_CLASS_MAP_ID),
        (BROKEN, Code.ERROR_INVALID_BOUNDING_BOX),
    ]


def test_labels_of_an_invalid_line_are_not_counted(tmp_path: Path) -> None:
    """A line with an error is dropped by the service: its boxes are no labels."""
    report = validate(tmp_path, lambda line: box(line, 0).update(left=-1))
    assert report.invalid_lines == 1
    assert report.labels == {"Echo": 4, "Echo Dot": 4}
    assert report.images_per_label == {"Echo": 4, "Echo Dot": 4}


def test_line_without_boxes_is_a_counted_background_line(tmp_path: Path) -> None:
    """WARNING_NO_ANNOTATIONS: "The JSON Line is valid, but isn't used for training"."""

    def change(line: Line) -> None:
        body(line)["annotations"], meta(line)["objects"] = [], []

    report = validate(tmp_path, change)
    assert report.errors == ()
    assert report.warnings == (
        Issue(
            BROKEN,
            Code.WARNING_NO_ANNOTATIONS,
            "line 3: no bounding boxes; Rekognition accepts the image but does not use it "
            "for training (background patches are not negatives: give hard negatives a "
            "label of their own)",
        ),
    )
    assert report.background == 1


# --- local images (limits.md: PNG or JPEG, 15 MB, the size image_size says) -------------


@pytest.fixture
def png(tmp_path: Path) -> Path:
    """A real 640 x 480 PNG next to the manifest, as the guide's image_size says."""
    path = tmp_path / "IMG_3.png"
    Image.fromarray(np.full((480, 640, 3), 200, dtype=np.uint8)).save(path)
    return path


def test_local_image_of_the_size_image_size_says_is_valid(tmp_path: Path, png: Path) -> None:
    report = validate(tmp_path, lambda line: line.update({"source-ref": png.name}))
    assert report.errors == ()


def test_local_image_of_another_size(tmp_path: Path, png: Path) -> None:
    def change(line: Line) -> None:
        line["source-ref"] = png.name
        body(line)["image_size"] = [{"width": 640, "height": 481, "depth": 3}]

    report = validate(tmp_path, change)
    assert report.errors == one_error(
        Code.ERROR_INVALID_IMAGE_DIMENSION,
        f"image {png} is 640 x 480 but image_size says 640 x 481; make image_size match the file",
    )


def test_local_image_over_the_size_quota(tmp_path: Path, png: Path) -> None:
    """limits.md: "Maximum file size for an image ... is 15 MB" (checked with a quota of
    the image's size minus one byte)."""
    nbytes = png.stat().st_size
    limits = attrs.evolve(QUOTA, max_image_bytes=nbytes - 1)
    report = validate(tmp_path, lambda line: line.update({"source-ref": png.name}), limits=limits)
    assert report.errors == one_error(
        Code.ERROR_INVALID_IMAGE,
        f"image {png} is {nbytes} bytes; at most {nbytes - 1} (use JPEG or smaller patches)",
    )


def test_local_image_of_exactly_the_size_quota_is_valid(tmp_path: Path, png: Path) -> None:
    limits = attrs.evolve(QUOTA, max_image_bytes=png.stat().st_size)
    report = validate(tmp_path, lambda line: line.update({"source-ref": png.name}), limits=limits)
    assert report.errors == ()


def test_local_image_missing(tmp_path: Path) -> None:
    report = validate(tmp_path, lambda line: line.update({"source-ref": "IMG_3.png"}))
    assert report.errors == one_error(
        Code.ERROR_INVALID_IMAGE,
        f"image {tmp_path / 'IMG_3.png'} does not exist; fix 'source-ref' or rebuild the dataset",
    )


def test_local_image_is_looked_up_by_absolute_path(tmp_path: Path, png: Path) -> None:
    report = validate(tmp_path, lambda line: line.update({"source-ref": str(png)}))
    assert report.errors == ()


def test_local_images_are_not_checked_on_request(tmp_path: Path) -> None:
    report = validate(
        tmp_path, lambda line: line.update({"source-ref": "IMG_3.png"}), check_images=False
    )
    assert report.errors == ()


def test_local_file_that_is_not_an_image(tmp_path: Path) -> None:
    (tmp_path / "IMG_3.png").write_text("not an image")
    report = validate(tmp_path, lambda line: line.update({"source-ref": "IMG_3.png"}))
    assert [(i.line, i.code) for i in report.errors] == [(BROKEN, Code.ERROR_INVALID_IMAGE)]
    assert report.errors[0].message.endswith("; only PNG and JPEG are accepted")


def test_unusable_local_path(tmp_path: Path) -> None:
    """A name the OS refuses (too long) is one error on its line, not a crash."""
    name = "I" * 300 + ".png"
    report = validate(tmp_path, lambda line: line.update({"source-ref": name}))
    assert [(i.line, i.code) for i in report.errors] == [(BROKEN, Code.ERROR_INVALID_IMAGE)]
    message = report.errors[0].message
    assert message.startswith(f"line 3: source-ref '{name[:60]}")
    # Python 3.11 raises ENAMETOOLONG from is_file(); later versions may say "not found".
    assert "is unusable: " in message or "does not exist" in message
