from __future__ import annotations

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hypothesis_profiles import examples
from wsi2rek.errors import SamplingError
from wsi2rek.geometry import Box, Point
from wsi2rek.sampling import (
    BackgroundSampler,
    FilterReason,
    GridSampler,
    LabeledBox,
    ObjectSampler,
    Placement,
    RejectionReason,
    Roi,
    SlideInput,
    classify,
)
from wsi2rek.tissue import TissueMask


def spot(x: float, y: float, uid: int, label: str = "mitotic figure", r: float = 25) -> LabeledBox:
    return LabeledBox(label=label, box=Box(x - r, y - r, x + r, y + r), annotation=uid)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# --- option validation ---------------------------------------------------------------------


@pytest.mark.parametrize("size", [63, 4097, 0])
def test_patch_size_outside_rekognition_limits_is_refused(size: int) -> None:
    with pytest.raises(SamplingError, match=r"64\.\.4096"):
        ObjectSampler(patch_size=size)
    with pytest.raises(SamplingError, match=r"64\.\.4096"):
        GridSampler(patch_size=size)


def test_margin_leaving_no_room_is_refused() -> None:
    with pytest.raises(SamplingError, match=r"leaves no room.*2 \* margin < patch_size"):
        ObjectSampler(patch_size=64, margin=32)
    with pytest.raises(SamplingError, match=">= 0"):
        ObjectSampler(margin=-1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"edge_policy": "cut"}, "edge_policy must be one of"),
        ({"min_visible": 1.5}, "min_visible must be in 0..1"),
        ({"max_tries": 0}, "max_tries must be a positive int"),
        ({"per_slide": 0}, "per_slide must be a positive int or None"),
        ({"targets": []}, "targets is empty"),
    ],
)
def test_bad_object_sampler_options(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(SamplingError, match=match):
        ObjectSampler(**kwargs)  # type: ignore[arg-type]


def test_bad_grid_overlap() -> None:
    with pytest.raises(SamplingError, match="overlap"):
        GridSampler(patch_size=256, overlap=256)


def test_options_round_trip_as_json_ready_dicts() -> None:
    assert ObjectSampler(targets=["a"]).to_dict()["targets"] == ["a"]
    assert ObjectSampler().to_dict()["type"] == "object"
    assert GridSampler().to_dict()["type"] == "grid"
    assert BackgroundSampler().to_dict()["per_slide"] == 10


# --- object sampler ------------------------------------------------------------------------


def test_one_window_per_target_with_target_inside() -> None:
    objects = (spot(1000, 1000, 1), spot(3000, 2000, 2))
    slide = SlideInput("a.svs", (4000, 3000), "train", objects)
    result = ObjectSampler().sample(slide, rng())
    assert [p.target for p in sorted(result.patches, key=lambda p: p.target or 0)] == [1, 2]
    for p in result.patches:
        assert p.size == (512, 512)
        target = next(o for o in objects if o.annotation == p.target)
        assert classify(target.box, p.window, 16, slide.bounds) is Placement.INSIDE
        assert p.sampler == "object"
        assert p.split == "train"
    assert not result.skipped


def test_offsets_are_random_not_centred() -> None:
    slide = SlideInput("a.svs", (4000, 3000), "train", (spot(2000, 1500, 1),))
    lefts = {ObjectSampler().sample(slide, rng(s)).patches[0].window.left for s in range(10)}
    assert len(lefts) > 5


def test_reject_never_cuts_a_labelled_box_and_skips_after_max_tries() -> None:
    # a lattice of look-alikes 60 px apart (10 px gaps < margin): every window cuts one
    lattice = [
        spot(2000 + 60 * i, 1500 + 60 * j, 100 + 13 * i + j, label="look-alike")
        for i in range(-6, 7)
        for j in range(-6, 7)
        if (i, j) != (0, 0)
    ]
    slide = SlideInput("a.svs", (4000, 3000), "train", (spot(2000, 1500, 1), *lattice))
    sampler = ObjectSampler(targets=["mitotic figure"], max_tries=5)
    result = sampler.sample(slide, rng())
    assert not result.patches
    assert [(s.reason, s.annotation) for s in result.skipped] == [("window_rejected", 1)]
    assert "5 windows" in result.skipped[0].detail
    assert "edge_policy='reject'" in result.skipped[0].detail
    assert sum(result.rejections.values()) == 5


def test_clip_labels_cut_objects_and_drop_counts_them() -> None:
    objects = (spot(2000, 1500, 1), spot(2260, 1500, 2))  # 260 px apart: often cut
    slide = SlideInput("a.svs", (4000, 3000), "train", objects)
    clipped = ObjectSampler(edge_policy="clip", min_visible=0.01, per_annotation=20,
                            targets=["mitotic figure"]).sample(slide, rng())  # fmt: skip
    assert any(b.clipped for p in clipped.patches for b in p.boxes)
    for p in clipped.patches:
        assert all(p.window.contains(b.box) for b in p.boxes)
    dropped = ObjectSampler(edge_policy="drop", per_annotation=20).sample(slide, rng())
    assert dropped.dropped.get("mitotic figure", 0) > 0
    n_cut = sum(
        classify(o.box, p.window, 16, slide.bounds) is Placement.CROSSING
        for p in dropped.patches
        for o in objects
    )
    assert dropped.dropped["mitotic figure"] == n_cut


def test_target_too_large_is_skipped_with_reason() -> None:
    big = LabeledBox("tumour", Box(100, 100, 700, 700), annotation=5)
    slide = SlideInput("a.svs", (4000, 3000), "train", (big,))
    result = ObjectSampler().sample(slide, rng())
    assert not result.patches
    reasons = [s.reason for s in result.skipped]
    assert reasons == ["target_too_large", "no_targets"]
    assert result.skipped[0].annotation == 5
    assert "at least 632 px" in result.skipped[0].detail


def test_slide_smaller_than_patch_is_skipped() -> None:
    slide = SlideInput("hpf.png", (400, 300), "test", (spot(200, 150, 1),))
    result = ObjectSampler().sample(slide, rng())
    assert [s.reason for s in result.skipped] == ["slide_too_small"]
    assert "400x300" in result.skipped[0].detail


def test_annotations_spanning_less_than_a_window_do_not_loop() -> None:
    # the blog's loop crashed here: all boxes within 100 px, slide just the patch size
    objects = tuple(spot(200 + 30 * i, 250, i + 1, r=10) for i in range(4))
    slide = SlideInput("small.png", (512, 512), "train", objects)
    result = ObjectSampler(per_annotation=3).sample(slide, rng())
    # only one window fits; the others are duplicates and are counted, not looped on
    assert len(result.patches) == 1
    assert result.rejections["duplicate"] > 0
    assert all(s.reason == "window_rejected" for s in result.skipped)
    assert len(result.skipped) == 11


def test_per_slide_uses_every_target_before_repeating() -> None:
    objects = tuple(spot(500 + 700 * i, 1000, i + 1) for i in range(5))
    slide = SlideInput("a.svs", (4000, 3000), "train", objects)
    result = ObjectSampler(per_slide=7).sample(slide, rng())
    targets = [p.target for p in result.patches]
    assert len(targets) == 7
    assert set(targets) == {1, 2, 3, 4, 5}


def test_max_per_slide_caps_and_counts() -> None:
    objects = tuple(spot(500 + 700 * i, 1000, i + 1) for i in range(5))
    slide = SlideInput("a.svs", (4000, 3000), "train", objects)
    result = ObjectSampler(max_per_slide=2).sample(slide, rng())
    assert len(result.patches) == 2
    assert result.filtered == {"capped": 3}


def test_targets_restrict_window_centres_but_all_labels_are_boxes() -> None:
    objects = (spot(1000, 1000, 1), spot(1100, 1000, 2, label="look-alike"))
    slide = SlideInput("a.svs", (4000, 3000), "train", objects)
    result = ObjectSampler(targets=["mitotic figure"], edge_policy="clip").sample(slide, rng())
    assert [p.target for p in result.patches] == [1]
    labels = {b.label for b in result.patches[0].boxes}
    assert labels == {"mitotic figure", "look-alike"}


def test_too_many_boxes_are_refused_and_counted() -> None:
    crowd = tuple(spot(1000 + 12 * (i % 10), 1000 + 12 * (i // 10), i + 1, r=4) for i in range(60))
    slide = SlideInput("a.svs", (4000, 3000), "train", crowd)
    result = ObjectSampler(per_slide=3, max_tries=3).sample(slide, rng())
    assert all(len(p.boxes) <= 50 for p in result.patches)
    assert result.rejections.get("too_many_boxes", 0) > 0


def test_roi_restricts_targets_and_windows() -> None:
    roi = Roi(points=(Point(1000, 1000), Point(2500, 2500)), uid=99)
    objects = (spot(1500, 1500, 1), spot(3500, 2700, 2))
    slide = SlideInput("a.svs", (4000, 3000), "train", objects, rois=(roi,))
    result = ObjectSampler(roi_class=7, per_annotation=5).sample(slide, rng())
    assert {p.target for p in result.patches} == {1}
    assert all(roi.box.contains(p.window) for p in result.patches)
    assert result.filtered["outside_roi"] == 1


def test_polygon_roi_membership() -> None:
    triangle = Roi(points=(Point(0, 0), Point(100, 0), Point(0, 100)))
    assert triangle.contains(Point(10, 10))
    assert not triangle.contains(Point(80, 80))
    assert triangle.contains(Point(50, 0))  # on an edge
    assert Roi(points=(Point(0, 0), Point(10, 10))).contains(Point(10, 5))


@examples(40)
@given(
    xs=st.lists(st.tuples(st.floats(0, 3000), st.floats(0, 2000)), min_size=1, max_size=25),
    seed=st.integers(0, 10_000),
    policy=st.sampled_from(["reject", "clip", "drop"]),
)
def test_object_sampler_invariants(xs: list[tuple[float, float]], seed: int, policy: str) -> None:
    objects = tuple(spot(x, y, i + 1) for i, (x, y) in enumerate(xs))
    objects = tuple(
        LabeledBox(o.label, o.box.intersection(Box(0, 0, 3000, 2000)) or o.box, o.annotation)
        for o in objects
    )
    slide = SlideInput("a.svs", (3000, 2000), "train", objects)
    sampler = ObjectSampler(edge_policy=policy, max_tries=5)  # type: ignore[arg-type]
    result = sampler.sample(slide, rng(seed))
    assert result == sampler.sample(slide, rng(seed))  # same seed, same windows
    windows = [p.window for p in result.patches]
    assert len(windows) == len(set(windows))
    handled = {p.target for p in result.patches} | {s.annotation for s in result.skipped}
    assert handled == {o.annotation for o in objects}  # every target placed or skipped
    for p in result.patches:
        assert slide.bounds.contains(p.window)  # windows always inside the slide
        assert all(p.window.contains(b.box) for b in p.boxes)  # kept boxes in their window
        assert len(p.boxes) <= 50
        if policy == "reject":
            assert all(
                classify(o.box, p.window, 16, slide.bounds) is not Placement.CROSSING
                for o in objects
            )


# --- background sampler --------------------------------------------------------------------


def _half_tissue() -> TissueMask:
    mask = np.zeros((30, 40), dtype=bool)
    mask[:, :20] = True  # left half of a 4000 x 3000 slide
    return TissueMask(mask=mask, downsample=(100.0, 100.0), threshold=20)


def test_background_windows_are_on_tissue_and_away_from_objects() -> None:
    objects = (spot(1000, 1000, 1),)
    slide = SlideInput("a.svs", (4000, 3000), "train", objects, tissue=_half_tissue())
    sampler = BackgroundSampler(per_slide=8, min_tissue=0.9)
    result = sampler.sample(slide, rng())
    assert len(result.patches) == 8
    for p in result.patches:
        assert slide.tissue is not None
        assert slide.tissue.fraction(p.window) >= 0.9
        assert not p.window.expand(16).intersects(objects[0].box)
        assert p.boxes == ()
        assert p.sampler == "background"
    windows = [p.window for p in result.patches]
    assert not any(a.intersects(b) for i, a in enumerate(windows) for b in windows[i + 1 :])


def test_background_shortfall_is_reported() -> None:
    mask = np.zeros((30, 40), dtype=bool)
    mask[:6, :6] = True  # room for about one 512 px window
    tissue = TissueMask(mask=mask, downsample=(100.0, 100.0), threshold=20)
    slide = SlideInput("a.svs", (4000, 3000), "train", (), tissue=tissue)
    result = BackgroundSampler(per_slide=5, max_tries=20).sample(slide, rng())
    assert 1 <= len(result.patches) < 5
    assert result.skipped[-1].reason == "background_shortfall"


def test_background_without_tissue_or_mask() -> None:
    empty = TissueMask(mask=np.zeros((3, 4), dtype=bool), downsample=(1000.0, 1000.0),
                       threshold=20)  # fmt: skip
    slide = SlideInput("a.svs", (4000, 3000), "train", (), tissue=empty)
    assert BackgroundSampler().sample(slide, rng()).skipped[0].reason == "no_tissue"
    with pytest.raises(SamplingError, match=r"tissue mask of a\.svs"):
        BackgroundSampler().sample(SlideInput("a.svs", (4000, 3000), "train"), rng())
    uniform = BackgroundSampler(min_tissue=0, per_slide=3).sample(
        SlideInput("a.svs", (4000, 3000), "train"), rng()
    )
    assert len(uniform.patches) == 3


def test_background_avoids_taken_windows() -> None:
    slide = SlideInput("a.svs", (512, 512), "train", ())
    result = BackgroundSampler(min_tissue=0, per_slide=1, max_tries=3).sample(
        slide, rng(), taken=[Box(0, 0, 512, 512)]
    )
    assert not result.patches
    assert result.rejections == {"overlap": 3}


# --- grid sampler --------------------------------------------------------------------------


def test_grid_covers_the_slide_with_flush_last_tiles() -> None:
    windows = GridSampler(patch_size=512, overlap=64).windows((1000, 600))
    assert [(w.left, w.top) for w in windows] == [(0, 0), (448, 0), (488, 0),
                                                  (0, 88), (448, 88), (488, 88)]  # fmt: skip


def test_grid_keeps_tissue_tiles_and_labels_boxes() -> None:
    objects = (spot(200, 200, 1),)
    slide = SlideInput("a.svs", (4000, 3000), "test", objects, tissue=_half_tissue())
    result = GridSampler(min_tissue=0.5).sample(slide, rng())
    assert result.patches
    assert all(p.window.right <= 2000 + 512 for p in result.patches)
    assert result.filtered["low_tissue"] > 0
    labelled = [p for p in result.patches if p.boxes]
    assert [p.window.left for p in labelled] == [0]
    assert all(p.split == "test" for p in result.patches)


def test_grid_rejects_tiles_that_cut_objects_and_reports_them() -> None:
    objects = (spot(500, 200, 7),)  # cut by tiles at x=0 and x=488, inside the one at 448
    slide = SlideInput("a.svs", (1000, 512), "train", objects)
    result = GridSampler(min_tissue=0).sample(slide, rng())
    assert [s.reason for s in result.skipped] == ["window_rejected", "window_rejected"]
    assert {s.annotation for s in result.skipped} == {7}
    clipped = GridSampler(min_tissue=0, edge_policy="clip", min_visible=0.1).sample(slide, rng())
    assert len(clipped.patches) == 3


def test_grid_skip_empty_and_roi() -> None:
    objects = (spot(1500, 1500, 1),)
    roi = Roi(points=(Point(1000, 1000), Point(3000, 2500)))
    slide = SlideInput("a.svs", (4000, 3000), "train", objects, rois=(roi,))
    result = GridSampler(min_tissue=0, skip_empty=True, roi_class=3).sample(slide, rng())
    assert all(roi.box.contains(p.window) for p in result.patches)
    assert all(p.boxes for p in result.patches)
    assert result.filtered["empty"] > 0
    none = GridSampler(min_tissue=0, roi_class=3).sample(
        SlideInput("a.svs", (4000, 3000), "train", objects, rois=()), rng()
    )
    assert none.skipped[0].reason == "no_roi"


# --- count vocabularies --------------------------------------------------------------------


def test_built_in_samplers_count_under_the_public_vocabularies() -> None:
    crowd = tuple(spot(1000 + 12 * (i % 10), 1000 + 12 * (i // 10), i + 1, r=4) for i in range(60))
    spread = tuple(spot(500 + 700 * i, 1000, i + 1) for i in range(5))
    roi = Roi(points=(Point(0, 0), Point(900, 900)))
    slide = SlideInput("a.svs", (4000, 3000), "train", crowd, tissue=_half_tissue())
    results = [
        ObjectSampler(per_slide=3, max_tries=3).sample(slide, rng()),
        ObjectSampler(max_per_slide=2).sample(
            SlideInput("c.svs", (4000, 3000), "train", spread), rng()
        ),
        ObjectSampler(roi_class=1).sample(attrs.evolve(slide, rois=(roi,)), rng()),
        GridSampler(min_tissue=0.5, skip_empty=True).sample(slide, rng()),
        BackgroundSampler(per_slide=3).sample(slide, rng()),
        BackgroundSampler(min_tissue=0, per_slide=1, max_tries=3).sample(
            SlideInput("b.svs", (512, 512), "train"), rng(), taken=[Box(0, 0, 512, 512)]
        ),
    ]
    rejections = [key for r in results for key in r.rejections]
    filtered = [key for r in results for key in r.filtered]
    assert {"too_many_boxes", "overlap"} <= set(rejections)
    assert {"capped", "outside_roi", "low_tissue", "empty"} <= set(filtered)
    assert all(isinstance(key, RejectionReason) for key in rejections)
    assert all(isinstance(key, FilterReason) for key in filtered)
