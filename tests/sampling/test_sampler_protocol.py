"""``plan_dataset(sampler=...)`` runs any object with the :class:`Sampler` protocol's members
(the built-in samplers included) and checks what a custom one returns; the plan it makes
builds like any other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

from wsi2rek.dataset import build_dataset
from wsi2rek.errors import SamplingError
from wsi2rek.geometry import Box
from wsi2rek.sampling import (
    BackgroundSampler,
    GridSampler,
    LabeledBox,
    ObjectSampler,
    PatchSpec,
    Sampler,
    SlideInput,
    SlideResult,
    plan_dataset,
)
from wsi2rek.testing import make_slide, make_sliderunner_db, spot

LABELS = {"mitotic figure": [2]}
CELLS = [(400, 400), (1500, 900), (2200, 1600)]


@attrs.frozen
class Centred:
    """A custom sampler: one window centred on each object, jittered by ``rng``."""

    patch_size: int = 256
    jitter: int = 8
    kind: str = "centred"
    roi_class: int | None = None
    needs_tissue: bool = False

    def sample(self, slide: SlideInput, rng: np.random.Generator) -> SlideResult:
        patches = []
        for obj in slide.objects:
            cx, cy = obj.box.center.x, obj.box.center.y
            dx, dy = (int(v) for v in rng.integers(-self.jitter, self.jitter + 1, 2))
            left, top = round(cx - self.patch_size / 2) + dx, round(cy - self.patch_size / 2) + dy
            window = Box(left, top, left + self.patch_size, top + self.patch_size)
            boxes = [LabeledBox(obj.label, obj.box.translate(-left, -top))]
            patches.append(PatchSpec(slide.name, window, slide.split, boxes, sampler=self.kind))
        return SlideResult(patches=tuple(patches))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "patch_size": self.patch_size, "jitter": self.jitter}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("protocol")
    slides = root / "slides"
    slides.mkdir()
    make_slide(slides / "a.svs", 2600, 2000, seed=1, cells=CELLS)
    make_slide(slides / "b.svs", 2600, 2000, seed=2, cells=CELLS)
    annotations = [spot(uid, x, y, 2) for uid in (1, 2) for x, y in CELLS]
    db = make_sliderunner_db(
        root / "cells.sqlite", ["a.svs", "b.svs"], annotations, classes={2: "mitotic figure"}
    )
    return db, slides


def test_built_in_samplers_are_samplers() -> None:
    assert isinstance(ObjectSampler(), Sampler)
    assert isinstance(GridSampler(), Sampler)
    assert isinstance(Centred(), Sampler)


def test_a_custom_sampler_plans_reproducibly_and_builds(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    db, slides = inputs
    plan = plan_dataset(db, slides, LABELS, sampler=Centred(), test_slides=["b.svs"], seed=4)
    again = plan_dataset(db, slides, LABELS, sampler=Centred(), test_slides=["b.svs"], seed=4)
    assert plan.fingerprint() == again.fingerprint()
    assert len(plan.patches) == 2 * len(CELLS)
    assert {p.sampler for p in plan.patches} == {"centred"}
    assert {(p.slide, p.split) for p in plan.patches} == {("a.svs", "train"), ("b.svs", "test")}
    assert plan.params["sampler"] == {"type": "centred", "patch_size": 256, "jitter": 8}
    summary = build_dataset(plan, tmp_path / "ds", workers=0, preview=False)
    assert summary.images == 2 * len(CELLS)
    assert (tmp_path / "ds" / "train.manifest").is_file()


class _Returns:
    """A sampler whose ``sample`` returns a fixed, wrong answer."""

    kind = "bad"
    patch_size = 256
    roi_class = None
    needs_tissue = False

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def sample(self, slide: SlideInput, rng: np.random.Generator) -> Any:
        return self.answer(slide) if callable(self.answer) else self.answer

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind}


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        ([], "returned a list; sample\\(\\) must return a SlideResult"),
        (
            lambda s: SlideResult((PatchSpec("other.svs", Box(0, 0, 256, 256), s.split),)),
            "patch of slide 'other.svs'",
        ),
        (
            lambda s: SlideResult((PatchSpec(s.name, Box(0, 0, 256, 256), "test"),)),
            "split 'test'",
        ),
        (
            lambda s: SlideResult((PatchSpec(s.name, Box(5000, 0, 5256, 256), s.split),)),
            "outside the 2600 x 2000 px slide",
        ),
    ],
    ids=["not-a-result", "other-slide", "other-split", "outside"],
)
def test_what_a_custom_sampler_returns_is_checked(
    inputs: tuple[Path, Path], answer: Any, match: str
) -> None:
    db, slides = inputs
    with pytest.raises(SamplingError, match=match) as info:
        plan_dataset(db, slides, LABELS, sampler=_Returns(answer))
    assert "sampler _Returns (kind 'bad') on slide a.svs" in info.value.message


@pytest.mark.parametrize("sampler", [object(), BackgroundSampler()], ids=["object", "background"])
def test_what_is_not_a_main_sampler_is_refused(inputs: tuple[Path, Path], sampler: Any) -> None:
    db, slides = inputs
    with pytest.raises(SamplingError, match="sampler must be an ObjectSampler, a GridSampler"):
        plan_dataset(db, slides, LABELS, sampler=sampler)
