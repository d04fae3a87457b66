"""Whole-slide detection: tile, detect concurrently under a rate limit, map, merge."""

from __future__ import annotations

import contextlib
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

from wsi2rek.detection import Detection, Detector, RGBImage
from wsi2rek.errors import DetectionError, ParameterError, SlideError, Wsi2RekWarning
from wsi2rek.execution import BoundedRun, ProgressSubscriber, as_subscriber, tracked
from wsi2rek.geometry import Box
from wsi2rek.inference._cache import TileCache, TileKey
from wsi2rek.inference._merge import merge_indices
from wsi2rek.inference._options import DetectOptions
from wsi2rek.inference._rate import RateLimiter
from wsi2rek.inference._tiles import Tile, plan_tiles
from wsi2rek.slides import SlideSource

__all__ = [
    "SlideDetections",
    "TileDetections",
    "detect_slide",
    "detector_id",
    "tile_detections_to_slide",
]

DetectFn = Callable[[RGBImage], Sequence[Detection]]

#: A box within this many pixels (of the tile's level) of an interior tile edge is
#: "partial": the object may continue in the neighbouring tile.
BORDER_MARGIN = 2.0


@attrs.frozen
class SlideDetections:
    """The detections of one slide and how they were obtained.

    Attributes:
        slide: The slide's file name.
        detections: Merged detections, boxes in level-0 pixels, sorted top to bottom.
        tiles_total: Tiles in the grid.
        tiles_run: Tiles sent to the detector in this run.
        tiles_cached: Tiles whose results came from the cache file.
        tiles_skipped: Tiles skipped for lack of tissue.
        tiles_failed: Tiles whose detector call failed (``on_error="skip"``).
        raw_detections: Detections before merging (after ``min_confidence``).
        elapsed_s: Wall-clock seconds of the whole call.
        achieved_tps: Detector calls per second, measured between the first and the last
            call start (what ``max_tps`` limits), or None when fewer than two calls ran.
        max_tps: The TPS limit that applied, if any.
        failed: ``(x, y, width, height)`` level-0 windows of the failed tiles.
    """

    slide: str
    detections: tuple[Detection, ...]
    tiles_total: int
    tiles_run: int
    tiles_cached: int
    tiles_skipped: int
    tiles_failed: int = 0
    raw_detections: int = 0
    elapsed_s: float = 0.0
    achieved_tps: float | None = None
    max_tps: float | None = None
    failed: tuple[tuple[int, int, int, int], ...] = ()

    def __len__(self) -> int:
        return len(self.detections)

    def __iter__(self) -> Iterator[Detection]:
        return iter(self.detections)

    def counts(self) -> dict[str, int]:
        """Number of detections per label."""
        return dict(sorted(Counter(d.label for d in self.detections).items()))

    def above(self, min_confidence: float) -> SlideDetections:
        """A copy keeping only detections with ``confidence >= min_confidence``."""
        kept = tuple(d for d in self.detections if d.confidence >= min_confidence)
        return attrs.evolve(self, detections=kept)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (counts and timings, not the detections themselves)."""
        return {
            "slide": self.slide,
            "detections": len(self.detections),
            "by_label": self.counts(),
            "tiles": {
                "total": self.tiles_total,
                "run": self.tiles_run,
                "cached": self.tiles_cached,
                "skipped_no_tissue": self.tiles_skipped,
                "failed": self.tiles_failed,
            },
            "raw_detections": self.raw_detections,
            "elapsed_s": round(self.elapsed_s, 4),
            "achieved_tps": None if self.achieved_tps is None else round(self.achieved_tps, 4),
            "max_tps": self.max_tps,
            "failed_tiles": [list(w) for w in self.failed],
        }

    def __repr__(self) -> str:
        return (
            f"SlideDetections({self.slide!r}, detections={len(self.detections)}, "
            f"tiles={self.tiles_total} (run {self.tiles_run}, cached {self.tiles_cached}, "
            f"skipped {self.tiles_skipped}, failed {self.tiles_failed}))"
        )


def detector_id(detector: object) -> str:
    """A stable identity of a detector, for cache keys.

    Uses the detector's ``cache_id`` attribute when it has one, then its class and
    ``arn`` (a Rekognition model, whose ``repr`` shows a changing status), then
    ``module:qualname`` for functions, then its ``repr`` when that does not contain a
    memory address, and finally its class's ``module:qualname``.
    """
    explicit = getattr(detector, "cache_id", None)
    if isinstance(explicit, str):
        return explicit
    arn = getattr(detector, "arn", None)
    if isinstance(arn, str):
        return f"{type(detector).__qualname__}:{arn}"
    if hasattr(detector, "__qualname__") and hasattr(detector, "__module__"):
        return f"{detector.__module__}:{detector.__qualname__}"
    text = repr(detector)
    if " at 0x" not in text:
        return text
    cls = type(detector)
    return f"{cls.__module__}:{cls.__qualname__}"


def _resolve_detector(detector: Detector | DetectFn) -> DetectFn:
    method = getattr(detector, "detect", None)
    if callable(method):
        fn: DetectFn = method
        return fn
    if callable(detector):
        return detector
    raise DetectionError(
        f"detector must have a detect(image) method or be a callable, got {type(detector).__name__}"
    )


def _same_length(instance: TileDetections, _attribute: object, value: tuple[bool, ...]) -> None:
    if len(value) != len(instance.detections):
        raise ParameterError(
            f"TileDetections needs one partial flag per detection: got {len(value)} flags "
            f"for {len(instance.detections)} detections"
        )


@attrs.frozen
class TileDetections:
    """Detections mapped from a tile to the slide, each flagged whole or partial.

    Attributes:
        detections: Boxes in level-0 pixels of the slide.
        partial: One flag per detection, in the same order: True when its box touches an
            interior tile edge (the object may continue in the neighbouring tile), which
            :func:`merge_indices` uses to prefer the tile that sees the object whole.
    """

    detections: tuple[Detection, ...]
    partial: tuple[bool, ...] = attrs.field(validator=_same_length)

    def __len__(self) -> int:
        return len(self.detections)

    def above(self, min_confidence: float | None) -> TileDetections:
        """The detections (and their flags) with ``confidence >= min_confidence``."""
        if min_confidence is None:
            return self
        kept = [
            (d, p)
            for d, p in zip(self.detections, self.partial, strict=True)
            if d.confidence >= min_confidence
        ]
        return TileDetections(tuple(d for d, _ in kept), tuple(p for _, p in kept))


def tile_detections_to_slide(
    tile: Tile, found: Sequence[Detection], *, border_margin: float = BORDER_MARGIN
) -> TileDetections:
    """Map a tile's detections to level-0 pixels and flag the partial ones.

    Boxes are clipped to the tile (detectors may overshoot); boxes with nothing left are
    dropped. A box is partial when it lies within ``border_margin`` pixels of an interior
    tile edge (one shared with a neighbouring tile).

    Returns:
        The level-0 detections with one partial flag each.

    Raises:
        DetectionError: when the detector returned something other than detections.
    """
    bounds = Box(0, 0, tile.width, tile.height)
    left_in, top_in, right_in, bottom_in = tile.edges
    out: list[Detection] = []
    partial: list[bool] = []
    for det in found:
        if not isinstance(det, Detection):
            raise DetectionError(
                f"the detector returned {type(det).__name__} objects for the tile at "
                f"{tile.window}; it must return wsi2rek.Detection objects",
                tile=tile.window,
            )
        box = det.box.clip(bounds)
        if box is None:
            continue
        partial.append(
            (left_in and box.left <= border_margin)
            or (top_in and box.top <= border_margin)
            or (right_in and box.right >= tile.width - border_margin)
            or (bottom_in and box.bottom >= tile.height - border_margin)
        )
        l0 = box.scale(tile.downsample).translate(tile.x, tile.y)
        out.append(Detection(det.label, det.confidence, l0))
    return TileDetections(tuple(out), tuple(partial))


@contextlib.contextmanager
def _opened(slide: SlideSource | str | Path) -> Iterator[SlideSource]:
    if isinstance(slide, SlideSource):
        yield slide
        return
    from wsi2rek.slides import open_slide  # noqa: PLC0415 (keeps inference importable alone)

    with open_slide(slide) as opened:
        yield opened


def detect_slide(
    slide: SlideSource | str | Path,
    detector: Detector | DetectFn,
    *,
    tile_size: int = 1024,
    overlap: int = 128,
    level: int = 0,
    tissue_only: bool = True,
    min_tissue: float = 0.05,
    roi: Box | None = None,
    workers: int = 4,
    max_tps: float | None = None,
    min_confidence: float | None = None,
    merge_iou: float = 0.3,
    merge_distance: float | None = None,
    class_aware: bool = True,
    cache: str | Path | None = None,
    on_error: Literal["raise", "skip"] = "raise",
    detector_name: str | None = None,
    progress: bool | ProgressSubscriber = False,
) -> SlideDetections:
    """Run a detector over a whole slide (or a region of it).

    The slide is cut into ``tile_size`` x ``tile_size`` windows overlapping by ``overlap`` pixels
    (both in pixels of ``level``; tiles are pulled back to stay inside the slide or ROI).
    Tiles with less than ``min_tissue`` tissue are skipped. The detector runs on the
    other tiles from ``workers`` threads sharing one rate limiter (at most
    ``max_tps`` calls per second). Boxes are mapped to level-0 pixels, and duplicates
    from overlapping tiles are merged: greedy NMS by IoU (and centre distance when
    ``merge_distance`` is given), preferring boxes that do not touch an interior tile
    edge, so an object cut by one tile is reported once, from the tile that sees it
    whole. This needs ``overlap`` larger than the objects.

    With ``cache``, each tile's raw result is appended to a JSON-lines file as soon as it
    arrives; running again with the same parameters calls the detector only for the
    tiles missing from it.

    The knobs below, from ``tile_size`` to ``on_error`` (except ``cache``), become one
    :class:`~wsi2rek.inference.DetectOptions`, which documents their units and frames and
    checks them before the slide is opened. The cache file's header records the options
    that decide the tiles (:meth:`~wsi2rek.inference.DetectOptions.grid_dict`), so changing
    a merge or filter option reuses the cached tile results.

    Args:
        slide: An open :class:`SlideSource`, or a path (opened and closed here).
        detector: A :class:`Detector` or a callable ``image -> detections``.
        tile_size: Tile side in pixels of ``level``.
        overlap: Overlap of neighbouring tiles, pixels of ``level``.
        level: Pyramid level to run on; boxes still come back in level-0 pixels.
        tissue_only: Skip tiles without tissue (by :func:`wsi2rek.tissue.tissue_mask`).
        min_tissue: Tissue fraction a tile needs to run (with ``tissue_only``).
        roi: Level-0 region to run on (None: the whole slide).
        workers: Threads calling the detector at once.
        max_tps: Calls per second allowed (None: no limit).
        min_confidence: Drop detections below this confidence (percent) before merging.
        merge_iou: IoU above which two same-label boxes are one object.
        merge_distance: Centre distance (level-0 px) below which they are one object.
        class_aware: Only merge boxes with the same label.
        cache: JSON-lines file of per-tile results, for resuming.
        on_error: ``"raise"`` stops at the first failing tile; ``"skip"`` counts it in
            ``tiles_failed`` and goes on.
        detector_name: Identity of the detector in the cache (default: see
            :func:`detector_id`).
        progress: ``True`` shows a tqdm bar on stderr; a
            :class:`~wsi2rek.execution.ProgressSubscriber` receives one job named after
            the slide file, counted in tiles (``total`` and ``done`` include cached tiles;
            a skipped failing tile counts too).

    Returns:
        The merged detections with tile counts, timings and the achieved rate.

    Raises:
        RegionError: for a bad tile_size, overlap, level or ROI.
        DetectionError: when the detector fails on a tile (with its level-0 window).
        DetectionCacheError: when ``cache`` holds results of other parameters.
    """
    started = time.perf_counter()
    options = DetectOptions(
        tile_size=tile_size,
        overlap=overlap,
        level=level,
        tissue_only=tissue_only,
        min_tissue=min_tissue,
        roi=roi,
        workers=workers,
        max_tps=max_tps,
        min_confidence=min_confidence,
        merge_iou=merge_iou,
        merge_distance=merge_distance,
        class_aware=class_aware,
        on_error=on_error,
    )
    fn = _resolve_detector(detector)
    subscriber = as_subscriber(progress, leave=False)
    with _opened(slide) as source:
        options.check_slide(source)
        tiles, todo = _plan(source, options)
        header = _cache_header(source, options, detector_name or detector_id(detector))
        run = _run_tiles(
            source, fn, todo, options=options, cache=cache, header=header, subscriber=subscriber
        )
        name = source.path.name
    mapped = _collect(todo, run.results, options.min_confidence)
    merged = _merge(mapped, options)
    return SlideDetections(
        slide=name,
        detections=tuple(merged),
        tiles_total=len(tiles),
        tiles_run=run.ran,
        tiles_cached=run.cached,
        tiles_skipped=len(tiles) - len(todo),
        tiles_failed=len(run.failed),
        raw_detections=len(mapped),
        elapsed_s=time.perf_counter() - started,
        achieved_tps=_call_rate(run.starts),
        max_tps=max_tps,
        failed=tuple(t.window for t in run.failed),
    )


# --- the steps ---------------------------------------------------------------------------

#: A tile's detections in level-0 pixels, and for each whether it touches an interior edge.


def _plan(source: SlideSource, options: DetectOptions) -> tuple[list[Tile], list[Tile]]:
    """All tiles of the grid, and those to run (with enough tissue)."""
    level = options.level
    tiles = plan_tiles(
        source.level_dimensions[level],
        tile_size=options.tile_size,
        overlap=options.overlap,
        level=level,
        downsample=float(source.level_downsamples[level]),
        roi=options.roi,
    )
    if not options.tissue_only:
        return tiles, tiles
    from wsi2rek.tissue import tissue_mask  # noqa: PLC0415 (only needed here)

    mask = tissue_mask(source)
    todo = [t for t in tiles if mask.fraction(t.l0_box) >= options.min_tissue]
    if tiles and not todo:
        warnings.warn(
            f"{source.path.name}: none of the {len(tiles)} tiles has {options.min_tissue:.0%} "
            f"tissue by the tissue mask ({mask!r}), so nothing was detected; a slide "
            "covered with tissue from edge to edge has no glass to contrast with: "
            "pass tissue_only=False (--all-tiles) or a lower min_tissue",
            Wsi2RekWarning,
            stacklevel=4,
        )
    return tiles, todo


def _cache_header(source: SlideSource, options: DetectOptions, detector: str) -> dict[str, Any]:
    """What cached tile results depend on: the slide, the tile grid and the detector."""
    return {
        "slide": source.path.name,
        "dimensions": list(source.dimensions),
        **options.grid_dict(),
        "detector": detector,
    }


@attrs.frozen
class _Run:
    """What running the tiles produced."""

    results: dict[TileKey, TileDetections]
    failed: list[Tile]
    cached: int
    ran: int
    starts: list[float]


def _run_tiles(
    source: SlideSource,
    fn: DetectFn,
    todo: list[Tile],
    *,
    options: DetectOptions,
    cache: str | Path | None,
    header: dict[str, Any],
    subscriber: ProgressSubscriber | None,
) -> _Run:
    """Run the detector on the tiles missing from the cache; map each result to level 0."""
    results: dict[TileKey, TileDetections] = {}
    failed: list[Tile] = []
    limiter = RateLimiter(options.max_tps) if options.max_tps is not None else None
    starts: list[float] = []  # list.append is atomic: safe from the workers

    def call(t: Tile) -> list[Detection]:
        image = source.read_region(t.x, t.y, t.width, t.height, t.level)
        if limiter is not None:
            limiter.acquire()
        starts.append(time.perf_counter())
        return list(fn(image))

    with contextlib.ExitStack() as stack:
        store = stack.enter_context(TileCache(cache, header)) if cache is not None else None
        pending = todo
        if store is not None:
            pending = [t for t in todo if store.get(t.key) is None]
            for t in todo:
                found = store.get(t.key)
                if found is not None:
                    results[t.key] = tile_detections_to_slide(t, found)
        cached = len(todo) - len(pending)
        # A few tiles per thread in flight, so stopping on an error (or Ctrl-C) is quick
        # and a huge slide does not queue millions of futures.
        workers = options.workers
        runner = BoundedRun(call, pending, workers=workers, max_in_flight=2 * workers)
        job = tracked(subscriber, source.path.name, len(todo), unit="tile", done=cached)
        with job as advance, runner:
            for outcome in runner:
                t = outcome.item
                try:
                    found = outcome.get()
                    # Checked before caching: a bad result never reaches the file.
                    results[t.key] = tile_detections_to_slide(t, found)
                except Exception as exc:
                    if options.on_error == "raise":
                        raise _tile_error(source, t, exc) from exc
                    failed.append(t)
                else:
                    if store is not None:
                        store.put(t.key, found)
                advance(1)
    return _Run(results, failed, cached, len(pending) - len(failed), starts)


def _tile_error(source: SlideSource, t: Tile, exc: Exception) -> Exception:
    """The error to raise for a failing tile: one that names the tile or region."""
    if isinstance(exc, SlideError) or (isinstance(exc, DetectionError) and exc.tile is not None):
        return exc  # already says which region or tile
    return DetectionError(
        f"{source.path.name}: the detector failed on the tile at level-0 (x, y, width, "
        f"height) {t.window}: {type(exc).__name__}: {exc}. Tiles done so far are kept in the "
        "cache (when one is given); rerun to resume, or pass on_error='skip'",
        tile=t.window,
        parameter="on_error",
    )


def _collect(
    todo: Sequence[Tile], results: dict[TileKey, TileDetections], min_confidence: float | None
) -> TileDetections:
    """Every tile's level-0 detections in tile order, above ``min_confidence``."""
    mapped: list[Detection] = []
    partial: list[bool] = []
    for t in todo:
        if t.key not in results:
            continue
        kept = results[t.key].above(min_confidence)
        mapped.extend(kept.detections)
        partial.extend(kept.partial)
    return TileDetections(tuple(mapped), tuple(partial))


def _merge(mapped: TileDetections, options: DetectOptions) -> list[Detection]:
    """One detection per object, sorted top to bottom."""
    keep = merge_indices(
        mapped.detections,
        iou_threshold=options.merge_iou,
        distance=options.merge_distance,
        class_aware=options.class_aware,
        partial=mapped.partial,
    )
    return sorted(
        (mapped.detections[i] for i in keep),
        key=lambda d: (d.box.top, d.box.left, -d.confidence, d.label),
    )


def _call_rate(starts: Sequence[float]) -> float | None:
    """Calls per second between the first and the last call start (None below 2 calls)."""
    if len(starts) < 2:
        return None
    span = max(starts) - min(starts)
    return (len(starts) - 1) / span if span > 0 else None
