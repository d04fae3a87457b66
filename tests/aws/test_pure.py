"""Pure helpers: image encoding, box conversion, evaluation parsing, error extraction, waiting."""

from __future__ import annotations

import io
import itertools
import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from tests.hypothesis_profiles import examples
from wsi2rek.aws import (
    encode_for_detection,
    extract_entry_errors,
    parse_evaluation_summary,
    parse_s3_uri,
)
from wsi2rek.aws._clients import wait_for_status
from wsi2rek.aws._images import to_detection
from wsi2rek.errors import AwsError, AwsTimeoutError


def test_png_and_jpeg_paths_are_sent_as_is(tmp_path: Path) -> None:
    pixels = np.full((30, 50, 3), 128, dtype=np.uint8)
    png, jpg = tmp_path / "a.png", tmp_path / "a.jpg"
    Image.fromarray(pixels).save(png)
    Image.fromarray(pixels).save(jpg)
    for path, fmt in ((png, "PNG"), (jpg, "JPEG")):
        encoded = encode_for_detection(path)
        assert encoded.data == path.read_bytes()
        assert (encoded.width, encoded.height, encoded.format) == (50, 30, fmt)


def test_other_formats_are_reencoded(tmp_path: Path) -> None:
    path = tmp_path / "a.tiff"
    Image.fromarray(np.zeros((20, 10, 3), dtype=np.uint8)).save(path)
    encoded = encode_for_detection(str(path))
    assert encoded.format == "PNG"
    assert encoded.data.startswith(b"\x89PNG")
    assert (encoded.width, encoded.height) == (10, 20)


def test_large_payload_becomes_jpeg_under_the_limit() -> None:
    noise = np.random.default_rng(1).integers(0, 255, size=(400, 400, 3), dtype=np.uint8)
    limit = 200_000
    encoded = encode_for_detection(noise, limit=limit)
    assert encoded.format == "JPEG"
    assert len(encoded.data) <= limit
    assert (encoded.width, encoded.height) == (400, 400)  # frame of the caller's image
    with Image.open(io.BytesIO(encoded.data)) as sent:
        assert sent.format == "JPEG"


def test_large_png_bytes_are_reencoded() -> None:
    noise = np.random.default_rng(2).integers(0, 255, size=(200, 200, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="PNG")
    encoded = encode_for_detection(buffer.getvalue(), limit=60_000)
    assert len(buffer.getvalue()) > 60_000
    assert len(encoded.data) <= 60_000
    assert encoded.format == "JPEG"


def test_pil_rgba_is_converted() -> None:
    encoded = encode_for_detection(Image.new("RGBA", (64, 32)))
    assert (encoded.width, encoded.height, encoded.format) == (64, 32, "PNG")


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((10, 10), dtype=np.uint8),
        np.zeros((10, 10, 3), dtype=np.float32),
        np.zeros((4, 4, 4), dtype=np.uint8),
    ],
)
def test_bad_arrays_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"\(height, width, 3\)"):
        encode_for_detection(bad)


def test_garbage_bytes_are_refused() -> None:
    with pytest.raises(ValueError, match="not a readable image"):
        encode_for_detection(b"definitely not an image")


unit = st.floats(min_value=-0.2, max_value=1.2, allow_nan=False)


@examples(60)
@given(
    normalised=st.tuples(unit, unit, st.floats(0, 1.2), st.floats(0, 1.2)),
    size=st.tuples(st.integers(1, 4096), st.integers(1, 4096)),
)
def test_boxes_land_inside_the_image(
    normalised: tuple[float, float, float, float], size: tuple[int, int]
) -> None:
    left, top, width, height = normalised
    w, h = size
    label = {
        "Name": "x",
        "Confidence": 50,
        "Geometry": {"BoundingBox": {"Left": left, "Top": top, "Width": width, "Height": height}},
    }
    detection = to_detection(label, w, h)
    assert detection is not None
    box = detection.box
    assert 0 <= box.left <= box.right <= w
    assert 0 <= box.top <= box.bottom <= h
    if left >= 0 and left + width <= 1:
        assert box.left == pytest.approx(left * w)
        assert box.right - box.left == pytest.approx(width * w)


def test_label_without_geometry_is_none() -> None:
    assert to_detection({"Name": "x", "Confidence": 1}, 10, 10) is None


def test_parse_summary_handles_missing_fields_and_percent_thresholds() -> None:
    evaluation = parse_evaluation_summary(
        {
            "AggregatedEvaluationResults": {"Metrics": {"F1Score": 0.6}},
            "LabelEvaluationResults": [
                {"Label": "a", "Metrics": {"Threshold": 42, "Precision": 1, "Recall": 0.5}},
                {"Label": "b"},
            ],
        },
        f1=None,
    )
    assert evaluation.f1 == 0.6
    assert evaluation.label("a").threshold == pytest.approx(0.42)
    assert evaluation.label("a").precision == 1.0
    assert evaluation.label("b").threshold is None
    assert evaluation.label("b").min_confidence is None
    assert evaluation.to_dict()["labels"][0]["label"] == "a"


def test_extract_entry_errors_from_lines_and_documents() -> None:
    lines = "\n".join(
        [
            json.dumps(
                {
                    "source-ref": "s3://b/a.png",
                    "bb-metadata": {"errors": [{"code": "E1", "message": "m1"}]},
                }
            ),
            "not json",
            json.dumps({"source-ref": "s3://b/b.png", "errors": [{"code": "E2"}]}),
        ]
    )
    errors = extract_entry_errors(lines)
    assert [(e.code, e.source_ref, e.message) for e in errors] == [
        ("E1", "s3://b/a.png", "m1"),
        ("E2", "s3://b/b.png", ""),
    ]
    doc = json.dumps({"errors": [{"code": "ERROR_MANIFEST_SIZE_TOO_LARGE", "message": "big"}]})
    assert extract_entry_errors(doc)[0].code == "ERROR_MANIFEST_SIZE_TOO_LARGE"
    assert len(extract_entry_errors(lines, limit=1)) == 1


def test_extract_entry_errors_keeps_a_line_whose_label_holds_a_line_separator() -> None:
    """JSON allows U+2028/U+2029/U+0085 raw in strings; str.splitlines would cut there.

    Both lines of a validation manifest are kept; with ``splitlines`` the first one was cut
    in two and its error silently lost (wsi2rek._jsonl: split on ``\\n`` only).
    """
    first = json.dumps(
        {
            "source-ref": "s3://b/a.png",
            "bb-metadata": {"class-map": {"0": "odd\u2028name\x85"}, "errors": [{"code": "E1"}]},
        },
        ensure_ascii=False,
    )
    assert "\u2028" in first
    second = json.dumps({"source-ref": "s3://b/b.png", "errors": [{"code": "E2"}]})
    errors = extract_entry_errors(first + "\n" + second + "\n")
    assert [(e.code, e.source_ref) for e in errors] == [
        ("E1", "s3://b/a.png"),
        ("E2", "s3://b/b.png"),
    ]


def test_parse_s3_uri() -> None:
    assert parse_s3_uri("s3://bkt/a/b.manifest") == ("bkt", "a/b.manifest")
    assert parse_s3_uri("s3://bkt") == ("bkt", "")
    with pytest.raises(ValueError, match="s3://bucket"):
        parse_s3_uri("https://bkt/a")
    with pytest.raises(ValueError, match="no bucket"):
        parse_s3_uri("s3:///key")


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_returns_the_wanted_status() -> None:
    clock = _Clock()
    statuses = iter(["A", "A", "B", "DONE"])
    result = wait_for_status(
        lambda: (next(statuses), None),
        wanted={"DONE"},
        timeout=timedelta(seconds=100),
        poll_interval=5,
        operation="op",
        resource="arn",
        clock=clock,
        sleep=clock.sleep,
    )
    assert result == "DONE"
    assert clock.sleeps == [5, 5, 5]


def test_wait_deadline_without_real_time() -> None:
    clock = _Clock()
    with pytest.raises(AwsTimeoutError) as info:
        wait_for_status(
            lambda: ("TRAINING_IN_PROGRESS", None),
            wanted={"TRAINING_COMPLETED"},
            timeout=timedelta(hours=30),
            poll_interval=120,
            operation="training",
            resource="arn",
            clock=clock,
            sleep=clock.sleep,
        )
    assert clock.now == pytest.approx(30 * 3600)  # past botocore's 12 h waiter limit
    assert info.value.status == "TRAINING_IN_PROGRESS"
    assert "1 day, 6:00:00" in str(info.value)


def test_wait_failed_status_carries_message() -> None:
    counter = itertools.count()
    with pytest.raises(AwsError) as info:
        wait_for_status(
            lambda: ("FAILED" if next(counter) else "STARTING", "no capacity"),
            wanted={"RUNNING"},
            failed={"FAILED"},
            timeout=timedelta(seconds=10),
            poll_interval=0,
            operation="StartProjectVersion",
            resource="arn:x",
        )
    assert info.value.code == "FAILED"
    assert "no capacity" in str(info.value)
    assert "arn:x" in str(info.value)


def test_default_clients_honour_endpoint_region_and_retries() -> None:
    from wsi2rek.aws import make_rekognition_client, make_s3_client

    rek = make_rekognition_client(
        endpoint_url="http://127.0.0.1:9", region_name="eu-west-1", max_pool_connections=32
    )
    assert rek.meta.endpoint_url == "http://127.0.0.1:9"
    assert rek.meta.region_name == "eu-west-1"
    rek_config = vars(rek.meta.config)  # botocore-stubs does not declare Config's fields
    assert rek_config["max_pool_connections"] == 32
    assert rek_config["retries"] == {"mode": "standard", "total_max_attempts": 10}
    s3 = make_s3_client(endpoint_url="http://127.0.0.1:9", region_name="eu-west-1")
    assert s3.meta.endpoint_url == "http://127.0.0.1:9"
    assert vars(s3.meta.config)["retries"]["mode"] == "standard"


segment = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-.", min_size=1, max_size=12
).filter(lambda s: s not in {".", ".."})


@examples(50)
@given(parts=st.lists(segment, min_size=1, max_size=4), prefix=st.sampled_from(["", "p", "a/b"]))
def test_rewritten_refs_are_base_plus_relative_path(parts: list[str], prefix: str) -> None:
    from wsi2rek.aws import rewrite_manifest

    ref = "/".join(["images", *parts])
    base = f"s3://bkt/{prefix}".rstrip("/")
    line = json.dumps({"source-ref": ref, "x": {"y": [1, 2]}})
    out = rewrite_manifest(line + "\n", base_uri=base + "/", known={ref})
    record = json.loads(out)
    assert record == {"source-ref": f"{base}/{ref}", "x": {"y": [1, 2]}}
    assert out.endswith("\n")
    assert out.count("\n") == 1
