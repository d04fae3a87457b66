"""Merging duplicate detections from overlapping tiles (greedy NMS), a pure function."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from wsi2rek.detection import Detection
from wsi2rek.errors import DetectionError

__all__ = ["PARTIAL_COVER", "merge_detections", "merge_indices"]

#: A partial box (cut by a tile edge) is a duplicate of a kept box of the same label when
#: at least this fraction of its area lies inside that box.
PARTIAL_COVER = 0.5


def _validate(iou_threshold: float, distance: float | None) -> None:
    if not (0.0 <= iou_threshold <= 1.0):
        raise DetectionError(f"merge IoU threshold must be in [0, 1], got {iou_threshold}")
    if distance is not None and not (math.isfinite(distance) and distance >= 0):
        raise DetectionError(f"merge distance must be a finite number >= 0, got {distance}")


def merge_indices(
    detections: Sequence[Detection],
    *,
    iou_threshold: float = 0.3,
    distance: float | None = None,
    class_aware: bool = True,
    partial: Sequence[bool] | None = None,
) -> list[int]:
    """Indices of the detections :func:`merge_detections` keeps, in input order.

    See :func:`merge_detections` for the rules.
    """
    _validate(iou_threshold, distance)
    n = len(detections)
    if partial is not None and len(partial) != n:
        raise DetectionError(
            f"partial flags must match the detections one to one: got {len(partial)} flags "
            f"for {n} detections"
        )
    flags = [False] * n if partial is None else [bool(p) for p in partial]
    # Whole boxes outrank partial ones; then confidence; the input order breaks ties, so
    # the result does not depend on anything but the inputs.
    order = sorted(range(n), key=lambda i: (flags[i], -detections[i].confidence, i))
    # Spatial hash of kept centres: two boxes that overlap (or whose centres lie within
    # ``distance``) have centres closer than ``cell`` on each axis.
    biggest = max((max(d.box.width, d.box.height) for d in detections), default=0.0)
    cell = max(biggest, distance or 0.0, 1.0)
    grid: dict[tuple[str, int, int], list[int]] = defaultdict(list)
    kept: list[int] = []
    for i in order:
        det = detections[i]
        box = det.box
        c = box.center
        label = det.label if class_aware else ""
        gx, gy = math.floor(c.x / cell), math.floor(c.y / cell)
        duplicate = False
        for nx in (gx - 1, gx, gx + 1):
            for ny in (gy - 1, gy, gy + 1):
                for j in grid.get((label, nx, ny), ()):
                    other = detections[j].box
                    if box.iou(other) > iou_threshold or (
                        distance is not None and c.distance(other.center) < distance
                    ):
                        duplicate = True
                    elif flags[i] and box.area > 0:
                        inter = box.intersection(other)
                        duplicate = inter is not None and inter.area >= PARTIAL_COVER * box.area
                    if duplicate:
                        break
                if duplicate:
                    break
            if duplicate:
                break
        if not duplicate:
            kept.append(i)
            grid[(label, gx, gy)].append(i)
    kept.sort()
    return kept


def merge_detections(
    detections: Sequence[Detection],
    *,
    iou_threshold: float = 0.3,
    distance: float | None = None,
    class_aware: bool = True,
    partial: Sequence[bool] | None = None,
) -> list[Detection]:
    """Drop duplicate detections (greedy non-maximum suppression), keeping input order.

    Detections are visited whole-before-partial, then by descending confidence; one is
    kept unless a kept detection (of the same label when ``class_aware``) duplicates it:
    their IoU exceeds ``iou_threshold``, or their centres are closer than ``distance``
    (when given), or, for a ``partial`` detection (a box cut by a tile edge), at least
    half of it lies inside the kept box. So an object cut by a tile border is reported
    from the tile that sees it whole.

    The result is a subset of the input, no two kept boxes of one label overlap above the
    threshold, and merging the result again changes nothing.

    Args:
        detections: Boxes in one frame (level-0 pixels of one slide).
        iou_threshold: IoU above which two boxes are the same object, in [0, 1].
        distance: Centre distance (pixels) below which two boxes are the same object.
        class_aware: Only detections with the same label suppress each other.
        partial: One flag per detection, True when its box touches an interior tile edge.

    Returns:
        The kept detections, in input order.

    Raises:
        DetectionError: when a threshold is out of range or ``partial`` has the wrong length.

    Example:
        >>> from wsi2rek.geometry import Box
        >>> a = Detection("cell", 90, Box(0, 0, 10, 10))
        >>> b = Detection("cell", 80, Box(1, 1, 11, 11))
        >>> merge_detections([a, b]) == [a]
        True
    """
    keep = merge_indices(
        detections,
        iou_threshold=iou_threshold,
        distance=distance,
        class_aware=class_aware,
        partial=partial,
    )
    return [detections[i] for i in keep]
