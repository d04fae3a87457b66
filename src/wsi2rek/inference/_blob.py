"""An offline demo detector: finds dark round blobs (the cells ``make_slide`` paints)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import attrs
import numpy as np
from numpy.typing import NDArray

from wsi2rek.detection import Detection, RGBImage
from wsi2rek.errors import DetectionError
from wsi2rek.geometry import Box

__all__ = ["BlobDetector", "Component", "label_components"]


class Component(NamedTuple):
    """One 8-connected component of a mask, in the mask's pixel frame (row, column).

    A named tuple, so ``top, left, bottom, right, area, runs = component`` still works.

    Attributes:
        top: First row.
        left: First column.
        bottom: Row after the last (exclusive).
        right: Column after the last (exclusive).
        area: Pixels in the component.
        runs: Its horizontal runs, ``(row, start, stop)`` with ``stop`` exclusive.
    """

    top: int
    left: int
    bottom: int
    right: int
    area: int
    runs: list[tuple[int, int, int]]

    @property
    def box(self) -> Box:
        """The bounding box, ``Box(left, top, right, bottom)`` in the mask's pixels."""
        return Box(self.left, self.top, self.right, self.bottom)


def _runs(mask: NDArray[np.bool_]) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """Horizontal runs of True: ``(row, start, stop)`` arrays, stop exclusive."""
    rows, cols = mask.shape
    padded = np.zeros((rows, cols + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    diff = np.diff(padded, axis=1)
    r_start, c_start = np.nonzero(diff == 1)
    _, c_stop = np.nonzero(diff == -1)
    # np.nonzero walks row-major, so starts and stops pair up in order.
    return r_start, c_start, c_stop


def _find(parent: list[int], i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        parent[i], i = root, parent[i]
    return root


def label_components(mask: NDArray[np.bool_]) -> list[Component]:
    """8-connected components of a boolean mask, by scanline runs and union-find.

    Returns one :class:`Component` per component (bounds exclusive at bottom/right),
    ordered by top, then left.
    """
    rows_, starts_, stops_ = _runs(mask)
    rows, starts, stops = rows_.tolist(), starts_.tolist(), stops_.tolist()
    n = len(rows)
    parent = list(range(n))
    # Runs come sorted by row then start; join each run with the runs of the row above
    # that touch it (8-connectivity: columns may differ by one).
    prev_lo = prev_hi = 0  # index range of the previous row's runs
    cur_lo = 0
    for i in range(n):
        if i == 0 or rows[i] != rows[i - 1]:
            if i > 0 and rows[i] == rows[i - 1] + 1:
                prev_lo, prev_hi = cur_lo, i
            else:
                prev_lo = prev_hi = i
            cur_lo = i
        j = prev_lo
        while j < prev_hi:
            if stops[j] >= starts[i] and starts[j] <= stops[i]:
                ri, rj = _find(parent, i), _find(parent, j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)
            j += 1
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(_find(parent, i), []).append(i)
    out: list[Component] = []
    for members in groups.values():
        runs = [(rows[k], starts[k], stops[k]) for k in members]
        top = min(r for r, _, _ in runs)
        bottom = max(r for r, _, _ in runs) + 1
        left = min(s for _, s, _ in runs)
        right = max(e for _, _, e in runs)
        area = sum(e - s for _, s, e in runs)
        out.append(Component(top, left, bottom, right, area, runs))
    out.sort(key=lambda c: (c.top, c.left))
    return out


# A blob whose mean is 40 % below the threshold gets full contrast marks: the cells
# make_slide paints (channel mean 66 against a threshold of 110) are exactly there.
_FULL_CONTRAST = 0.4


def _roundness(runs: Sequence[tuple[int, int, int]]) -> float:
    """Minor/major axis ratio of the pixels in ``runs``, from their second moments."""
    n = sx = sy = sxx = syy = sxy = 0.0
    for row, start, stop in runs:
        k = stop - start
        # sums of x and x**2 over x = start .. stop - 1, in closed form
        s1 = k * (start + stop - 1) / 2
        s2 = ((stop - 1) * stop * (2 * stop - 1) - (start - 1) * start * (2 * start - 1)) / 6
        n += k
        sx += s1
        sxx += s2
        sy += row * k
        syy += row * row * k
        sxy += row * s1
    # +1/12: the variance of a uniform unit pixel, so a one-pixel line is not degenerate
    vxx = sxx / n - (sx / n) ** 2 + 1 / 12
    vyy = syy / n - (sy / n) ** 2 + 1 / 12
    vxy = sxy / n - (sx / n) * (sy / n)
    half_trace, det = (vxx + vyy) / 2, vxx * vyy - vxy * vxy
    spread = math.sqrt(max(half_trace * half_trace - det, 0.0))
    major, minor = half_trace + spread, max(half_trace - spread, 0.0)
    return math.sqrt(minor / major)


def _as_rgb(image: RGBImage) -> NDArray[np.uint8]:
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise DetectionError(f"BlobDetector needs a uint8 image, got dtype {array.dtype}")
    if array.ndim == 2:
        return np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim == 3 and array.shape[2] in (3, 4):
        return array[:, :, :3]
    raise DetectionError(
        f"BlobDetector needs an image of shape (height, width, 3), got {array.shape}"
    )


@attrs.frozen
class BlobDetector:
    """Finds dark, round blobs: a classic offline detector for demos and tests.

    A pixel is dark when the mean of its channels is at most ``threshold``. Dark pixels
    are grouped into 8-connected components; a component whose equivalent radius
    (``sqrt(area / pi)``) lies in ``[min_radius, max_radius]`` is one detection, boxed by
    its extent. Components touching the image edge are judged by their visible extent
    instead, so a cell cut by the edge is still reported (with a lower confidence).

    The confidence (percent) is graded: it is ``100 x size x (roundness + contrast) / 2``,
    where *roundness* is the minor/major axis ratio of the blob (from its second moments:
    1 for a disc, 0.5 for an ellipse twice as long as wide), *contrast* is how far the
    blob's mean lies below the threshold, relative to the darkest cells (full marks at 40 %
    below it), and *size* is 1 for blobs of at least twice ``min_radius``. Dark discs score
    above 90; the paler, elongated look-alikes of :func:`wsi2rek.testing.make_slide` score
    under 70, so a confidence threshold separates the two.

    It finds the cells and look-alikes :func:`wsi2rek.testing.make_slide` and
    :func:`wsi2rek.testing.make_image` paint, and works on any RGB ``uint8`` array.

    Attributes:
        label: Label of every detection.
        threshold: Darkness threshold on the channel mean (0-255).
        min_radius: Smallest blob radius reported, in pixels.
        max_radius: Largest blob radius reported, in pixels.

    Example:
        >>> import numpy as np
        >>> image = np.full((64, 64, 3), 200, dtype=np.uint8)
        >>> yy, xx = np.mgrid[:64, :64]
        >>> image[(yy - 30) ** 2 + (xx - 20) ** 2 <= 100] = 40
        >>> [d.box for d in BlobDetector().detect(image)]
        [Box(left=10.0, top=20.0, right=31.0, bottom=41.0)]
    """

    label: str = "mitotic figure"
    threshold: float = 110.0
    min_radius: float = 4.0
    max_radius: float = 60.0

    def __attrs_post_init__(self) -> None:
        if not (0 < self.threshold < 255):
            raise DetectionError(
                f"BlobDetector threshold must be in (0, 255), got {self.threshold}"
            )
        if not (0 < self.min_radius <= self.max_radius):
            raise DetectionError(
                "BlobDetector needs 0 < min_radius <= max_radius, got "
                f"min_radius={self.min_radius}, max_radius={self.max_radius}"
            )

    @property
    def cache_id(self) -> str:
        """A stable identity for detection caches (the class and its parameters)."""
        return repr(self)

    def detect(self, image: RGBImage, /) -> Sequence[Detection]:
        """Detections of the dark blobs in ``image`` (boxes in the image's pixel frame)."""
        rgb = _as_rgb(image)
        height, width = rgb.shape[:2]
        if height == 0 or width == 0:
            return []
        # Integer sum avoids a float image: mean <= t  <=>  sum <= 3 t.
        total = rgb.sum(axis=2, dtype=np.uint16)
        dark = total <= 3 * self.threshold
        if not dark.any():
            return []
        found: list[Detection] = []
        for blob in label_components(dark):
            top, left, bottom, right, area, runs = blob
            touches = top == 0 or left == 0 or bottom == height or right == width
            radius = math.sqrt(area / math.pi)
            if touches:
                radius = max(radius, max(bottom - top, right - left) / 2)
            if not (self.min_radius <= radius <= self.max_radius):
                continue
            values = np.concatenate([total[r, s:e] for r, s, e in runs])
            darkness = 1.0 - float(values.mean()) / (3 * self.threshold)
            contrast = min(1.0, max(0.0, darkness / _FULL_CONTRAST))
            fill = area / (math.pi * max(radius, 1.0) ** 2)
            size = min(1.0, fill, radius / (2 * self.min_radius))
            score = size * (_roundness(runs) + contrast) / 2
            confidence = round(100.0 * min(1.0, max(0.0, score)), 3)
            found.append(Detection(self.label, confidence, blob.box))
        return found

    def __call__(self, image: RGBImage, /) -> Sequence[Detection]:
        """Same as :meth:`detect`, so the detector is also a plain callable."""
        return self.detect(image)
