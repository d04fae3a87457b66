"""Manifest lines: exact Ground Truth format, read/write round trip, tolerant reading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hypothesis_profiles import examples
from wsi2rek.dataset import DEFAULT_CREATION_DATE, Manifest, ManifestLine, manifest_line
from wsi2rek.errors import DatasetError, ManifestError
from wsi2rek.geometry import Box
from wsi2rek.sampling import LabeledBox, PatchSpec


def _line(**kw: object) -> ManifestLine:
    args: dict[str, object] = {
        "source_ref": "images/train/a.png",
        "width": 512,
        "height": 512,
        "boxes": [(1, 10, 20, 50, 40)],
        "class_map": {1: "mitotic figure"},
    }
    args.update(kw)
    return ManifestLine(**args)  # type: ignore[arg-type]


def test_line_json_matches_the_ground_truth_object_detection_format() -> None:
    data = _line(job_name="job").to_json("bounding-box")
    assert data == {
        "source-ref": "images/train/a.png",
        "bounding-box": {
            "image_size": [{"width": 512, "height": 512, "depth": 3}],
            "annotations": [{"class_id": 1, "left": 10, "top": 20, "width": 50, "height": 40}],
        },
        "bounding-box-metadata": {
            "objects": [{"confidence": 1}],
            "class-map": {"1": "mitotic figure"},
            "type": "groundtruth/object-detection",
            "human-annotated": "yes",
            "creation-date": DEFAULT_CREATION_DATE,
            "job-name": "job",
        },
    }


def test_attribute_name_is_configurable_with_its_metadata_twin() -> None:
    data = _line().to_json("cells")
    assert set(data) == {"source-ref", "cells", "cells-metadata"}


def test_write_then_read_round_trips_and_detects_the_attribute(tmp_path: Path) -> None:
    lines = [_line(), _line(source_ref="images/train/b.png", boxes=[], class_map={})]
    path = tmp_path / "x.manifest"
    Manifest(lines, "cells").write(path)
    back = Manifest.read(path)
    assert back.attribute == "cells"
    assert back.lines == tuple(lines)
    assert len(back) == 2
    assert path.read_text().count("\n") == 2
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_read_keeps_going_past_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.manifest"
    good, other = _line().dumps(), _line(source_ref="images/train/b.png").dumps()
    path.write_text(f'{good}\nnot json\n{{"source-ref": "x.png"}}\n{other}\n')
    manifest = Manifest.read(path)
    assert len(manifest.lines) == 2
    assert len(manifest) == 4
    report = manifest.validate(check_images=False)
    assert [(i.line, i.code) for i in report.errors] == [
        (2, "ERROR_INVALID_JSON_LINE"),
        (3, "ERROR_NO_LABEL_ATTRIBUTES"),
        (0, "ERROR_TOO_MANY_RECORDS_IN_ERROR"),
    ]


def test_unreadable_manifest_is_a_manifest_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read manifest") as info:
        Manifest.read(tmp_path / "missing.manifest")
    assert info.value.code == "ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT"


def test_from_json_reports_missing_source_ref_code() -> None:
    with pytest.raises(ManifestError) as info:
        ManifestLine.from_json({"bounding-box": {}}, line=7)
    assert info.value.code == "ERROR_MISSING_SOURCE_REF"
    assert info.value.line == 7


def _spec(boxes: list[LabeledBox], left: int = 1000, top: int = 2000) -> PatchSpec:
    return PatchSpec("s.svs", Box(left, top, left + 256, top + 128), "train", boxes)


def test_manifest_line_rounds_outward_and_clips_to_the_patch() -> None:
    spec = _spec(
        [
            LabeledBox("a", Box(1010.4, 2020.6, 1060.2, 2070.1)),
            LabeledBox("b", Box(1200.5, 2100.5, 1256.0, 2128.0), clipped=True),
        ]
    )
    line = manifest_line(spec, {"a": 0, "b": 1}, "images/train/x.png")
    assert line.boxes == ((0, 10, 20, 51, 51), (1, 200, 100, 56, 28))
    assert line.class_map == {0: "a", 1: "b"}
    assert (line.width, line.height) == (256, 128)


def test_manifest_line_rejects_unknown_labels() -> None:
    spec = _spec([LabeledBox("zebra", Box(1010, 2010, 1020, 2020))])
    with pytest.raises(DatasetError, match="zebra"):
        manifest_line(spec, {"a": 0}, "x.png")


@examples(60)
@given(
    st.lists(
        st.tuples(
            st.floats(-20, 280, allow_nan=False),
            st.floats(-20, 150, allow_nan=False),
            st.floats(0, 300, allow_nan=False),
            st.floats(0, 300, allow_nan=False),
        ),
        max_size=8,
    )
)
def test_manifest_line_boxes_always_stay_inside_the_image(
    raw: list[tuple[float, float, float, float]],
) -> None:
    boxes = [LabeledBox("a", Box.from_xywh(1000 + x, 2000 + y, w, h)) for x, y, w, h in raw]
    line = manifest_line(_spec(boxes), {"a": 0}, "x.png")
    for _cid, left, top, width, height in line.boxes:
        assert min(left, top, width, height) >= 0
        assert left + width <= 256
        assert top + height <= 128


def test_dumps_is_compact_single_line_json() -> None:
    text = _line().dumps()
    assert "\n" not in text
    assert json.loads(text)["source-ref"] == "images/train/a.png"
