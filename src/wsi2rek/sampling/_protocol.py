"""The :class:`Sampler` protocol and the checks applied to what a custom sampler returns.

:func:`~wsi2rek.sampling.plan_dataset` runs any object with the protocol's members.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from wsi2rek.errors import SamplingError
from wsi2rek.sampling._common import SlideInput, SlideResult

__all__ = ["Sampler", "check_result"]


@runtime_checkable
class Sampler(Protocol):
    """A window sampler :func:`~wsi2rek.sampling.plan_dataset` can run (``sampler=``).

    :class:`~wsi2rek.sampling.ObjectSampler` and :class:`~wsi2rek.sampling.GridSampler`
    are the built-in ones; any object with these members works. Planning calls
    :meth:`sample` once per slide with the slide's own seeded generator, so a sampler that
    draws only from ``rng`` keeps plans reproducible.
    """

    @property
    def kind(self) -> str:
        """Short name recorded in each patch (``PatchSpec.sampler``) and in the counts."""
        ...

    @property
    def patch_size(self) -> int:
        """Window side in level-0 pixels (objects larger than a window are skipped)."""
        ...

    @property
    def roi_class(self) -> int | None:
        """Database class of the AREA/POLYGON annotations windows are restricted to."""
        ...

    @property
    def needs_tissue(self) -> bool:
        """Whether :meth:`sample` needs ``slide.tissue`` (planning then computes it)."""
        ...

    def sample(self, slide: SlideInput, rng: np.random.Generator) -> SlideResult:
        """The windows of one slide: every ``PatchSpec`` on ``slide.name`` in ``slide.split``."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready options, stored in the plan's ``params["sampler"]``."""
        ...


def check_result(sampler: Sampler, slide: SlideInput, result: object) -> SlideResult:
    """``result`` if it is a :class:`SlideResult` whose patches belong to ``slide``.

    Raises:
        SamplingError: naming the sampler, the slide and what is wrong, when ``sample``
            returned something else, or a patch of another slide or split, or a window
            that does not overlap the slide.
    """
    who = f"sampler {type(sampler).__name__} (kind {sampler.kind!r}) on slide {slide.name}"
    if not isinstance(result, SlideResult):
        raise SamplingError(
            f"{who} returned a {type(result).__name__}; sample() must return a SlideResult",
            slide=slide.name,
        )
    bounds = slide.bounds
    for patch in result.patches:
        if patch.slide != slide.name or patch.split != slide.split:
            raise SamplingError(
                f"{who} returned a patch of slide {patch.slide!r}, split {patch.split!r}; "
                f"its patches must be on {slide.name!r}, split {slide.split!r} (use "
                "slide.name and slide.split)",
                slide=slide.name,
            )
        if not patch.window.intersects(bounds):
            raise SamplingError(
                f"{who} returned the window {patch.window}, outside the "
                f"{slide.size[0]} x {slide.size[1]} px slide",
                slide=slide.name,
            )
    return result
