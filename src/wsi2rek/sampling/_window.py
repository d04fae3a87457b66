"""Pure window logic: where a window may go, and what it does to the boxes it touches.

Everything here is a pure function of boxes and numbers (plus a seeded
:class:`numpy.random.Generator` where a choice is made), so it can be property-tested:

- :func:`inner_window`: the window shrunk by the margin, except along slide edges (there is
  nothing beyond a slide edge to cut).
- :func:`classify`: a box is ``INSIDE`` (kept), ``CROSSING`` (cuts the window edge or the
  margin band) or ``OUTSIDE`` (does not touch the window).
- :func:`apply_edge_policy`: what a window does with its crossing boxes: ``reject`` the
  window, ``clip`` them to their visible part, or ``drop`` them (counted).
- :func:`placement_starts` / :func:`draw_window`: every whole-pixel window position that
  holds a target box at least ``margin`` inside, clamped in the slide (and ROI).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from typing import Literal

import attrs
import numpy as np
from numpy.typing import NDArray

from wsi2rek.geometry import Box
from wsi2rek.rekognition import QUOTA, box_survives_rescale, training_scale
from wsi2rek.sampling._plan import LabeledBox, RejectionReason

__all__ = [
    "EDGE_POLICIES",
    "REKOGNITION_MAX_BOXES",
    "REKOGNITION_TRAINING_LONG_SIDE",
    "BoxIndex",
    "EdgePolicy",
    "Placement",
    "Verdict",
    "apply_edge_policy",
    "box_large_enough",
    "classify",
    "draw_start",
    "draw_window",
    "grid_starts",
    "inner_window",
    "placement_starts",
    "rekognition_scale",
    "roi_starts",
]

EdgePolicy = Literal["reject", "clip", "drop"]
EDGE_POLICIES: tuple[EdgePolicy, ...] = ("reject", "clip", "drop")

#: Rekognition accepts at most this many bounding boxes per image.
REKOGNITION_MAX_BOXES = QUOTA.max_boxes_per_image
#: Rekognition training rescales images whose long side exceeds this many pixels.
REKOGNITION_TRAINING_LONG_SIDE = QUOTA.training_long_side


class Placement(enum.Enum):
    """Where a box lies relative to a window."""

    INSIDE = "inside"
    """Fully inside the window shrunk by the margin: kept as is."""
    CROSSING = "crossing"
    """Overlaps the window but crosses its edge or the margin band."""
    OUTSIDE = "outside"
    """Does not overlap the window (with positive area)."""


def rekognition_scale(width: float, height: float) -> float:
    """The factor Rekognition training scales an image of this size by (at most 1)."""
    return training_scale(width, height)


def box_large_enough(box: Box, patch_width: float, patch_height: float) -> bool:
    """True when ``box`` stays larger than 1 x 1 px after Rekognition's training rescale."""
    return box_survives_rescale(box.width, box.height, patch_width, patch_height)


def inner_window(window: Box, margin: float, bounds: Box | None = None) -> Box:
    """``window`` shrunk by ``margin`` on every side that is not on an edge of ``bounds``.

    A window side lying on the slide edge is not shrunk: nothing beyond the slide can be
    cut, and objects there are already clipped to the slide.
    """

    def on(side: float, edge: float | None) -> bool:
        return edge is not None and side == edge

    b_left = b_top = b_right = b_bottom = None
    if bounds is not None:
        b_left, b_top, b_right, b_bottom = bounds.left, bounds.top, bounds.right, bounds.bottom
    left = window.left if on(window.left, b_left) else window.left + margin
    top = window.top if on(window.top, b_top) else window.top + margin
    right = window.right if on(window.right, b_right) else window.right - margin
    bottom = window.bottom if on(window.bottom, b_bottom) else window.bottom - margin
    return Box(left, top, max(left, right), max(top, bottom))


def classify(box: Box, window: Box, margin: float, bounds: Box | None = None) -> Placement:
    """Where ``box`` lies relative to ``window`` with a ``margin`` band (see :class:`Placement`)."""
    if inner_window(window, margin, bounds).contains(box):
        return Placement.INSIDE
    if box.intersection(window) is None:
        return Placement.OUTSIDE
    return Placement.CROSSING


@attrs.frozen
class Verdict:
    """What :func:`apply_edge_policy` decided for one window.

    Attributes:
        accepted: False when the window must be redrawn or skipped.
        boxes: The boxes the patch is labelled with (clipped ones marked ``clipped``).
        dropped: Objects touching the window but left unlabelled (``drop`` policy only).
        reason: Why the window was refused, a :class:`RejectionReason` (``CROSSING``,
            ``LOW_VISIBILITY``, ``TOO_SMALL`` or ``TOO_MANY_BOXES``); None when accepted.
        culprit: The object that caused the refusal, when one did.
    """

    accepted: bool
    boxes: tuple[LabeledBox, ...] = ()
    dropped: tuple[LabeledBox, ...] = ()
    reason: RejectionReason | None = None
    culprit: LabeledBox | None = None


def apply_edge_policy(
    window: Box,
    objects: Sequence[LabeledBox],
    *,
    margin: float,
    policy: EdgePolicy = "reject",
    min_visible: float = 0.5,
    bounds: Box | None = None,
    max_boxes: int = REKOGNITION_MAX_BOXES,
) -> Verdict:
    """Decide which labelled ``objects`` a ``window`` keeps, under an edge ``policy``.

    A box inside the window shrunk by ``margin`` (see :func:`inner_window`) is kept. A box
    that crosses the window edge or the margin band is handled by ``policy``:

    - ``"reject"``: the window is refused (reason ``"crossing"``).
    - ``"clip"``: the visible part is kept (``clipped=True`` when it is not the whole box)
      when at least ``min_visible`` of the box's area is in the window; otherwise the
      window is refused (reason ``"low_visibility"``).
    - ``"drop"``: the box is left out and returned in ``dropped`` so it can be counted:
      the object is in the image but unlabelled, which is what the AWS blog does.

    A window with more than ``max_boxes`` kept boxes is refused (``"too_many_boxes"``),
    and so is a clipped box that would not stay larger than 1 x 1 px after Rekognition's
    training rescale (``"too_small"``).
    """
    kept: list[LabeledBox] = []
    dropped: list[LabeledBox] = []
    inner = inner_window(window, margin, bounds)
    for obj in objects:
        box = obj.box
        if inner.contains(box):
            kept.append(obj)
            continue
        visible = box.intersection(window)
        if visible is None:
            continue
        if policy == "reject":
            return Verdict(accepted=False, reason=RejectionReason.CROSSING, culprit=obj)
        if policy == "drop":
            dropped.append(obj)
            continue
        fraction = visible.area / box.area if box.area > 0 else 0.0
        if fraction < min_visible:
            return Verdict(accepted=False, reason=RejectionReason.LOW_VISIBILITY, culprit=obj)
        if visible == box:
            kept.append(obj)
            continue
        if not box_large_enough(visible, window.width, window.height):
            return Verdict(accepted=False, reason=RejectionReason.TOO_SMALL, culprit=obj)
        kept.append(attrs.evolve(obj, box=visible, clipped=True))
    if len(kept) > max_boxes:
        return Verdict(accepted=False, reason=RejectionReason.TOO_MANY_BOXES)
    return Verdict(accepted=True, boxes=tuple(kept), dropped=tuple(dropped))


class BoxIndex:
    """The labelled objects of one slide, with a fast "which boxes touch this window" query.

    Objects keep their order; :meth:`near` returns those overlapping a window (positive
    area), in that order.
    """

    def __init__(self, objects: Sequence[LabeledBox]) -> None:
        self.objects: tuple[LabeledBox, ...] = tuple(objects)
        coords = [(o.box.left, o.box.top, o.box.right, o.box.bottom) for o in self.objects]
        self._coords: NDArray[np.float64] = np.array(coords, dtype=np.float64).reshape(-1, 4)

    def __len__(self) -> int:
        return len(self.objects)

    def near(self, window: Box) -> list[LabeledBox]:
        """Objects whose box overlaps ``window`` with positive area."""
        if not self.objects:
            return []
        c = self._coords
        hit = (
            (c[:, 0] < window.right)
            & (window.left < c[:, 2])
            & (c[:, 1] < window.bottom)
            & (window.top < c[:, 3])
        )
        return [self.objects[i] for i in np.flatnonzero(hit)]

    def any_near(self, window: Box) -> bool:
        """True when any object overlaps ``window`` with positive area."""
        return bool(self.near(window))


# --- placement ------------------------------------------------------------------------------

Range = tuple[int, int]
"""An inclusive range of whole-pixel window starts ``(first, last)``."""


def _merge(ranges: Sequence[Range]) -> tuple[Range, ...]:
    out: list[Range] = []
    for lo, hi in sorted(r for r in ranges if r[0] <= r[1]):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def _intersect(a: Sequence[Range], b: Sequence[Range]) -> tuple[Range, ...]:
    return _merge([(max(x0, y0), min(x1, y1)) for x0, x1 in a for y0, y1 in b])


def placement_starts(
    low: float, high: float, size: int, margin: float, extent: int
) -> tuple[Range, ...]:
    """Whole-pixel starts ``s`` of a window ``[s, s + size)`` that hold ``[low, high]`` inside.

    One axis. The window lies in ``[0, extent]``; the object interval ``[low, high]`` must
    lie inside the window shrunk by ``margin``, except that no margin is needed on a side
    where the window touches 0 or ``extent``. Returns disjoint sorted inclusive ranges
    (empty when no start works).
    """
    last = extent - size
    if last < 0:
        return ()
    ranges: list[Range] = [
        (max(0, math.ceil(high - size + margin)), min(last, math.floor(low - margin)))
    ]
    # At the slide edges the margin on that side is waived.
    for start in {0, last}:
        near = start if start == 0 else start + margin
        far = start + size if start == last else start + size - margin
        left_ok = low >= (0 if start == 0 else near)
        right_ok = high <= (extent if start == last else far)
        if left_ok and right_ok:
            ranges.append((start, start))
    return _merge(ranges)


def roi_starts(roi_low: float, roi_high: float, size: int, extent: int) -> tuple[Range, ...]:
    """Window starts allowed by a region of interest ``[roi_low, roi_high]`` on one axis.

    A window lies inside the ROI when the ROI is at least as long as the window, and
    covers the ROI otherwise. The ROI is first clipped to ``[0, extent]``; starts are
    clamped to ``[0, extent - size]``.
    """
    a = max(roi_low, 0.0)
    b = min(roi_high, float(extent)) - size
    lo, hi = min(a, b), max(a, b)
    return _merge([(max(0, math.ceil(lo)), min(extent - size, math.floor(hi)))])


def _count(ranges: Sequence[Range]) -> int:
    return sum(hi - lo + 1 for lo, hi in ranges)


def draw_start(ranges: Sequence[Range], rng: np.random.Generator) -> int | None:
    """A uniformly drawn start from disjoint inclusive ``ranges``; None when they are empty."""
    total = _count(ranges)
    if total <= 0:
        return None
    k = int(rng.integers(total))
    for lo, hi in ranges:
        n = hi - lo + 1
        if k < n:
            return lo + k
        k -= n
    raise AssertionError("unreachable: k < total")  # pragma: no cover


def draw_window(
    target: Box,
    *,
    size: int,
    margin: float,
    slide_size: tuple[int, int],
    roi: Box | None = None,
    rng: np.random.Generator,
) -> Box | None:
    """A random whole-pixel ``size`` x ``size`` window holding ``target`` ``margin`` inside.

    The window lies inside the slide (``slide_size`` is ``(width, height)``) and, when
    ``roi`` is given, inside it (or covering it, on an axis where the ROI is shorter than
    the window). Every allowed position is equally likely. Returns None when no position
    works.
    """
    width, height = slide_size
    xs = placement_starts(target.left, target.right, size, margin, width)
    ys = placement_starts(target.top, target.bottom, size, margin, height)
    if roi is not None:
        xs = _intersect(xs, roi_starts(roi.left, roi.right, size, width))
        ys = _intersect(ys, roi_starts(roi.top, roi.bottom, size, height))
    x = draw_start(xs, rng)
    y = draw_start(ys, rng)
    if x is None or y is None:
        return None
    return Box(x, y, x + size, y + size)


def grid_starts(low: int, high: int, size: int, stride: int) -> list[int]:
    """Starts of a regular grid of windows covering ``[low, high]`` (``high - low >= size``).

    Steps by ``stride`` from ``low``; a last window flush with ``high`` is added when the
    steps do not reach it, so the whole interval is covered.
    """
    last = high - size
    if last < low:
        return []
    starts = list(range(low, last + 1, stride))
    if starts[-1] != last:
        starts.append(last)
    return starts
