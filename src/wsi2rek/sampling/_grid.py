"""The grid sampler: a regular grid of windows with overlap, on tissue or ROIs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np

from wsi2rek.errors import SamplingError
from wsi2rek.geometry import Box
from wsi2rek.sampling._common import (
    Roi,
    SlideInput,
    SlideResult,
    Tally,
    check_edge_policy,
    check_fraction,
    check_margin,
    check_patch_size,
    check_positive,
    describe_object,
    too_small,
)
from wsi2rek.sampling._plan import FilterReason, PatchSpec, RejectionReason, Skip
from wsi2rek.sampling._window import (
    REKOGNITION_MAX_BOXES,
    BoxIndex,
    EdgePolicy,
    apply_edge_policy,
    grid_starts,
    roi_starts,
)

__all__ = ["GridSampler"]

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

    patch_size: int = attrs.field(default=512, validator=check_patch_size)
    overlap: int = 64
    min_tissue: float = attrs.field(default=0.25, validator=check_fraction)
    roi_class: int | None = None
    margin: int = attrs.field(default=16, validator=check_margin)
    edge_policy: EdgePolicy = attrs.field(default="reject", validator=check_edge_policy)
    min_visible: float = attrs.field(default=0.5, validator=check_fraction)
    skip_empty: bool = False
    max_boxes: int = attrs.field(default=REKOGNITION_MAX_BOXES, validator=check_positive)

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
        if (small := too_small(slide, self.patch_size, self.kind)) is not None:
            return small
        if self.needs_tissue and slide.tissue is None:
            raise SamplingError(
                f"GridSampler needs the tissue mask of {slide.name} (min_tissue > 0)",
                slide=slide.name,
            )
        tally = Tally()
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
                tally.filtered[FilterReason.DUPLICATE] += 1
                continue
            tissue = slide.tissue if self.needs_tissue else None
            if tissue is not None and tissue.fraction(window) < self.min_tissue:
                tally.filtered[FilterReason.LOW_TISSUE] += 1
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
                tally.skipped.append(
                    Skip(
                        reason="window_rejected",
                        slide=slide.name,
                        annotation=verdict.culprit.annotation if verdict.culprit else None,
                        detail=f"grid window at ({window.left:.0f}, {window.top:.0f}) refused "
                        f"under edge_policy={self.edge_policy!r}: {verdict.reason} "
                        f"{describe_object(verdict.culprit)}".rstrip(),
                    )
                )
                continue
            if self.skip_empty and not verdict.boxes:
                tally.filtered[FilterReason.EMPTY] += 1
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
