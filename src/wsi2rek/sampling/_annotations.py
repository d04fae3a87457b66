"""Annotations to labelled boxes: spot radius, clipping to the slide, counted skips."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from wsi2rek.annotations import DEFAULT_SPOT_RADIUS_PX, Annotation, AnnotationKind
from wsi2rek.errors import SamplingError
from wsi2rek.geometry import Box
from wsi2rek.labels import LabelMap
from wsi2rek.sampling._common import Roi
from wsi2rek.sampling._plan import LabeledBox, Skip
from wsi2rek.sampling._window import box_large_enough

__all__ = ["AnnotationObjects", "annotation_objects"]

_SPOTS = (AnnotationKind.SPOT, AnnotationKind.SPECIAL_SPOT)
_REGIONS = (AnnotationKind.AREA, AnnotationKind.POLYGON)


@attrs.frozen
class AnnotationObjects:
    """What a slide's annotations become (see :func:`annotation_objects`).

    Attributes:
        objects: Labelled boxes, clipped to the slide, ordered by geometry (points,
            kind, label), not by uid or storage order.
        rois: Regions of interest (AREA/POLYGON annotations of the ROI class), or None
            when no ROI class was asked for.
        skipped: Annotations that could not be used, with reasons.
        ignored: Class id (``"none"`` for no agreed class) -> annotations ignored because
            the label map does not name their class.
    """

    objects: tuple[LabeledBox, ...]
    rois: tuple[Roi, ...] | None
    skipped: tuple[Skip, ...]
    ignored: Mapping[str, int]


def _polygon_area(ann: Annotation) -> float:
    pts = ann.points
    twice = sum(a.x * b.y - b.x * a.y for a, b in zip(pts, (*pts[1:], pts[0]), strict=True))
    return abs(twice) / 2


def _degenerate(ann: Annotation, slide: str) -> Skip | None:
    """The skip of a shape without area (spots have none by design), or None."""
    if ann.kind in _SPOTS:
        return None
    extent = Box.from_points(ann.points)
    if extent.is_empty:
        why = f"its extent is {extent.width:g} x {extent.height:g} px"
    elif ann.kind == AnnotationKind.POLYGON and _polygon_area(ann) == 0:
        why = f"its {len(ann.points)} points enclose no area"
    else:
        return None
    return Skip(
        reason="degenerate_annotation",
        slide=slide,
        annotation=ann.uid,
        detail=f"{ann.kind.name.lower()} annotation {ann.uid} on {slide}: {why}",
    )


@attrs.frozen
class _Placement:
    """One slide's size and the options that turn a labelled annotation into a box."""

    slide: str
    size: tuple[int, int]
    mpp: tuple[float, float] | None
    spot_radius_px: float | None
    spot_radius_um: float | None
    patch_size: int

    def _box(self, ann: Annotation) -> Box:
        if self.spot_radius_um is not None:
            return ann.box(spot_radius_um=self.spot_radius_um, mpp=self.mpp)
        radius = self.spot_radius_px
        return ann.box(radius if radius is not None else DEFAULT_SPOT_RADIUS_PX)

    def place(self, ann: Annotation, label: str) -> LabeledBox | Skip:
        """The box of ``ann`` clipped to the slide, or why it cannot be one."""
        slide, size = self.slide, self.patch_size
        box = self._box(ann)
        visible = box.intersection(Box(0, 0, *self.size))
        if visible is None:
            return Skip(
                reason="outside_slide",
                slide=slide,
                annotation=ann.uid,
                detail=f"annotation {ann.uid} ({label!r}) at {box.left:.0f},{box.top:.0f}-"
                f"{box.right:.0f},{box.bottom:.0f} lies outside slide {slide} "
                f"({self.size[0]}x{self.size[1]} px)",
            )
        if not box_large_enough(visible, size, size):
            return Skip(
                reason="box_too_small",
                slide=slide,
                annotation=ann.uid,
                detail=f"annotation {ann.uid} ({label!r}) is {visible.width:g} x "
                f"{visible.height:g} px; Rekognition needs boxes larger than 1 x 1 px "
                f"after it rescales a {size} px image",
            )
        return LabeledBox(label=label, box=visible, annotation=ann.uid, clipped=visible != box)


def _canonical(ann: Annotation, labels: LabelMap) -> tuple[Any, ...]:
    name = labels.label_for(ann.class_id) or ""
    return (tuple((p.x, p.y) for p in ann.points), int(ann.kind), name, ann.uid)


def annotation_objects(
    annotations: Iterable[Annotation],
    labels: LabelMap,
    *,
    slide: str,
    slide_size: tuple[int, int],
    mpp: tuple[float, float] | None = None,
    spot_radius_px: float | None = None,
    spot_radius_um: float | None = None,
    roi_class: int | None = None,
    patch_size: int = 512,
) -> AnnotationObjects:
    """Turn one slide's annotations into labelled level-0 boxes (pure; no I/O).

    Spots become squares of half-side ``spot_radius_px`` (default 25 px) or
    ``spot_radius_um`` converted with ``mpp``; areas, circles and polygons their extent.
    Boxes are clipped to the slide (``clipped=True`` when that cut them).

    Left out, each with a :class:`Skip`: degenerate shapes (``"degenerate_annotation"``),
    boxes entirely outside the slide (``"outside_slide"``), and boxes that would not stay
    larger than 1 x 1 px after Rekognition's rescale of a ``patch_size`` image
    (``"box_too_small"``). Classes missing from ``labels`` are counted in ``ignored``.

    Raises:
        SamplingError: when ``spot_radius_um`` is given and the slide has no MPP.
    """
    if spot_radius_um is not None and mpp is None:
        raise SamplingError(
            f"slide {slide} has no microns-per-pixel (MPP) metadata, so a spot radius of "
            f"{spot_radius_um} um cannot be converted to pixels; use spot_radius_px instead",
            slide=slide,
            parameter=("spot_radius_um", "spot_radius_px"),
        )
    placement = _Placement(slide, slide_size, mpp, spot_radius_px, spot_radius_um, patch_size)
    objects: list[LabeledBox] = []
    rois: list[Roi] | None = [] if roi_class is not None else None
    skipped: list[Skip] = []
    ignored: Counter[str] = Counter()
    # Storage order differs between sources (QuPath groups points by class, SlideRunner
    # orders by row id), and so do ids: walk the objects in an order of geometry and label
    # name, so the same objects give the same plan from any source.
    for ann in sorted(annotations, key=lambda a: _canonical(a, labels)):
        is_roi = rois is not None and ann.class_id == roi_class and ann.kind in _REGIONS
        label = None if is_roi else labels.label_for(ann.class_id)
        if not is_roi and label is None:
            ignored["none" if ann.class_id is None else str(ann.class_id)] += 1
            continue
        if (degenerate := _degenerate(ann, slide)) is not None:
            skipped.append(degenerate)
            continue
        if is_roi and rois is not None:
            rois.append(Roi(points=ann.points, uid=ann.uid))
            continue
        assert label is not None  # narrowed: not an ROI, and mapped
        placed = placement.place(ann, label)
        if isinstance(placed, Skip):
            skipped.append(placed)
        else:
            objects.append(placed)
    return AnnotationObjects(
        objects=tuple(objects),
        rois=None if rois is None else tuple(rois),
        skipped=tuple(skipped),
        ignored=dict(sorted(ignored.items())),
    )
