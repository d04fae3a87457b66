"""Plan-level properties over random databases on one real (synthetic) slide file."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hypothesis_profiles import examples
from wsi2rek.geometry import Box
from wsi2rek.sampling import EdgePolicy, ObjectSampler, Placement, classify, plan_dataset
from wsi2rek.testing import make_image, make_sliderunner_db, spot

SIZE = (1800, 1400)


@pytest.fixture(scope="module")
def slide_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("slides")
    make_image(folder / "one.png", *SIZE)
    make_image(folder / "two.png", *SIZE)
    return folder


points = st.lists(
    st.tuples(st.integers(0, 1), st.floats(-30, SIZE[0] + 30), st.floats(-30, SIZE[1] + 30),
              st.sampled_from([1, 2, 3])),
    max_size=25,
)  # fmt: skip


@examples(15, function_scoped_fixtures=True)
@given(
    annotations=points,
    seed=st.integers(0, 1000),
    policy=st.sampled_from(["reject", "clip", "drop"]),
)
def test_plans_are_reproducible_leak_free_and_honest(
    slide_dir: Path,
    annotations: list[tuple[int, float, float, int]],
    seed: int,
    policy: EdgePolicy,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = make_sliderunner_db(
            Path(tmp) / "db.sqlite",
            ["one.png", "two.png"],
            [spot(s + 1, x, y, c) for s, x, y, c in annotations],
            classes={1: "look-alike", 2: "mitotic figure", 3: "other"},
        )
        sampler = ObjectSampler(edge_policy=policy, max_tries=5)
        labels = {"mitotic figure": [2], "look-alike": [1]}
        plan = plan_dataset(db, slide_dir, labels, sampler=sampler, seed=seed, test_fraction=0.5)
        again = plan_dataset(db, slide_dir, labels, sampler=sampler, seed=seed, test_fraction=0.5)
    assert plan.fingerprint() == again.fingerprint()  # same seed -> same plan
    train, test = plan.params["split"]["train"], plan.params["split"]["test"]
    assert len(train) == len(test) == 1  # one slide each side, never both
    assert {p.slide for p in plan.split("train")} <= set(train)
    assert {p.slide for p in plan.split("test")} <= set(test)
    bounds = Box(0, 0, *SIZE)
    n_cut = 0
    for p in plan.patches:
        assert bounds.contains(p.window)
        assert all(p.window.contains(b.box) for b in p.boxes)
        cut = [o for o in plan.objects[p.slide]
               if classify(o.box, p.window, 16, bounds) is Placement.CROSSING]  # fmt: skip
        if policy == "reject":
            assert not cut
        n_cut += len(cut)
    dropped = sum(plan.params["dropped_objects"].values())
    assert dropped == (n_cut if policy == "drop" else 0)
    ignored = sum(plan.params["ignored_classes"].values())
    accounted = sum(len(v) for v in plan.objects.values()) + ignored
    accounted += plan.params["skipped"].get("outside_slide", 0)
    accounted += plan.params["skipped"].get("box_too_small", 0)
    assert accounted == len(annotations)  # every annotation is an object, ignored or skipped
