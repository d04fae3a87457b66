"""Whole-slide detection, merging, F1 evaluation, export, and an offline demo detector.

:func:`detect_slide` runs any :class:`~wsi2rek.detection.Detector` over a slide in
overlapping tiles and merges the results; :func:`evaluate_detections` scores them against
annotated centres; the writers export them for QuPath (GeoJSON), spreadsheets (CSV) and
SlideRunner (:func:`write_detections` picks one by the file's suffix);
:class:`BlobDetector` finds the dark cells of the synthetic test slides so the whole
pipeline runs without AWS.
"""

from wsi2rek.inference._blob import BlobDetector, Component, label_components
from wsi2rek.inference._cache import TileCache
from wsi2rek.inference._evaluate import (
    MITOS_MATCH_RADIUS_PX,
    EvaluationResult,
    Metrics,
    SlideEvaluation,
    ThresholdPoint,
    evaluate_detections,
    evaluate_slide,
    format_ratio,
    ground_truth_from_db,
    match_detections,
)
from wsi2rek.inference._export import (
    CSV_COLUMNS,
    DetectionFormat,
    check_detections_output,
    label_color,
    read_detections,
    to_geojson,
    write_csv,
    write_detections,
    write_geojson,
    write_sliderunner,
)
from wsi2rek.inference._merge import merge_detections, merge_indices
from wsi2rek.inference._options import DetectOptions
from wsi2rek.inference._picture import HOTSPOT_MM2, Hotspot, hotspot, write_detection_preview
from wsi2rek.inference._rate import RateLimiter
from wsi2rek.inference._slide import (
    SlideDetections,
    TileDetections,
    detect_slide,
    detector_id,
    tile_detections_to_slide,
)
from wsi2rek.inference._tiles import Tile, plan_tiles

__all__ = [
    "CSV_COLUMNS",
    "HOTSPOT_MM2",
    "MITOS_MATCH_RADIUS_PX",
    "BlobDetector",
    "Component",
    "DetectOptions",
    "DetectionFormat",
    "EvaluationResult",
    "Hotspot",
    "Metrics",
    "RateLimiter",
    "SlideDetections",
    "SlideEvaluation",
    "ThresholdPoint",
    "Tile",
    "TileCache",
    "TileDetections",
    "check_detections_output",
    "detect_slide",
    "detector_id",
    "evaluate_detections",
    "evaluate_slide",
    "format_ratio",
    "ground_truth_from_db",
    "hotspot",
    "label_color",
    "label_components",
    "match_detections",
    "merge_detections",
    "merge_indices",
    "plan_tiles",
    "read_detections",
    "tile_detections_to_slide",
    "to_geojson",
    "write_csv",
    "write_detection_preview",
    "write_detections",
    "write_geojson",
    "write_sliderunner",
]
