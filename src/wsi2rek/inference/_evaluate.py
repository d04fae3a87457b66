"""F1 evaluation of detections against annotated centres (the MITOS_WSI protocol)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from wsi2rek.annotations import Annotation
from wsi2rek.detection import Detection
from wsi2rek.errors import AnnotationError, LabelMapError, ParameterError
from wsi2rek.geometry import Point
from wsi2rek.labels import LabelMap

if TYPE_CHECKING:
    from wsi2rek.inference._slide import SlideDetections

__all__ = [
    "MITOS_MATCH_RADIUS_PX",
    "EvaluationResult",
    "Metrics",
    "SlideEvaluation",
    "ThresholdPoint",
    "evaluate_detections",
    "evaluate_slide",
    "format_ratio",
    "ground_truth_from_db",
    "match_detections",
]


#: The matching radius of the MITOS_WSI protocol, in level-0 pixels: a detection is a true
#: positive when its centre lies within this distance of an annotated centre not matched
#: yet. The papers' evaluation code (``radius=25`` in ``lib/calculate_F1.py`` of
#: DeepMicroscopy/MITOS_WSI_CMC) uses 25 px, 6.25 µm at the datasets' 0.25 µm/px. Not the
#: spot radius (:data:`wsi2rek.annotations.DEFAULT_SPOT_RADIUS_PX`, the half-side of the
#: box drawn around an annotated point), though both are 25 px.
MITOS_MATCH_RADIUS_PX = 25.0


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def format_ratio(value: float | None, spec: str = ".3f") -> str:
    """A precision or recall for people: ``"n/a"`` when undefined (0/0)."""
    return "n/a" if value is None else format(value, spec)


@attrs.frozen
class Metrics:
    """Counts and scores of one evaluation.

    A ratio whose denominator is 0 is undefined, and is None rather than a number that
    reads as a score: precision without any detection, recall without any ground truth.
    F1 follows the "nothing to get wrong" rule: 1 with no detections and no ground truth.
    """

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float | None:
        """``tp / (tp + fp)``; None without any detection (0/0)."""
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        """``tp / (tp + fn)``; None without any ground truth (0/0)."""
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        """``2 tp / (2 tp + fp + fn)``; 1 when there is nothing to detect and nothing found."""
        den = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / den if den else 1.0

    def __add__(self, other: Metrics) -> Metrics:
        return Metrics(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def to_dict(self) -> dict[str, float | int | None]:
        """Counts and scores as a JSON-ready dict (an undefined ratio is ``None``)."""
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


@attrs.frozen
class ThresholdPoint:
    """The scores obtained when only detections with ``confidence >= threshold`` count."""

    threshold: float
    metrics: Metrics

    def to_dict(self) -> dict[str, float | int | None]:
        """Threshold, counts and scores as a JSON-ready dict."""
        return {"threshold": self.threshold, **self.metrics.to_dict()}


@attrs.frozen(repr=False)
class EvaluationResult:
    """The outcome of :func:`evaluate_detections`.

    Attributes:
        overall: Scores over every slide (counts summed, then ratios).
        per_slide: Scores of each slide, by slide name.
        curve: Scores for every distinct confidence used as a threshold, ascending.
        best: The curve point with the highest F1 (the highest threshold among ties),
            or None when there are no detections.
        radius_px: Matching radius used, in level-0 pixels.
        min_confidence: Confidence floor applied before matching, if any.
    """

    overall: Metrics
    per_slide: Mapping[str, Metrics]
    curve: tuple[ThresholdPoint, ...]
    best: ThresholdPoint | None
    radius_px: float
    min_confidence: float | None = None

    @property
    def f1(self) -> float:
        """Overall F1."""
        return self.overall.f1

    @property
    def best_threshold(self) -> float | None:
        """The confidence threshold with the best overall F1."""
        return None if self.best is None else self.best.threshold

    def __repr__(self) -> str:
        m = self.overall
        best = "None" if self.best_threshold is None else f"{self.best_threshold:g}"
        return (
            f"EvaluationResult(tp={m.tp}, fp={m.fp}, fn={m.fn}, "
            f"precision={format_ratio(m.precision)}, recall={format_ratio(m.recall)}, "
            f"f1={m.f1:.3f}, best_threshold={best}, "
            f"slides={len(self.per_slide)}, radius_px={self.radius_px:g})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Everything as a JSON-ready dict."""
        return {
            **self.overall.to_dict(),
            "radius_px": self.radius_px,
            "min_confidence": self.min_confidence,
            "best_threshold": self.best_threshold,
            "best_f1": None if self.best is None else self.best.metrics.f1,
            "per_slide": {name: m.to_dict() for name, m in self.per_slide.items()},
            "curve": [p.to_dict() for p in self.curve],
        }


def match_detections(
    detections: Sequence[Detection], truth: Sequence[Point], radius: float
) -> list[bool]:
    """One-to-one matching of detection centres to ground-truth centres.

    Detections are visited by descending confidence (input order breaks ties); each is a
    true positive when its centre lies within ``radius`` (inclusive) of a still unmatched
    ground-truth point, and then takes the nearest such point. A grid of ``radius``-sized
    cells keeps this near-linear.

    Returns:
        One flag per detection (in input order): True for a true positive.
    """
    return match_both(detections, truth, radius)[0]


def match_both(
    detections: Sequence[Detection], truth: Sequence[Point], radius: float
) -> tuple[list[bool], list[bool]]:
    """:func:`match_detections`, also saying which ground-truth points were matched.

    Returns:
        ``(hits, found)``: one flag per detection (True: a true positive) and one per
        ground-truth point (True: matched; False: a miss).
    """
    cell = max(radius, 1e-9)
    grid: dict[tuple[int, int], list[int]] = defaultdict(list)
    for k, p in enumerate(truth):
        grid[(math.floor(p.x / cell), math.floor(p.y / cell))].append(k)
    used = [False] * len(truth)
    hits = [False] * len(detections)
    order = sorted(range(len(detections)), key=lambda i: (-detections[i].confidence, i))
    for i in order:
        c = detections[i].box.center
        gx, gy = math.floor(c.x / cell), math.floor(c.y / cell)
        best: tuple[float, int] | None = None
        for nx in (gx - 1, gx, gx + 1):
            for ny in (gy - 1, gy, gy + 1):
                for k in grid.get((nx, ny), ()):
                    if used[k]:
                        continue
                    d = c.distance(truth[k])
                    if d <= radius and (best is None or (d, k) < best):
                        best = (d, k)
        if best is not None:
            used[best[1]] = True
            hits[i] = True
    return hits, used


def _points(truth: Iterable[Point | Annotation]) -> list[Point]:
    return [t if isinstance(t, Point) else t.center for t in truth]


def _detections(value: Any) -> list[Detection]:
    found = getattr(value, "detections", value)
    return list(found)


def _radius(radius_px: float | None, radius_um: float | None, mpp: Any) -> float:
    if radius_um is not None:
        if radius_px is not None:
            raise AnnotationError("give either radius_px or radius_um, not both")
        if mpp is None:
            raise AnnotationError(
                f"a matching radius of {radius_um} um needs the slide's microns per pixel; "
                "pass mpp=... (e.g. slide.mpp) or use radius_px"
            )
        mx, my = (mpp, mpp) if isinstance(mpp, int | float) else mpp
        if mx <= 0 or my <= 0:
            raise AnnotationError(f"mpp must be positive, got {mpp}")
        radius = radius_um / ((mx + my) / 2)
    else:
        radius = MITOS_MATCH_RADIUS_PX if radius_px is None else radius_px
    if not (math.isfinite(radius) and radius > 0):
        raise AnnotationError(f"the matching radius must be a positive number, got {radius}")
    return float(radius)


def evaluate_detections(
    detections: Sequence[Detection]
    | SlideDetections
    | Mapping[str, Sequence[Detection] | SlideDetections],
    ground_truth: Sequence[Point | Annotation] | Mapping[str, Sequence[Point | Annotation]],
    *,
    radius_px: float | None = None,
    radius_um: float | None = None,
    mpp: float | tuple[float, float] | None = None,
    min_confidence: float | None = None,
    label: str | None = None,
) -> EvaluationResult:
    """Score detections against ground-truth centres, as in the MITOS_WSI papers.

    A detection is a true positive when its box centre lies within the radius of a
    ground-truth centre not matched yet (one-to-one; greedy by descending confidence);
    other detections are false positives and unmatched ground truth false negatives.

    Args:
        detections: Detections of one slide (a sequence or a :class:`SlideDetections`),
            or a mapping slide name -> detections for several slides.
        ground_truth: Centres (points or annotations, whose centre is used) of one
            slide, or a mapping slide name -> centres with the same keys as ``detections``.
        radius_px: Matching radius in level-0 pixels (default
            :data:`MITOS_MATCH_RADIUS_PX`, 25, the papers' value).
        radius_um: Matching radius in micrometres instead (needs ``mpp``).
        mpp: Micrometres per level-0 pixel, one number or ``(x, y)``.
        min_confidence: Ignore detections below this confidence (percent).
        label: Only score detections with this label (None: all).

    Returns:
        Overall and per-slide counts and scores, the F1-versus-threshold curve and the
        best threshold.

    Raises:
        AnnotationError: when the radius cannot be worked out.
        LabelMapError: when the two mappings name different slides.

    Example:
        >>> from wsi2rek.geometry import Box, Point
        >>> dets = [Detection("cell", 90, Box(0, 0, 10, 10)), Detection("cell", 50, Box.around(Point(99, 0), 5))]
        >>> evaluate_detections(dets, [Point(5, 5)]).f1
        0.6666666666666666
    """  # noqa: E501 (a doctest line is clearer unbroken)
    radius = _radius(radius_px, radius_um, mpp)
    if isinstance(detections, Mapping) != isinstance(ground_truth, Mapping):
        raise LabelMapError(
            "give detections and ground truth in the same shape: both for one slide, or "
            "both as mappings from slide name"
        )
    if isinstance(detections, Mapping):
        assert isinstance(ground_truth, Mapping)
        det_map = {str(k): _detections(v) for k, v in detections.items()}
        gt_map = {str(k): _points(v) for k, v in ground_truth.items()}
        if set(det_map) != set(gt_map):
            only_det = sorted(set(det_map) - set(gt_map))
            only_gt = sorted(set(gt_map) - set(det_map))
            raise LabelMapError(
                "detections and ground truth must name the same slides; only in detections: "
                f"{only_det}, only in ground truth: {only_gt}"
            )
    else:
        assert not isinstance(ground_truth, Mapping)
        name = str(getattr(detections, "slide", "slide"))
        det_map = {name: _detections(detections)}
        gt_map = {name: _points(ground_truth)}
    scored: list[tuple[float, bool]] = []
    per_slide: dict[str, Metrics] = {}
    total_gt = 0
    for name, dets in det_map.items():
        kept = [
            d
            for d in dets
            if (label is None or d.label == label)
            and (min_confidence is None or d.confidence >= min_confidence)
        ]
        truth = gt_map[name]
        hits = match_detections(kept, truth, radius)
        tp = sum(hits)
        per_slide[name] = Metrics(tp=tp, fp=len(kept) - tp, fn=len(truth) - tp)
        total_gt += len(truth)
        scored.extend((d.confidence, h) for d, h in zip(kept, hits, strict=True))
    overall = Metrics(0, 0, 0)
    for m in per_slide.values():
        overall = overall + m
    curve = _curve(scored, total_gt)
    best = None
    for point in curve:
        if best is None or point.metrics.f1 >= best.metrics.f1:
            best = point
    return EvaluationResult(
        overall=overall,
        per_slide=per_slide,
        curve=curve,
        best=best,
        radius_px=radius,
        min_confidence=min_confidence,
    )


def _curve(scored: list[tuple[float, bool]], total_gt: int) -> tuple[ThresholdPoint, ...]:
    # Greedy matching in confidence order means the matches of the detections above a
    # threshold are exactly the matches found for them in the full run: a prefix sum.
    scored = sorted(scored, key=lambda s: -s[0])
    points: list[ThresholdPoint] = []
    tp = 0
    for k, (conf, hit) in enumerate(scored):
        tp += hit
        if k + 1 == len(scored) or scored[k + 1][0] != conf:
            n = k + 1
            points.append(ThresholdPoint(conf, Metrics(tp=tp, fp=n - tp, fn=total_gt - tp)))
    points.reverse()
    return tuple(points)


@attrs.frozen(repr=False)
class SlideEvaluation:
    """The outcome of :func:`evaluate_slide`: one slide's detections scored label by label.

    Attributes:
        slide: The slide's name.
        labels: Label -> its :class:`EvaluationResult`, in the order of ``truth_by_label``.
        overall: The counts of every label summed, and the scores of those sums.
        ignored: Detections whose label is not one of ``labels`` (not scored).
        label_counts: Detections per label they carry (every label, sorted by name).
        radius_px: Matching radius used, in level-0 pixels.
        min_confidence: Confidence floor applied before matching, if any.
    """

    slide: str
    labels: Mapping[str, EvaluationResult]
    overall: Metrics
    ignored: int
    label_counts: Mapping[str, int]
    radius_px: float
    min_confidence: float | None = None

    @property
    def undetected_labels(self) -> tuple[str, ...]:
        """The evaluated labels no detection carries (none when there is no detection)."""
        if not self.label_counts:
            return ()
        return tuple(label for label in self.labels if label not in self.label_counts)

    def __repr__(self) -> str:
        m = self.overall
        return (
            f"SlideEvaluation({self.slide!r}, labels={list(self.labels)}, tp={m.tp}, "
            f"fp={m.fp}, fn={m.fn}, f1={m.f1:.3f}, ignored={self.ignored}, "
            f"radius_px={self.radius_px:g})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Everything as a JSON-ready dict (each label's without ``per_slide``: one slide)."""
        return {
            "slide": self.slide,
            "radius_px": self.radius_px,
            "min_confidence": self.min_confidence,
            **self.overall.to_dict(),
            "ignored_detections": self.ignored,
            "labels": {
                label: {k: v for k, v in result.to_dict().items() if k != "per_slide"}
                for label, result in self.labels.items()
            },
        }


def evaluate_slide(
    detections: Sequence[Detection] | SlideDetections,
    truth_by_label: Mapping[str, Sequence[Point | Annotation]],
    *,
    slide: str | None = None,
    radius_px: float = MITOS_MATCH_RADIUS_PX,
    min_confidence: float | None = None,
) -> SlideEvaluation:
    """Score one slide's detections against its ground truth, label by label.

    Each label of ``truth_by_label`` is scored by :func:`evaluate_detections` with only the
    detections of that label; the overall counts are their sums. Detections of other
    labels are counted as ignored.

    Args:
        detections: The slide's detections (a sequence or a :class:`SlideDetections`).
        truth_by_label: Label -> ground-truth centres (points or annotations) of that
            label, as :func:`ground_truth_from_db` returns them.
        slide: The slide's name (default: the ``slide`` of a :class:`SlideDetections`,
            else ``"slide"``).
        radius_px: Matching radius in level-0 pixels (default
            :data:`MITOS_MATCH_RADIUS_PX`).
        min_confidence: Ignore detections below this confidence (percent) when matching.

    Returns:
        The per-label results, the overall counts and the ignored count.

    Raises:
        ParameterError: ``truth_by_label`` is empty, or there are detections and none
            carries one of its labels (every score would be a meaningless zero; the
            message lists the labels the detections do carry).
        AnnotationError: when ``radius_px`` is not a positive number.

    Example:
        >>> from wsi2rek.geometry import Box, Point
        >>> dets = [Detection("mitosis", 90, Box(0, 0, 10, 10)), Detection("other", 80, Box(0, 0, 4, 4))]
        >>> found = evaluate_slide(dets, {"mitosis": [Point(5, 5)]}, slide="a.svs")
        >>> found.overall.tp, found.ignored
        (1, 1)
    """  # noqa: E501 (a doctest line is clearer unbroken)
    name = slide if slide is not None else str(getattr(detections, "slide", "slide"))
    items = _detections(detections)
    if not truth_by_label:
        raise ParameterError(
            "truth_by_label is empty: give the ground truth of at least one label, "
            "e.g. {'mitotic figure': [Point(x, y), ...]}",
            parameter="truth_by_label",
        )
    counts = dict(sorted(Counter(d.label for d in items).items()))
    ignored = sum(1 for d in items if d.label not in truth_by_label)
    if items and ignored == len(items):
        carried = ", ".join(f"{label!r} ({n})" for label, n in counts.items())
        raise ParameterError(
            f"no detection of slide {name} has a label of truth_by_label "
            f"({', '.join(repr(x) for x in truth_by_label)}); the detections carry "
            f"{carried}: key truth_by_label by one of these",
            parameter="truth_by_label",
        )
    results = {
        label: evaluate_detections(
            {name: items},
            {name: truth},
            radius_px=radius_px,
            min_confidence=min_confidence,
            label=label,
        )
        for label, truth in truth_by_label.items()
    }
    overall = Metrics(0, 0, 0)
    for result in results.values():
        overall = overall + result.overall
    return SlideEvaluation(
        slide=name,
        labels=results,
        overall=overall,
        ignored=ignored,
        label_counts=counts,
        radius_px=next(iter(results.values())).radius_px,
        min_confidence=min_confidence,
    )


def _label_map(spec: str | LabelMap | Mapping[str, Sequence[int]]) -> LabelMap:
    """A :class:`LabelMap` from one, a mapping, or text like ``"a=2;b=1,7"``."""
    if isinstance(spec, str):
        return LabelMap.parse([part for part in spec.split(";") if part.strip()])
    return LabelMap.coerce(spec)


def ground_truth_from_db(
    db: Any,
    slide: str | int,
    label_map: str | LabelMap | Mapping[str, Sequence[int]],
    *,
    include_deleted: bool = False,
) -> dict[str, list[Point]]:
    """Ground-truth centres per label from a SlideRunner database or QuPath GeoJSON.

    Args:
        db: An annotation source (:class:`wsi2rek.annotations.SlideRunnerDB`,
            :class:`wsi2rek.annotations.QuPathGeoJSON`), or the path of either (opened
            read-only and closed again).
        slide: Slide file name (or uid) in the database.
        label_map: A :class:`~wsi2rek.labels.LabelMap`, ``{label: [class ids]}`` such as
            ``{"mitotic figure": [2]}``, or the text ``"mitotic figure=2;look-alike=1"``.
        include_deleted: Also use soft-deleted annotations.

    Returns:
        Label -> annotation centres (level-0 pixels) of the agreed classes mapped to it.

    Raises:
        LabelMapError: when the map names class ids the database does not have.
    """
    labels = _label_map(label_map)
    if isinstance(db, str | Path):
        from wsi2rek.annotations import open_annotations  # noqa: PLC0415 (annotations imports are heavier; only needed for paths)

        with open_annotations(db) as opened:
            return ground_truth_from_db(opened, slide, labels, include_deleted=include_deleted)
    labels.check(db.classes(), source=str(getattr(db, "path", "the database")))
    annotations = db.annotations(slide=slide, include_deleted=include_deleted)
    out: dict[str, list[Point]] = {name: [] for name in labels.labels}
    for ann in annotations:
        name = labels.label_for(ann.class_id)
        if name is not None:
            out[name].append(ann.center)
    return out
