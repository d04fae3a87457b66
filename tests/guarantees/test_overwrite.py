"""``build --overwrite`` removes only what the previous build wrote (issue 10, "Data").

Before: ``overwrite`` deleted everything under ``images/`` and ``preview/``, including
the user's own files, and the error on a folder without ``dataset.json`` told the user
to pass ``--overwrite``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.guarantees._cli import assert_one_line_error, run_wsi2rek
from tests.guarantees.conftest import build_args
from wsi2rek.dataset import build_dataset
from wsi2rek.errors import DatasetMismatchError
from wsi2rek.geometry import Box
from wsi2rek.sampling import LabeledBox, PatchPlan, PatchSpec


def files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` and its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def plan_of(inputs: tuple[Path, Path], x: int) -> PatchPlan:
    """A two-patch plan of the shared slides; ``x`` moves the windows (another plan)."""
    slides = inputs[1]
    return PatchPlan(
        [
            PatchSpec(
                "one.svs",
                Box(x, 100, x + 128, 228),
                "train",
                [LabeledBox("cell", Box(x + 40, 140, x + 80, 180))],
            ),
            PatchSpec("two.svs", Box(x, 300, x + 128, 428), "test"),
        ],
        {"one.svs": str(slides / "one.svs"), "two.svs": str(slides / "two.svs")},
        ("cell",),
    )


@pytest.fixture
def built(inputs: tuple[Path, Path], tmp_path: Path) -> Path:
    """A dataset folder with previews, built from ``plan_of(inputs, 100)``."""
    out = tmp_path / "ds"
    build_dataset(plan_of(inputs, 100), out, workers=0)
    assert (out / "preview" / "one.png").is_file()
    return out


@pytest.mark.parametrize(
    "foreign",
    ["images/train/my-annotated.png", "images/notes.txt", "preview/figure-1.png", "images/x/y.png"],
)
def test_overwrite_refuses_when_foreign_files_are_present(
    inputs: tuple[Path, Path], built: Path, foreign: str
) -> None:
    (built / foreign).parent.mkdir(parents=True, exist_ok=True)
    (built / foreign).write_bytes(b"the user's own file")
    before = files(built)
    with pytest.raises(DatasetMismatchError, match="did not write") as info:
        build_dataset(plan_of(inputs, 300), built, workers=0, overwrite=True)
    assert foreign in str(info.value)
    assert files(built) == before  # nothing deleted, not even the old dataset's files


def test_overwrite_removes_exactly_the_old_dataset(inputs: tuple[Path, Path], built: Path) -> None:
    (built / "notes.txt").write_text("kept: not in images/ or preview/\n", encoding="utf-8")
    (built / "images" / "train" / ".one_x100.png.a1b2.tmp").write_bytes(b"half an image")
    (built / "train.s3.manifest").write_text("derived by the uploader\n", encoding="utf-8")
    build_dataset(plan_of(inputs, 300), built, workers=0, overwrite=True)
    after = files(built)
    assert after.pop("notes.txt") == b"kept: not in images/ or preview/\n"
    fresh = built.parent / "fresh"
    build_dataset(plan_of(inputs, 300), fresh, workers=0)
    expected = files(fresh)
    assert sorted(after) == sorted(expected)
    assert not any("x100" in name for name in after)


def test_a_folder_without_dataset_json_is_never_cleaned(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "holiday.png").write_bytes(b"not ours")
    with pytest.raises(DatasetMismatchError, match=r"no dataset\.json") as info:
        build_dataset(plan_of(inputs, 100), tmp_path, workers=0, overwrite=True)
    assert "overwrite" not in str(info.value)
    assert (tmp_path / "images" / "holiday.png").read_bytes() == b"not ours"


def test_overwrite_into_a_plain_folder_adds_and_deletes_nothing_else(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    (tmp_path / "report.docx").write_bytes(b"keep me")
    build_dataset(plan_of(inputs, 100), tmp_path, workers=0, overwrite=True)
    assert (tmp_path / "report.docx").read_bytes() == b"keep me"
    assert (tmp_path / "dataset.json").is_file()


@pytest.mark.parametrize("content", ['{"name": "my project"}', "[]", "not json"])
def test_a_dataset_json_that_is_not_ours_is_never_cleaned(
    inputs: tuple[Path, Path], built: Path, content: str
) -> None:
    (built / "dataset.json").write_text(content, encoding="utf-8")
    before = files(built)
    for overwrite in (False, True):
        with pytest.raises(DatasetMismatchError, match=r"is not a wsi2rek dataset\.json") as info:
            build_dataset(plan_of(inputs, 300), built, workers=0, overwrite=overwrite)
        assert "overwrite" not in str(info.value)
    assert files(built) == before


def test_cli_overwrite_with_a_foreign_file_is_one_line(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "ds"
    assert run_wsi2rek(*build_args(inputs, out), cwd=tmp_path).code == 0
    (out / "preview" / "poster.pdf").write_bytes(b"%PDF")
    before = files(out)
    result = run_wsi2rek(*build_args(inputs, out, "--seed", "7", "--overwrite"), cwd=tmp_path)
    assert_one_line_error(result, "build", "preview/poster.pdf", "nothing was deleted")
    assert files(out) == before


def test_cli_on_images_without_dataset_json_does_not_advise_overwrite(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "scan.png").write_bytes(b"user")
    result = run_wsi2rek(*build_args(inputs, tmp_path), cwd=tmp_path)
    assert_one_line_error(result, "build", "no dataset.json")
    assert "--overwrite" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images"]
