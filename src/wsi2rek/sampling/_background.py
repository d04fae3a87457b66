"""The background sampler: tissue windows without any labelled object."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import attrs
import numpy as np
from numpy.typing import NDArray

from wsi2rek.errors import SamplingError
from wsi2rek.geometry import Box
from wsi2rek.sampling._common import (
    SlideInput,
    SlideResult,
    Tally,
    check_fraction,
    check_margin,
    check_patch_size,
    check_positive,
    too_small,
)
from wsi2rek.sampling._plan import PatchSpec, RejectionReason, Skip
from wsi2rek.sampling._window import (
    BoxIndex,
)
from wsi2rek.tissue import TissueMask

__all__ = ["BackgroundSampler"]

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

    patch_size: int = attrs.field(default=512, validator=check_patch_size)
    per_slide: int = attrs.field(default=10, validator=check_positive)
    min_tissue: float = attrs.field(default=0.5, validator=check_fraction)
    max_tries: int = attrs.field(default=50, validator=check_positive)
    margin: int = attrs.field(default=16, validator=check_margin)

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
        if (small := too_small(slide, self.patch_size, self.kind)) is not None:
            return small
        if self.needs_tissue and slide.tissue is None:
            raise SamplingError(
                f"BackgroundSampler needs the tissue mask of {slide.name} (min_tissue > 0)",
                slide=slide.name,
            )
        tally = Tally()
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
                tally.rejections[RejectionReason.OVERLAP] += 1
            elif index.any_near(window.expand(self.margin)):
                tally.rejections[RejectionReason.LABELLED] += 1
            elif tissue is not None and tissue.fraction(window) < self.min_tissue:
                tally.rejections[RejectionReason.LOW_TISSUE] += 1
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
