"""wsi2rek.rekognition is the one owner of the service's rules.

Values and sentences come from the Amazon Rekognition Custom Labels developer guide
(github.com/awsdocs/amazon-rekognition-custom-labels-developer-guide, doc_source/limits.md,
md-create-manifest-file-validation-rules.md, debugging-datasets-terminal-errors.md,
tm-debugging-json-line-errors.md, tm-debugging-aggregate-errors.md).
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs
import pytest

from wsi2rek import labels, rekognition
from wsi2rek.aws import MAX_IMAGE_BYTES
from wsi2rek.rekognition import (
    CODES,
    QUOTA,
    QUOTAS,
    Code,
    box_survives_rescale,
    parse_model_arn,
    training_scale,
)
from wsi2rek.sampling import (
    MAX_PATCH_SIZE,
    MIN_PATCH_SIZE,
    REKOGNITION_MAX_BOXES,
    REKOGNITION_TRAINING_LONG_SIDE,
)

ROOT = Path(__file__).resolve().parents[2]


def test_every_quota_has_the_guides_sentence_and_every_sentence_a_quota() -> None:
    fields = {f.name for f in attrs.fields(type(QUOTA))}
    assert {q.name for q in QUOTAS} == fields
    assert all(q.quote.endswith(".") and q.page.endswith(".html") for q in QUOTAS)


def test_every_code_has_its_meaning_and_wsi2rek_codes_are_prefixed() -> None:
    assert set(CODES) == set(Code)
    for code, info in CODES.items():
        assert info.guide_code == (not code.startswith("WSI2REK_")), code
        assert code.startswith("WARNING_") == (info.severity == "warning"), code


def test_the_guides_numbers() -> None:
    """limits.md (Training / Testing / Detection), verbatim values."""
    assert (QUOTA.min_image_side, QUOTA.max_image_side) == (64, 4096)
    assert QUOTA.max_aspect_ratio == 20
    assert QUOTA.max_image_bytes == 15 * 1024 * 1024
    assert QUOTA.max_boxes_per_image == 50
    assert QUOTA.max_labels == 250
    assert QUOTA.max_test_images_per_label == 1000
    assert QUOTA.max_line_chars == 100_000
    assert QUOTA.max_manifest_lines == 250_000
    assert QUOTA.detect_max_image_bytes == 4 * 1024 * 1024


def test_training_rescale_formula() -> None:
    """tm-debugging-json-line-errors: images with a side over 1280 px are resized, and
    boxes must stay "greater than 1 x 1 pixels"."""
    assert training_scale(640, 480) == 1.0
    assert training_scale(2560, 512) == 0.5
    assert box_survives_rescale(3, 3, 2560, 512)
    assert not box_survives_rescale(2, 40, 2560, 512)  # 1 px after the rescale
    assert not box_survives_rescale(1, 40, 512, 512)


def test_model_arn_pattern() -> None:
    """sc-introduction: arn:aws:rekognition:*:*:project/project_name/version/name/datetime."""
    arn = "arn:aws:rekognition:us-east-1:123456789012:project/my-project/version/v0/1574317227432"
    assert parse_model_arn(arn) == ("us-east-1", "123456789012", "my-project", "v0")
    assert parse_model_arn(arn.replace("/version/v0", "")) is None
    assert rekognition.PROJECT_ARN.match(arn.replace("/version/v0", ""))


def test_other_modules_import_the_owner() -> None:
    assert QUOTA.max_labels == labels.MAX_LABELS
    assert QUOTA.max_label_length == labels.MAX_LABEL_LENGTH
    assert (QUOTA.min_image_side, QUOTA.max_image_side) == (MIN_PATCH_SIZE, MAX_PATCH_SIZE)
    assert QUOTA.max_boxes_per_image == REKOGNITION_MAX_BOXES
    assert QUOTA.training_long_side == REKOGNITION_TRAINING_LONG_SIDE
    assert QUOTA.detect_max_image_bytes == MAX_IMAGE_BYTES


# A service number written as a literal anywhere but in the owner module.
_LITERALS = re.compile(
    r"(?<![\w.])(?:= *(?:64|4096|1280|250|256|50)\b|4 \* 1024 \* 1024|15 \* 1024 \* 1024"
    r"|:project/\[)"
)


@pytest.mark.parametrize(
    "path",
    sorted(
        p.relative_to(ROOT).as_posix()
        for folder in ("src", "examples")
        for p in (ROOT / folder).rglob("*.py")
    ),
)
def test_no_module_repeats_a_service_number(path: str) -> None:
    if path == "src/wsi2rek/rekognition.py":
        return
    text = (ROOT / path).read_text(encoding="utf-8")
    hits = [
        line.strip()
        for line in text.splitlines()
        if _LITERALS.search(line)
        and any(w in line.upper() for w in ("REKOGNITION", "MAX_", "MIN_", "ARN", "LIMIT"))
    ]
    assert hits == [], f"{path} repeats a Rekognition value; import wsi2rek.rekognition"
