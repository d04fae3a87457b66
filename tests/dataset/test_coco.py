"""COCO (and YOLO) export of a built dataset, loaded back with pycocotools.

pycocotools (``pycocotools.coco.COCO``, the reference reader of the COCO format) must
load each split, and every box must equal the one in the Rekognition manifest.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pycocotools.coco import COCO

from wsi2rek.cli import main
from wsi2rek.dataset import Manifest, export_coco
from wsi2rek.errors import DatasetError
from wsi2rek.testing import make_slide, make_sliderunner_db, spot

CELLS = {
    "one.svs": [(400, 400, 2), (900, 500, 1), (1300, 900, 2), (430, 460, 2)],
    "two.svs": [(500, 600, 2), (1000, 300, 1)],
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("coco")
    slides = root / "slides"
    slides.mkdir()
    annotations = []
    for uid, (name, cells) in enumerate(CELLS.items(), start=1):
        make_slide(slides / name, 1600, 1200, cells=[(x, y) for x, y, _ in cells], seed=uid)
        annotations += [spot(uid, x, y, label) for x, y, label in cells]
    db = make_sliderunner_db(
        root / "cells.sqlite",
        list(CELLS),
        annotations,
        classes={1: "look-alike", 2: "mitotic figure"},
    )
    out = root / "dataset"
    code = main(
        ["build", "--db", str(db), "--slides", str(slides), "--out", str(out),
         "--label", "mitotic figure=2", "--label", "look-alike=1", "--test-slides", "two.svs",
         "--patch-size", "256", "--workers", "0", "--json"]
    )  # fmt: skip
    assert code == 0
    return out


def test_pycocotools_loads_every_split_and_every_box_matches_the_manifest(
    dataset: Path, tmp_path: Path
) -> None:
    written = export_coco(dataset, tmp_path / "coco")
    assert sorted(written) == ["test", "train"]
    for split, path in written.items():
        coco = COCO(str(path))
        manifest = Manifest.read(dataset / f"{split}.manifest")
        names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
        assert sorted(names.values()) == ["look-alike", "mitotic figure"]
        assert len(coco.getImgIds()) == len(manifest.lines)
        for image_id, line in zip(sorted(coco.getImgIds()), manifest.lines, strict=True):
            (image,) = coco.loadImgs(image_id)
            assert image["file_name"] == line.source_ref
            assert (dataset / image["file_name"]).is_file()
            assert (image["width"], image["height"]) == (line.width, line.height)
            anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
            got = [(names[a["category_id"]], *a["bbox"]) for a in anns]
            want = [(label, *box[1:]) for label, box in zip(line.labels, line.boxes, strict=True)]
            assert got == want
        assert coco.getAnnIds()  # there are boxes to compare


def test_category_ids_agree_between_splits(dataset: Path, tmp_path: Path) -> None:
    written = export_coco(dataset, tmp_path)
    cats = [json.loads(p.read_text())["categories"] for p in written.values()]
    assert cats[0] == cats[1]
    assert [c["id"] for c in cats[0]] == [1, 2]


def test_yolo_labels_are_normalised_centres(dataset: Path, tmp_path: Path) -> None:
    export_coco(dataset, tmp_path, yolo=True)
    classes = (tmp_path / "yolo" / "classes.txt").read_text().split("\n")[:-1]
    manifest = Manifest.read(dataset / "train.manifest")
    line = next(line for line in manifest.lines if line.boxes)
    stem = Path(line.source_ref).stem
    rows = (tmp_path / "yolo" / "labels" / "train" / f"{stem}.txt").read_text().splitlines()
    assert len(rows) == len(line.boxes)
    cls, cx, cy, w, h = rows[0].split()
    _, left, top, width, height = line.boxes[0]
    assert classes[int(cls)] == line.labels[0]
    assert float(cx) == pytest.approx((left + width / 2) / line.width, abs=1e-6)
    assert float(cy) == pytest.approx((top + height / 2) / line.height, abs=1e-6)
    assert float(w) == pytest.approx(width / line.width, abs=1e-6)
    assert float(h) == pytest.approx(height / line.height, abs=1e-6)


def test_existing_output_is_kept_unless_overwrite(dataset: Path, tmp_path: Path) -> None:
    export_coco(dataset, tmp_path)
    (tmp_path / "train.json").write_text("mine")
    with pytest.raises(DatasetError, match="already exists"):
        export_coco(dataset, tmp_path)
    assert (tmp_path / "train.json").read_text() == "mine"
    export_coco(dataset, tmp_path, overwrite=True)
    assert json.loads((tmp_path / "train.json").read_text())["images"]


def test_the_cli_exports_and_reports_bad_input_in_one_line(dataset: Path, tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "wsi2rek", "export", str(dataset), "--format", "coco",
         "--out", str(tmp_path / "c"), "--yolo", "--json"],
        capture_output=True, text=True, check=True, timeout=180,
    )  # fmt: skip
    assert sorted(json.loads(ok.stdout)["files"]) == ["test", "train"]
    bad = subprocess.run(
        [sys.executable, "-m", "wsi2rek", "export", str(tmp_path), "--out", str(tmp_path / "x")],
        capture_output=True, text=True, check=False, timeout=180,
    )  # fmt: skip
    assert bad.returncode != 0
    assert "Traceback" not in bad.stderr
    (line,) = [x for x in bad.stderr.splitlines() if x.strip()]
    assert "no train.manifest" in line
