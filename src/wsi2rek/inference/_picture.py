"""Pictures of whole-slide detections: a preview and a density map with the hotspot.

Pathologists grade by mitotic count in the hotspot: the field of 10 high-power fields
(2.37 mm², the area the veterinary and human grading schemes use) holding the most mitotic
figures. :func:`hotspot` finds that field (a square of that area, needs the slide's MPP)
exactly; :func:`write_detection_preview` draws the slide with its tissue outline and the
detections (with ground truth: hits, misses and false positives in distinct marks) next to
a density map of detections per mm² with the hotspot marked.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path

import attrs
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from wsi2rek._atomic import atomic_write_bytes
from wsi2rek.detection import Detection
from wsi2rek.errors import ParameterError
from wsi2rek.geometry import Box, Point
from wsi2rek.inference._evaluate import MITOS_MATCH_RADIUS_PX, match_both

__all__ = ["HOTSPOT_MM2", "Hotspot", "hotspot", "write_detection_preview"]

#: Area of 10 high-power fields, the hotspot of mitotic counts, in mm².
HOTSPOT_MM2 = 2.37

#: Mark colours (RGB).
HIT_COLOUR = (0, 170, 0)
MISS_COLOUR = (255, 140, 0)
FALSE_POSITIVE_COLOUR = (220, 0, 220)
DETECTION_COLOUR = (0, 90, 255)
HOTSPOT_COLOUR = (0, 255, 255)
_TISSUE_COLOUR = (0, 110, 0)
_TITLE_HEIGHT = 22


@attrs.frozen
class Hotspot:
    """The square field holding the most detection centres.

    Attributes:
        box: The field, level-0 pixels: a square of ``area_mm2`` inside the slide, cut to
            the slide when the slide is smaller than the field.
        count: Detection centres inside it (left/top edges inclusive, right/bottom
            exclusive).
        area_mm2: Its area.
    """

    box: Box
    count: int
    area_mm2: float

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        b = self.box
        return {
            "count": self.count,
            "area_mm2": self.area_mm2,
            "box": [b.left, b.top, b.right, b.bottom],
        }


def hotspot(
    centres: Sequence[Point],
    slide_size: tuple[int, int],
    mpp: float | None,
    *,
    area_mm2: float = HOTSPOT_MM2,
) -> Hotspot:
    """The square field of ``area_mm2`` holding the most ``centres`` (exact, not gridded).

    Some optimal square has its left edge on a centre's x and its top edge on a centre's y,
    so those positions are searched (a sweep over y for each left edge).

    Args:
        centres: Detection centres, level-0 pixels.
        slide_size: Level-0 ``(width, height)``: the field is kept inside the slide.
        mpp: Micrometres per level-0 pixel.
        area_mm2: Field area (default 2.37 mm², 10 high-power fields).

    Raises:
        ParameterError: ``mpp`` is unknown (None) or not positive.
    """
    if mpp is None or not mpp > 0:
        raise ParameterError(
            "the hotspot (10 high-power fields, 2.37 mm²) needs the slide's resolution, and "
            f"this slide has no MPP (got {mpp!r}); use a slide file that records it"
        )
    side = math.sqrt(area_mm2) * 1000.0 / mpp
    width, height = slide_size
    if not centres:
        return Hotspot(Box(0, 0, min(side, width), min(side, height)), 0, area_mm2)
    xy = np.array([(p.x, p.y) for p in centres], dtype=np.float64)
    best_count, best_x, best_y = -1, 0.0, 0.0
    for left in np.unique(xy[:, 0]):
        inside = xy[(xy[:, 0] >= left) & (xy[:, 0] < left + side), 1]
        ys = np.sort(inside)
        # for each top = ys[i], how many ys lie in [top, top + side)
        counts = np.searchsorted(ys, ys + side, side="left") - np.arange(len(ys))
        i = int(np.argmax(counts))
        if counts[i] > best_count:
            best_count, best_x, best_y = int(counts[i]), float(left), float(ys[i])
    # Moving the square back inside the slide keeps every centre it holds (all centres lie
    # in the slide, so they stay within the shifted square).
    x0 = max(0.0, min(best_x, width - side))
    y0 = max(0.0, min(best_y, height - side))
    # A slide smaller than the field: the field is the whole slide.
    box = Box(x0, y0, min(x0 + side, width), min(y0 + side, height))
    return Hotspot(box, best_count, area_mm2)


def _density(
    centres: Sequence[Point], slide_size: tuple[int, int], cell: float
) -> NDArray[np.float64]:
    width, height = slide_size
    cols, rows = max(1, math.ceil(width / cell)), max(1, math.ceil(height / cell))
    grid = np.zeros((rows, cols), dtype=np.float64)
    for p in centres:
        c = min(int(p.x // cell), cols - 1)
        r = min(int(p.y // cell), rows - 1)
        grid[r, c] += 1
    return grid


def _heat(value: NDArray[np.float64]) -> NDArray[np.uint8]:
    """White (0) -> yellow -> red (1)."""
    v = np.clip(value, 0.0, 1.0)[..., None]
    white, yellow, red = (
        np.array(c, dtype=np.float64) for c in ((255, 255, 255), (255, 220, 0), (200, 0, 0))
    )
    low = white + (yellow - white) * np.minimum(v * 2, 1.0)
    high = yellow + (red - yellow) * np.clip(v * 2 - 1, 0.0, 1.0)
    return np.where(v <= 0.5, low, high).round().astype(np.uint8)


def _marks_panel(
    thumb: Image.Image,
    mask: Image.Image,
    detections: Sequence[Detection],
    truth: Sequence[Point] | None,
    *,
    radius_px: float,
    scale: float,
) -> tuple[Image.Image, dict[str, int]]:
    """The thumbnail with the tissue outline and one mark per detection (and miss)."""
    left = np.asarray(thumb).copy()
    m = np.asarray(mask.resize(thumb.size, Image.Resampling.NEAREST)) > 0
    padded = np.pad(m, 1, constant_values=False)
    inner = padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1]
    inner &= padded[1:-1, :-2] & padded[1:-1, 2:]
    left[m & ~inner] = _TISSUE_COLOUR
    panel = Image.fromarray(left)
    draw = ImageDraw.Draw(panel)
    centres = [d.box.center for d in detections]

    def square(p: Point, colour: tuple[int, int, int]) -> None:
        x, y = p.x * scale, p.y * scale
        draw.rectangle((x - 3, y - 3, x + 3, y + 3), outline=colour, width=2)

    if truth is None:
        for c in centres:
            square(c, DETECTION_COLOUR)
        return panel, {"detections": len(centres)}
    hits, found = match_both(detections, list(truth), radius_px)
    for c, hit in zip(centres, hits, strict=True):
        square(c, HIT_COLOUR if hit else FALSE_POSITIVE_COLOUR)
    for t, ok in zip(truth, found, strict=True):
        if not ok:
            x, y = t.x * scale, t.y * scale
            draw.line((x - 4, y - 4, x + 4, y + 4), fill=MISS_COLOUR, width=2)
            draw.line((x - 4, y + 4, x + 4, y - 4), fill=MISS_COLOUR, width=2)
    return panel, {
        "hits": sum(hits),
        "false positives": len(hits) - sum(hits),
        "misses": len(found) - sum(found),
    }


def write_detection_preview(
    slide: str | os.PathLike[str],
    detections: Sequence[Detection],
    out: str | os.PathLike[str],
    *,
    truth: Sequence[Point] | None = None,
    radius_px: float = MITOS_MATCH_RADIUS_PX,
    max_size: int = 1024,
    area_mm2: float = HOTSPOT_MM2,
) -> Hotspot | None:
    """Write a PNG: the slide with its detections, and their density with the hotspot.

    Left panel: the thumbnail with the tissue outlined in green and one mark per detection
    (blue squares), or, with ``truth``, hits (green squares), false positives (magenta
    squares) and misses (orange crosses) matched as :func:`evaluate_detections` does.
    Right panel (when the slide has an MPP): detections per mm² on a grid of about one
    high-power field (a tenth of ``area_mm2``), white to red, with the hotspot outlined in
    cyan. Without an MPP the density is per grid cell and no hotspot is drawn.

    Args:
        slide: The slide file.
        detections: Detections in level-0 pixels (e.g. ``SlideDetections.detections``).
        out: PNG file to write (atomically).
        truth: Ground-truth centres in level-0 pixels, or None.
        radius_px: Matching radius for hits and misses, level-0 pixels.
        max_size: Long side of each panel, pixels.
        area_mm2: Hotspot area.

    Returns:
        The hotspot, or None when the slide has no MPP.
    """
    from wsi2rek.slides import open_slide  # noqa: PLC0415
    from wsi2rek.tissue import tissue_mask  # noqa: PLC0415

    with open_slide(slide) as source:
        thumb = source.thumbnail(max_size).convert("RGB")
        size = source.dimensions
        mpp_xy = source.mpp
        mask = tissue_mask(source, max_size=max_size).to_image()
    mpp = mpp_xy[0] if mpp_xy else None
    scale = thumb.width / size[0]
    centres = [d.box.center for d in detections]
    panel, counts = _marks_panel(thumb, mask, detections, truth, radius_px=radius_px, scale=scale)

    # Density: about one high-power field per cell (in px without an MPP).
    cell = math.sqrt(area_mm2 / 10) * 1000.0 / mpp if mpp else max(size) / 32
    grid = _density(centres, size, cell)
    per = grid / (area_mm2 / 10) if mpp else grid  # per mm² (or per cell)
    peak = float(per.max()) if per.size else 0.0
    heat = _heat(per / peak if peak > 0 else per)
    density = (
        Image.fromarray(heat)
        .resize(
            (round(grid.shape[1] * cell * scale), round(grid.shape[0] * cell * scale)),
            Image.Resampling.NEAREST,
        )
        .crop((0, 0, thumb.width, thumb.height))
    )
    spot = hotspot(centres, size, mpp, area_mm2=area_mm2) if mpp else None
    if spot is not None:
        b = spot.box
        ImageDraw.Draw(density).rectangle(
            (b.left * scale, b.top * scale, b.right * scale - 1, b.bottom * scale - 1),
            outline=HOTSPOT_COLOUR,
            width=3,
        )
    canvas = Image.new("RGB", (thumb.width * 2 + 10, thumb.height + 2 * _TITLE_HEIGHT), "white")
    canvas.paste(panel, (0, _TITLE_HEIGHT))
    canvas.paste(density, (thumb.width + 10, _TITLE_HEIGHT))
    text = ImageDraw.Draw(canvas)
    marks = ", ".join(f"{n} {k}" for k, n in counts.items())
    text.text((4, 5), f"{Path(os.fspath(slide)).name}: {marks}", fill=(0, 0, 0))
    unit = "per mm²" if mpp else "per cell"
    caption = (
        f"hotspot ({area_mm2:g} mm²): {spot.count} detections; density peak {peak:.3g} {unit}"
        if spot is not None
        else f"no MPP: no hotspot; density peak {peak:.3g} {unit}"
    )
    text.text((thumb.width + 14, 5), caption.replace("²", "2"), fill=(0, 0, 0))
    text.text(
        (4, thumb.height + _TITLE_HEIGHT + 5),
        f"downsample {size[0] / thumb.width:.3g}x",
        fill=(0, 0, 0),
    )
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG")
    atomic_write_bytes(out, buffer.getvalue())
    return spot
