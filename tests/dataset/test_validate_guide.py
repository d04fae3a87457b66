"""One test per rule of the developer guide the validator checks, and the hostile inputs.

Every manifest here starts from the guide's own object-detection line (page
"Object localization in manifest files", md-create-manifest-file-object-detection.md,
IMG_1186.png with "Echo" and "Echo Dot") and breaks exactly one rule; each test asserts
the code and the line number. ``s3://`` images are never fetched, so no image files are
needed unless a test is about images.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

import attrs
import pytest

from wsi2rek.dataset import Manifest, validate_manifest
from wsi2rek.rekognition import QUOTA, Code

#: Verbatim from md-create-manifest-file-object-detection.md (the guide's example line).
GUIDE_LINE = (
    '{"source-ref": "s3://bucket/images/IMG_1186.png", "bounding-box": {"image_size": '
    '[{"width": 640, "height": 480, "depth": 3}], "annotations": [{ "class_id": 1,\t"top": '
    '251,\t"left": 399, "width": 155, "height": 101}, {"class_id": 0, "top": 65, "left": 86, '
    '"width": 220,\t"height": 334}]}, "bounding-box-metadata": {"objects": [{ "confidence": '
    '1}, {"confidence": 1}],\t"class-map": {"0": "Echo",\t"1": "Echo Dot"}, "type": '
    '"groundtruth/object-detection", "human-annotated": "yes",\t"creation-date": '
    '"2013-11-18T02:53:27", "job-name": "my job"}}'
)


def guide(i: int, bucket: str = "bucket") -> dict[str, Any]:
    """The guide's line, referring to image number ``i`` (one image per line)."""
    line: dict[str, Any] = json.loads(GUIDE_LINE)
    line["source-ref"] = f"s3://{bucket}/images/IMG_{i}.png"
    return line


def write(folder: Path, lines: list[Any], name: str = "m.manifest") -> Path:
    path = folder / name
    data = b"".join(
        (x if isinstance(x, bytes) else (x if isinstance(x, str) else json.dumps(x)).encode())
        + b"\n"
        for x in lines
    )
    path.write_bytes(data)
    return path


def issues(report: Any) -> list[tuple[int, str]]:
    return [(i.line, i.code) for i in report.errors]


def test_the_guides_line_is_valid(tmp_path: Path) -> None:
    report = validate_manifest(write(tmp_path, [GUIDE_LINE]))
    assert report.ok, report.to_dict()
    assert report.labels == {"Echo": 1, "Echo Dot": 1}


def test_same_source_ref_twice_is_a_terminal_error(tmp_path: Path) -> None:
    """debugging-datasets-terminal-errors: "An image can only be referenced once in a
    dataset." The repeat is reported on its own line, naming the first."""
    lines = [guide(i) for i in range(9)] + [guide(3)]
    report = validate_manifest(write(tmp_path, lines))
    assert issues(report) == [(10, "WSI2REK_DUPLICATE_SOURCE_REF")]
    assert "line 4" in report.errors[0].message


def test_local_duplicates_are_compared_as_paths(tmp_path: Path) -> None:
    first, second = guide(1), guide(2)
    first["source-ref"], second["source-ref"] = "images/a.png", "images/./a.png"
    report = validate_manifest(write(tmp_path, [first, second]), check_images=False)
    assert (2, "WSI2REK_DUPLICATE_SOURCE_REF") in issues(report)


def test_line_over_100000_characters_is_dropped(tmp_path: Path) -> None:
    """debugging-datasets-terminal-errors: "The length of a JSON line is too long. The
    maximum length is 100,000 characters." The line is skipped, the rest still checked."""
    long_line = guide(5)
    long_line["bounding-box-metadata"]["job-name"] = "j" * QUOTA.max_line_chars
    lines = [guide(i) for i in range(5)] + [long_line] + [guide(i) for i in range(6, 10)]
    report = validate_manifest(write(tmp_path, lines))
    assert issues(report) == [(6, "WSI2REK_LINE_TOO_LONG")]
    assert report.lines == 10
    assert report.invalid_lines == 1


def test_a_line_of_exactly_100000_characters_is_fine(tmp_path: Path) -> None:
    line = guide(1)
    line["bounding-box-metadata"]["job-name"] = ""
    pad = QUOTA.max_line_chars - len(json.dumps(line))
    line["bounding-box-metadata"]["job-name"] = "é" * pad  # 2 bytes each: counts characters
    assert len(json.dumps(line, ensure_ascii=False)) == QUOTA.max_line_chars
    path = tmp_path / "m.manifest"
    path.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    assert validate_manifest(path).ok


def test_empty_manifest(tmp_path: Path) -> None:
    """tm-terminal-errors-reference names ERROR_EMPTY_MANIFEST: "The manifest file is
    empty."""
    report = validate_manifest(write(tmp_path, []))
    assert issues(report) == [(0, "ERROR_EMPTY_MANIFEST")]


def test_manifest_without_any_label(tmp_path: Path) -> None:
    """limits: "Minimum number of unique labels per Object Location (detection) dataset
    is 1." Lines without boxes are valid (WARNING_NO_ANNOTATIONS) but give no label."""
    lines = []
    for i in range(3):
        line = guide(i)
        line["bounding-box"]["annotations"] = []
        line["bounding-box-metadata"]["objects"] = []
        lines.append(line)
    report = validate_manifest(write(tmp_path, lines))
    assert issues(report) == [(0, "ERROR_MANIFEST_TOO_FEW_LABELS")]
    assert {w.code for w in report.warnings} == {"WARNING_NO_ANNOTATIONS"}


def test_more_than_20_percent_terminal_errors(tmp_path: Path) -> None:
    """Terminal content errors over the 20 % rule give ERROR_TOO_MANY_RECORDS_IN_ERROR."""
    lines = [guide(i) for i in range(3)] + ["{not json"]
    assert issues(validate_manifest(write(tmp_path, lines))) == [
        (4, "ERROR_INVALID_JSON_LINE"),
        (0, "ERROR_TOO_MANY_RECORDS_IN_ERROR"),
    ]


def test_more_than_20_percent_invalid_rows(tmp_path: Path) -> None:
    """tm-debugging-aggregate-errors: ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST "occurs if
    there are too many JSON Lines that contain invalid content" (JSON line errors)."""
    bad = guide(3)
    bad["bounding-box"]["annotations"][0]["left"] = -1
    bad["bounding-box"]["annotations"][1]["left"] = -1
    lines = [guide(0), guide(1), guide(2), bad]
    assert issues(validate_manifest(write(tmp_path, lines))) == [
        (4, "ERROR_INVALID_BOUNDING_BOX"),
        (4, "ERROR_INVALID_BOUNDING_BOX"),
        (4, "ERROR_NO_VALID_ANNOTATIONS"),
        (0, "ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST"),
    ]


def test_exactly_20_percent_invalid_is_accepted(tmp_path: Path) -> None:
    """md-create-manifest-file-validation-rules: the limit is "> 20%"."""
    lines = [guide(i) for i in range(4)] + ["{not json"]
    assert issues(validate_manifest(write(tmp_path, lines))) == [(5, "ERROR_INVALID_JSON_LINE")]


def test_aspect_ratio_is_an_invalid_image(tmp_path: Path) -> None:
    """tm-debugging-json-line-errors, ERROR_INVALID_IMAGE: "Potential causes include the
    image aspect ratio"; ERROR_INVALID_IMAGE_DIMENSION is about the 64/4096 px sides."""
    line = guide(1)
    line["bounding-box"]["image_size"] = [{"width": 1300, "height": 64, "depth": 3}]
    line["bounding-box"]["annotations"] = [
        {"class_id": 0, "left": 1, "top": 1, "width": 30, "height": 30}
    ]
    line["bounding-box-metadata"]["objects"] = [{"confidence": 1}]
    lines = [line] + [guide(i) for i in range(2, 6)]
    assert issues(validate_manifest(write(tmp_path, lines))) == [(1, "ERROR_INVALID_IMAGE")]


def test_non_integer_boxes_and_no_job_name_are_accepted(tmp_path: Path) -> None:
    """md-create-manifest-file-object-detection: box values are "in pixels" (no integer
    requirement) and job-name is "(Optional)"."""
    line = guide(1)
    line["bounding-box"]["annotations"][0]["left"] = 399.5
    del line["bounding-box-metadata"]["job-name"]
    assert validate_manifest(write(tmp_path, [line])).ok


def _test_lines(labels: dict[str, int], bucket: str = "bucket") -> list[dict[str, Any]]:
    out = []
    n = 0
    for label, count in labels.items():
        for _ in range(count):
            line = guide(n, bucket)
            line["bounding-box"]["annotations"] = [
                {"class_id": 0, "left": 10, "top": 10, "width": 50, "height": 50}
            ]
            line["bounding-box-metadata"]["objects"] = [{"confidence": 1}]
            line["bounding-box-metadata"]["class-map"] = {"0": label}
            out.append(line)
            n += 1
    return out


def test_test_set_quota_of_1000_images_per_label(tmp_path: Path) -> None:
    """limits, Testing: "Maximum number of images per label is 1000." Only test sets."""
    path = write(tmp_path, _test_lines({"Echo": 1001, "Echo Dot": 1000}))
    assert validate_manifest(path).ok  # a training set may have more
    report = validate_manifest(path, test=True)
    assert issues(report) == [(0, "WSI2REK_TOO_MANY_TEST_IMAGES_PER_LABEL")]
    assert "'Echo': 1001" in report.errors[0].message
    assert "Echo Dot" not in report.errors[0].message


def test_same_image_in_train_and_test(tmp_path: Path) -> None:
    """md-create-manifest-file-validation-rules: "There should not be an overlap between
    test and training datasets." Reported on the test line, naming the train line."""
    train = write(tmp_path, [guide(i) for i in range(5)], "train.manifest")
    test = write(tmp_path, [guide(i) for i in range(10, 14)] + [guide(2)], "test.manifest")
    report = validate_manifest(test, train=train)
    assert issues(report) == [(5, "WSI2REK_TRAIN_TEST_OVERLAP")]
    assert "line 3" in report.errors[0].message


def test_images_in_two_buckets(tmp_path: Path) -> None:
    """tm-debugging-aggregate-errors: "A manifest can only reference images stored in a
    single bucket." """
    lines = [guide(1), guide(2, bucket="other-bucket")]
    assert issues(validate_manifest(write(tmp_path, lines))) == [
        (0, "ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS")
    ]


def test_rows_past_the_quota_are_counted_not_checked(tmp_path: Path) -> None:
    """debugging-datasets-terminal-errors: "JSON Line error are validated until the number
    of JSON Lines reaches the ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM limit." """
    quota = attrs.evolve(QUOTA, max_manifest_lines=3)
    path = write(tmp_path, [guide(0), guide(1), guide(2), "{broken", "{broken"])
    report = validate_manifest(path, limits=quota)
    assert issues(report) == [(0, "ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM")]
    assert report.lines == 5


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    """limits: "Maximum dataset manifest file size is 1 GB." Checked from the file size
    alone (a terminal file error: no line is read)."""
    quota = attrs.evolve(QUOTA, max_manifest_bytes=100)
    path = write(tmp_path, [guide(0), "{broken"])
    report = validate_manifest(path, limits=quota)
    assert issues(report) == [(0, "ERROR_MANIFEST_SIZE_TOO_LARGE")]


# --- hostile input: one error with its line number, never a traceback --------------------


HOSTILE: list[tuple[str, bytes, str]] = [
    ("deep nesting", b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
    ("10^400 integer", b'{"source-ref": 1' + b"0" * 400 + b"}", "digits"),
    ("float overflow", b'{"source-ref": "s3://b/x.png", "n": 1e400}', "overflows"),
    ("NaN token", b'{"source-ref": "s3://b/x.png", "n": NaN}', "NaN is not a JSON value"),
    ("bad UTF-8", b'{"source-ref": "s3://bucket/\xff.png"}', "not UTF-8"),
    ("blank", b"   ", "a blank line"),
]


@pytest.mark.parametrize(("text", "why"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_line_is_one_error_and_the_rest_is_checked(
    tmp_path: Path, text: bytes, why: str
) -> None:
    lines: list[Any] = [guide(i) for i in range(4)] + [text] + [guide(i) for i in range(5, 14)]
    lines[7]["bounding-box"]["annotations"][0]["left"] = -1  # a later error is still found
    report = validate_manifest(write(tmp_path, lines))
    assert issues(report) == [(5, "ERROR_INVALID_JSON_LINE"), (8, "ERROR_INVALID_BOUNDING_BOX")]
    assert why in report.errors[0].message


def test_hostile_line_through_manifest_read(tmp_path: Path) -> None:
    path = write(tmp_path, [guide(0), b"\xff\xfe", b"[" * 50_000, guide(1)])
    manifest = Manifest.read(path)
    assert len(manifest.lines) == 2
    report = manifest.validate()
    assert [(i.line, i.code) for i in report.errors][:2] == [
        (2, "ERROR_INVALID_JSON_LINE"),
        (3, "ERROR_INVALID_JSON_LINE"),
    ]


@pytest.mark.slow  # 10 s of reading NUL bytes; mutation runs deselect it (pyproject)
def test_two_gigabyte_line_is_never_read_whole(tmp_path: Path) -> None:
    """A sparse file: one 'line' of 2 GiB of NUL bytes, then a good line. Reading it whole
    would need 2 GiB; the validator skips it in chunks and reports it as too long."""
    path = tmp_path / "m.manifest"
    with path.open("wb") as f:
        f.write(b'{"a": "')
        f.seek(2 * 1024**3)
        f.write(b'"}\n' + json.dumps(guide(1)).encode() + b"\n")
    report = validate_manifest(path, limits=attrs.evolve(QUOTA, max_manifest_bytes=4 * 1024**3))
    assert issues(report)[0] == (1, "WSI2REK_LINE_TOO_LONG")
    assert report.lines == 2


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
    )


def _jpeg_header(width: int, height: int) -> bytes:
    """SOI, an APP0 segment, then an SOF0 frame header claiming ``width x height``."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    return (
        b"\xff\xd8\xff\xe0"
        + struct.pack(">H", len(app0) + 2)
        + app0
        + b"\xff\xc0"
        + struct.pack(">H", len(sof) + 2)
        + sof
    )


@pytest.mark.parametrize("header", [_jpeg_header, _png_header], ids=["jpeg", "png"])
def test_image_header_claiming_a_giant_size(tmp_path: Path, header: Any) -> None:
    """A 65500 x 65500 px header (Pillow would refuse it as a decompression bomb) is one
    ERROR_INVALID_IMAGE_DIMENSION on its line; no pixel is decoded."""
    (tmp_path / "bomb.img").write_bytes(header(65500, 65500))
    line = guide(1)
    line["source-ref"] = "bomb.img"
    report = validate_manifest(write(tmp_path, [line]))
    assert (1, "ERROR_INVALID_IMAGE_DIMENSION") in issues(report)
    assert "65500 x 65500" in report.errors[0].message


def test_every_code_the_validator_reports_is_owned_by_the_rekognition_module() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    for code in Code:
        assert code.info.quote, code
    for h in HOSTILE:
        assert h[0] in source
