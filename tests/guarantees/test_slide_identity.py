"""A resumed build refuses a replaced slide instead of mixing pixels (issue 10, "Data").

Before: the dataset key held only the plan fingerprint (parameters and windows) and the
image options, so rerunning a build after a slide file was replaced by another file of
the same name silently kept the old images and cut the missing ones from the new file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.guarantees._cli import assert_one_line_error, run_wsi2rek
from wsi2rek.dataset import build_dataset
from wsi2rek.errors import DatasetMismatchError, SlideError
from wsi2rek.geometry import Box
from wsi2rek.sampling import LabeledBox, PatchPlan, PatchSpec
from wsi2rek.slides import open_slide, slide_identity
from wsi2rek.testing import make_slide, make_sliderunner_db, spot

CELLS = [(300, 300), (700, 500)]


def same_size_pair(folder: Path) -> tuple[Path, Path]:
    """Two different, readable slides padded with zeros to the same byte size.

    TIFF readers find everything through offsets, so trailing bytes are ignored: the
    second file is what a rescan of the same name and size would look like.
    """
    (folder / "a").mkdir()
    (folder / "b").mkdir()
    a = make_slide(folder / "a" / "s.svs", 1000, 800, cells=CELLS, seed=1)
    b = make_slide(folder / "b" / "s.svs", 1000, 800, cells=CELLS, seed=2)
    size = max(a.stat().st_size, b.stat().st_size) + 1000
    for path in (a, b):
        with path.open("ab") as fh:
            fh.write(bytes(size - path.stat().st_size))
    assert a.stat().st_size == b.stat().st_size
    with open_slide(b) as slide:
        assert slide.read_region(0, 0, 8, 8).shape == (8, 8, 3)
    return a, b


def plan_for(slide: Path) -> PatchPlan:
    return PatchPlan(
        [
            PatchSpec(
                "s.svs",
                Box(200, 200, 328, 328),
                "train",
                [LabeledBox("cell", Box(280, 280, 320, 320))],
            ),
            PatchSpec("s.svs", Box(600, 400, 728, 528), "train"),
        ],
        {"s.svs": str(slide)},
        ("cell",),
    )


def test_identity_ignores_path_and_modification_time(tmp_path: Path) -> None:
    a, _ = same_size_pair(tmp_path)
    copy = tmp_path / "elsewhere" / "renamed.svs"
    copy.parent.mkdir()
    shutil.copyfile(a, copy)
    os.utime(copy, (1_000_000_000, 1_000_000_000))
    assert slide_identity(copy) == slide_identity(a)


def test_identity_changes_with_the_content(tmp_path: Path) -> None:
    a, b = same_size_pair(tmp_path)
    assert slide_identity(a) != slide_identity(b)
    data = bytearray(a.read_bytes())
    for position in (10, len(data) - 10, len(data) // 2):  # header, end, a sampled block
        changed = bytearray(data)
        changed[position] ^= 0xFF
        other = tmp_path / f"changed-{position}.svs"
        other.write_bytes(changed)
        assert slide_identity(other) != slide_identity(a), position


def test_identity_of_a_missing_or_odd_path_is_a_slide_error(tmp_path: Path) -> None:
    with pytest.raises(SlideError, match="not found"):
        slide_identity(tmp_path / "missing.svs")
    with pytest.raises(SlideError, match="not a regular file"):
        slide_identity(tmp_path)


def test_resume_refuses_a_replaced_slide(tmp_path: Path) -> None:
    a, b = same_size_pair(tmp_path)
    out = tmp_path / "ds"
    build_dataset(plan_for(a), out, workers=0, preview=False)
    first = min((out / "images" / "train").iterdir())
    first.unlink()  # as if the build had been interrupted before this image
    before = {p.name: p.read_bytes() for p in (out / "images" / "train").iterdir()}
    shutil.copyfile(b, a)  # same name, same size, other pixels
    with pytest.raises(DatasetMismatchError, match="slide_identities") as info:
        build_dataset(plan_for(a), out, workers=0, preview=False)
    assert "s.svs" in str(info.value)
    assert {p.name: p.read_bytes() for p in (out / "images" / "train").iterdir()} == before


def test_a_moved_dataset_and_slides_resume(tmp_path: Path) -> None:
    a, _ = same_size_pair(tmp_path)
    build_dataset(plan_for(a), tmp_path / "ds", workers=0, preview=False)
    moved = tmp_path / "moved"
    shutil.copytree(tmp_path / "ds", moved / "ds")
    shutil.copytree(a.parent, moved / "slides")
    summary = build_dataset(plan_for(moved / "slides" / "s.svs"), moved / "ds", workers=0)
    assert (summary.written, summary.reused) == (0, 2)


def test_cli_rebuild_after_replacing_a_slide_is_one_line(tmp_path: Path) -> None:
    a, b = same_size_pair(tmp_path)
    db = make_sliderunner_db(
        tmp_path / "db.sqlite",
        ["s.svs"],
        [spot(1, x, y, 2) for x, y in CELLS],
        classes={2: "cell"},
    )
    args: list[str | Path] = [
        "build",
        "--db",
        db,
        "--slides",
        a.parent,
        "--out",
        tmp_path / "ds",
        "--label",
        "cell=2",
        "--patch-size",
        "128",
        "--workers",
        "0",
    ]
    assert run_wsi2rek(*args, cwd=tmp_path).code == 0
    shutil.copyfile(b, a)
    result = run_wsi2rek(*args, cwd=tmp_path)
    assert_one_line_error(result, "build", "slide_identities", "s.svs")
