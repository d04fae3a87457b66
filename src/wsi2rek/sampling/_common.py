"""Shared sampler inputs and results: the slide a sampler sees and what it returns.

A sampler is a frozen options object with a pure ``sample`` method: given a
:class:`SlideInput` (slide size, labelled objects, optional ROIs and tissue mask, split)
and a seeded :class:`numpy.random.Generator`, it returns a :class:`SlideResult` with the
slide's :class:`~wsi2rek.sampling.PatchSpec` rows plus every skip and count. No pixels are
read by samplers; :func:`~wsi2rek.sampling.plan_dataset` prepares the inputs.

Patches without boxes are not used by Rekognition training (``WARNING_NO_ANNOTATIONS``):
they are not negatives. Hard negatives must be a label of their own (e.g. "look-alike")
so that their boxes teach the model what not to call a mitotic figure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from wsi2rek.errors import SamplingError
from wsi2rek.geometry import Box, Point
from wsi2rek.rekognition import QUOTA
from wsi2rek.sampling._plan import (
    FilterReason,
    LabeledBox,
    PatchSpec,
    RejectionReason,
    Skip,
    Split,
)
from wsi2rek.sampling._window import (
    EDGE_POLICIES,
)
from wsi2rek.tissue import TissueMask

__all__ = [
    "MAX_PATCH_SIZE",
    "MIN_PATCH_SIZE",
    "Roi",
    "SlideInput",
    "SlideResult",
]

#: Rekognition's image size limits (pixels per side), from :mod:`wsi2rek.rekognition`.
MIN_PATCH_SIZE = QUOTA.min_image_side
MAX_PATCH_SIZE = QUOTA.max_image_side


# --- validators -----------------------------------------------------------------------------


def check_patch_size(instance: object, _attribute: object, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SamplingError(
            f"{type(instance).__name__}: patch_size must be an int, got {value!r}",
            parameter="patch_size",
        )
    if not MIN_PATCH_SIZE <= value <= MAX_PATCH_SIZE:
        raise SamplingError(
            f"{type(instance).__name__}: patch_size must be in {MIN_PATCH_SIZE}..{MAX_PATCH_SIZE} "
            f"px (Rekognition's image size limits), got {value}",
            parameter="patch_size",
        )


def check_margin(instance: Any, _attribute: object, value: int) -> None:
    if value < 0:
        raise SamplingError(
            f"{type(instance).__name__}: margin={value} is negative; it must be >= 0 px",
            parameter="margin",
        )
    if 2 * value >= instance.patch_size:
        raise SamplingError(
            f"{type(instance).__name__}: a margin of {value} px on each side leaves no room in a "
            f"{instance.patch_size} px patch (need 2 * margin < patch_size); lower the margin "
            "or raise patch_size",
            parameter=("patch_size",),
        )


def check_positive_or_none(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise SamplingError(
            f"{type(instance).__name__}: {attribute.name} must be a positive int or None, "
            f"got {value!r}",
            parameter=attribute.name,
        )


def check_positive(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        raise SamplingError(f"{type(instance).__name__}: {attribute.name} must not be None")
    check_positive_or_none(instance, attribute, value)


def check_fraction(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise SamplingError(
            f"{type(instance).__name__}: {attribute.name} must be in 0..1, got {value}"
        )


def check_edge_policy(instance: object, _attribute: object, value: str) -> None:
    if value not in EDGE_POLICIES:
        raise SamplingError(
            f"{type(instance).__name__}: edge_policy must be one of {list(EDGE_POLICIES)}, "
            f"got {value!r}"
        )


def to_targets(value: Iterable[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    out = tuple(dict.fromkeys(str(v) for v in value))
    if not out:
        raise SamplingError(
            "ObjectSampler: targets is empty; give at least one label, or None for all labels"
        )
    return out


# --- inputs and results ---------------------------------------------------------------------


def to_points(points: Iterable[Point]) -> tuple[Point, ...]:
    return tuple(points)


@attrs.frozen
class Roi:
    """A region of interest: an AREA (two corners) or POLYGON annotation, in level-0 pixels.

    Windows restricted to a ROI lie inside its extent (:attr:`box`), or cover it on an
    axis where the ROI is shorter than the window. Targets belong to the ROI whose shape
    holds their centre.
    """

    points: tuple[Point, ...] = attrs.field(converter=to_points)
    uid: int | None = None

    @property
    def box(self) -> Box:
        """The ROI's extent."""
        return Box.from_points(self.points)

    def contains(self, point: Point) -> bool:
        """True when ``point`` lies in the ROI (its rectangle for two points, else polygon)."""
        if len(self.points) <= 2:
            return self.box.contains(point)
        inside = False
        pts = self.points
        j = len(pts) - 1
        for i, p in enumerate(pts):
            q = pts[j]
            if (p.y > point.y) != (q.y > point.y):
                x_cross = p.x + (point.y - p.y) * (q.x - p.x) / (q.y - p.y)
                if point.x < x_cross:
                    inside = not inside
            j = i
        return inside or (self.box.contains(point) and on_boundary(pts, point))


def on_boundary(pts: Sequence[Point], point: Point) -> bool:
    for a, b in zip(pts, (*pts[1:], pts[0]), strict=True):
        cross = (b.x - a.x) * (point.y - a.y) - (b.y - a.y) * (point.x - a.x)
        if (
            cross == 0
            and min(a.x, b.x) <= point.x <= max(a.x, b.x)
            and min(a.y, b.y) <= point.y <= max(a.y, b.y)
        ):
            return True
    return False


@attrs.frozen
class SlideInput:
    """Everything a sampler needs to know about one slide (no pixels).

    Attributes:
        name: Slide file name (``PatchSpec.slide``).
        size: Level-0 ``(width, height)``.
        split: The split the slide belongs to.
        objects: Every labelled object on the slide (level-0, clipped to the slide).
        rois: Regions windows are restricted to; None for no restriction (an empty tuple
            means "restricted, but the slide has no ROI").
        tissue: The slide's tissue mask, for samplers that need one.
    """

    name: str
    size: tuple[int, int]
    split: Split
    objects: tuple[LabeledBox, ...] = ()
    rois: tuple[Roi, ...] | None = None
    tissue: TissueMask | None = None

    @property
    def bounds(self) -> Box:
        """The slide as a level-0 box."""
        return Box(0, 0, *self.size)


@attrs.frozen
class SlideResult:
    """What a sampler produced on one slide.

    Attributes:
        patches: The windows, in the order they were accepted.
        skipped: Inputs left out (targets, windows, slides) with reasons.
        dropped: Label -> objects left unlabelled in kept patches (``drop`` policy).
        rejections: Reason -> window draws refused (and redrawn, or skipped); the built-in
            samplers' reasons are :class:`RejectionReason` members, a custom sampler's
            may be any string.
        filtered: Reason -> windows deliberately not made (``low_tissue``, ``empty``,
            ``capped`` by ``max_per_slide``...); the built-in samplers' reasons are
            :class:`FilterReason` members, a custom sampler's may be any string.
    """

    patches: tuple[PatchSpec, ...] = ()
    skipped: tuple[Skip, ...] = ()
    dropped: Mapping[str, int] = attrs.field(factory=dict)
    rejections: Mapping[str, int] = attrs.field(factory=dict)
    filtered: Mapping[str, int] = attrs.field(factory=dict)


@attrs.define
class Tally:
    patches: list[PatchSpec] = attrs.field(factory=list)
    skipped: list[Skip] = attrs.field(factory=list)
    dropped: Counter[str] = attrs.field(factory=Counter)
    rejections: Counter[RejectionReason] = attrs.field(factory=Counter)
    filtered: Counter[FilterReason] = attrs.field(factory=Counter)

    def freeze(self) -> SlideResult:
        return SlideResult(
            patches=tuple(self.patches),
            skipped=tuple(self.skipped),
            dropped=dict(sorted(self.dropped.items())),
            rejections=dict(sorted(self.rejections.items())),
            filtered=dict(sorted(self.filtered.items())),
        )


def too_small(slide: SlideInput, size: int, sampler: str) -> SlideResult | None:
    width, height = slide.size
    if width >= size and height >= size:
        return None
    skip = Skip(
        reason="slide_too_small",
        slide=slide.name,
        detail=f"{sampler} sampler: slide {slide.name} is {width}x{height} px, smaller than "
        f"the {size} px patch; lower patch_size to sample it",
    )
    return SlideResult(skipped=(skip,))


def describe_object(obj: LabeledBox | None) -> str:
    if obj is None:
        return ""
    b = obj.box
    uid = f"annotation {obj.annotation} " if obj.annotation is not None else ""
    return f"{uid}({obj.label!r} at {b.left:.0f},{b.top:.0f}-{b.right:.0f},{b.bottom:.0f})"
