"""The knobs of whole-slide detection, with their units and frames, validated in one place."""

from __future__ import annotations

import math
from typing import Any, Literal

import attrs

from wsi2rek.errors import DetectionError, RegionError
from wsi2rek.geometry import Box
from wsi2rek.slides import SlideSource

__all__ = ["DetectOptions"]

#: The fields that decide which tiles exist and what pixels each holds: the detection
#: cache is valid for a slide and detector as long as these are the same.
_GRID_FIELDS = ("level", "tile_size", "overlap", "roi")

#: The detection cache header names ``tile_size`` ``"tile"``, as wsi2rek 0.1.0 wrote it:
#: caches of (paid) detector results written before the rename stay valid.
_CACHE_KEYS = {"tile_size": "tile"}


@attrs.frozen(kw_only=True)
class DetectOptions:
    """How :func:`~wsi2rek.inference.detect_slide` tiles, runs and merges.

    Built by ``detect_slide`` from its keyword arguments (the same names), and checked
    when built: a bad value raises before the slide is opened or the detector called.

    Attributes:
        tile_size: Tile side, in pixels of ``level``; at least 16.
        overlap: Overlap of neighbouring tiles, in pixels of ``level``; ``0 <= overlap <
            tile_size``, and larger than the objects so each is whole in some tile.
        level: Pyramid level the tiles are read at (checked against the slide by
            :meth:`check_slide`); boxes still come back in level-0 pixels.
        tissue_only: Skip tiles without tissue.
        min_tissue: Tissue fraction, in [0, 1], a tile needs to run (with ``tissue_only``).
        roi: Region to run on, in level-0 pixels (None: the whole slide).
        workers: Threads calling the detector at once; at least 1.
        max_tps: Detector calls per second, all threads together (None: no limit).
        min_confidence: Detections below this confidence, in percent (0-100), are dropped
            before merging.
        merge_iou: Intersection over union above which two boxes are one object.
        merge_distance: Centre distance, in level-0 pixels, below which two boxes are one
            object (None: IoU only).
        class_aware: Only merge boxes with the same label.
        on_error: ``"raise"`` stops at the first failing tile, ``"skip"`` counts it and
            goes on.

    Raises:
        RegionError: ``tile_size`` or ``overlap`` is out of range.
        DetectionError: ``workers``, ``max_tps``, ``min_tissue`` or ``on_error`` is.
    """

    tile_size: int = 1024
    overlap: int = 128
    level: int = 0
    tissue_only: bool = True
    min_tissue: float = 0.05
    roi: Box | None = None
    workers: int = 4
    max_tps: float | None = None
    min_confidence: float | None = None
    merge_iou: float = 0.3
    merge_distance: float | None = None
    class_aware: bool = True
    on_error: Literal["raise", "skip"] = "raise"

    def __attrs_post_init__(self) -> None:
        if self.tile_size < 16:
            raise RegionError(
                f"tile_size={self.tile_size} is below the smallest tile side, 16 px",
                parameter="tile_size",
            )
        if not 0 <= self.overlap < self.tile_size:
            raise RegionError(
                f"overlap must be >= 0 and smaller than tile_size ({self.tile_size} px), got "
                f"{self.overlap}; the overlap must exceed the size of the objects to detect"
            )
        if self.workers < 1:
            raise DetectionError(
                f"workers must be at least 1, got {self.workers}", parameter="workers"
            )
        if self.max_tps is not None and not (math.isfinite(self.max_tps) and self.max_tps > 0):
            raise DetectionError(
                f"max_tps must be a positive number, got {self.max_tps}", parameter="max_tps"
            )
        if not 0.0 <= self.min_tissue <= 1.0:
            raise DetectionError(
                f"min_tissue must be a fraction in [0, 1], got {self.min_tissue}",
                parameter="min_tissue",
            )
        if self.on_error not in ("raise", "skip"):
            raise DetectionError(
                f"on_error must be 'raise' or 'skip', got {self.on_error!r}",
                parameter="on_error",
            )

    def check_slide(self, slide: SlideSource) -> None:
        """Check the options that depend on the slide (the level).

        Raises:
            RegionError: ``level`` is not one of the slide's levels.
        """
        if not 0 <= self.level < slide.level_count:
            raise RegionError(
                f"{slide.path.name}: level {self.level} does not exist; the slide has "
                f"levels 0 to {slide.level_count - 1}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Every option, JSON-ready (``roi`` as ``[left, top, right, bottom]``)."""
        return attrs.asdict(self, recurse=False, value_serializer=_serialise)

    def grid_dict(self) -> dict[str, Any]:
        """The options that decide the tiles and their pixels (the detection cache header).

        Only these invalidate cached tile results; the merge and filter options apply
        after the cache, so changing them reuses it.
        """
        return {_CACHE_KEYS.get(k, k): v for k, v in self.to_dict().items() if k in _GRID_FIELDS}


def _serialise(inst: type, field: attrs.Attribute[Any], value: Any) -> Any:  # noqa: ARG001 (attrs' hook signature)
    if isinstance(value, Box):
        return [value.left, value.top, value.right, value.bottom]
    return value
