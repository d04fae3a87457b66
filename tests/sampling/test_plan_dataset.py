from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from wsi2rek.annotations import Annotation, SlideRunnerDB
from wsi2rek.errors import LabelMapError, SamplingError, SlideLookupError
from wsi2rek.geometry import Box
from wsi2rek.labels import LabelMap
from wsi2rek.sampling import (
    BackgroundSampler,
    GridSampler,
    ObjectSampler,
    PatchPlan,
    Placement,
    classify,
    plan_dataset,
)
from wsi2rek.testing import area, make_image, make_slide, make_sliderunner_db, polygon, spot

LABELS = {"mitotic figure": [2], "look-alike": [1]}
CLASSES = {1: "look-alike", 2: "mitotic figure", 3: "granulocyte", 4: "roi"}
SLIDE_NAMES = ["alpha.svs", "beta.svs", "gamma.svs", "delta.png"]


def _spots(slide: int, seed: int) -> list[Annotation]:
    out = []
    for i in range(6):
        x, y = 300 + 350 * i + 37 * seed, 400 + 230 * (i % 3) + 11 * seed
        out.append(spot(slide, x, y, 2 if i % 2 == 0 else 1))
    out.append(spot(slide, 1500, 1500, 3))  # granulocyte: not in the label map
    return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("plan")
    slides = root / "slides"
    slides.mkdir()
    for i, name in enumerate(SLIDE_NAMES[:3]):
        make_slide(slides / name, 2600, 2000, seed=i, tile=256)
    make_image(slides / "DELTA.PNG", 400, 300)  # smaller than a patch; upper-case on disk
    annotations = []
    for uid in (1, 2, 3):
        annotations += _spots(uid, uid)
    annotations += [
        spot(1, 5000, 5000, 2),  # outside the slide
        polygon(1, [(100, 100), (200, 200), (300, 300)], 1),  # collinear: zero area
        spot(1, 900, 900, 2, deleted=True),
        area(2, (200, 200), (2400, 1800), 4),  # ROI
        spot(4, 200, 150, 2),
    ]
    db = make_sliderunner_db(root / "cells.sqlite", [*SLIDE_NAMES, "missing.svs"],
                             annotations, classes=CLASSES)  # fmt: skip
    return db, slides


@pytest.fixture(scope="module")
def plan(dataset: tuple[Path, Path]) -> PatchPlan:
    """The plan the tests below read: seed 3, gamma.svs as the test slide."""
    db, slides = dataset
    return plan_dataset(db, slides, LABELS, seed=3, test_slides=["gamma.svs"])


def test_the_same_inputs_give_the_same_plan(dataset: tuple[Path, Path], plan: PatchPlan) -> None:
    """A LabelMap or a mapping, and test slide names in any case: the same fingerprint."""
    db, slides = dataset
    again = plan_dataset(db, slides, LabelMap(LABELS), seed=3, test_slides=["GAMMA.svs"])
    assert plan.fingerprint() == again.fingerprint()
    assert plan.labels == ("mitotic figure", "look-alike")


def test_slides_are_found_whatever_the_case_on_disk(plan: PatchPlan) -> None:
    assert set(plan.slide_paths) == {"alpha.svs", "beta.svs", "gamma.svs", "delta.png"}
    assert plan.slide_paths["delta.png"].endswith("DELTA.PNG")


def test_patches_are_ordered_by_split_slide_top_left(plan: PatchPlan) -> None:
    keys = [(p.split != "train", p.slide, p.window.top, p.window.left) for p in plan.patches]
    assert keys == sorted(keys)


def test_the_test_slide_is_test_and_the_others_train(plan: PatchPlan) -> None:
    assert {p.slide for p in plan.split("test")} == {"gamma.svs"}
    assert {p.slide for p in plan.split("train")} == {"alpha.svs", "beta.svs"}
    assert plan.params["split"]["train"] == ["alpha.svs", "beta.svs", "delta.png"]
    assert plan.params["split"]["test"] == ["gamma.svs"]


def test_params_record_the_inputs_as_json(plan: PatchPlan) -> None:
    params = plan.params
    assert params["seed"] == 3
    assert params["label_map"] == {"mitotic figure": [2], "look-alike": [1]}
    assert params["sampler"]["type"] == "object"
    assert params["spot_radius_px"] == 25
    assert json.loads(json.dumps(params)) == params


def test_params_count_ignored_classes_and_skipped_inputs(plan: PatchPlan) -> None:
    """Class 3 is not in the label map; class 4 is an ROI, used only on request."""
    assert plan.params["ignored_classes"] == {"3": 3, "4": 1}
    assert plan.params["skipped"] == {
        "degenerate_annotation": 1,
        "outside_slide": 1,
        "slide_missing": 1,
        "slide_too_small": 1,
    }
    missing = [s for s in plan.skipped if s.reason == "slide_missing"]
    assert [s.slide for s in missing] == ["missing.svs"]


def test_params_counts_match_the_patches(plan: PatchPlan) -> None:
    params = plan.params
    assert params["patches"]["train"] + params["patches"]["test"] == len(plan.patches)
    total_boxes = sum(sum(v.values()) for v in params["boxes"].values())
    assert total_boxes == sum(len(p.boxes) for p in plan.patches)
    assert params["objects"] == {"mitotic figure": 10, "look-alike": 9}
    assert sum(len(v) for v in plan.objects.values()) == 19


def test_no_window_cuts_a_labelled_object(plan: PatchPlan) -> None:
    """The default edge policy rejects a window whose edge or margin crosses an object."""
    bounds = Box(0, 0, 2600, 2000)
    crossing = [
        (p.slide, p.window, o.box)
        for p in plan.patches
        for o in plan.objects[p.slide]
        if classify(o.box, p.window, 16, bounds) is Placement.CROSSING
    ]
    assert crossing == []


def test_plan_round_trips_through_json(dataset: tuple[Path, Path], tmp_path: Path) -> None:
    db, slides = dataset
    plan = plan_dataset(db, slides, LABELS, seed=1)
    plan.save(tmp_path / "plan.json")
    loaded = PatchPlan.load(tmp_path / "plan.json")
    assert loaded.fingerprint() == plan.fingerprint()
    assert loaded.patches == plan.patches


def test_seed_changes_windows_not_the_split_rules(dataset: tuple[Path, Path]) -> None:
    db, slides = dataset
    a = plan_dataset(db, slides, LABELS, seed=1)
    b = plan_dataset(db, slides, LABELS, seed=2)
    assert [p.window for p in a.patches] != [p.window for p in b.patches]
    assert a.params["split"]["mode"] == "all_train"
    assert not a.split("test")


def test_slide_order_of_a_mapping_does_not_matter(dataset: tuple[Path, Path]) -> None:
    db, slides = dataset
    forward = {n: slides / n for n in ("alpha.svs", "beta.svs", "gamma.svs")}
    backward = dict(reversed(list(forward.items())))
    a = plan_dataset(db, forward, LABELS, seed=5, test_fraction=0.34)
    b = plan_dataset(db, backward, LABELS, seed=5, test_fraction=0.34)
    assert a.fingerprint() == b.fingerprint()
    assert len(a.params["split"]["test"]) == 1
    assert set(a.params["split"]["train"]).isdisjoint(a.params["split"]["test"])
    assert "missing.svs" not in {s.slide for s in a.skipped}  # a mapping names its slides


def test_slide_order_independence_across_subsets(dataset: tuple[Path, Path]) -> None:
    """A slide's windows depend on the seed and its rank by name, not on dict order."""
    db, slides = dataset
    full = plan_dataset(db, slides, LABELS, seed=9, slides_in=["beta.svs", "alpha.svs"])
    again = plan_dataset(db, slides, LABELS, seed=9, slides_in=["ALPHA.svs", "beta.svs"])
    assert full.fingerprint() == again.fingerprint()
    assert full.params["slides_in"] == ["alpha.svs", "beta.svs"]


def test_unknown_test_slide_lists_candidates(dataset: tuple[Path, Path]) -> None:
    db, slides = dataset
    with pytest.raises(SlideLookupError, match=r"alpah\.svs") as info:
        plan_dataset(db, slides, LABELS, test_slides=["alpah.svs"])
    assert "alpha.svs" in str(info.value)


def test_explicit_test_slide_without_file_is_an_error(dataset: tuple[Path, Path]) -> None:
    db, slides = dataset
    with pytest.raises(SamplingError, match=r"missing\.svs.*not found"):
        plan_dataset(db, slides, LABELS, test_slides=["missing.svs"])


def test_both_split_options_is_an_error(dataset: tuple[Path, Path]) -> None:
    db, slides = dataset
    with pytest.raises(SamplingError, match="not both"):
        plan_dataset(db, slides, LABELS, test_slides=["alpha.svs"], test_fraction=0.5)


def test_label_map_errors(dataset: tuple[Path, Path]) -> None:
    db, slides = dataset
    with pytest.raises(LabelMapError, match=r"\[9\].*cells\.sqlite.*1 \(look-alike\)"):
        plan_dataset(db, slides, {"x": [9]})
    with pytest.raises(LabelMapError, match="empty"):
        plan_dataset(db, slides, {})
    with pytest.raises(SamplingError, match="targets"):
        plan_dataset(db, slides, LABELS, sampler=ObjectSampler(targets=["nope"]))


def test_spot_radius_options(dataset: tuple[Path, Path]) -> None:
    db, slides = dataset
    with pytest.raises(SamplingError, match="not both"):
        plan_dataset(db, slides, LABELS, spot_radius_px=10, spot_radius_um=5)
    with pytest.raises(SamplingError, match="positive"):
        plan_dataset(db, slides, LABELS, spot_radius_px=0)
    plan = plan_dataset(db, slides, LABELS, spot_radius_um=5.0, slides_in=["alpha.svs"])
    box = plan.objects["alpha.svs"][0].box
    assert box.width == pytest.approx(40.0)  # 5 um at 0.25 um/px, both sides
    assert plan.params["spot_radius_um"] == 5.0
    assert plan.params["spot_radius_px"] is None


def test_micrometre_radius_needs_mpp(dataset: tuple[Path, Path]) -> None:
    db, slides = dataset
    with pytest.raises(SamplingError, match=r"delta\.png has no microns-per-pixel"):
        plan_dataset(db, slides, LABELS, spot_radius_um=5.0, slides_in=["delta.png"])


def test_grid_and_background_use_the_tissue_mask(dataset: tuple[Path, Path]) -> None:
    db, slides = dataset
    plan = plan_dataset(
        db,
        slides,
        LABELS,
        sampler=GridSampler(min_tissue=0.5, edge_policy="clip"),
        background=BackgroundSampler(per_slide=2, min_tissue=0.5),
        slides_in=["alpha.svs", "beta.svs"],
        test_slides=["beta.svs"],
    )
    by = plan.params["patches_by_sampler"]
    assert by["grid"] > 0
    assert by["background"] == 4
    assert plan.params["filtered_windows"]["grid"]["low_tissue"] > 0
    assert set(plan.params["rejected_windows"]) == {"grid", "background"}
    windows = [(p.slide, p.window) for p in plan.patches]
    assert len(windows) == len(set(windows))
    assert plan.params["background"]["per_slide"] == 2


def test_roi_class_restricts_windows(dataset: tuple[Path, Path]) -> None:
    db, slides = dataset
    roi = Box(200, 200, 2400, 1800)
    plan = plan_dataset(db, slides, LABELS, sampler=ObjectSampler(roi_class=4),
                        slides_in=["beta.svs"])  # fmt: skip
    assert plan.patches
    assert all(roi.contains(p.window) for p in plan.patches)
    with pytest.raises(SamplingError, match="roi_class 7 is not a class"):
        plan_dataset(db, slides, LABELS, sampler=ObjectSampler(roi_class=7))
    with pytest.raises(SamplingError, match="cannot be a label too"):
        plan_dataset(db, slides, LABELS, sampler=ObjectSampler(roi_class=2))


def test_drop_policy_counts_unlabelled_objects(dataset: tuple[Path, Path]) -> None:
    db, slides = dataset
    crowded = ObjectSampler(edge_policy="drop", patch_size=256, margin=30, per_annotation=3)
    plan = plan_dataset(db, slides, LABELS, sampler=crowded, seed=2)
    dropped = plan.params["dropped_objects"]
    expected = 0
    for p in plan.patches:
        for o in plan.objects[p.slide]:
            bounds = Box(0, 0, 2600, 2000)
            expected += classify(o.box, p.window, 30, bounds) is Placement.CROSSING
    assert sum(dropped.values()) == expected


def test_unreadable_slide_is_skipped_unless_named(
    dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    db, slides = dataset
    folder = tmp_path / "slides"
    shutil.copytree(slides, folder)
    (folder / "beta.svs").write_bytes(b"not a slide at all")
    plan = plan_dataset(db, folder, LABELS)
    skip = next(s for s in plan.skipped if s.reason == "slide_unreadable")
    assert skip.slide == "beta.svs"
    assert "beta.svs" not in plan.slide_paths
    with pytest.raises(SamplingError, match=r"beta\.svs.*could not be read"):
        plan_dataset(db, folder, LABELS, slides_in=["beta.svs"])


def test_database_object_and_folder_errors(dataset: tuple[Path, Path], tmp_path: Path) -> None:
    db, slides = dataset
    with SlideRunnerDB(db) as opened:
        plan = plan_dataset(opened, slides, LABELS, slides_in=["alpha.svs"])
    assert plan.params["database"] == "cells.sqlite"
    with pytest.raises(SamplingError, match="not a folder"):
        plan_dataset(db, tmp_path / "nowhere", LABELS)


def test_real_database_label_check(sliderunner_dir: Path, tmp_path: Path) -> None:
    """The real TUPAC_AL database: unknown ids list its classes; hard negatives map."""
    db = sliderunner_dir / "TUPAC_AL.sqlite"
    before = db.read_bytes()
    with pytest.raises(LabelMapError, match=r"1 \(Mitose\), 2 \(Hard negative\)"):
        plan_dataset(db, tmp_path, {"mitotic figure": [5]})
    make_image(tmp_path / "01_stitched1.tif", 1200, 1000)
    plan = plan_dataset(db, tmp_path, {"mitotic figure": [1], "look-alike": [2]},
                        slides_in=["01_stitched1.tif"])  # fmt: skip
    assert db.read_bytes() == before  # read-only
    assert set(plan.slide_paths) == {"01_stitched1.tif"}
    counted = sum(plan.params["objects"].values()) + plan.params["skipped"].get("outside_slide", 0)
    assert counted > 0  # the real annotations of slide 1 were read and accounted for
