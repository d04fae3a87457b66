"""detect_slide end to end on synthetic slides: borders, F1, rate limit, cache, errors."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.recording import Recorder
from wsi2rek.detection import Detection, RGBImage
from wsi2rek.errors import DetectionCacheError, DetectionError, RegionError, Wsi2RekWarning
from wsi2rek.geometry import Box, Point
from wsi2rek.inference import (
    BlobDetector,
    SlideDetections,
    detect_slide,
    detector_id,
    evaluate_detections,
    ground_truth_from_db,
)
from wsi2rek.slides import open_slide
from wsi2rek.testing import make_image, make_slide

# The cell slide is all tissue, which an Otsu tissue mask cannot separate from glass, so
# these runs read every tile; tissue skipping has its own test on a slide with glass.
TILING: dict[str, Any] = {"tile_size": 512, "overlap": 64, "tissue_only": False}


class CountingDetector:
    """Wraps a detector: counts calls, optionally sleeps or fails."""

    def __init__(
        self,
        inner: BlobDetector | None = None,
        *,
        sleep: float = 0.0,
        fail_after: int | None = None,
    ) -> None:
        self.inner = inner or BlobDetector()
        self.sleep = sleep
        self.fail_after = fail_after
        self.calls = 0
        self.shapes: list[tuple[int, ...]] = []
        self._lock = threading.Lock()
        self.cache_id = "counting-blob"

    def detect(self, image: RGBImage, /) -> Sequence[Detection]:
        with self._lock:
            self.calls += 1
            self.shapes.append(image.shape)
            if self.fail_after is not None and self.calls > self.fail_after:
                raise RuntimeError("model endpoint went away")
        if self.sleep:
            time.sleep(self.sleep)
        return self.inner.detect(image)


@pytest.fixture(scope="module")
def clean(cell_slide: Path) -> SlideDetections:
    """One plain run of the demo detector over the cell slide, shared by several tests."""
    return detect_slide(cell_slide, BlobDetector(), **TILING)


def _centres(result: SlideDetections) -> list[Point]:
    return [d.box.center for d in result.detections]


def test_cells_on_tile_borders_and_corners_are_detected_exactly_once(
    border_cells: tuple[tuple[int, int], ...], clean: SlideDetections
) -> None:
    result = clean
    assert result.tiles_total == 20
    assert result.tiles_run == 20
    assert len(result) == len(border_cells)
    assert result.raw_detections > len(border_cells)  # the overlaps did see duplicates
    centres = _centres(result)
    for x, y in border_cells:
        near = [c for c in centres if c.distance(Point(x, y)) <= 8]
        assert len(near) == 1, f"cell at {(x, y)} found {len(near)} times"


def test_f1_is_one_against_the_sliderunner_ground_truth(cell_slide: Path, cell_db: Path) -> None:
    result = detect_slide(cell_slide, BlobDetector(), **TILING, workers=2)
    truth = ground_truth_from_db(cell_db, "cells.svs", {"mitotic figure": [2]})
    evaluation = evaluate_detections(result, truth["mitotic figure"])
    assert evaluation.overall.fp == 0
    assert evaluation.overall.fn == 0
    assert evaluation.f1 == 1.0


def test_plain_callables_and_open_slides_are_accepted(
    border_cells: tuple[tuple[int, int], ...], cell_slide: Path
) -> None:
    blob = BlobDetector()

    def detect(image: RGBImage) -> list[Detection]:
        return list(blob.detect(image))

    with open_slide(cell_slide) as slide:
        result = detect_slide(slide, detect, **TILING)
        assert slide.dimensions == (2000, 1500)  # still usable: not closed by detect_slide
    assert len(result) == len(border_cells)


def test_results_do_not_depend_on_the_workers(cell_slide: Path, clean: SlideDetections) -> None:
    one = detect_slide(cell_slide, BlobDetector(), **TILING, workers=1)
    assert one.detections == clean.detections  # the shared run used 4 threads


def test_tps_limit_is_respected_and_nearly_reached(cell_slide: Path) -> None:
    # Small tiles keep decoding cheap, so the limiter (not the CPU) sets the pace.
    detector = CountingDetector(BlobDetector(min_radius=2), sleep=0.01)
    stamps: list[float] = []
    inner = detector.detect

    def timed(image: RGBImage) -> Sequence[Detection]:
        stamps.append(time.perf_counter())
        return inner(image)

    result = detect_slide(
        cell_slide, timed, tile_size=128, overlap=16, tissue_only=False, roi=Box(0, 0, 1000, 600),
        workers=4, max_tps=40.0,
    )  # fmt: skip
    n = detector.calls
    assert n == result.tiles_run == result.tiles_total > 40
    stamps.sort()
    # n calls need n - 1 intervals of 25 ms: never faster than the limit.
    assert stamps[-1] - stamps[0] >= (n - 1) / 40.0 - 0.01
    assert result.achieved_tps is not None
    assert result.achieved_tps <= 40.0 * 1.03, result.achieved_tps
    # Loose: CI machines are shared; bench/detect_throughput.py measures the ratio closely.
    assert result.achieved_tps >= 40.0 * 0.6, result.achieved_tps
    assert result.max_tps == 40.0


def test_min_confidence_drops_weak_detections(cell_slide: Path, clean: SlideDetections) -> None:
    everything = clean
    cut = min(d.confidence for d in everything.detections)
    fewer = detect_slide(cell_slide, BlobDetector(), **TILING, min_confidence=cut + 1e-6)
    assert len(fewer) == len(everything) - 1
    assert len(everything.above(cut + 1e-6)) == len(fewer)


def test_level_one_boxes_come_back_in_level0_pixels(
    border_cells: tuple[tuple[int, int], ...], cell_slide: Path
) -> None:
    detector = CountingDetector(BlobDetector(min_radius=3))
    result = detect_slide(
        cell_slide, detector, tile_size=256, overlap=32, level=1, tissue_only=False
    )
    assert all(max(shape[:2]) <= 256 for shape in detector.shapes)
    inside = [(x, y) for x, y in border_cells if x > 20]
    truth = [Point(x, y) for x, y in inside]
    found = [d for d in result.detections if d.box.center.x > 20]
    assert evaluate_detections(found, truth, radius_px=10).f1 == 1.0
    assert all(d.box.width > 15 for d in found)  # level-1 boxes were scaled by 2


def test_roi_limits_the_run(border_cells: tuple[tuple[int, int], ...], cell_slide: Path) -> None:
    roi = Box(0, 0, 700, 700)
    result = detect_slide(cell_slide, BlobDetector(), **TILING, roi=roi)
    assert result.tiles_total == 4
    assert all(roi.contains(d.box) for d in result.detections)
    expected = [c for c in border_cells if c[0] - 12 < 700 and c[1] - 12 < 700]  # incl. cut ones
    assert len(result) == len(expected)


def test_tiles_without_tissue_are_skipped_and_counted(tmp_path: Path) -> None:
    path = make_slide(tmp_path / "glass.svs", 2000, 1500, tissue="blobs", seed=3)
    detector = CountingDetector()
    result = detect_slide(path, detector, tile_size=512, overlap=64, min_tissue=0.5)
    assert result.tiles_skipped > 0
    assert detector.calls == result.tiles_run == result.tiles_total - result.tiles_skipped
    everything = detect_slide(path, detector, **TILING)
    assert everything.tiles_skipped == 0
    assert everything.tiles_run == 20


def test_cache_resume_calls_the_detector_only_for_missing_tiles(
    cell_slide: Path, tmp_path: Path, clean: SlideDetections
) -> None:
    cache = tmp_path / "run.jsonl"
    failing = CountingDetector(fail_after=7)
    with pytest.raises(DetectionError, match="model endpoint went away") as info:
        detect_slide(cell_slide, failing, **TILING, workers=1, cache=cache)
    assert info.value.tile is not None
    lines = cache.read_text().splitlines()
    assert len(lines) == 1 + 7  # header + the seven tiles done before the failure

    resumed = CountingDetector()
    result = detect_slide(cell_slide, resumed, **TILING, workers=3, cache=cache)
    assert resumed.calls == 20 - 7
    assert (result.tiles_cached, result.tiles_run) == (7, 13)
    assert result.detections == clean.detections

    again = CountingDetector()
    third = detect_slide(cell_slide, again, **TILING, cache=cache)
    assert again.calls == 0
    assert third.tiles_cached == 20
    assert third.detections == clean.detections


def test_a_half_written_last_line_is_dropped_and_rerun(
    border_cells: tuple[tuple[int, int], ...], cell_slide: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "run.jsonl"
    detect_slide(
        cell_slide,
        CountingDetector(fail_after=3),
        **TILING,
        workers=1,
        cache=cache,
        on_error="skip",
    )
    with cache.open("a") as fh:
        fh.write('{"tile": [0, 0, 5')  # an interrupted write
    resumed = CountingDetector()
    result = detect_slide(cell_slide, resumed, **TILING, cache=cache)
    assert resumed.calls == 20 - 3
    assert len(result) == len(border_cells)
    for line in cache.read_text().splitlines():
        json.loads(line)  # every line is whole again


def test_a_cache_from_other_parameters_is_refused(cell_slide: Path, tmp_path: Path) -> None:
    cache = tmp_path / "run.jsonl"
    detect_slide(cell_slide, CountingDetector(), **TILING, cache=cache)
    before = cache.read_bytes()
    with pytest.raises(DetectionCacheError, match=r"overlap: 64 -> 96"):
        detect_slide(
            cell_slide,
            CountingDetector(),
            tile_size=512,
            overlap=96,
            tissue_only=False,
            cache=cache,
        )
    with pytest.raises(DetectionCacheError, match="detector"):
        detect_slide(cell_slide, BlobDetector(threshold=100), **TILING, cache=cache)
    assert cache.read_bytes() == before
    not_a_cache = tmp_path / "notes.jsonl"
    not_a_cache.write_text("hello\n")
    with pytest.raises(DetectionCacheError, match="not a wsi2rek detection cache"):
        detect_slide(cell_slide, BlobDetector(), **TILING, cache=not_a_cache)


def test_detector_errors_name_the_tile_or_are_skipped(cell_slide: Path) -> None:
    def broken(image: RGBImage) -> list[Detection]:
        if image[0, 0, 0] >= 0:
            raise ValueError("bad tile")
        return []

    with pytest.raises(DetectionError, match=r"tile at level-0 .* ValueError: bad tile") as info:
        detect_slide(cell_slide, broken, **TILING)
    assert info.value.tile is not None
    assert info.value.tile[2:] == (512, 512)
    skipped = detect_slide(cell_slide, broken, **TILING, on_error="skip")
    assert skipped.tiles_failed == 20
    assert len(skipped.failed) == 20
    assert len(skipped) == 0


def test_a_detector_returning_the_wrong_type_is_reported(cell_slide: Path) -> None:
    def wrong(image: RGBImage) -> list[tuple[int, int]]:
        return [(1, 2)]

    with pytest.raises(DetectionError, match=r"must return wsi2rek\.Detection"):
        detect_slide(cell_slide, wrong, **TILING)  # type: ignore[arg-type]


def test_boxes_overshooting_the_tile_are_clipped(cell_slide: Path) -> None:
    def overshoot(image: RGBImage) -> list[Detection]:
        h, w = image.shape[:2]
        return [Detection("edge", 50, Box(w - 5, h - 5, w + 50, h + 50))]

    result = detect_slide(cell_slide, overshoot, tile_size=1024, overlap=128, tissue_only=False)
    width, height = 2000, 1500
    assert all(d.box.right <= width and d.box.bottom <= height for d in result.detections)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"tile_size": 512, "overlap": 512}, RegionError, "overlap"),
        ({"tile_size": 8}, RegionError, "smallest tile side, 16 px"),
        ({"level": 9}, RegionError, "level 9"),
        ({"workers": 0}, DetectionError, "workers"),
        ({"max_tps": 0}, DetectionError, "max_tps"),
        ({"on_error": "ignore"}, DetectionError, "on_error"),
        ({"min_tissue": 2}, DetectionError, "min_tissue"),
    ],
)
def test_bad_options_are_refused(
    cell_slide: Path, kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        detect_slide(cell_slide, BlobDetector(), **{"tissue_only": False, **kwargs})  # type: ignore[arg-type]


def test_not_a_detector_is_refused(cell_slide: Path) -> None:
    with pytest.raises(DetectionError, match="detect"):
        detect_slide(cell_slide, 42)  # type: ignore[arg-type]


def test_summary_dict(border_cells: tuple[tuple[int, int], ...], clean: SlideDetections) -> None:
    result = clean
    summary = result.to_dict()
    assert summary["detections"] == len(border_cells)
    assert summary["by_label"] == {"mitotic figure": len(border_cells)}
    assert summary["tiles"]["total"] == 20
    json.dumps(summary)
    assert "cells.svs" in repr(result)
    assert np.isfinite(result.elapsed_s)


def test_detector_identity_for_caches() -> None:
    class Model:
        arn = "arn:aws:rekognition:us-east-1:1:project/p/version/v/1"

        def __init__(self, status: str) -> None:
            self.status = status

        def __repr__(self) -> str:
            return f"Model(status={self.status})"

    assert detector_id(Model("STARTING")) == detector_id(Model("RUNNING"))
    assert detector_id(BlobDetector(threshold=100)) != detector_id(BlobDetector())
    assert detector_id(detector_id) == "wsi2rek.inference._slide:detector_id"

    class Plain:
        pass

    assert " at 0x" not in detector_id(Plain())


def test_progress_bar_goes_to_stderr(cell_slide: Path, capsys: pytest.CaptureFixture[str]) -> None:
    detect_slide(cell_slide, BlobDetector(), **TILING, roi=Box(0, 0, 600, 600), progress=True)
    assert "tile" in capsys.readouterr().err


def test_a_bad_result_never_reaches_the_cache(cell_slide: Path, tmp_path: Path) -> None:
    def wrong(image: RGBImage) -> list[str]:
        return ["not a detection"]

    cache = tmp_path / "run.jsonl"
    with pytest.raises(DetectionError, match="must return"):
        detect_slide(cell_slide, wrong, **TILING, cache=cache)  # type: ignore[arg-type]
    assert len(cache.read_text().splitlines()) == 1  # the header only


def test_plain_images_run_through_the_pillow_backend(tmp_path: Path) -> None:
    cells = [(100, 100), (250, 300), (640, 200)]
    path = make_image(tmp_path / "cells.png", 800, 600, cells=cells)
    result = detect_slide(path, BlobDetector(), tile_size=256, overlap=48, tissue_only=False)
    assert result.tiles_total == 12
    assert evaluate_detections(result, [Point(x, y) for x, y in cells]).f1 == 1.0


def test_a_run_where_no_tile_has_tissue_warns(tmp_path: Path) -> None:
    blank = tmp_path / "glass.png"
    Image.new("RGB", (2000, 1500), (242, 242, 245)).save(blank)  # bare glass, no tissue
    with pytest.warns(Wsi2RekWarning, match="tissue_only=False"):
        result = detect_slide(blank, BlobDetector(), tile_size=512, overlap=64)
    assert result.tiles_skipped == result.tiles_total > 0
    assert len(result) == 0


def test_progress_comes_from_tqdm_auto_so_notebooks_render_it(
    cell_slide: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tqdm.auto

    made: list[object] = []

    class Recording(tqdm.auto.tqdm):  # type: ignore[type-arg]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append(kwargs.get("unit"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(tqdm.auto, "tqdm", Recording)
    detect_slide(cell_slide, BlobDetector(), **TILING, roi=Box(0, 0, 600, 600), progress=True)
    assert made == ["tile"]


def test_a_progress_subscriber_sees_cached_run_and_failed_tiles(
    cell_slide: Path, tmp_path: Path
) -> None:
    """Counts add up to the tiles to run; the error that stops a run reaches on_done."""
    cache = tmp_path / "run.jsonl"
    first = Recorder()
    with pytest.raises(DetectionError):
        detect_slide(
            cell_slide,
            CountingDetector(fail_after=7),
            **TILING,
            workers=1,
            cache=cache,
            progress=first,
        )
    assert first.starts == [("start", cell_slide.name, 20, "tile", 0)]
    assert first.advanced == 7
    assert len(first.errors) == 1
    assert isinstance(first.errors[0], DetectionError)

    resumed = Recorder()
    detect_slide(cell_slide, CountingDetector(), **TILING, cache=cache, progress=resumed)
    assert resumed.starts == [("start", cell_slide.name, 20, "tile", 7)]
    assert resumed.advanced == 13
    assert resumed.errors == [None]

    def broken(image: RGBImage) -> list[Detection]:
        raise ValueError("bad tile")

    skipped = Recorder()
    detect_slide(cell_slide, broken, **TILING, on_error="skip", progress=skipped)
    assert skipped.advanced == 20
    assert skipped.errors == [None]
