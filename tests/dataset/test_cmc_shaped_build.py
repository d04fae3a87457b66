"""The MITOS_WSI_CMC recipe, scaled down, end to end through the command line.

The recipe (docs/howto/mitos-wsi-cmc.md): one window per object on the annotated slides,
the paper's test slides named with ``--test-slides``, which put about 3,300 mitotic
figures on the test side. Here three train slides and three test slides (chosen by
``--test-slides``) of synthetic tissue with a SlideRunner database, and 1,200 mitotic
figures on the test slides, in 64 px patches so that the build stays cheap.

The developer guide's limits page: "Testing: Maximum number of images per label is 1000."
With the default cap the build must give a dataset ``wsi2rek validate DIR`` accepts, and
report the cap; without it (``--max-test-images-per-label 0``) ``wsi2rek validate``
must refuse the dataset with the quota's code.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from wsi2rek.rekognition import QUOTA, Code
from wsi2rek.testing import make_slide, make_sliderunner_db, spot

# two builds of ~1,300 patches and two validations, each a subprocess
pytestmark = pytest.mark.slow

TRAIN = ("train_a.svs", "train_b.svs", "train_c.svs")
TEST = ("test_a.svs", "test_b.svs", "test_c.svs")
GRID = 20  # 20 x 20 mitotic figures on each test slide: 1,200 on the test side
STEP = 48  # apart, so a 64 px window around one holds no other
MITOSIS, LOOKALIKE = 2, 1


@pytest.fixture(scope="module")
def cmc(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Six slides and a SlideRunner database of their mitotic figures and look-alikes."""
    folder = tmp_path_factory.mktemp("cmc")
    slides = folder / "slides"
    slides.mkdir()
    names = sorted((*TRAIN, *TEST))
    annotations = []
    for uid, name in enumerate(names, start=1):
        if name in TEST:
            side = 2 * STEP + GRID * STEP
            points = [(STEP + i * STEP, STEP + j * STEP) for i in range(GRID) for j in range(GRID)]
            annotations += [spot(uid, x, y, MITOSIS) for x, y in points]
        else:
            side = 600
            points = [(100 + 80 * i, 150 + 200 * (i % 2)) for i in range(6)]
            annotations += [
                spot(uid, x, y, MITOSIS if i % 2 else LOOKALIKE) for i, (x, y) in enumerate(points)
            ]
        make_slide(slides / name, side, side, seed=uid, tissue="full")
    db = make_sliderunner_db(
        folder / "cmc.sqlite", names, annotations, classes={1: "look-alike", 2: "mitotic figure"}
    )
    return db, slides


def _wsi2rek(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wsi2rek", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _build(cmc: tuple[Path, Path], out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    db, slides = cmc
    return _wsi2rek(
        "build",
        "--annotations",
        str(db),
        "--slides",
        str(slides),
        "--out",
        str(out),
        "--label",
        "mitotic figure=2",
        "--label",
        "look-alike=1",
        "--test-slides",
        ",".join(TEST),
        "--patch-size",
        "64",
        "--spot-radius",
        "8",
        "--workers",
        "2",
        "--json",
        *extra,
    )


def _test_images_per_label(out: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in (out / "test.manifest").read_text(encoding="utf-8").splitlines():
        line: dict[str, Any] = json.loads(text)
        counts.update(set(line["bounding-box-metadata"]["class-map"].values()))
    return counts


def test_the_capped_cmc_shaped_build_validates_and_reports_the_cap(
    cmc: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "ds"
    built = _build(cmc, out)
    assert built.returncode == 0, built.stderr
    summary = json.loads(built.stdout)
    cap = QUOTA.max_test_images_per_label
    left_out = GRID * GRID * len(TEST) - cap
    assert summary["test_cap"]["max_test_images_per_label"] == cap
    assert summary["test_cap"]["dropped_patches"] == left_out
    assert summary["test_cap"]["dropped_by_label"]["mitotic figure"] == left_out
    info = json.loads((out / "dataset.json").read_text(encoding="utf-8"))
    assert info["params"]["test_cap"]["dropped_patches"] == left_out
    assert info["skipped_by_reason"]["test_cap"] == left_out
    assert _test_images_per_label(out) == {"mitotic figure": cap}
    assert {p.name.split("_x")[0] for p in (out / "images" / "test").iterdir()} == {
        name.removesuffix(".svs") for name in TEST
    }

    checked = _wsi2rek("validate", str(out), "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_without_the_cap_validate_refuses_the_dataset_with_the_quota_code(
    cmc: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "uncapped"
    built = _build(cmc, out, "--max-test-images-per-label", "0")
    assert _test_images_per_label(out) == {"mitotic figure": GRID * GRID * len(TEST)}
    assert json.loads(built.stdout)["test_cap"]["max_test_images_per_label"] is None

    checked = _wsi2rek("validate", str(out))
    assert checked.returncode == 1
    assert Code.WSI2REK_TOO_MANY_TEST_IMAGES_PER_LABEL in checked.stdout
    assert "mitotic figure" in checked.stdout
