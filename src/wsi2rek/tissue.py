"""Tissue masks: where on a slide there is tissue, from its low-resolution thumbnail.

H&E tissue is coloured (pink and purple), glass and background are white or grey, so the
saturation channel of the thumbnail separates them well. :func:`tissue_mask` thresholds
the HSV saturation with Otsu's method (never below ``min_saturation``), then cleans the
result with a light binary opening and closing (3 x 3, numpy only). The resulting
:class:`TissueMask` answers questions in level-0 pixels: what fraction of a box is
tissue, whether a point lies on tissue.

Example:
    >>> import numpy as np
    >>> from wsi2rek.geometry import Box
    >>> mask = np.zeros((4, 4), dtype=bool)
    >>> mask[:, :2] = True
    >>> tm = TissueMask(mask=mask, downsample=(100.0, 100.0), threshold=20.0)
    >>> tm.fraction(Box(0, 0, 400, 400))
    0.5
"""

from __future__ import annotations

import math

import attrs
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from wsi2rek.errors import SamplingError
from wsi2rek.geometry import Box, Point
from wsi2rek.slides import SlideSource

__all__ = ["TissueMask", "clean_mask", "mask_from_rgb", "otsu_threshold", "tissue_mask"]


def _bool_mask(value: NDArray[np.bool_]) -> NDArray[np.bool_]:
    array = np.asarray(value, dtype=bool)
    if array.ndim != 2:
        raise SamplingError(f"a tissue mask must be a 2-D array, got shape {array.shape}")
    # A read-only copy keeps the frozen mask really frozen.
    array = array.copy()
    array.setflags(write=False)
    return array


def _downsample(value: tuple[float, float]) -> tuple[float, float]:
    dx, dy = (float(v) for v in value)
    if not (math.isfinite(dx) and math.isfinite(dy) and dx > 0 and dy > 0):
        raise SamplingError(f"tissue mask downsample must be positive numbers, got {value!r}")
    return dx, dy


def _coverage(start: float, stop: float, n: int) -> tuple[int, NDArray[np.float64]]:
    """Per-cell overlap of the interval ``[start, stop)`` with cells ``[i, i+1)``, ``0 <= i < n``.

    Returns the first covered index and the overlap lengths (possibly empty).
    """
    lo = max(math.floor(start), 0)
    hi = min(math.ceil(stop), n)
    if hi <= lo:
        return 0, np.zeros(0)
    edges = np.arange(lo, hi + 1, dtype=np.float64)
    left = np.maximum(edges[:-1], start)
    right = np.minimum(edges[1:], stop)
    return lo, np.clip(right - left, 0.0, None)


@attrs.frozen(repr=False)
class TissueMask:
    """A boolean tissue mask at thumbnail resolution.

    Attributes:
        mask: ``(rows, cols)`` array, True where there is tissue.
        downsample: Level-0 pixels per mask pixel, ``(x, y)``.
        threshold: The saturation threshold (0-255) that produced the mask.
    """

    mask: NDArray[np.bool_] = attrs.field(converter=_bool_mask, eq=False)
    downsample: tuple[float, float] = attrs.field(converter=_downsample)
    threshold: float = attrs.field(converter=float)

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of the mask."""
        rows, cols = self.mask.shape
        return int(rows), int(cols)

    @property
    def tissue_fraction(self) -> float:
        """The fraction of the whole mask that is tissue."""
        return float(self.mask.mean()) if self.mask.size else 0.0

    def fraction(self, box: Box) -> float:
        """Tissue fraction of a level-0 ``box``, in ``[0, 1]``.

        Mask pixels count in proportion to how much of them the box covers, and the part
        of the box outside the slide counts as no tissue. An empty box has fraction 0.
        """
        if box.is_empty:
            return 0.0
        dx, dy = self.downsample
        rows, cols = self.mask.shape
        x0, wx = _coverage(box.left / dx, box.right / dx, cols)
        y0, wy = _coverage(box.top / dy, box.bottom / dy, rows)
        if wx.size == 0 or wy.size == 0:
            return 0.0
        window = self.mask[y0 : y0 + wy.size, x0 : x0 + wx.size]
        covered = float(wy @ window.astype(np.float64) @ wx)
        total = (box.width / dx) * (box.height / dy)
        if total <= 0.0:
            # A box so small that its area underflows: judge it by its centre.
            return 1.0 if self.contains(box.center) else 0.0
        return min(max(covered / total, 0.0), 1.0)

    def contains(self, point: Point) -> bool:
        """True when the level-0 ``point`` lies on tissue (False outside the slide)."""
        dx, dy = self.downsample
        col, row = math.floor(point.x / dx), math.floor(point.y / dy)
        rows, cols = self.mask.shape
        if not (0 <= row < rows and 0 <= col < cols):
            return False
        return bool(self.mask[row, col])

    def to_image(self) -> Image.Image:
        """The mask as a greyscale image: 255 for tissue, 0 elsewhere."""
        return Image.fromarray(self.mask.astype(np.uint8) * 255)

    def __repr__(self) -> str:
        rows, cols = self.shape
        dx, dy = self.downsample
        return (
            f"TissueMask({cols}x{rows}, downsample=({dx:.4g}, {dy:.4g}), "
            f"threshold={self.threshold:.1f}, tissue={self.tissue_fraction:.1%})"
        )


def otsu_threshold(values: NDArray[np.uint8]) -> float:
    """Otsu's threshold of 8-bit ``values``: the level maximising between-class variance.

    Pixels strictly above the returned level form the foreground. A constant input
    returns its value (nothing lies above it).
    """
    hist = np.bincount(np.asarray(values, dtype=np.uint8).ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    if total == 0:
        return 0.0
    levels = np.arange(256, dtype=np.float64)
    weight0 = np.cumsum(hist)  # pixels <= t
    weight1 = total - weight0
    mean_sum = np.cumsum(hist * levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean0 = mean_sum / weight0
        mean1 = (mean_sum[-1] - mean_sum) / weight1
        between = weight0 * weight1 * (mean0 - mean1) ** 2
    between = np.nan_to_num(between, nan=-1.0, posinf=-1.0, neginf=-1.0)
    if between.max() <= 0:
        return float(np.flatnonzero(hist)[0])
    return float(np.argmax(between))


def _shifts(mask: NDArray[np.bool_], *, fill: bool) -> list[NDArray[np.bool_]]:
    padded = np.pad(mask, 1, mode="constant", constant_values=fill)
    rows, cols = mask.shape
    return [padded[r : r + rows, c : c + cols] for r in range(3) for c in range(3)]


def _erode(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    # Outside the image counts as tissue, so tissue touching the border is not eaten.
    out: NDArray[np.bool_] = np.logical_and.reduce(_shifts(mask, fill=True))
    return out


def _dilate(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    out: NDArray[np.bool_] = np.logical_or.reduce(_shifts(mask, fill=False))
    return out


def clean_mask(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Binary opening then closing with a 3 x 3 square: drops specks, fills pinholes."""
    opened = _dilate(_erode(mask))
    return _erode(_dilate(opened))


def _auto_threshold(saturation: NDArray[np.uint8], min_saturation: float) -> float:
    """Otsu's threshold, floored at ``min_saturation``, unless the image has no glass.

    Otsu always splits the histogram in two. On a slide covered by tissue edge to edge
    there is no glass class, and Otsu would split tissue from its darkest, most saturated
    parts (nuclei, mitoses), marking most tissue as background. When the pixels Otsu puts
    below its threshold are themselves clearly saturated (median above twice the floor),
    there is no glass to separate, so the floor is used instead.
    """
    level = max(otsu_threshold(saturation), min_saturation)
    below = saturation[saturation <= level]
    if below.size and float(np.median(below)) > 2.0 * min_saturation:
        return min_saturation
    return level


def mask_from_rgb(
    rgb: NDArray[np.uint8], *, threshold: float | None = None, min_saturation: float = 20.0
) -> tuple[NDArray[np.bool_], float]:
    """Tissue mask of an RGB ``uint8`` image and the saturation threshold used.

    Args:
        rgb: ``(rows, cols, 3)`` image, e.g. a slide thumbnail.
        threshold: Saturation level (0-255); pixels strictly above it are tissue. None
            picks it with Otsu's method.
        min_saturation: Lower bound for the Otsu threshold, so a slide that is nearly all
            glass does not turn its faint noise into "tissue".

    Raises:
        SamplingError: when the image is not ``(rows, cols, 3)`` or a threshold is not in
            0-255.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise SamplingError(f"expected an RGB image of shape (rows, cols, 3), got {rgb.shape}")
    for name, value in (("threshold", threshold), ("min_saturation", min_saturation)):
        if value is not None and not (0.0 <= value <= 255.0):
            raise SamplingError(f"{name} must be in 0..255 (HSV saturation), got {value}")
    hsv = np.asarray(Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).convert("HSV"))
    saturation = hsv[:, :, 1]
    if threshold is None:
        level = _auto_threshold(saturation, float(min_saturation))
    else:
        level = float(threshold)
    raw: NDArray[np.bool_] = saturation > level
    return clean_mask(raw), level


def tissue_mask(
    slide: SlideSource,
    *,
    max_size: int = 1024,
    threshold: float | None = None,
    min_saturation: float = 20.0,
) -> TissueMask:
    """Compute the tissue mask of ``slide`` from its thumbnail.

    The thumbnail (at most ``max_size`` pixels on its long side) is converted to HSV;
    pixels whose saturation is above Otsu's threshold (or ``threshold`` when given, and
    never below ``min_saturation``) are tissue; a 3 x 3 opening and closing removes
    specks and pinholes.

    Glass, white and grey background and black areas have low saturation and are not
    tissue; coloured pen marks are saturated and do count as tissue.

    Args:
        slide: An open slide.
        max_size: Long side of the thumbnail the mask is computed on, in pixels (>= 8).
        threshold: Fixed saturation threshold (0-255) instead of Otsu's.
        min_saturation: Floor for the automatic threshold (0-255).

    Returns:
        The mask with its level-0 downsample and the threshold used.

    Raises:
        SamplingError: when ``max_size`` or a threshold is out of range.
    """
    if max_size < 8:
        raise SamplingError(
            f"{slide.path.name}: tissue mask max_size must be at least 8 px, got {max_size}",
            slide=slide.path.name,
        )
    thumb = np.asarray(slide.thumbnail(max_size).convert("RGB"))
    try:
        mask, level = mask_from_rgb(thumb, threshold=threshold, min_saturation=min_saturation)
    except SamplingError as exc:
        raise SamplingError(f"{slide.path.name}: {exc.message}", slide=slide.path.name) from exc
    width, height = slide.dimensions
    rows, cols = mask.shape
    return TissueMask(mask=mask, downsample=(width / cols, height / rows), threshold=level)
