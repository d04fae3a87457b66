from __future__ import annotations

from pathlib import Path

import pytest

from wsi2rek.errors import SamplingError
from wsi2rek.geometry import Box
from wsi2rek.labels import LabelMap
from wsi2rek.sampling import annotation_objects, plan_dataset
from wsi2rek.testing import area, circle, make_image, polygon, special_spot, spot

LABELS = LabelMap({"mitotic figure": [2], "look-alike": [1]})


def test_spots_and_shapes_become_boxes() -> None:
    annotations = [
        spot(1, 100, 100, 2, uid=1),
        circle(1, 300, 300, 20, 1, uid=2),
        area(1, (500, 520), (400, 420), 2, uid=3),
        polygon(1, [(600, 600), (700, 600), (650, 700)], 1, uid=4),
    ]
    result = annotation_objects(annotations, LABELS, slide="s.svs", slide_size=(1000, 1000))
    boxes = {o.annotation: (o.label, o.box) for o in result.objects}
    assert boxes == {
        1: ("mitotic figure", Box(75, 75, 125, 125)),
        2: ("look-alike", Box(280, 280, 320, 320)),
        3: ("mitotic figure", Box(400, 420, 500, 520)),
        4: ("look-alike", Box(600, 600, 700, 700)),
    }
    assert not result.skipped
    assert result.rois is None


def test_radius_options() -> None:
    a = [spot(1, 100, 100, 2, uid=1)]
    px = annotation_objects(a, LABELS, slide="s", slide_size=(500, 500), spot_radius_px=10)
    assert px.objects[0].box == Box(90, 90, 110, 110)
    um = annotation_objects(a, LABELS, slide="s", slide_size=(500, 500), spot_radius_um=5,
                            mpp=(0.25, 0.5))  # fmt: skip
    assert um.objects[0].box == Box(80, 90, 120, 110)
    with pytest.raises(SamplingError, match=r"slide s\.svs has no microns-per-pixel"):
        annotation_objects(a, LABELS, slide="s.svs", slide_size=(500, 500), spot_radius_um=5)


def test_edges_outside_degenerate_and_ignored_are_counted() -> None:
    annotations = [
        spot(1, 10, 10, 2, uid=1),  # partly outside: clipped to the slide
        spot(1, 900, 900, 2, uid=2),  # outside
        polygon(1, [(0, 0), (10, 10), (20, 20)], 1, uid=3),  # zero area
        area(1, (50, 50), (50, 90), 1, uid=4),  # zero width
        spot(1, 200, 200, 3, uid=5),  # class 3: not mapped
        special_spot(1, 250, 250, uid=6),  # no agreed class
        spot(1, 300, 300, 2, uid=7),
    ]
    result = annotation_objects(annotations, LABELS, slide="s.svs", slide_size=(500, 500),
                                spot_radius_px=0.4)  # fmt: skip
    reasons = {s.annotation: s.reason for s in result.skipped}
    assert reasons == {
        2: "outside_slide",
        3: "degenerate_annotation",
        4: "degenerate_annotation",
        1: "box_too_small",
        7: "box_too_small",
    }
    assert result.ignored == {"3": 1, "none": 1}
    clipped = annotation_objects(annotations[:1], LABELS, slide="s.svs", slide_size=(500, 500))
    assert clipped.objects[0].box == Box(0, 0, 35, 35)
    assert clipped.objects[0].clipped


def test_roi_class_annotations_become_rois() -> None:
    annotations = [
        area(1, (0, 0), (400, 400), 5, uid=1),
        polygon(1, [(500, 500), (900, 500), (700, 900)], 5, uid=2),
        spot(1, 100, 100, 5, uid=3),  # a spot of the ROI class is not a region
        spot(1, 100, 100, 2, uid=4),
    ]
    result = annotation_objects(annotations, LABELS, slide="s", slide_size=(1000, 1000),
                                roi_class=5)  # fmt: skip
    assert result.rois is not None
    assert [r.uid for r in result.rois] == [1, 2]
    assert [o.annotation for o in result.objects] == [4]
    assert result.ignored == {"5": 1}


def test_duplicate_base_names_in_the_real_tupac_database(
    sliderunner_dir: Path, tmp_path: Path
) -> None:
    """TUPAC.sqlite holds 01/25.tif, 02/25.tif...: one folder cannot tell them apart."""
    make_image(tmp_path / "25.tif", 600, 600)
    with pytest.raises(SamplingError, match=r"share the file name '25\.tif'"):
        plan_dataset(sliderunner_dir / "TUPAC.sqlite", tmp_path, {"mitosis": [1]})
    # a mapping whose key names the folder picks one of them
    plan = plan_dataset(sliderunner_dir / "TUPAC.sqlite", {"01/25.tif": tmp_path / "25.tif"},
                        {"mitosis": [1]})  # fmt: skip
    assert set(plan.slide_paths) == {"25.tif"}
    assert plan.params["split"]["train"] == ["25.tif"]
