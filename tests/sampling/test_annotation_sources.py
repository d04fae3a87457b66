"""Planning from QuPath GeoJSON equals planning from a SlideRunner database with the same
points and classes, whatever order each source stores them in (issue 11).

The GeoJSON is written the way QuPath 0.4-0.7 exports a Points annotation: one
``MultiPoint`` feature per class (``qupath-core`` ``QuPathTypeAdapters.java``,
``PathObjectTypeAdapter.write``; ``ROITypeAdapters.java`` for the geometry).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wsi2rek.annotations import QuPathGeoJSON
from wsi2rek.cli import main
from wsi2rek.labels import LabelMap
from wsi2rek.sampling import ObjectSampler, plan_dataset
from wsi2rek.testing import area, make_slide, make_sliderunner_db, spot

MF, LA = "mitotic figure", "look-alike"
CELLS = {
    "one.svs": [(400, 400, MF), (900, 500, LA), (1300, 900, MF), (450, 700, MF)],
    "two.svs": [(500, 600, MF), (1000, 300, LA)],
}
IDS = {"look-alike": 1, "mitotic figure": 2}


def _qupath_feature(name: str, points: list[tuple[int, int]]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": f"00000000-0000-4000-8000-{abs(hash(name)) % 10**12:012d}",
        "geometry": {"type": "MultiPoint", "coordinates": [[x, y] for x, y in points]},
        "properties": {
            "objectType": "annotation",
            "classification": {"name": name, "color": [255, 0, 0]},
        },
    }


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, Path]:
    """Slides, a GeoJSON folder (grouped by class) and two databases (two row orders)."""
    root = tmp_path_factory.mktemp("sources")
    slides = root / "slides"
    slides.mkdir()
    rows = []
    for uid, (name, cells) in enumerate(CELLS.items(), start=1):
        make_slide(slides / name, 1600, 1200, cells=[(x, y) for x, y, _ in cells], seed=uid)
        groups: dict[str, list[tuple[int, int]]] = {}
        for x, y, label in cells:
            groups.setdefault(label, []).append((x, y))
        features = [_qupath_feature(n, pts[::-1]) for n, pts in sorted(groups.items())]
        (slides / f"{Path(name).stem}.geojson").write_text(json.dumps(features, indent=2))
        rows += [spot(uid, x, y, IDS[label]) for x, y, label in cells]
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    classes = {v: k for k, v in IDS.items()}
    dbs = [
        make_sliderunner_db(root / f"cells{i}.sqlite", list(CELLS), order, classes=classes)
        for i, order in enumerate((rows, shuffled))
    ]
    return slides, slides, dbs[0], dbs[1]


def _patches(plan: Any) -> list[tuple[Any, ...]]:
    # Annotation uids differ between sources (QuPath has UUIDs); everything else must not.
    return [
        (p.slide, p.window, p.split, tuple((b.label, b.box, b.clipped) for b in p.boxes))
        for p in plan.patches
    ]


def test_geojson_and_sliderunner_give_the_same_plan_whatever_the_order(
    sources: tuple[Path, Path, Path, Path],
) -> None:
    slides, geojson, db, shuffled_db = sources
    sampler = ObjectSampler(patch_size=256, margin=16)
    kwargs: dict[str, Any] = {"sampler": sampler, "test_slides": ["two.svs"], "seed": 7}
    with QuPathGeoJSON(geojson) as q:
        labels = LabelMap.parse(
            ["mitotic figure=mitotic figure", "look-alike=look-alike"], classes=q.classes()
        )
        from_geojson = plan_dataset(q, slides, labels, **kwargs)
    sr_labels = {"mitotic figure": [2], "look-alike": [1]}
    from_db = plan_dataset(db, slides, sr_labels, **kwargs)
    from_shuffled = plan_dataset(shuffled_db, slides, sr_labels, **kwargs)
    assert len(from_db.patches) >= 4
    assert _patches(from_geojson) == _patches(from_db) == _patches(from_shuffled)


def test_a_qupath_region_restricts_sampling_by_class(tmp_path: Path) -> None:
    slides = tmp_path
    make_slide(slides / "one.svs", 1600, 1200, cells=[(400, 400), (1300, 900)], seed=1)
    tumor = {
        "type": "Feature",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[200, 200], [800, 200], [800, 800], [200, 800], [200, 200]]],
        },
        "properties": {
            "objectType": "annotation",
            "classification": {"name": "Tumor", "color": [9, 9, 9]},
        },
    }
    points = _qupath_feature("mitotic figure", [(400, 400), (1300, 900)])
    (slides / "one.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": [points, tumor]})
    )
    with QuPathGeoJSON(slides / "one.geojson") as q:
        by_name = {name: cid for cid, name in q.classes().items()}
        plan = plan_dataset(
            q,
            slides,
            {"mitotic figure": [by_name["mitotic figure"]]},
            sampler=ObjectSampler(patch_size=256, roi_class=by_name["Tumor"]),
        )
    centres = {(b.box.center.x, b.box.center.y) for p in plan.patches for b in p.boxes}
    assert (400, 400) in centres
    assert (1300, 900) not in centres


def _build(annotations: Path, slides: Path, out: Path, *labels: str) -> None:
    args = ["build", "--annotations", str(annotations), "--slides", str(slides), "--out", str(out)]
    for label in labels:
        args += ["--label", label]
    args += ["--test-slides", "two.svs", "--patch-size", "256", "--workers", "0", "--json"]
    assert main(args) == 0


@pytest.mark.slow
def test_build_from_geojson_equals_build_from_sliderunner(
    sources: tuple[Path, Path, Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slides, geojson, db, _ = sources
    # both plans stamp the same creation-date, as two reproducible builds would
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    _build(
        geojson, slides, tmp_path / "q", "mitotic figure=Mitotic Figure", "look-alike=look-alike"
    )
    _build(db, slides, tmp_path / "s", "mitotic figure=2", "look-alike=1")
    capsys.readouterr()
    for split in ("train", "test"):
        q = (tmp_path / "q" / f"{split}.manifest").read_text()
        s = (tmp_path / "s" / f"{split}.manifest").read_text()
        assert q.replace(str(tmp_path / "q"), "") == s.replace(str(tmp_path / "s"), "")
    assert sorted(p.name for p in (tmp_path / "q" / "images").rglob("*.png")) == sorted(
        p.name for p in (tmp_path / "s" / "images").rglob("*.png")
    )


@pytest.mark.slow
def test_an_unknown_class_name_is_one_clear_line(
    sources: tuple[Path, Path, Path, Path], tmp_path: Path
) -> None:
    slides, geojson, _, _ = sources
    proc = subprocess.run(
        [sys.executable, "-m", "wsi2rek", "build", "--annotations", str(geojson), "--slides",
         str(slides), "--out", str(tmp_path / "o"), "--label", "mitotic figure=Mitosis"],
        capture_output=True, text=True, check=False, timeout=180,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if x.strip()]
    assert "no class named 'Mitosis'" in line
    assert "'mitotic figure'" in line


@pytest.mark.slow
def test_info_of_a_geojson_file(sources: tuple[Path, Path, Path, Path]) -> None:
    _, geojson, _, _ = sources
    proc = subprocess.run(
        [sys.executable, "-m", "wsi2rek", "info", str(geojson / "one.geojson"), "--json"],
        capture_output=True, text=True, check=True, timeout=180,
    )  # fmt: skip
    info = json.loads(proc.stdout)
    assert info["kind"] == "qupath"
    assert info["slide_names"] == ["one.svs"]
    assert info["classes"] == {"1": "look-alike", "2": "mitotic figure"}
    assert info["annotations"]["by_class"] == {"1": 1, "2": 3, "unknown": 0}
    assert info["annotations"]["by_kind"]["SPOT"] == 4


@pytest.mark.slow
def test_evaluate_detections_takes_geojson_truth(
    sources: tuple[Path, Path, Path, Path], tmp_path: Path
) -> None:
    _, geojson, db, _ = sources
    detections = tmp_path / "det.csv"
    detections.write_text(
        "label,confidence,left,top,right,bottom\n"
        "mitotic figure,90,390,390,410,410\nmitotic figure,80,1290,890,1310,910\n"
    )
    results = []
    for truth, label in ((geojson, "mitotic figure=mitotic figure"), (db, "mitotic figure=2")):
        proc = subprocess.run(
            [sys.executable, "-m", "wsi2rek", "evaluate-detections", str(detections), "--truth",
             str(truth), "--slide", "one.svs", "--label", label, "--json"],
            capture_output=True, text=True, check=True, timeout=180,
        )  # fmt: skip
        results.append(json.loads(proc.stdout))
    assert results[0] == results[1]


def test_sliderunner_areas_still_plan(tmp_path: Path) -> None:
    # The canonical order sorts by geometry; areas and spots of one slide mix fine.
    make_slide(tmp_path / "one.svs", 1600, 1200, cells=[(400, 400)], seed=1)
    db = make_sliderunner_db(
        tmp_path / "a.sqlite",
        ["one.svs"],
        [area(1, (380, 380), (420, 420), 2), spot(1, 400, 400, 1)],
        classes={1: "look-alike", 2: "mitotic figure"},
    )
    plan = plan_dataset(db, tmp_path, {"mitotic figure": [2], "look-alike": [1]})
    assert plan.patches
