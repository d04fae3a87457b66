"""Tile grids for whole-slide detection: pure placement of overlapping windows."""

from __future__ import annotations

import math

import attrs

from wsi2rek.errors import RegionError
from wsi2rek.geometry import Box

__all__ = ["Tile", "axis_starts", "plan_tiles"]


@attrs.frozen
class Tile:
    """One detector call: a window read at ``level``.

    Attributes:
        x: Left edge in level-0 pixels.
        y: Top edge in level-0 pixels.
        width: Width in pixels of ``level`` (the size of the image the detector sees).
        height: Height in pixels of ``level``.
        level: Pyramid level the pixels are read at.
        downsample: Level-0 pixels per pixel of ``level``.
        edges: Which sides are interior, i.e. shared with a neighbouring tile rather than
            lying on the slide or ROI boundary, as ``(left, top, right, bottom)``.
    """

    x: int
    y: int
    width: int
    height: int
    level: int = 0
    downsample: float = 1.0
    edges: tuple[bool, bool, bool, bool] = (False, False, False, False)

    @property
    def l0_box(self) -> Box:
        """The window in level-0 pixels."""
        return Box(
            self.x,
            self.y,
            self.x + self.width * self.downsample,
            self.y + self.height * self.downsample,
        )

    @property
    def key(self) -> tuple[int, int, int, int, int]:
        """``(x, y, width, height, level)``: identifies the tile in a cache."""
        return (self.x, self.y, self.width, self.height, self.level)

    @property
    def window(self) -> tuple[int, int, int, int]:
        """``(x, y, width, height)`` in level-0 pixels, rounded outward (for messages)."""
        left, top, right, bottom = self.l0_box.to_ints()
        return (left, top, right - left, bottom - top)


def axis_starts(start: int, stop: int, tile: int, overlap: int) -> list[int]:
    """Tile start positions covering ``[start, stop)`` with tiles of ``tile`` px.

    Consecutive tiles overlap by at least ``overlap`` px; the last one is pulled back so
    it ends exactly at ``stop`` (tiles never cross the boundary). A span shorter than one
    tile gives a single start.
    """
    length = stop - start
    if length <= tile:
        return [start]
    stride = tile - overlap
    starts = list(range(start, stop - tile, stride))
    starts.append(stop - tile)
    return starts


def plan_tiles(
    dimensions: tuple[int, int],
    *,
    tile_size: int,
    overlap: int,
    level: int = 0,
    downsample: float = 1.0,
    roi: Box | None = None,
) -> list[Tile]:
    """Overlapping tiles covering a level (or an ROI of it), row by row.

    Args:
        dimensions: ``(width, height)`` of ``level``.
        tile_size: Tile side in pixels of ``level``.
        overlap: Minimum overlap between neighbours in pixels of ``level``; must be
            larger than the objects to detect and smaller than ``tile_size``.
        level: Pyramid level to read.
        downsample: Level-0 pixels per pixel of ``level``.
        roi: Region of interest in level-0 pixels (clipped to the slide), or None for
            the whole slide.

    Returns:
        Tiles in reading order; each lies inside the slide and the ROI.

    Raises:
        RegionError: when ``tile_size``/``overlap`` are out of range or the ROI misses the slide.
    """
    if tile_size < 1:
        raise RegionError(
            f"tile_size must be a positive number of pixels, got {tile_size}",
            parameter="tile_size",
        )
    if not 0 <= overlap < tile_size:
        raise RegionError(
            f"overlap must be >= 0 and smaller than tile_size ({tile_size} px), got {overlap}; "
            "choose an overlap larger than the objects to detect and a tile_size larger than that"
        )
    width, height = dimensions
    left, top, right, bottom = 0, 0, width, height
    if roi is not None:
        left = max(0, math.floor(roi.left / downsample))
        top = max(0, math.floor(roi.top / downsample))
        right = min(width, math.ceil(roi.right / downsample))
        bottom = min(height, math.ceil(roi.bottom / downsample))
        if right <= left or bottom <= top:
            raise RegionError(
                f"the ROI {roi} does not overlap the slide ({width} x {height} px at level "
                f"{level}, downsample {downsample:g}); give a box in level-0 pixels inside it"
            )
    tiles: list[Tile] = []
    xs = axis_starts(left, right, tile_size, overlap)
    ys = axis_starts(top, bottom, tile_size, overlap)
    for ty in ys:
        th = min(tile_size, bottom - ty)
        for tx in xs:
            tw = min(tile_size, right - tx)
            tiles.append(
                Tile(
                    x=round(tx * downsample),
                    y=round(ty * downsample),
                    width=tw,
                    height=th,
                    level=level,
                    downsample=downsample,
                    edges=(tx > left, ty > top, tx + tw < right, ty + th < bottom),
                )
            )
    return tiles
