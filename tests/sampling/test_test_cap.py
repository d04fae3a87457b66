"""The test split's cap at the service's test-images-per-label quota (issue 9).

Source of the rule: the Custom Labels developer guide's quota table allows at most 1,000
images per label in a test dataset (``wsi2rek.rekognition.QUOTA.max_test_images_per_label``,
the single owner of that figure); the validator flags a test manifest over it
(``WSI2REK_TOO_MANY_TEST_IMAGES_PER_LABEL``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import attrs
import pytest

from wsi2rek.annotations import Annotation
from wsi2rek.cli._build import render_summary
from wsi2rek.dataset import build_dataset, validate_manifest
from wsi2rek.errors import ParameterError
from wsi2rek.rekognition import QUOTA, Code
from wsi2rek.sampling import ObjectSampler, PatchPlan, plan_dataset
from wsi2rek.testing import make_slide, make_sliderunner_db, spot

LABELS = {"mitotic figure": [2], "look-alike": [1]}
CLASSES = {1: "look-alike", 2: "mitotic figure"}
SAMPLER = ObjectSampler(patch_size=64, margin=8)


def _grid(
    slide: int, n: int, label: int, *, start: int = 60, columns: int = 10
) -> list[Annotation]:
    return [
        spot(slide, start + 100 * (i % columns), start + 100 * (i // columns), label)
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """train.svs: 3 of each label; test.svs: 14 mitotic figures, 8 look-alikes, and 2
    pairs of one of each close together (patches with two labels)."""
    root = tmp_path_factory.mktemp("cap")
    slides = root / "slides"
    slides.mkdir()
    make_slide(slides / "train.svs", 800, 400, seed=1, tile=256)
    make_slide(slides / "test.svs", 1100, 600, seed=2, tile=256)
    annotations = [*_grid(1, 3, 2), *_grid(1, 3, 1, start=260)]
    annotations += [*_grid(2, 10, 2), *_grid(2, 4, 2, start=160), *_grid(2, 8, 1, start=260)]
    annotations += [spot(2, 560, 560, 2), spot(2, 580, 560, 1)]
    annotations += [spot(2, 760, 560, 2), spot(2, 780, 560, 1)]
    db = make_sliderunner_db(root / "cells.sqlite", ["train.svs", "test.svs"], annotations,
                             classes=CLASSES)  # fmt: skip
    return db, slides


def _plan(small: tuple[Path, Path], cap: int | None, seed: int = 0) -> PatchPlan:
    db, slides = small
    return plan_dataset(
        db, slides, LABELS, sampler=SAMPLER, test_slides=["test.svs"], seed=seed,
        spot_radius_px=8, max_test_images_per_label=cap,
    )  # fmt: skip


def _images_per_label(plan: PatchPlan) -> Counter[str]:
    return Counter(label for p in plan.split("test") for label in {b.label for b in p.boxes})


def test_cap_keeps_every_label_within_n_and_reports_what_it_left_out(
    small: tuple[Path, Path],
) -> None:
    full = _plan(small, None)
    # each pair gives two windows (one per object), each holding both labels
    assert _images_per_label(full) == {"mitotic figure": 18, "look-alike": 12}
    plan = _plan(small, 5)
    per_label = _images_per_label(plan)
    assert per_label == {"mitotic figure": 5, "look-alike": 5}  # greedy fills both to N
    assert plan.split("train") == full.split("train")  # train untouched
    assert set(plan.split("test")) <= set(full.split("test"))
    dropped = set(full.split("test")) - set(plan.split("test"))
    expected = Counter(lb for p in dropped for lb in {b.label for b in p.boxes})
    cap = plan.params["test_cap"]
    assert plan.params["max_test_images_per_label"] == 5
    assert (
        cap["dropped_patches"] == len(dropped) == len(full.split("test")) - len(plan.split("test"))
    )
    assert cap["dropped_by_label"] == {"mitotic figure": expected["mitotic figure"],
                                       "look-alike": expected["look-alike"]}  # fmt: skip
    assert plan.params["skipped"]["test_cap"] == len(dropped)
    assert sum(s.reason == "test_cap" for s in plan.skipped) == len(dropped)
    assert plan.params["patches"]["test"] == len(plan.split("test"))
    # The uncapped plan records that nothing was left out.
    assert full.params["test_cap"] == {
        "dropped_patches": 0, "dropped_by_label": {"mitotic figure": 0, "look-alike": 0},
    }  # fmt: skip
    assert full.params["max_test_images_per_label"] is None


def test_cap_is_seeded_and_part_of_the_fingerprint(small: tuple[Path, Path]) -> None:
    a, b = _plan(small, 5, seed=1), _plan(small, 5, seed=1)
    assert a.patches == b.patches
    assert a.fingerprint() == b.fingerprint()
    others = {_plan(small, 5, seed=s).split("test") for s in (2, 3, 4)}
    assert len(others | {a.split("test")}) > 1  # the seed chooses the subsample
    assert _plan(small, 6, seed=1).fingerprint() != a.fingerprint()
    # the default is the service quota: nothing to leave out here, but recorded
    default = plan_dataset(small[0], small[1], LABELS, sampler=SAMPLER, spot_radius_px=8,
                           test_slides=["test.svs"], seed=1)  # fmt: skip
    assert default.params["max_test_images_per_label"] == QUOTA.max_test_images_per_label
    assert default.patches == _plan(small, None, seed=1).patches
    assert default.fingerprint() != _plan(small, None, seed=1).fingerprint()


@pytest.mark.parametrize("bad", [0, -3, True, 2.5, "5"])
def test_bad_cap_is_refused(small: tuple[Path, Path], bad: object) -> None:
    with pytest.raises(ParameterError, match="max_test_images_per_label must be a positive int"):
        _plan(small, bad)  # type: ignore[arg-type]


@pytest.mark.slow
def test_capped_build_validates_and_is_independent_of_workers(
    small: tuple[Path, Path], tmp_path: Path
) -> None:
    quota = attrs.evolve(QUOTA, max_test_images_per_label=5)
    plan = _plan(small, 5)
    one = build_dataset(plan, tmp_path / "one", workers=0, preview=False)
    two = build_dataset(plan, tmp_path / "two", workers=2, preview=False)
    for name in ("train.manifest", "test.manifest", "patches.jsonl"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert one.ok
    assert two.ok
    assert one.test_cap == {"max_test_images_per_label": 5, **plan.params["test_cap"]}
    dropped = plan.params["test_cap"]["dropped_patches"]
    assert one.to_dict()["test_cap"]["dropped_patches"] == dropped > 0
    info = json.loads((tmp_path / "one" / "dataset.json").read_text())
    assert info["params"]["test_cap"] == plan.params["test_cap"]
    text = render_summary(one.to_dict())
    assert f"test cap: {plan.params['test_cap']['dropped_patches']} test images left out" in text
    report = validate_manifest(tmp_path / "one" / "test.manifest", test=True, limits=quota,
                               train=tmp_path / "one" / "train.manifest")  # fmt: skip
    assert report.ok, report.errors
    # Without the cap the same quota flags the test manifest: the check above can fail.
    build_dataset(_plan(small, None), tmp_path / "full", workers=0, preview=False)
    flagged = validate_manifest(tmp_path / "full" / "test.manifest", test=True, limits=quota)
    assert Code.WSI2REK_TOO_MANY_TEST_IMAGES_PER_LABEL in {e.code for e in flagged.errors}


@pytest.mark.slow
def test_default_cap_is_the_service_quota_of_1000(tmp_path: Path) -> None:
    """1,100 mitotic figures on the test slide: the default plan keeps 1,000 of them."""
    slides = tmp_path / "slides"
    slides.mkdir()
    make_slide(slides / "train.svs", 300, 300, seed=1, tile=256)
    make_slide(slides / "test.svs", 3400, 3400, seed=2, tile=512)
    annotations = [spot(1, 100, 100, 2), *_grid(2, 1100, 2, columns=34)]
    db = make_sliderunner_db(tmp_path / "cells.sqlite", ["train.svs", "test.svs"], annotations,
                             classes=CLASSES)  # fmt: skip
    plan = plan_dataset(db, slides, {"mitotic figure": [2]}, sampler=SAMPLER, spot_radius_px=8,
                        test_slides=["test.svs"], seed=7)  # fmt: skip
    assert len(plan.split("test")) == QUOTA.max_test_images_per_label == 1000
    assert plan.params["test_cap"] == {
        "dropped_patches": 100, "dropped_by_label": {"mitotic figure": 100},
    }  # fmt: skip


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wsi2rek", *args], capture_output=True, text=True, check=False
    )


@pytest.mark.slow
def test_cli_build_option(small: tuple[Path, Path], tmp_path: Path) -> None:
    db, slides = small
    base = ["build", "--db", str(db), "--slides", str(slides), "--label", "mitotic figure=2",
            "--label", "look-alike=1", "--test-slides", "test.svs", "--patch-size", "64",
            "--margin", "8", "--spot-radius", "8", "--workers", "1"]  # fmt: skip
    done = _cli(*base, "--out", str(tmp_path / "a"), "--max-test-images-per-label", "4", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["test_cap"]["max_test_images_per_label"] == 4
    assert data["splits"]["test"]["labels"] == {"mitotic figure": 4, "look-alike": 4}
    assert _cli("validate", str(tmp_path / "a")).returncode == 0
    off = _cli(*base, "--out", str(tmp_path / "b"), "--max-test-images-per-label", "0")
    assert off.returncode == 0, off.stderr
    assert "test cap" not in off.stdout
    info = json.loads((tmp_path / "b" / "dataset.json").read_text())
    assert info["params"]["max_test_images_per_label"] is None
    bad = _cli(*base, "--out", str(tmp_path / "c"), "--max-test-images-per-label", "-1")
    assert bad.returncode != 0
    assert "--max-test-images-per-label" in bad.stderr
