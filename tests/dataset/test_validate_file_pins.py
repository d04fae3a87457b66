"""Pins of the validator's whole-file and train/test rules: each test breaks one rule.

Manifests are built from the developer guide's object-detection line (page "Object
localization in manifest files", md-create-manifest-file-object-detection.md), one
``s3://`` image per line. The rules and numbers come from the guide's pages
(github.com/awsdocs/amazon-rekognition-custom-labels-developer-guide, doc_source/):
md-create-manifest-file-validation-rules.md (250,000 lines, the cumulative 20% of invalid
lines, "Overlaps are (common labels between test and train)/(train labels)", "There
should not be an overlap between test and training datasets"), limits.md (1 GB, 250
labels, 1,000 test images per label), debugging-datasets-terminal-errors.md (terminal
errors, a source-ref used twice, ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE) and
tm-debugging-aggregate-errors.md. Quotas are lowered with ``attrs.evolve`` so a boundary
is reached with a few lines; each test asserts the code, the line and the message (issue
15, mutation testing).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
from PIL import Image

from wsi2rek._jsonl import RawLine
from wsi2rek.dataset import validate_dataset, validate_manifest
from wsi2rek.dataset._linecheck import Issue
from wsi2rek.dataset._validate import detect_attribute, validate_lines
from wsi2rek.errors import ManifestError
from wsi2rek.rekognition import QUOTA, Code, Quota

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


def guide(i: int, labels: tuple[str, str] = ("Echo", "Echo Dot")) -> Line:
    """The guide's line for image number ``i``, its two classes named ``labels``."""
    line = copy.deepcopy(GUIDE)
    line["source-ref"] = f"s3://bucket/images/IMG_{i}.png"
    line["bounding-box-metadata"]["class-map"] = {"0": labels[0], "1": labels[1]}
    return line


def background(i: int) -> Line:
    """The guide's line without boxes (WARNING_NO_ANNOTATIONS)."""
    line = guide(i)
    line["bounding-box"]["annotations"] = []
    line["bounding-box-metadata"]["objects"] = []
    return line


def bad_box(i: int) -> Line:
    """The guide's line with a negative box and a valid one (a non-terminal error)."""
    line = guide(i)
    line["bounding-box"]["annotations"][0]["left"] = -1
    return line


def write(folder: Path, lines: Sequence[Line | str], name: str = "m.manifest") -> Path:
    path = folder / name
    path.write_text(
        "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines),
        encoding="utf-8",
    )
    return path


def codes(errors: Sequence[Issue]) -> list[tuple[int, str]]:
    return [(i.line, i.code) for i in errors]


def quota(**changes: Any) -> Quota:
    return attrs.evolve(QUOTA, **changes)


# --- line errors that the file reader reports (debugging-datasets-terminal-errors.md) ---


def test_line_that_is_a_json_array(tmp_path: Path) -> None:
    report = validate_manifest(write(tmp_path, [guide(1), "[1, 2]", guide(3), guide(4), guide(5)]))
    assert report.errors == (
        Issue(
            2,
            Code.ERROR_INVALID_JSON_LINE,
            "line 2: a JSON list, not an object; every line must be one JSON object (remove "
            "or fix the line)",
        ),
    )


def test_line_that_is_not_json(tmp_path: Path) -> None:
    report = validate_manifest(write(tmp_path, [guide(1), guide(2), "{oops", guide(4), guide(5)]))
    assert codes(report.errors) == [(3, Code.ERROR_INVALID_JSON_LINE)]
    assert report.errors[0].message.startswith("line 3: ")
    assert report.errors[0].message.endswith(
        "; every line must be one JSON object (remove or fix the line)"
    )


def test_line_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "m.manifest"
    path.write_bytes(
        json.dumps(guide(1)).encode()
        + b'\n{"source-ref": "\xff"}\n'
        + b"".join(json.dumps(guide(i)).encode() + b"\n" for i in (3, 4, 5))
    )
    report = validate_manifest(path)
    assert codes(report.errors) == [(2, Code.ERROR_INVALID_JSON_LINE)]
    assert report.errors[0].message.startswith("line 2: not UTF-8")
    assert report.errors[0].message.endswith("; every line must be one JSON object in UTF-8")


def test_line_over_the_line_quota(tmp_path: Path) -> None:
    """debugging-datasets-terminal-errors.md: "The maximum length is 100,000 characters"
    (here a quota of the guide line's own length minus one)."""
    text = json.dumps(guide(2))
    limits = quota(max_line_chars=len(text) - 1)
    short = guide(1)
    short["bounding-box-metadata"]["job-name"] = ""
    report = validate_manifest(
        write(tmp_path, [short, text, guide(3), guide(4), guide(5)]), limits=limits
    )
    assert codes(report.errors)[0] == (2, Code.WSI2REK_LINE_TOO_LONG)
    assert report.errors[0].message.startswith("line 2: the line has ")
    assert report.errors[0].message.endswith(
        f" characters or more; at most {len(text) - 1} (the service drops it silently)"
    )


def test_same_image_twice(tmp_path: Path) -> None:
    """debugging-datasets-terminal-errors.md: "An image can only be referenced once in a
    dataset"; the repeat names the first line."""
    report = validate_manifest(write(tmp_path, [guide(1), guide(2), guide(1), guide(4), guide(5)]))
    assert report.errors == (
        Issue(
            3,
            Code.WSI2REK_DUPLICATE_SOURCE_REF,
            "line 3: source-ref 's3://bucket/images/IMG_1.png' was already used on line 1; "
            "an image can only be referenced once in a dataset (the service drops the "
            "repeat silently)",
        ),
    )
    assert report.invalid_lines == 1
    assert report.labels == {"Echo": 4, "Echo Dot": 4}


# --- whole-file rules (md-create-manifest-file-validation-rules.md, limits.md) ------------


def test_empty_manifest(tmp_path: Path) -> None:
    report = validate_manifest(write(tmp_path, []))
    assert report.errors == (
        Issue(
            0,
            Code.ERROR_EMPTY_MANIFEST,
            "the manifest is empty; it needs one JSON line per image",
        ),
    )


def test_rows_over_the_quota(tmp_path: Path) -> None:
    """Lines past the row quota are counted, not checked (line 5 is broken, unreported)."""
    lines: list[Line | str] = [guide(i) for i in range(1, 5)] + ["not json"]
    report = validate_manifest(write(tmp_path, lines), limits=quota(max_manifest_lines=4))
    assert report.lines == 5
    assert report.errors == (
        Issue(
            0,
            Code.ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM,
            "the manifest has 5 lines; at most 4 (lines past the quota were not checked; "
            "sample fewer patches)",
        ),
    )


def test_rows_at_the_quota(tmp_path: Path) -> None:
    lines = [guide(i) for i in range(1, 5)]
    report = validate_manifest(write(tmp_path, lines), limits=quota(max_manifest_lines=4))
    assert report.errors == ()


def test_invalid_share_is_counted_over_the_checked_rows(tmp_path: Path) -> None:
    """1 bad line of the 4 checked (25%) is more than 20%, although 1 of 5 lines is not."""
    lines: list[Line | str] = [guide(1), guide(2), "not json", guide(4), guide(5)]
    report = validate_manifest(write(tmp_path, lines), limits=quota(max_manifest_lines=4))
    assert codes(report.errors) == [
        (3, Code.ERROR_INVALID_JSON_LINE),
        (0, Code.ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM),
        (0, Code.ERROR_TOO_MANY_RECORDS_IN_ERROR),
    ]
    assert "1 of 4 lines" in report.errors[2].message


def test_more_than_20_percent_terminal_errors(tmp_path: Path) -> None:
    """2 of 5 lines dropped: only the terminal-error rule is reported (not both)."""
    lines: list[Line | str] = [guide(1), "[]", guide(3), "{", guide(5)]
    report = validate_manifest(write(tmp_path, lines))
    assert report.errors[2:] == (
        Issue(
            0,
            Code.ERROR_TOO_MANY_RECORDS_IN_ERROR,
            "2 of 5 lines have terminal content errors (bad JSON, source-ref, duplicates, "
            "over-long lines; more than 20%): fix the line errors above",
        ),
    )


def test_20_percent_terminal_errors_are_accepted(tmp_path: Path) -> None:
    lines: list[Line | str] = [guide(1), "[]", guide(3), guide(4), guide(5)]
    report = validate_manifest(write(tmp_path, lines))
    assert codes(report.errors) == [(2, Code.ERROR_INVALID_JSON_LINE)]


def test_more_than_20_percent_invalid_lines(tmp_path: Path) -> None:
    """tm-debugging-aggregate-errors.md: ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST."""
    lines = [guide(1), bad_box(2), guide(3), bad_box(4), guide(5)]
    report = validate_manifest(write(tmp_path, lines))
    assert report.invalid_lines == 2
    assert report.errors[2:] == (
        Issue(
            0,
            Code.ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST,
            "2 of 5 lines have errors (more than 20%); Rekognition refuses the whole "
            "manifest: fix the line errors above",
        ),
    )


def test_20_percent_invalid_lines_are_accepted(tmp_path: Path) -> None:
    lines = [guide(1), bad_box(2), guide(3), guide(4), guide(5)]
    report = validate_manifest(write(tmp_path, lines))
    assert codes(report.errors) == [(2, Code.ERROR_INVALID_BOUNDING_BOX)]


def test_terminal_and_other_errors_add_up(tmp_path: Path) -> None:
    """md-create-manifest-file-validation-rules.md: "The 20% invalidity rules apply
    cumulatively across all validation rules": 1 terminal + 1 other of 5 lines is 40%."""
    lines: list[Line | str] = [guide(1), "[]", guide(3), bad_box(4), guide(5)]
    report = validate_manifest(write(tmp_path, lines))
    assert codes(report.errors)[-1] == (0, Code.ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST)


def test_no_label_at_all(tmp_path: Path) -> None:
    """limits.md: "Minimum number of unique labels per Object Location (detection) dataset
    is 1"."""
    report = validate_manifest(write(tmp_path, [background(1), background(2)]))
    assert report.errors == (
        Issue(
            0,
            Code.ERROR_MANIFEST_TOO_FEW_LABELS,
            "no line without errors has a bounding box, so the dataset has no label; an "
            "object-detection dataset needs at least 1 (check the label map and the errors "
            "above)",
        ),
    )
    assert report.background == 2


def test_one_label_is_enough(tmp_path: Path) -> None:
    report = validate_manifest(write(tmp_path, [guide(1, ("Echo", "Echo"))]))
    assert report.errors == ()
    assert report.labels == {"Echo": 2}
    assert report.images_per_label == {"Echo": 1}


def test_more_labels_than_the_quota(tmp_path: Path) -> None:
    """limits.md: "Maximum number of unique labels per manifest is 250" (here 3)."""
    lines: list[Line | str] = [guide(1), guide(2, ("a", "b"))]
    report = validate_manifest(write(tmp_path, lines), limits=quota(max_labels=3))
    assert report.errors == (
        Issue(
            0,
            Code.ERROR_MANIFEST_TOO_MANY_LABELS,
            "the manifest uses 4 labels; at most 3 (merge classes in the label map)",
        ),
    )


def test_labels_at_the_quota(tmp_path: Path) -> None:
    lines: list[Line | str] = [guide(1), guide(2, ("a", "b"))]
    report = validate_manifest(write(tmp_path, lines), limits=quota(max_labels=4))
    assert report.errors == ()


def test_test_images_per_label_over_the_quota(tmp_path: Path) -> None:
    """limits.md, Testing: "Maximum number of images per label is 1000" (here 2)."""
    lines: list[Line | str] = [guide(1), guide(2), guide(3, ("Echo", "Echo"))]
    report = validate_manifest(
        write(tmp_path, lines), test=True, limits=quota(max_test_images_per_label=2)
    )
    assert report.errors == (
        Issue(
            0,
            Code.WSI2REK_TOO_MANY_TEST_IMAGES_PER_LABEL,
            "labels {'Echo': 3} have more than 2 test images each (the service's testing "
            "quota); rebuild with the default --max-test-images-per-label 2, which "
            "subsamples the test split reproducibly",
        ),
    )
    assert report.images_per_label == {"Echo": 3, "Echo Dot": 2}


def test_test_image_quota_applies_to_test_manifests_only(tmp_path: Path) -> None:
    lines = [guide(1), guide(2), guide(3)]
    path = write(tmp_path, lines)
    limits = quota(max_test_images_per_label=2)
    assert validate_manifest(path, limits=limits).errors == ()
    assert validate_manifest(path, limits=limits, test=True).errors != ()


def test_oversized_file_is_not_read(tmp_path: Path) -> None:
    """limits.md: "Maximum dataset manifest file size is 1 GB" (here the file minus 1)."""
    path = write(tmp_path, [guide(1), "not json"])
    nbytes = path.stat().st_size
    report = validate_manifest(path, limits=quota(max_manifest_bytes=nbytes - 1))
    assert report.lines == 0
    assert report.errors == (
        Issue(
            0,
            Code.ERROR_MANIFEST_SIZE_TOO_LARGE,
            f"the manifest is {nbytes} bytes; at most {nbytes - 1} (sample fewer patches or "
            "split the dataset); its lines were not checked",
        ),
    )


def test_file_of_exactly_the_size_quota_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, [guide(1)])
    report = validate_manifest(path, limits=quota(max_manifest_bytes=path.stat().st_size))
    assert (report.lines, report.errors) == (1, ())


# --- training set to be split by the service (debugging-datasets-terminal-errors.md) -----


def test_distribute_needs_two_images_of_every_label(tmp_path: Path) -> None:
    lines: list[Line | str] = [guide(1), guide(2), guide(3, ("Echo", "Alexa"))]
    report = validate_manifest(write(tmp_path, lines), distribute=True)
    assert report.errors == (
        Issue(
            0,
            Code.ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE,
            "labels {'Alexa': 1} have fewer than 2 images each; Rekognition cannot split "
            "this training set into a test set (give an explicit test manifest, or sample "
            "more patches of those labels)",
        ),
    )


def test_distribute_with_two_images_per_label(tmp_path: Path) -> None:
    report = validate_manifest(write(tmp_path, [guide(1), guide(2)]), distribute=True)
    assert report.errors == ()


def test_distribute_without_labels_reports_the_missing_labels_only(tmp_path: Path) -> None:
    report = validate_manifest(write(tmp_path, [background(1)]), distribute=True)
    assert codes(report.errors) == [(0, Code.ERROR_MANIFEST_TOO_FEW_LABELS)]


# --- a test manifest against its training manifest ----------------------------------------


def _pair(tmp_path: Path, train: Sequence[Line], test: Sequence[Line]) -> tuple[Path, Path]:
    return write(tmp_path, train, "train.manifest"), write(tmp_path, test, "test.manifest")


def test_test_image_also_in_training(tmp_path: Path) -> None:
    """validation rules: "There should not be an overlap between test and training
    datasets"; the test line names the training line."""
    train, test = _pair(tmp_path, [guide(1), guide(2)], [guide(3), guide(2)])
    report = validate_manifest(test, train=train)
    assert report.errors == (
        Issue(
            2,
            Code.WSI2REK_TRAIN_TEST_OVERLAP,
            "line 2: image 's3://bucket/images/IMG_2.png' is also in the training manifest "
            "(line 2); test and training images must not overlap",
        ),
    )
    assert report.invalid_lines == 0


def test_label_overlap_below_half_of_the_training_labels(tmp_path: Path) -> None:
    """validation rules: "Overlaps are (common labels between test and train)/(train
    labels)", at least 50%: 1 of 3 training labels is too few."""
    train, test = _pair(
        tmp_path, [guide(1), guide(2, ("Echo", "Alexa"))], [guide(3, ("Echo", "Other"))]
    )
    report = validate_manifest(test, train=train)
    assert report.errors == (
        Issue(
            0,
            Code.ERROR_INSUFFICIENT_USABLE_LABEL_OVERLAP,
            "only 1 of the 3 training labels ['Alexa', 'Echo', 'Echo Dot'] are in the test "
            "set ['Echo', 'Other'] (33%); the guide's formula (common labels)/(train labels) "
            "must reach 50% (use the same label map for both splits)",
        ),
    )


def test_label_overlap_of_exactly_half_is_enough(tmp_path: Path) -> None:
    train, test = _pair(tmp_path, [guide(1)], [guide(2, ("Echo", "Other"))])
    assert validate_manifest(test, train=train).errors == ()


def test_training_lines_with_errors_bring_no_label(tmp_path: Path) -> None:
    """The training labels are those of its valid lines: a dropped line adds none."""
    dropped = guide(2, ("Alexa", "Alexa"))
    dropped["bounding-box-metadata"]["type"] = "groundtruth/image-classification"
    train, test = _pair(tmp_path, [guide(1), dropped], [guide(3, ("Echo", "Other"))])
    assert validate_manifest(test, train=train).errors == ()


def test_train_test_errors_come_after_line_errors(tmp_path: Path) -> None:
    train, test = _pair(tmp_path, [guide(1)], [guide(1), bad_box(2), guide(3), guide(4)])
    report = validate_manifest(test, train=train)
    assert codes(report.errors) == [
        (2, Code.ERROR_INVALID_BOUNDING_BOX),
        (1, Code.WSI2REK_TRAIN_TEST_OVERLAP),
        (0, Code.ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST),
    ]


# --- dataset folders ---------------------------------------------------------------------


def test_dataset_folder_checks_the_pair(tmp_path: Path) -> None:
    _pair(tmp_path, [guide(1), guide(2)], [guide(2), guide(3)])
    dataset = validate_dataset(tmp_path)
    assert set(dataset.reports) == {"train", "test"}
    assert dataset.reports["train"].ok
    assert codes(dataset.reports["test"].errors) == [(1, Code.WSI2REK_TRAIN_TEST_OVERLAP)]
    assert not dataset.ok
    as_dict = dataset.to_dict()
    assert (as_dict["ok"], as_dict["folder"]) == (False, str(tmp_path))
    assert as_dict["test"]["errors"][0]["code"] == "WSI2REK_TRAIN_TEST_OVERLAP"
    assert as_dict["train"]["ok"] is True


def test_dataset_folder_applies_the_test_quota_to_the_test_manifest(tmp_path: Path) -> None:
    _pair(tmp_path, [guide(1), guide(2), guide(3)], [guide(4), guide(5)])
    dataset = validate_dataset(tmp_path, limits=quota(max_test_images_per_label=1))
    assert dataset.reports["train"].errors == ()
    assert codes(dataset.reports["test"].errors) == [
        (0, Code.WSI2REK_TOO_MANY_TEST_IMAGES_PER_LABEL)
    ]


def test_dataset_folder_without_test_manifest_is_split_by_the_service(tmp_path: Path) -> None:
    write(tmp_path, [guide(1)], "train.manifest")
    dataset = validate_dataset(tmp_path)
    assert set(dataset.reports) == {"train"}
    assert codes(dataset.reports["train"].errors) == [
        (0, Code.ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE)
    ]


def test_dataset_folder_checks_local_images(tmp_path: Path) -> None:
    local = guide(1)
    local["source-ref"] = "IMG_1.png"
    write(tmp_path, [local, guide(2)], "train.manifest")
    report = validate_dataset(tmp_path).reports["train"]
    assert codes(report.errors)[0] == (1, Code.ERROR_INVALID_IMAGE)
    assert validate_dataset(tmp_path, check_images=False).reports["train"].errors == ()


def test_dataset_folder_without_train_manifest(tmp_path: Path) -> None:
    write(tmp_path, [guide(1)], "test.manifest")
    with pytest.raises(ManifestError) as info:
        validate_dataset(tmp_path)
    assert str(info.value).startswith(
        f"{tmp_path} has no train.manifest (found ['test.manifest']); give a dataset folder "
        "written by `wsi2rek build`, or a manifest file"
    )
    assert info.value.code == Code.ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT


def test_missing_manifest_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as info:
        validate_manifest(tmp_path / "nope.manifest")
    assert str(info.value).startswith(f"cannot read manifest {tmp_path / 'nope.manifest'}: ")
    assert info.value.code == Code.ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT


def test_manifest_that_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as info:
        validate_manifest(tmp_path)
    assert str(info.value).startswith(f"{tmp_path} is not a regular file;")
    assert info.value.code == Code.ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT


# --- the label attribute -----------------------------------------------------------------


def test_attribute_is_detected_from_the_first_line_with_a_twin() -> None:
    texts = [
        None,
        "[1]",
        "{bad",
        json.dumps({"source-ref": "a", "x": {}, "source-ref-metadata": {}}),
        json.dumps({"source-ref": "a", "y": {}, "labels-metadata": {}, "labels": {}}),
        json.dumps({"other": {}, "other-metadata": {}}),
    ]
    assert detect_attribute(texts) == "labels"


def test_attribute_defaults_to_the_guides_name() -> None:
    assert detect_attribute([json.dumps({"x": 1}), None]) == "bounding-box"


def test_manifest_with_another_attribute_name(tmp_path: Path) -> None:
    """The guide's attribute name is the Ground Truth job's; any name with a -metadata twin
    is read."""
    line = guide(1)
    line["job"] = line.pop("bounding-box")
    line["job-metadata"] = line.pop("bounding-box-metadata")
    path = write(tmp_path, [line])
    assert validate_manifest(path).labels == {"Echo": 1, "Echo Dot": 1}
    named = validate_manifest(path, attribute="bounding-box")
    assert codes(named.errors)[0] == (1, Code.ERROR_NO_LABEL_ATTRIBUTES)


def test_report_to_dict(tmp_path: Path) -> None:
    """The JSON form `wsi2rek validate --json` prints."""
    report = validate_manifest(
        write(tmp_path, [guide(1), background(2), guide(1), guide(4), guide(5)])
    )
    assert report.codes() == {"WSI2REK_DUPLICATE_SOURCE_REF", "WARNING_NO_ANNOTATIONS"}
    as_dict = report.to_dict()
    assert as_dict == {
        "ok": False,
        "lines": 5,
        "errors": [report.errors[0].to_dict()],
        "warnings": [report.warnings[0].to_dict()],
        "labels": {"Echo": 3, "Echo Dot": 3},
        "images_per_label": {"Echo": 3, "Echo Dot": 3},
        "background": 1,
        "invalid_lines": 1,
    }
    assert as_dict["errors"][0] == {
        "line": 3,
        "code": "WSI2REK_DUPLICATE_SOURCE_REF",
        "message": report.errors[0].message,
    }


# --- survivors of the _validate mutation run ------------------------------------------------


def test_s3_keys_are_compared_as_written_not_as_paths(tmp_path: Path) -> None:
    """S3 keys are strings: ``a//b.png`` and ``a/b.png`` are two objects, not a repeat."""
    first, second = guide(1), guide(2)
    first["source-ref"] = "s3://bucket/images//IMG_1.png"
    second["source-ref"] = "s3://bucket/images/IMG_1.png"
    assert validate_manifest(write(tmp_path, [first, second])).errors == ()


def test_the_last_row_within_the_quota_is_checked(tmp_path: Path) -> None:
    lines: list[Line | str] = [guide(1), guide(2), guide(3), guide(4), "[]"]
    report = validate_manifest(write(tmp_path, lines), limits=quota(max_manifest_lines=5))
    assert codes(report.errors) == [(5, Code.ERROR_INVALID_JSON_LINE)]


def test_validate_lines_reports_a_size_over_the_quota() -> None:
    """validate_lines (for callers that stream) checks the size it is given."""
    raw = [RawLine(1, json.dumps(guide(1)))]
    report, refs = validate_lines(
        raw, attribute="bounding-box", size_bytes=QUOTA.max_manifest_bytes + 1, base_dir=None
    )
    assert report.errors == (
        Issue(
            0,
            Code.ERROR_MANIFEST_SIZE_TOO_LARGE,
            f"the manifest is {QUOTA.max_manifest_bytes + 1} bytes; at most "
            f"{QUOTA.max_manifest_bytes} (sample fewer patches or split the dataset)",
        ),
    )
    assert refs == {"s3://bucket/images/IMG_1.png": 1}


def test_validate_lines_is_a_training_manifest_not_split_by_default() -> None:
    raw = [RawLine(1, json.dumps(guide(1)))]
    report, _ = validate_lines(
        raw,
        attribute="bounding-box",
        size_bytes=1,
        base_dir=None,
        limits=quota(max_test_images_per_label=0),
    )
    assert report.errors == ()


def test_validate_lines_compares_local_paths_under_the_base_folder(tmp_path: Path) -> None:
    """Without ref_root, local references are normalised under base_dir: ``./IMG_1.png``
    repeats ``IMG_1.png``."""
    Image.new("RGB", (640, 480)).save(tmp_path / "IMG_1.png")
    first, second = guide(1), guide(2)
    first["source-ref"], second["source-ref"] = "IMG_1.png", "./IMG_1.png"
    raw = [RawLine(1, json.dumps(first)), RawLine(2, json.dumps(second))]
    report, refs = validate_lines(raw, attribute="bounding-box", size_bytes=1, base_dir=tmp_path)
    assert codes(report.errors)[0] == (2, Code.WSI2REK_DUPLICATE_SOURCE_REF)
    assert refs == {str(tmp_path / "IMG_1.png"): 1}


def test_a_metadata_key_is_never_the_attribute() -> None:
    text = json.dumps({"a-metadata": {}, "a-metadata-metadata": {}, "b": {}, "b-metadata": {}})
    assert detect_attribute([text]) == "b"


def test_missing_manifest_error_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.manifest"
    with pytest.raises(ManifestError) as info:
        validate_manifest(path)
    assert str(info.value) == (
        f"cannot read manifest {path}: No such file or directory; give the path of a "
        "*.manifest file"
    )
    assert info.value.path == path


def test_folder_error_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as info:
        validate_manifest(tmp_path)
    assert str(info.value) == (
        f"{tmp_path} is not a regular file; give the path of a *.manifest file (or a "
        "dataset folder)"
    )
    assert info.value.path == tmp_path


def test_empty_dataset_folder(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as info:
        validate_dataset(tmp_path)
    assert str(info.value) == (
        f"{tmp_path} has no train.manifest (found no manifest); give a dataset folder "
        "written by `wsi2rek build`, or a manifest file"
    )
    assert info.value.path == tmp_path / "train.manifest"


def test_training_images_are_not_opened_when_checking_a_test_manifest(tmp_path: Path) -> None:
    """Only the test manifest's own images are checked; the training lines keep their
    labels even when their local images are elsewhere."""
    train_line = guide(1)
    train_line["source-ref"] = "elsewhere/IMG_1.png"
    train, test = _pair(tmp_path, [train_line, guide(9, ("a", "b"))], [guide(2)])
    assert validate_manifest(test, train=train).errors == ()


def test_dataset_folder_checks_the_test_manifests_images(tmp_path: Path) -> None:
    local = guide(3)
    local["source-ref"] = "IMG_3.png"
    _pair(tmp_path, [guide(1), guide(2)], [local, guide(4), guide(5), guide(6), guide(7)])
    report = validate_dataset(tmp_path).reports["test"]
    assert codes(report.errors) == [(1, Code.ERROR_INVALID_IMAGE)]


def test_dataset_folder_does_not_split_its_test_manifest(tmp_path: Path) -> None:
    """distribute applies to a training set the service splits, never to test.manifest."""
    _pair(tmp_path, [guide(1), guide(2)], [guide(3)])
    assert validate_dataset(tmp_path).reports["test"].errors == ()
