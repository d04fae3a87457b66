"""Samplers: object-centred, background and grid windows on one slide.

A sampler is a frozen options object with a pure :meth:`sample` method: given a
:class:`SlideInput` (slide size, labelled objects, optional ROIs and tissue mask, split)
and a seeded :class:`numpy.random.Generator`, it returns the slide's
:class:`~wsi2rek.sampling.PatchSpec` rows plus every skip and count. No pixels are read
here; :func:`~wsi2rek.sampling.plan_dataset` prepares the inputs.

Patches without boxes are not used by Rekognition training (``WARNING_NO_ANNOTATIONS``):
they are not negatives. Hard negatives must be a label of their own (e.g. "look-alike")
so that their boxes teach the model what not to call a mitotic figure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np
from numpy.typing import NDArray

from wsi2rek.errors import SamplingError
from wsi2rek.geometry import Box, Point
from wsi2rek.sampling._plan import LabeledBox, PatchSpec, Skip, Split
from wsi2rek.sampling._window import (
    EDGE_POLICIES,
    REKOGNITION_MAX_BOXES,
    BoxIndex,
    EdgePolicy,
    apply_edge_policy,
    draw_window,
    grid_starts,
    roi_starts,
)
from wsi2rek.tissue import TissueMask

__all__ = [
    "MAX_PATCH_SIZE",
    "MIN_PATCH_SIZE",
    "BackgroundSampler",
    "GridSampler",
    "ObjectSampler",
    "Roi",
    "SlideInput",
    "SlideResult",
]

#: Rekognition's image size limits (pixels per side).
MIN_PATCH_SIZE = 64
MAX_PATCH_SIZE = 4096


# --- validators -----------------------------------------------------------------------------


def _patch_size(instance: object, _attribute: object, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SamplingError(f"{type(instance).__name__}: patch_size must be an int, got {value!r}")
    if not MIN_PATCH_SIZE <= value <= MAX_PATCH_SIZE:
        raise SamplingError(
            f"{type(instance).__name__}: patch_size must be in {MIN_PATCH_SIZE}..{MAX_PATCH_SIZE} "
            f"px (Rekognition's image size limits), got {value}"
        )


def _margin(instance: Any, _attribute: object, value: int) -> None:
    if value < 0:
        raise SamplingError(f"{type(instance).__name__}: margin must be >= 0 px, got {value}")
    if 2 * value >= instance.patch_size:
        raise SamplingError(
            f"{type(instance).__name__}: a margin of {value} px on each side leaves no room in a "
            f"{instance.patch_size} px patch (need 2 * margin < patch_size); lower the margin "
            "or raise patch_size"
        )


def _positive_or_none(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise SamplingError(
            f"{type(instance).__name__}: {attribute.name} must be a positive int or None, "
            f"got {value!r}"
        )


def _positive(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        raise SamplingError(f"{type(instance).__name__}: {attribute.name} must not be None")
    _positive_or_none(instance, attribute, value)


def _fraction(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise SamplingError(
            f"{type(instance).__name__}: {attribute.name} must be in 0..1, got {value}"
        )


def _edge_policy(instance: object, _attribute: object, value: str) -> None:
    if value not in EDGE_POLICIES:
        raise SamplingError(
            f"{type(instance).__name__}: edge_policy must be one of {list(EDGE_POLICIES)}, "
            f"got {value!r}"
        )


def _targets(value: Iterable[str] | None) -> tuple[str, ...] | None:
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


def _points(points: Iterable[Point]) -> tuple[Point, ...]:
    return tuple(points)


@attrs.frozen
class Roi:
    """A region of interest: an AREA (two corners) or POLYGON annotation, in level-0 pixels.

    Windows restricted to a ROI lie inside its extent (:attr:`box`), or cover it on an
    axis where the ROI is shorter than the window. Targets belong to the ROI whose shape
    holds their centre.
    """

    points: tuple[Point, ...] = attrs.field(converter=_points)
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
        return inside or (self.box.contains(point) and _on_boundary(pts, point))


def _on_boundary(pts: Sequence[Point], point: Point) -> bool:
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
        rejections: Reason -> window draws refused (and redrawn, or skipped).
        filtered: Reason -> windows deliberately not made (``low_tissue``, ``empty``,
            ``capped`` by ``max_per_slide``...).
    """

    patches: tuple[PatchSpec, ...] = ()
    skipped: tuple[Skip, ...] = ()
    dropped: Mapping[str, int] = attrs.field(factory=dict)
    rejections: Mapping[str, int] = attrs.field(factory=dict)
    filtered: Mapping[str, int] = attrs.field(factory=dict)


@attrs.define
class _Tally:
    patches: list[PatchSpec] = attrs.field(factory=list)
    skipped: list[Skip] = attrs.field(factory=list)
    dropped: Counter[str] = attrs.field(factory=Counter)
    rejections: Counter[str] = attrs.field(factory=Counter)
    filtered: Counter[str] = attrs.field(factory=Counter)

    def freeze(self) -> SlideResult:
        return SlideResult(
            patches=tuple(self.patches),
            skipped=tuple(self.skipped),
            dropped=dict(sorted(self.dropped.items())),
            rejections=dict(sorted(self.rejections.items())),
            filtered=dict(sorted(self.filtered.items())),
        )


def _too_small(slide: SlideInput, size: int, sampler: str) -> SlideResult | None:
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


def _describe(obj: LabeledBox | None) -> str:
    if obj is None:
        return ""
    b = obj.box
    uid = f"annotation {obj.annotation} " if obj.annotation is not None else ""
    return f"{uid}({obj.label!r} at {b.left:.0f},{b.top:.0f}-{b.right:.0f},{b.bottom:.0f})"


# --- object-centred -------------------------------------------------------------------------


@attrs.frozen
class ObjectSampler:
    """Windows placed around labelled objects, with margin-aware edge handling.

    Each window holds a *target* object at least ``margin`` px inside, at a seeded random
    offset. The other labelled objects the window touches follow ``edge_policy``: an
    object inside the window shrunk by ``margin`` is labelled; one crossing the window
    edge or the margin band makes the window be redrawn (``"reject"``, at most
    ``max_tries`` draws, then the target is skipped with reason ``"window_rejected"``), is
    clipped to its visible part when at least ``min_visible`` of it shows (``"clip"``,
    else redrawn), or is left unlabelled and counted (``"drop"``, the AWS blog's
    behaviour). Margins are not applied along slide edges.

    Patches without boxes do not train Rekognition; to teach it what a mitotic figure is
    not, map look-alikes to a label of their own (they then appear as boxes, and as
    targets unless ``targets`` excludes them).

    Attributes:
        patch_size: Window side in level-0 pixels (64..4096).
        margin: Band inside the window edge, in pixels, where objects count as cut.
        per_annotation: Windows per target object (when ``per_slide`` is None).
        per_slide: Windows per slide, on targets drawn in a seeded round-robin order
            (every target once before any twice). None means ``per_annotation`` each.
        max_per_slide: Cap on windows per slide (targets beyond it are counted as
            ``capped``).
        targets: Labels that windows are placed around; None for every label.
        edge_policy: ``"reject"`` (default), ``"clip"`` or ``"drop"``.
        min_visible: Smallest visible fraction of a clipped object (``clip``).
        max_tries: Window draws per target before giving up.
        roi_class: Restrict targets and windows to AREA/POLYGON annotations of this
            database class.
        max_boxes: Most boxes per patch (Rekognition allows 50); fuller windows are
            redrawn.
    """

    kind: ClassVar[str] = "object"

    patch_size: int = attrs.field(default=512, validator=_patch_size)
    margin: int = attrs.field(default=16, validator=_margin)
    per_annotation: int = attrs.field(default=1, validator=_positive)
    per_slide: int | None = attrs.field(default=None, validator=_positive_or_none)
    max_per_slide: int | None = attrs.field(default=None, validator=_positive_or_none)
    targets: tuple[str, ...] | None = attrs.field(default=None, converter=_targets)
    edge_policy: EdgePolicy = attrs.field(default="reject", validator=_edge_policy)
    min_visible: float = attrs.field(default=0.5, validator=_fraction)
    max_tries: int = attrs.field(default=20, validator=_positive)
    roi_class: int | None = None
    max_boxes: int = attrs.field(default=REKOGNITION_MAX_BOXES, validator=_positive)

    @property
    def needs_tissue(self) -> bool:
        """Object windows never need a tissue mask."""
        return False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready options (for ``PatchPlan.params``)."""
        data = attrs.asdict(self)
        data["targets"] = None if self.targets is None else list(self.targets)
        return {"type": self.kind, **data}

    def _order(self, targets: Sequence[LabeledBox], rng: np.random.Generator) -> list[LabeledBox]:
        if self.per_slide is None:
            order = [t for t in targets for _ in range(self.per_annotation)]
            return [order[i] for i in rng.permutation(len(order))]
        out: list[LabeledBox] = []
        while len(out) < self.per_slide:
            out.extend(targets[i] for i in rng.permutation(len(targets)))
        return out[: self.per_slide]

    def _targets(self, slide: SlideInput, tally: _Tally) -> list[tuple[LabeledBox, Box | None]]:
        wanted = None if self.targets is None else set(self.targets)
        chosen: list[tuple[LabeledBox, Box | None]] = []
        for obj in slide.objects:
            if wanted is not None and obj.label not in wanted:
                continue
            roi_box: Box | None = None
            if slide.rois is not None:
                centre = obj.box.center
                roi = next((r for r in slide.rois if r.contains(centre)), None)
                if roi is None:
                    tally.filtered["outside_roi"] += 1
                    continue
                roi_box = roi.box
            if obj.box.width + 2 * self.margin > self.patch_size or (
                obj.box.height + 2 * self.margin > self.patch_size
            ):
                tally.skipped.append(
                    Skip(
                        reason="target_too_large",
                        slide=slide.name,
                        annotation=obj.annotation,
                        detail=f"{_describe(obj)} is {obj.box.width:.0f}x{obj.box.height:.0f} "
                        f"px; with a {self.margin} px margin it needs a patch of at least "
                        f"{max(obj.box.width, obj.box.height) + 2 * self.margin:.0f} px "
                        f"(patch_size is {self.patch_size})",
                    )
                )
                continue
            chosen.append((obj, roi_box))
        return chosen

    def sample(
        self,
        slide: SlideInput,
        rng: np.random.Generator,
        taken: Iterable[Box] = (),
    ) -> SlideResult:
        """Place windows around the targets of one slide.

        Args:
            slide: The slide's size, objects, ROIs and split.
            rng: The slide's own generator (seeded from the plan seed).
            taken: Windows already used on this slide (never produced twice).
        """
        if (small := _too_small(slide, self.patch_size, self.kind)) is not None:
            return small
        tally = _Tally()
        targets = self._targets(slide, tally)
        if not targets:
            why = "in a ROI " if slide.rois is not None else ""
            tally.skipped.append(
                Skip(
                    reason="no_targets",
                    slide=slide.name,
                    detail=f"object sampler: slide {slide.name} has no target object {why}"
                    f"(targets: {list(self.targets) if self.targets else 'all labels'})",
                )
            )
            return tally.freeze()
        roi_of = {id(t): roi for t, roi in targets}
        index = BoxIndex(slide.objects)
        used = set(taken)
        for target in self._order([t for t, _ in targets], rng):
            if self.max_per_slide is not None and len(tally.patches) >= self.max_per_slide:
                tally.filtered["capped"] += 1
                continue
            self._place(
                slide,
                target=target,
                roi=roi_of[id(target)],
                index=index,
                used=used,
                rng=rng,
                tally=tally,
            )
        return tally.freeze()

    def _place(
        self,
        slide: SlideInput,
        *,
        target: LabeledBox,
        roi: Box | None,
        index: BoxIndex,
        used: set[Box],
        rng: np.random.Generator,
        tally: _Tally,
    ) -> None:
        last = ""
        for _ in range(self.max_tries):
            window = draw_window(
                target.box,
                size=self.patch_size,
                margin=self.margin,
                slide_size=slide.size,
                roi=roi,
                rng=rng,
            )
            if window is None:
                tally.skipped.append(
                    Skip(
                        reason="no_room",
                        slide=slide.name,
                        annotation=target.annotation,
                        detail=f"no {self.patch_size} px window holds {_describe(target)} "
                        f"{self.margin} px inside the slide{' and its ROI' if roi else ''}",
                    )
                )
                return
            if window in used:
                tally.rejections["duplicate"] += 1
                last = "the same window was already sampled"
                continue
            verdict = apply_edge_policy(
                window,
                index.near(window),
                margin=self.margin,
                policy=self.edge_policy,
                min_visible=self.min_visible,
                bounds=slide.bounds,
                max_boxes=self.max_boxes,
            )
            if not verdict.accepted:
                tally.rejections[verdict.reason or "rejected"] += 1
                last = f"{verdict.reason} {_describe(verdict.culprit)}".strip()
                continue
            used.add(window)
            for obj in verdict.dropped:
                tally.dropped[obj.label] += 1
            tally.patches.append(
                PatchSpec(
                    slide=slide.name,
                    window=window,
                    split=slide.split,
                    boxes=verdict.boxes,
                    sampler=self.kind,
                    target=target.annotation,
                )
            )
            return
        tally.skipped.append(
            Skip(
                reason="window_rejected",
                slide=slide.name,
                annotation=target.annotation,
                detail=f"{self.max_tries} windows around {_describe(target)} were all refused "
                f"under edge_policy={self.edge_policy!r} (last: {last}); raise max_tries, "
                "lower the margin, or use edge_policy='clip'",
            )
        )


# --- background -----------------------------------------------------------------------------


@attrs.frozen
class BackgroundSampler:
    """Windows on tissue that hold no labelled object (for inspection or a test set).

    Rekognition does not train on patches without boxes (``WARNING_NO_ANNOTATIONS``):
    background patches are not negatives. They help to inspect a model's false positives
    on a test set, or to check the tissue mask. Hard negatives should be a label of
    their own (see :class:`ObjectSampler`).

    Window centres are drawn on tissue pixels of the mask; a window is kept when at
    least ``min_tissue`` of it is tissue, no labelled object lies within ``margin`` px of
    it, and it does not overlap another background window.

    Attributes:
        patch_size: Window side in level-0 pixels (64..4096).
        per_slide: Windows wanted per slide (a shortfall is a ``background_shortfall`` skip).
        min_tissue: Smallest tissue fraction of a window (0..1).
        max_tries: Draws per wanted window before giving up.
        margin: Distance in pixels that labelled objects must keep from the window.
    """

    kind: ClassVar[str] = "background"

    patch_size: int = attrs.field(default=512, validator=_patch_size)
    per_slide: int = attrs.field(default=10, validator=_positive)
    min_tissue: float = attrs.field(default=0.5, validator=_fraction)
    max_tries: int = attrs.field(default=50, validator=_positive)
    margin: int = attrs.field(default=16, validator=_margin)

    @property
    def needs_tissue(self) -> bool:
        """True when windows are checked against a tissue mask (``min_tissue > 0``)."""
        return self.min_tissue > 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready options (for ``PatchPlan.params``)."""
        return {"type": self.kind, **attrs.asdict(self)}

    def _draw(
        self,
        size: tuple[int, int],
        tissue: TissueMask | None,
        cells: NDArray[np.intp] | None,
        rng: np.random.Generator,
    ) -> Box:
        """One candidate window: centred on a random tissue pixel, or uniform without a mask."""
        width, height = size
        p = self.patch_size
        if tissue is not None and cells is not None:
            cols = tissue.mask.shape[1]
            cell = int(cells[rng.integers(cells.size)])
            dx, dy = tissue.downsample
            cx = (cell % cols + rng.random()) * dx
            cy = (cell // cols + rng.random()) * dy
            x = min(max(round(cx - p / 2), 0), width - p)
            y = min(max(round(cy - p / 2), 0), height - p)
        else:
            x = int(rng.integers(width - p + 1))
            y = int(rng.integers(height - p + 1))
        return Box(x, y, x + p, y + p)

    def sample(
        self,
        slide: SlideInput,
        rng: np.random.Generator,
        taken: Iterable[Box] = (),
    ) -> SlideResult:
        """Draw background windows on one slide (see the class docstring)."""
        if (small := _too_small(slide, self.patch_size, self.kind)) is not None:
            return small
        if self.needs_tissue and slide.tissue is None:
            raise SamplingError(
                f"BackgroundSampler needs the tissue mask of {slide.name} (min_tissue > 0)",
                slide=slide.name,
            )
        tally = _Tally()
        tissue = slide.tissue if self.needs_tissue else None
        cells = np.flatnonzero(tissue.mask) if tissue is not None else None
        if cells is not None and cells.size == 0:
            tally.skipped.append(
                Skip(
                    reason="no_tissue",
                    slide=slide.name,
                    detail=f"background sampler: the tissue mask of {slide.name} is empty",
                )
            )
            return tally.freeze()
        index = BoxIndex(slide.objects)
        used = set(taken)
        found: list[Box] = []
        for _ in range(self.per_slide * self.max_tries):
            if len(found) == self.per_slide:
                break
            window = self._draw(slide.size, tissue, cells, rng)
            if window in used or any(window.intersects(f) for f in found):
                tally.rejections["overlap"] += 1
            elif index.any_near(window.expand(self.margin)):
                tally.rejections["labelled"] += 1
            elif tissue is not None and tissue.fraction(window) < self.min_tissue:
                tally.rejections["low_tissue"] += 1
            else:
                found.append(window)
        for window in found:
            tally.patches.append(
                PatchSpec(slide=slide.name, window=window, split=slide.split, sampler=self.kind)
            )
        if len(found) < self.per_slide:
            tally.skipped.append(
                Skip(
                    reason="background_shortfall",
                    slide=slide.name,
                    detail=f"background sampler: found {len(found)} of {self.per_slide} windows "
                    f"on {slide.name} in {self.per_slide * self.max_tries} draws (tissue >= "
                    f"{self.min_tissue:.0%}, no object within {self.margin} px, no overlap)",
                )
            )
        return tally.freeze()


# --- grid -----------------------------------------------------------------------------------


@attrs.frozen
class GridSampler:
    """A regular grid of windows with overlap, over the slide or its ROIs, on tissue.

    Windows step by ``patch_size - overlap``; the last row and column are flush with the
    slide (or ROI) edge so everything is covered. A window is kept when at least
    ``min_tissue`` of it is tissue. The labelled objects it touches follow
    ``edge_policy`` as in :class:`ObjectSampler`, except that a grid window cannot be
    redrawn: a refused window is skipped (reason ``"window_rejected"``). Windows without
    boxes are kept unless ``skip_empty`` (Rekognition does not train on them).

    Attributes:
        patch_size: Window side in level-0 pixels (64..4096).
        overlap: Pixels shared by neighbouring windows (0 <= overlap < patch_size).
        min_tissue: Smallest tissue fraction of a window (0 disables the tissue mask).
        roi_class: Tile only AREA/POLYGON annotations of this database class.
        margin: Band inside the window edge where objects count as cut.
        edge_policy: ``"reject"`` (default), ``"clip"`` or ``"drop"``.
        min_visible: Smallest visible fraction of a clipped object (``clip``).
        skip_empty: Leave out windows without any box (counted as ``empty``).
        max_boxes: Most boxes per patch (Rekognition allows 50).
    """

    kind: ClassVar[str] = "grid"

    patch_size: int = attrs.field(default=512, validator=_patch_size)
    overlap: int = 64
    min_tissue: float = attrs.field(default=0.25, validator=_fraction)
    roi_class: int | None = None
    margin: int = attrs.field(default=16, validator=_margin)
    edge_policy: EdgePolicy = attrs.field(default="reject", validator=_edge_policy)
    min_visible: float = attrs.field(default=0.5, validator=_fraction)
    skip_empty: bool = False
    max_boxes: int = attrs.field(default=REKOGNITION_MAX_BOXES, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.overlap < self.patch_size:
            raise SamplingError(
                f"GridSampler: overlap must be in 0..patch_size-1 ({self.patch_size - 1}), "
                f"got {self.overlap}"
            )

    @property
    def needs_tissue(self) -> bool:
        """True when windows are checked against a tissue mask (``min_tissue > 0``)."""
        return self.min_tissue > 0

    @property
    def stride(self) -> int:
        """Step between neighbouring windows."""
        return self.patch_size - self.overlap

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready options (for ``PatchPlan.params``)."""
        return {"type": self.kind, **attrs.asdict(self)}

    def windows(self, size: tuple[int, int], rois: Sequence[Roi] | None = None) -> list[Box]:
        """Every grid window of a slide of ``size`` (or of its ROIs), sorted top/left."""
        width, height = size
        p = self.patch_size
        if width < p or height < p:
            return []
        regions: list[tuple[Sequence[int], Sequence[int]]] = []
        if rois is None:
            regions.append(
                (grid_starts(0, width, p, self.stride), grid_starts(0, height, p, self.stride))
            )
        for roi in rois or ():
            axes: list[Sequence[int]] = []
            for low, high, extent in (
                (roi.box.left, roi.box.right, width),
                (roi.box.top, roi.box.bottom, height),
            ):
                allowed = roi_starts(low, high, p, extent)
                if not allowed:
                    axes.append([])
                    continue
                first, last = allowed[0][0], allowed[-1][1]
                axes.append(grid_starts(first, last + p, p, self.stride))
            regions.append((axes[0], axes[1]))
        found = {Box(x, y, x + p, y + p) for xs, ys in regions for x in xs for y in ys}
        return sorted(found, key=lambda b: (b.top, b.left))

    def sample(
        self,
        slide: SlideInput,
        rng: np.random.Generator,  # noqa: ARG002 -- a grid is deterministic; same signature as the others
        taken: Iterable[Box] = (),
    ) -> SlideResult:
        """Tile one slide (see the class docstring)."""
        if (small := _too_small(slide, self.patch_size, self.kind)) is not None:
            return small
        if self.needs_tissue and slide.tissue is None:
            raise SamplingError(
                f"GridSampler needs the tissue mask of {slide.name} (min_tissue > 0)",
                slide=slide.name,
            )
        tally = _Tally()
        if slide.rois is not None and not slide.rois:
            tally.skipped.append(
                Skip(
                    reason="no_roi",
                    slide=slide.name,
                    detail=f"grid sampler: slide {slide.name} has no ROI of class {self.roi_class}",
                )
            )
            return tally.freeze()
        index = BoxIndex(slide.objects)
        used = set(taken)
        for window in self.windows(slide.size, slide.rois):
            if window in used:
                tally.filtered["duplicate"] += 1
                continue
            tissue = slide.tissue if self.needs_tissue else None
            if tissue is not None and tissue.fraction(window) < self.min_tissue:
                tally.filtered["low_tissue"] += 1
                continue
            verdict = apply_edge_policy(
                window,
                index.near(window),
                margin=self.margin,
                policy=self.edge_policy,
                min_visible=self.min_visible,
                bounds=slide.bounds,
                max_boxes=self.max_boxes,
            )
            if not verdict.accepted:
                tally.rejections[verdict.reason or "rejected"] += 1
                tally.skipped.append(
                    Skip(
                        reason="window_rejected",
                        slide=slide.name,
                        annotation=verdict.culprit.annotation if verdict.culprit else None,
                        detail=f"grid window at ({window.left:.0f}, {window.top:.0f}) refused "
                        f"under edge_policy={self.edge_policy!r}: {verdict.reason} "
                        f"{_describe(verdict.culprit)}".rstrip(),
                    )
                )
                continue
            if self.skip_empty and not verdict.boxes:
                tally.filtered["empty"] += 1
                continue
            used.add(window)
            for obj in verdict.dropped:
                tally.dropped[obj.label] += 1
            tally.patches.append(
                PatchSpec(
                    slide=slide.name,
                    window=window,
                    split=slide.split,
                    boxes=verdict.boxes,
                    sampler=self.kind,
                )
            )
        return tally.freeze()
