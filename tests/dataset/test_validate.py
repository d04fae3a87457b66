"""The validator: one case per Rekognition code that makes it fire, plus clean input."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from wsi2rek.dataset import Limits, Manifest, image_info, validate_manifest
from wsi2rek.errors import ManifestError

Line = dict[str, Any]


def good_line(ref: str = "img.png", n_boxes: int = 1) -> Line:
    return {
        "source-ref": ref,
        "bounding-box": {
            "image_size": [{"width": 512, "height": 512, "depth": 3}],
            "annotations": [
                {"class_id": 0, "left": 10 + i, "top": 10, "width": 40, "height": 40}
                for i in range(n_boxes)
            ],
        },
        "bounding-box-metadata": {
            "objects": [{"confidence": 1} for _ in range(n_boxes)],
            "class-map": {"0": "mitotic figure"},
            "type": "groundtruth/object-detection",
            "human-annotated": "yes",
            "creation-date": "2000-01-01T00:00:00.000000",
            "job-name": "test",
        },
    }


def _body(d: Line) -> Line:
    body: Line = d["bounding-box"]
    return body


def _meta(d: Line) -> Line:
    meta: Line = d["bounding-box-metadata"]
    return meta


def _set(path: str, value: object) -> Callable[[Line], None]:
    def mutate(d: Line) -> None:
        *keys, last = path.split("/")
        target: Any = d
        for k in keys:
            target = target[int(k)] if k.isdigit() else target[k]
        target[int(last) if last.isdigit() else last] = value

    return mutate


def _delete(key: str) -> Callable[[Line], None]:
    return lambda d: d.pop(key)


def _many_boxes(d: Line) -> None:
    d.update(good_line(n_boxes=51))


def _no_boxes(d: Line) -> None:
    _body(d)["annotations"] = []
    _meta(d)["objects"] = []


def _rescaled_tiny(d: Line) -> None:
    # 2560 px long side is rescaled by 0.5: a 2 px box becomes 1 px
    _body(d)["image_size"] = [{"width": 2560, "height": 512, "depth": 3}]
    _body(d)["annotations"][0].update(width=2, height=40)


# (id, mutation, expected code)
LINE_CASES: list[tuple[str, Callable[[Line], None], str]] = [
    ("missing source-ref", _delete("source-ref"), "ERROR_MISSING_SOURCE_REF"),
    ("http source-ref", _set("source-ref", "http://host/a.png"), "ERROR_INVALID_SOURCE_REF_FORMAT"),
    ("bad s3 uri", _set("source-ref", "s3://B_ad/"), "ERROR_INVALID_SOURCE_REF_FORMAT"),
    ("non-string ref", _set("source-ref", 5), "ERROR_INVALID_SOURCE_REF_FORMAT"),
    ("no attribute", _delete("bounding-box"), "ERROR_NO_LABEL_ATTRIBUTES"),
    (
        "annotations not a list",
        _set("bounding-box/annotations", "x"),
        "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT",
    ),
    (
        "image_size missing",
        _set("bounding-box/image_size", []),
        "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT",
    ),
    (
        "metadata missing",
        _delete("bounding-box-metadata"),
        "ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT",
    ),
    (
        "class-map not an object",
        _set("bounding-box-metadata/class-map", []),
        "ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT",
    ),
    ("missing image", _set("source-ref", "nope.png"), "ERROR_INVALID_IMAGE"),
    ("not png or jpeg", _set("source-ref", "text.png"), "ERROR_INVALID_IMAGE"),
    (
        "too small",
        _set("bounding-box/image_size/0", {"width": 32, "height": 512, "depth": 3}),
        "ERROR_INVALID_IMAGE_DIMENSION",
    ),
    (
        "too large",
        _set("bounding-box/image_size/0", {"width": 4097, "height": 512, "depth": 3}),
        "ERROR_INVALID_IMAGE_DIMENSION",
    ),
    (
        "aspect over 20:1",
        _set("bounding-box/image_size/0", {"width": 1300, "height": 64, "depth": 3}),
        "ERROR_INVALID_IMAGE",
    ),
    (
        "size differs from file",
        _set("bounding-box/image_size/0", {"width": 256, "height": 512, "depth": 3}),
        "ERROR_INVALID_IMAGE_DIMENSION",
    ),
    ("negative box", _set("bounding-box/annotations/0/left", -1), "ERROR_INVALID_BOUNDING_BOX"),
    ("off frame box", _set("bounding-box/annotations/0/left", 480), "ERROR_INVALID_BOUNDING_BOX"),
    ("1 px box", _set("bounding-box/annotations/0/width", 1), "ERROR_BOUNDING_BOX_TOO_SMALL"),
    ("1 px after rescale", _rescaled_tiny, "ERROR_BOUNDING_BOX_TOO_SMALL"),
    ("51 boxes", _many_boxes, "ERROR_TOO_MANY_BOUNDING_BOXES"),
    ("every box invalid", _set("bounding-box/annotations/0/top", -5), "ERROR_NO_VALID_ANNOTATIONS"),
    (
        "unknown class id",
        _set("bounding-box/annotations/0/class_id", 5),
        "ERROR_MISSING_CLASS_MAP_ID",
    ),
    (
        "objects shorter",
        _set("bounding-box-metadata/objects", []),
        "ERROR_MISSING_BOUNDING_BOX_CONFIDENCE",
    ),
    (
        "object without confidence",
        _set("bounding-box-metadata/objects", [{}]),
        "ERROR_MISSING_BOUNDING_BOX_CONFIDENCE",
    ),
    (
        "label name too long",
        _set("bounding-box-metadata/class-map", {"0": "x" * 257}),
        "ERROR_INVALID_LABEL_NAME_LENGTH",
    ),
    (
        "classification type",
        _set("bounding-box-metadata/type", "groundtruth/image-classification"),
        "ERROR_UNSUPPORTED_USE_CASE_TYPE",
    ),
    ("no annotations", _no_boxes, "WARNING_NO_ANNOTATIONS"),
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    pixels = np.full((512, 512, 3), 200, dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "img.png")
    Image.fromarray(pixels).save(tmp_path / "img.jpg", quality=90)
    (tmp_path / "text.png").write_text("hello, not an image")
    return tmp_path


def _write(folder: Path, lines: Sequence[Line | str], name: str = "m.manifest") -> Path:
    """Write ``lines``; repeated ``img.png`` references become copies img1.png, img2.png...

    The guide forbids referencing one image twice in a dataset, so the cases that repeat
    a good line get one image file per line (except in the duplicate tests, which write
    their text themselves).
    """
    path = folder / name
    texts = []
    seen = 0
    for x in lines:
        item = x
        if isinstance(x, dict) and x.get("source-ref") == "img.png":
            seen += 1
            if seen > 1:
                item = copy.deepcopy(x)
                item["source-ref"] = f"img{seen}.png"
                shutil.copyfile(folder / "img.png", folder / item["source-ref"])
        texts.append(item if isinstance(item, str) else json.dumps(item))
    path.write_text("".join(t + "\n" for t in texts))
    return path


def test_clean_manifest_is_ok(folder: Path) -> None:
    path = _write(folder, [good_line(), good_line("img.jpg", n_boxes=3)])
    report = validate_manifest(path)
    assert report.ok
    assert report.errors == ()
    assert report.warnings == ()
    assert report.lines == 2
    assert report.labels == {"mitotic figure": 4}
    assert report.background == 0


@pytest.mark.parametrize(
    ("mutate", "code"), [c[1:] for c in LINE_CASES], ids=[c[0] for c in LINE_CASES]
)
def test_line_rule_fires_with_its_code_and_line_number(
    folder: Path, mutate: Callable[[Line], None], code: str
) -> None:
    bad = copy.deepcopy(good_line())
    mutate(bad)
    # four good lines around the bad one keep the invalid share at 20 % (not over)
    path = _write(folder, [good_line(), good_line(), bad, good_line(), good_line()])
    report = validate_manifest(path)
    issues = [i for i in (*report.errors, *report.warnings) if i.code == code]
    assert issues, report.to_dict()
    assert {i.line for i in issues} == {3}
    assert all(i.message.startswith("line 3: ") for i in issues)
    assert "ERROR_TOO_MANY_RECORDS_IN_ERROR" not in report.codes()
    assert report.ok == code.startswith("WARNING")


def test_invalid_json_line(folder: Path) -> None:
    report = validate_manifest(_write(folder, [good_line()] * 4 + ["{oops"]))
    assert [(i.line, i.code) for i in report.errors] == [(5, "ERROR_INVALID_JSON_LINE")]


def test_json_that_is_not_an_object(folder: Path) -> None:
    report = validate_manifest(_write(folder, [good_line()] * 4 + ["[1, 2]"]))
    assert [(i.line, i.code) for i in report.errors] == [(5, "ERROR_INVALID_JSON_LINE")]


def test_image_over_15_mb_via_limit(folder: Path) -> None:
    path = _write(folder, [good_line()])
    report = Manifest.read(path).validate(limits=Limits(max_image_bytes=100))
    assert [i.code for i in report.errors] == [
        "ERROR_INVALID_IMAGE",
        "ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST",  # the only line is invalid (not terminal)
        "ERROR_MANIFEST_TOO_FEW_LABELS",  # so no label is left
    ]
    assert "bytes" in report.errors[0].message


def test_s3_images_are_not_fetched(folder: Path) -> None:
    path = _write(folder, [good_line("s3://my-bucket/images/a.png")])
    assert validate_manifest(path).ok


WHOLE_FILE_CASES: list[tuple[str, list[Line | str], Limits, str]] = [
    ("size", [good_line()], Limits(max_manifest_bytes=100), "ERROR_MANIFEST_SIZE_TOO_LARGE"),
    (
        "rows",
        [good_line()] * 2,
        Limits(max_manifest_lines=1),
        "ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM",
    ),
    ("invalid share", [good_line()] * 3 + ["{"], Limits(), "ERROR_TOO_MANY_RECORDS_IN_ERROR"),
    (
        "buckets",
        [good_line("s3://bucket-one/a.png"), good_line("s3://bucket-two/a.png")],
        Limits(),
        "ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS",
    ),
    ("empty", [], Limits(), "ERROR_EMPTY_MANIFEST"),
]


@pytest.mark.parametrize(
    ("lines", "limits", "code"),
    [c[1:] for c in WHOLE_FILE_CASES],
    ids=[c[0] for c in WHOLE_FILE_CASES],
)
def test_whole_file_rule_fires_on_line_zero(
    folder: Path, lines: list[Line | str], limits: Limits, code: str
) -> None:
    report = Manifest.read(_write(folder, lines)).validate(limits=limits)
    assert (0, code) in {(i.line, i.code) for i in report.errors}, report.to_dict()


def test_too_many_labels(folder: Path) -> None:
    lines: list[Line | str] = []
    for chunk in range(6):  # 6 x 42 = 252 labels, at most 50 boxes per line
        line = good_line(n_boxes=42)
        for i, ann in enumerate(_body(line)["annotations"]):
            ann["class_id"] = i
        _meta(line)["class-map"] = {str(i): f"label {chunk}-{i}" for i in range(42)}
        lines.append(line)
    report = validate_manifest(_write(folder, lines))
    assert [(i.line, i.code) for i in report.errors] == [(0, "ERROR_MANIFEST_TOO_MANY_LABELS")]
    assert len(report.labels) == 252


def _labelled(name: str, ref: str = "img.png") -> Line:
    line = good_line(ref)
    _meta(line)["class-map"] = {"0": name}
    return line


def test_label_overlap_follows_the_guides_formula(folder: Path) -> None:
    """md-create-manifest-file-validation-rules: "Overlaps are (common labels between test
    and train)/(train labels)" and "At least 50% overlap in the labels" is an error."""
    for name in ("t1.png", "t2.png", "t3.png"):
        shutil.copyfile(folder / "img.png", folder / name)
    train = _write(
        folder,
        [_labelled("a", "t1.png"), _labelled("b", "t2.png"), _labelled("c", "t3.png")],
        "train.manifest",
    )
    # test {a}: 1 of 3 training labels (33 %): an error, although 100 % of test labels
    # are training labels (the prose's reading)
    test = _write(folder, [_labelled("a")], "test0.manifest")
    report = validate_manifest(test, train=train)
    assert [(i.line, i.code) for i in report.errors] == [
        (0, "ERROR_INSUFFICIENT_USABLE_LABEL_OVERLAP")
    ]
    assert "(common labels)/(train labels)" in report.errors[0].message
    # test {a, b, x}: 2 of 3 training labels (67 %): fine, although one test label is new
    test = _write(folder, [_labelled(x) for x in ("a", "b", "x")], "test1.manifest")
    assert validate_manifest(test, train=train).ok


def test_one_bad_box_among_good_ones_is_not_a_line_without_valid_annotations(
    folder: Path,
) -> None:
    line = good_line(n_boxes=3)
    _body(line)["annotations"][0]["left"] = -5
    report = validate_manifest(_write(folder, [line, good_line(), good_line(), good_line()]))
    assert "ERROR_INVALID_BOUNDING_BOX" in report.codes()
    assert "ERROR_NO_VALID_ANNOTATIONS" not in report.codes()


def test_distribute_needs_two_images_per_label(folder: Path) -> None:
    path = _write(folder, [_labelled("a"), _labelled("a"), _labelled("b")], "train.manifest")
    assert validate_manifest(path).ok  # an explicit test set: one image of "b" is enough
    report = validate_manifest(path, distribute=True)
    assert [(i.line, i.code) for i in report.errors] == [
        (0, "ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE")
    ]
    assert "{'b': 1}" in report.errors[0].message


def test_report_to_dict_has_the_cli_shape(folder: Path) -> None:
    bad = good_line()
    _body(bad)["annotations"][0]["left"] = -5
    report = validate_manifest(_write(folder, [good_line()] * 4 + [bad]))
    data = report.to_dict()
    assert set(data) >= {"ok", "lines", "errors", "warnings", "labels"}
    assert data["ok"] is False
    assert data["errors"][0]["line"] == 5
    assert data["errors"][0]["code"] == "ERROR_INVALID_BOUNDING_BOX"
    assert "inside the image" in data["errors"][0]["message"]
    assert data["labels"] == {"mitotic figure": 4}


def test_image_info_reads_headers(folder: Path) -> None:
    assert image_info(folder / "img.png") == ("png", 512, 512)
    assert image_info(folder / "img.jpg") == ("jpeg", 512, 512)
    with pytest.raises(ManifestError) as info:
        image_info(folder / "text.png")
    assert info.value.code == "ERROR_INVALID_IMAGE"
