"""``creation-date``: the UTC time a plan is made, fixed in the plan; ``SOURCE_DATE_EPOCH``.

The format is the developer guide's: the object-detection manifest page defines
``creation-date`` as "(Required) The Coordinated Universal Time (UTC) date and time that
the label was created", and its examples write it without a zone and with microseconds,
e.g. ``"2018-10-18T22:18:13.527256"`` (md-transform-coco.md, tm-debugging-json-line-errors.md
of github:awsdocs/amazon-rekognition-custom-labels-developer-guide). ``SOURCE_DATE_EPOCH``
follows https://reproducible-builds.org/specs/source-date-epoch/ (integer seconds since
1970-01-01 UTC, as ``date +%s`` prints; a malformed value is an error).
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.dataset.test_build import FailingExecutor, snapshot
from wsi2rek.dataset import DEFAULT_CREATION_DATE, Manifest, build_dataset
from wsi2rek.errors import DatasetMismatchError, ParameterError
from wsi2rek.sampling import ObjectSampler, PatchPlan, plan_dataset
from wsi2rek.testing import make_slide, make_sliderunner_db, spot

#: The guide's example value, and the shape every stamp must have.
GUIDE_EXAMPLE = "2018-10-18T22:18:13.527256"
GUIDE_SHAPE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}")
LABELS = {"mitotic figure": [2], "look-alike": [1]}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two small slides (one train, one test) and their SlideRunner database."""
    folder = tmp_path_factory.mktemp("world")
    slides = folder / "slides"
    slides.mkdir()
    cells = {"train.svs": [(200, 200), (500, 300), (300, 600)], "test.svs": [(250, 250)]}
    annotations = []
    for uid, (name, points) in enumerate(sorted(cells.items()), start=1):
        make_slide(slides / name, 800, 800, cells=points, seed=uid)
        annotations += [spot(uid, x, y, 2 if i % 2 == 0 else 1) for i, (x, y) in enumerate(points)]
    db = make_sliderunner_db(
        folder / "cells.sqlite",
        sorted(cells),
        annotations,
        classes={1: "look-alike", 2: "mitotic figure"},
    )
    return db, slides


def _plan(world: tuple[Path, Path]) -> PatchPlan:
    db, slides = world
    return plan_dataset(
        db, slides, LABELS, sampler=ObjectSampler(patch_size=128), test_slides=["test.svs"]
    )


def _dates(folder: Path) -> set[str]:
    return {
        line.creation_date
        for split in ("train", "test")
        for line in Manifest.read(folder / f"{split}.manifest").lines
    }


def test_plans_made_at_different_times_differ_only_in_their_date(
    world: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    before = datetime.now(UTC).replace(tzinfo=None)
    first = _plan(world)
    time.sleep(0.01)
    second = _plan(world)
    after = datetime.now(UTC).replace(tzinfo=None)
    a, b = first.params["creation_date"], second.params["creation_date"]
    assert a != b
    for stamp in (a, b):
        assert GUIDE_SHAPE.fullmatch(stamp), stamp
        assert before <= datetime.fromisoformat(stamp) <= after  # UTC, not local time
    assert first.params["creation_date_source"] == "clock"
    assert first.fingerprint() == second.fingerprint()  # the same patches, made later
    assert first.patches == second.patches


def test_source_date_epoch_gives_the_exact_guide_shaped_string(
    world: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # `date -u -d @1700000000`
    plan = _plan(world)
    assert plan.params["creation_date"] == "2023-11-14T22:13:20.000000"
    assert plan.params["creation_date_source"] == "SOURCE_DATE_EPOCH"
    assert GUIDE_SHAPE.fullmatch(GUIDE_EXAMPLE)
    build_dataset(plan, tmp_path / "ds", workers=0, preview=False)
    assert _dates(tmp_path / "ds") == {"2023-11-14T22:13:20.000000"}
    saved = PatchPlan.load(tmp_path / "ds" / "plan.json")
    assert saved.params["creation_date"] == "2023-11-14T22:13:20.000000"


def test_an_empty_source_date_epoch_counts_as_unset(
    world: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "")
    assert _plan(world).params["creation_date_source"] == "clock"


@pytest.mark.parametrize("value", ["abc", "1.5", "-1", " 1700000000", "1e9", "9" * 20, "9" * 5000])
def test_a_malformed_source_date_epoch_is_an_error_naming_the_variable(
    world: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    with pytest.raises(ParameterError, match=r"^environment variable SOURCE_DATE_EPOCH=") as err:
        _plan(world)
    assert "date +%s" in err.value.message
    assert "\n" not in err.value.message
    assert len(err.value.message) < 300  # a 5,000-digit value is not echoed whole


def test_same_bytes_whatever_the_worker_count(
    world: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    plan = _plan(world)
    build_dataset(plan, tmp_path / "w1", workers=1, preview=False)
    build_dataset(plan, tmp_path / "w2", workers=2, preview=False)
    assert snapshot(tmp_path / "w1") == snapshot(tmp_path / "w2")
    assert _dates(tmp_path / "w1") == {plan.params["creation_date"]}


def test_resuming_with_a_plan_made_later_keeps_the_first_date(
    world: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the command line does: it plans again on every run, so the clock moved."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = _plan(world)
    build_dataset(first, tmp_path / "reference", workers=0, preview=False)
    out = tmp_path / "ds"
    with pytest.raises(OSError, match="worker lost"):
        build_dataset(first, out, executor=FailingExecutor(ok=1), batch_size=1, preview=False)
    assert json.loads((out / "dataset.json").read_text())["status"] == "building"
    time.sleep(0.01)
    later = _plan(world)
    assert later.params["creation_date"] != first.params["creation_date"]
    summary = build_dataset(later, out, workers=0, preview=False)
    assert summary.reused == 1
    assert snapshot(out) == snapshot(tmp_path / "reference")
    assert _dates(out) == {first.params["creation_date"]}


def test_a_dataset_of_an_unstamped_plan_resumes_byte_identical(
    world: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan.json saved before plans were stamped has no creation_date: the old date stays."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    data = _plan(world).to_dict()
    for key in ("creation_date", "creation_date_source"):
        del data["params"][key]
    old = PatchPlan.from_dict(data)
    out = tmp_path / "ds"
    build_dataset(old, out, workers=0, preview=False)
    assert _dates(out) == {DEFAULT_CREATION_DATE}
    assert "creation_date" not in PatchPlan.load(out / "plan.json").params
    before = snapshot(out)
    summary = build_dataset(_plan(world), out, workers=0, preview=False)  # a stamped plan
    assert summary.written == 0
    assert snapshot(out) == before


def test_a_different_source_date_epoch_is_not_mixed_into_a_dataset(
    world: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    build_dataset(_plan(world), tmp_path / "ds", workers=0, preview=False)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000001")
    with pytest.raises(DatasetMismatchError, match=r"creation_date: '2023-11-14T22:13:20\.000000"):
        build_dataset(_plan(world), tmp_path / "ds", workers=0, preview=False)


def test_overwrite_takes_the_new_plans_date(
    world: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    build_dataset(_plan(world), tmp_path / "ds", workers=0, preview=False)
    time.sleep(0.01)
    later = _plan(world)
    build_dataset(later, tmp_path / "ds", workers=0, preview=False, overwrite=True)
    assert _dates(tmp_path / "ds") == {later.params["creation_date"]}


def test_an_explicit_creation_date_wins(
    world: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    plan = _plan(world)
    cest = timezone(timedelta(hours=2))
    build_dataset(
        plan,
        tmp_path / "a",
        workers=0,
        preview=False,
        creation_date=datetime(2024, 5, 1, 12, tzinfo=cest),
    )
    assert _dates(tmp_path / "a") == {"2024-05-01T10:00:00.000000"}  # written in UTC
    build_dataset(plan, tmp_path / "b", workers=0, preview=False, creation_date=GUIDE_EXAMPLE)
    assert _dates(tmp_path / "b") == {GUIDE_EXAMPLE}
