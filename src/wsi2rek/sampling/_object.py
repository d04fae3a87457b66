"""The object-centred sampler: windows around labelled objects, margin-aware."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np

from wsi2rek.geometry import Box
from wsi2rek.sampling._common import (
    SlideInput,
    SlideResult,
    Tally,
    check_edge_policy,
    check_fraction,
    check_margin,
    check_patch_size,
    check_positive,
    check_positive_or_none,
    describe_object,
    to_targets,
    too_small,
)
from wsi2rek.sampling._plan import FilterReason, LabeledBox, PatchSpec, RejectionReason, Skip
from wsi2rek.sampling._window import (
    REKOGNITION_MAX_BOXES,
    BoxIndex,
    EdgePolicy,
    apply_edge_policy,
    draw_window,
)

__all__ = ["ObjectSampler"]

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

    patch_size: int = attrs.field(default=512, validator=check_patch_size)
    margin: int = attrs.field(default=16, validator=check_margin)
    per_annotation: int = attrs.field(default=1, validator=check_positive)
    per_slide: int | None = attrs.field(default=None, validator=check_positive_or_none)
    max_per_slide: int | None = attrs.field(default=None, validator=check_positive_or_none)
    targets: tuple[str, ...] | None = attrs.field(default=None, converter=to_targets)
    edge_policy: EdgePolicy = attrs.field(default="reject", validator=check_edge_policy)
    min_visible: float = attrs.field(default=0.5, validator=check_fraction)
    max_tries: int = attrs.field(default=20, validator=check_positive)
    roi_class: int | None = None
    max_boxes: int = attrs.field(default=REKOGNITION_MAX_BOXES, validator=check_positive)

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

    def _choose_targets(
        self, slide: SlideInput, tally: Tally
    ) -> list[tuple[LabeledBox, Box | None]]:
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
                    tally.filtered[FilterReason.OUTSIDE_ROI] += 1
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
                        detail=f"{describe_object(obj)} is "
                        f"{obj.box.width:.0f}x{obj.box.height:.0f} px; with a {self.margin} px "
                        "margin it needs a patch of at least "
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
        if (small := too_small(slide, self.patch_size, self.kind)) is not None:
            return small
        tally = Tally()
        targets = self._choose_targets(slide, tally)
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
                tally.filtered[FilterReason.CAPPED] += 1
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
        tally: Tally,
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
                        detail=f"no {self.patch_size} px window holds {describe_object(target)} "
                        f"{self.margin} px inside the slide{' and its ROI' if roi else ''}",
                    )
                )
                return
            if window in used:
                tally.rejections[RejectionReason.DUPLICATE] += 1
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
                tally.rejections[verdict.reason or RejectionReason.REJECTED] += 1
                last = f"{verdict.reason} {describe_object(verdict.culprit)}".strip()
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
                detail=f"{self.max_tries} windows around {describe_object(target)} were all "
                f"refused under edge_policy={self.edge_policy!r} (last: {last}); raise max_tries, "
                "lower the margin, or use edge_policy='clip'",
            )
        )
