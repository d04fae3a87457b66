"""The synthetic demo behind ``wsi2rek demo``: the whole local pipeline, no AWS.

:func:`make_demo_inputs` writes a few synthetic Aperio-style slides with dark round
"mitotic figures" and paler, elongated, mottled look-alikes painted on tissue, plus a
SlideRunner database annotating them as MITOS_WSI_CMC does (class 2 "mitotic figure",
class 1 "mitotic figure look-alike"). :func:`run_demo` then plans and builds a Rekognition
dataset from them (look-alikes as a label of their own: the hard negatives), validates the
manifests and writes previews, then runs the offline :class:`~wsi2rek.inference.BlobDetector`
over the whole test slide and scores it against the database. The detector finds the
look-alikes too, with a lower confidence: counting every detection, they are false positives
(F1 about 0.67); at the best confidence threshold F1 is 1.0. Docs, examples and tests use the
same inputs.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from wsi2rek.annotations import Annotation, SlideRunnerDB
from wsi2rek.dataset import DatasetSummary, build_dataset
from wsi2rek.errors import ParameterError
from wsi2rek.geometry import Point
from wsi2rek.inference import (
    MITOS_MATCH_RADIUS_PX,
    BlobDetector,
    EvaluationResult,
    SlideDetections,
    detect_slide,
    evaluate_detections,
    ground_truth_from_db,
    write_geojson,
)
from wsi2rek.rekognition import Code
from wsi2rek.sampling import BackgroundSampler, ObjectSampler, PatchPlan, plan_dataset
from wsi2rek.slides import open_slide
from wsi2rek.tissue import tissue_mask

__all__ = [
    "DEMO_CLASSES",
    "DEMO_LABELS",
    "DemoInputs",
    "DemoResult",
    "make_demo_inputs",
    "run_demo",
    "warning_summary",
]

#: Class ids and names of the demo database (those of MITOS_WSI_CMC).
DEMO_CLASSES = {1: "mitotic figure look-alike", 2: "mitotic figure"}
#: The demo's label map: Rekognition label name -> database class ids.
DEMO_LABELS = {"mitotic figure": [2], "look-alike": [1]}

_SLIDE_SIZE = (4096, 3072)
_CELL_RADIUS = 12.0


@attrs.frozen
class DemoInputs:
    """What :func:`make_demo_inputs` wrote.

    Attributes:
        slides_dir: Folder with the synthetic ``.svs`` slides.
        db: The SlideRunner database annotating them.
        slides: Slide file names, in order.
        test_slides: The slide(s) held out for testing.
        mitoses: Slide file name -> level-0 centres of the painted mitotic figures.
        lookalikes: Slide file name -> level-0 centres of the painted look-alikes.
    """

    slides_dir: Path
    db: Path
    slides: tuple[str, ...]
    test_slides: tuple[str, ...]
    mitoses: dict[str, tuple[Point, ...]]
    lookalikes: dict[str, tuple[Point, ...]] = attrs.field(factory=dict)


def _points_on_tissue(
    path: Path, rng: np.random.Generator, count: int, *, margin: int
) -> list[Point]:
    """``count`` points on tissue, at least ``margin`` px from the slide edge, spread out."""
    with open_slide(path) as slide:
        mask = tissue_mask(slide, max_size=512)
        width, height = slide.dimensions
    points: list[Point] = []
    for _ in range(count * 200):
        if len(points) == count:
            break
        p = Point(rng.uniform(margin, width - margin), rng.uniform(margin, height - margin))
        if mask.contains(p) and all(p.distance(q) > 6 * _CELL_RADIUS for q in points):
            points.append(p)
    return points


def make_demo_inputs(
    out: str | os.PathLike[str], *, slides: int = 3, per_slide: int = 12, seed: int = 0
) -> DemoInputs:
    """Write synthetic slides and a matching SlideRunner database into ``out``.

    Each slide (4096 x 3072 px at 0.25 um/px) gets ``per_slide`` painted mitotic figures on
    tissue (class 2: dark round cells) and as many painted look-alikes (class 1: paler,
    elongated, mottled cells, see :func:`wsi2rek.testing.make_slide`); the last slide is
    the test slide.

    Args:
        out: Folder to write into (created if needed).
        slides: Number of slides (at least 2: one for training, one for testing).
        per_slide: Mitotic figures (and look-alikes) per slide.
        seed: Seed of every random choice.

    Returns:
        Where everything is, and the painted cell centres.

    Raises:
        ValueError: ``slides`` < 2 or ``per_slide`` < 1.
    """
    from wsi2rek.testing import make_slide, make_sliderunner_db, spot  # noqa: PLC0415

    if slides < 2 or per_slide < 1:
        raise ParameterError(
            f"the demo needs >= 2 slides and >= 1 cell each, got {slides}, {per_slide}"
        )
    root = Path(out)
    slides_dir = root / "slides"
    created = [d for d in (root, slides_dir) if not d.exists()]
    slides_dir.mkdir(parents=True, exist_ok=True)
    try:
        rng = np.random.default_rng(seed)
        names = tuple(f"demo_{i + 1}.svs" for i in range(slides))
        annotations: list[Annotation] = []
        mitoses: dict[str, tuple[Point, ...]] = {}
        painted_lookalikes: dict[str, tuple[Point, ...]] = {}
        for uid, name in enumerate(names, start=1):
            path = slides_dir / name
            slide_seed = seed * 1000 + uid
            # Tissue first (same seed -> same tissue), then paint cells where there is tissue.
            make_slide(path, *_SLIDE_SIZE, seed=slide_seed)
            points = _points_on_tissue(path, rng, 2 * per_slide, margin=64)
            cells, lookalikes = points[:per_slide], points[per_slide:]
            make_slide(
                path,
                *_SLIDE_SIZE,
                seed=slide_seed,
                cells=cells,
                lookalikes=lookalikes,
                cell_radius=_CELL_RADIUS,
            )
            mitoses[name] = tuple(cells)
            painted_lookalikes[name] = tuple(lookalikes)
            annotations += [spot(uid, p.x, p.y, 2) for p in cells]
            annotations += [spot(uid, p.x, p.y, 1) for p in lookalikes]
        db = make_sliderunner_db(
            root / "annotations.sqlite",
            list(names),
            annotations,
            classes=DEMO_CLASSES,
            persons={1: "demo annotator"},
        )
    except BaseException:
        # A failed demo leaves no empty folder behind (never a file: those stay).
        for folder in reversed(created):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return DemoInputs(slides_dir, db, names, (names[-1],), mitoses, painted_lookalikes)


@attrs.frozen
class DemoResult:
    """What :func:`run_demo` produced."""

    inputs: DemoInputs
    plan: PatchPlan
    dataset: DatasetSummary
    detections: tuple[SlideDetections, ...]
    evaluation: EvaluationResult
    exports: tuple[Path, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "slides_dir": str(self.inputs.slides_dir),
            "db": str(self.inputs.db),
            "test_slides": list(self.inputs.test_slides),
            "dataset": self.dataset.to_dict(),
            "detection": {
                d.slide: {
                    "detections": len(d.detections),
                    "tiles_run": d.tiles_run,
                    "tiles_skipped": d.tiles_skipped,
                }
                for d in self.detections
            },
            "evaluation": self.evaluation.to_dict(),
            "exports": [str(p) for p in self.exports],
        }


def warning_summary(codes: Iterable[str]) -> str:
    """Say what a demo manifest's warnings are, e.g. ``"4 x WARNING_NO_ANNOTATIONS (...)"``.

    Args:
        codes: The code of every warning of one manifest.

    Returns:
        One phrase per distinct code with its count and, for the codes the demo produces, what
        it means; an empty string when there are none.
    """
    counts = Counter(codes)
    return "; ".join(
        f"{n} x {code}" + (f" ({_WARNING_MEANING[code]})" if code in _WARNING_MEANING else "")
        for code, n in sorted(counts.items())
    )


_WARNING_MEANING: dict[str, str] = {
    Code.WARNING_NO_ANNOTATIONS: "background patches without boxes: valid, but Rekognition does "
    "not train on them; the hard negatives are the 'look-alike' label",
}


def run_demo(
    out: str | os.PathLike[str],
    *,
    workers: int | None = None,
    progress: bool = False,
    seed: int = 0,
    on_step: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the local pipeline on synthetic data, without AWS.

    Steps: write inputs, plan, build and validate the dataset, write previews, detect
    mitotic figures on the test slides with the offline blob detector, evaluate against
    the database, and export the detections as QuPath GeoJSON.

    Args:
        out: Output folder: ``slides/``, ``annotations.sqlite`` and ``dataset/`` go there.
        workers: Worker processes for the build (default: one per CPU).
        progress: Show progress bars.
        seed: Seed of the synthetic data and of the sampling.
        on_step: Called with a short sentence before each step (for CLI output).
    """
    say = on_step or (lambda _msg: None)
    root = Path(out)
    say("writing synthetic slides and a SlideRunner database")
    inputs = make_demo_inputs(root, seed=seed)
    say(
        "planning patches: object-centred (mitotic figures and look-alikes, a label each) "
        "and 2 background patches per slide, split by slide"
    )
    with SlideRunnerDB(inputs.db) as db:
        plan = plan_dataset(
            db,
            inputs.slides_dir,
            DEMO_LABELS,
            sampler=ObjectSampler(patch_size=512, margin=16),
            background=BackgroundSampler(patch_size=512, per_slide=2),
            test_slides=inputs.test_slides,
            seed=seed,
        )
    say(f"building {len(plan.patches)} patches")
    summary = build_dataset(plan, root / "dataset", workers=workers, progress=progress)
    say("detecting mitotic figures on the test slide with the offline blob detector")
    detector = BlobDetector(label="mitotic figure")
    found: list[SlideDetections] = []
    truth: dict[str, list[Point]] = {}
    exports: list[Path] = []
    with SlideRunnerDB(inputs.db) as db:
        for name in inputs.test_slides:
            result = detect_slide(inputs.slides_dir / name, detector, progress=progress)
            found.append(result)
            truth[name] = ground_truth_from_db(db, name, {"mitotic figure": [2]})["mitotic figure"]
            out_file = root / "detections" / f"{Path(name).stem}.geojson"
            out_file.parent.mkdir(parents=True, exist_ok=True)
            write_geojson(result.detections, out_file)
            exports.append(out_file)
    evaluation = evaluate_detections(
        {d.slide: d for d in found}, truth, radius_px=MITOS_MATCH_RADIUS_PX, label="mitotic figure"
    )
    return DemoResult(inputs, plan, summary, tuple(found), evaluation, tuple(exports))
