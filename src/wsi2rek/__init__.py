"""wsi2rek: whole-slide images and annotations to Rekognition Custom Labels and back.

The top-level package re-exports the names most scripts need; each concept lives in its
own subpackage (``wsi2rek.slides``, ``wsi2rek.annotations``, ``wsi2rek.sampling``,
``wsi2rek.dataset``, ``wsi2rek.inference``) and the AWS layer in ``wsi2rek.aws``, the
only part that imports boto3 (import it explicitly).
"""

from __future__ import annotations

from wsi2rek.annotations import Annotation, AnnotationKind, SlideRecord, SlideRunnerDB
from wsi2rek.dataset import (
    DatasetSummary,
    Manifest,
    ValidationReport,
    build_dataset,
    validate_manifest,
    write_previews,
)
from wsi2rek.detection import Detection, Detector
from wsi2rek.errors import Wsi2RekError, Wsi2RekWarning
from wsi2rek.geometry import Box, Point
from wsi2rek.inference import (
    BlobDetector,
    EvaluationResult,
    SlideDetections,
    detect_slide,
    evaluate_detections,
)
from wsi2rek.labels import LabelMap
from wsi2rek.sampling import (
    BackgroundSampler,
    GridSampler,
    LabeledBox,
    ObjectSampler,
    PatchPlan,
    PatchSpec,
    plan_dataset,
)
from wsi2rek.slides import SlideSource, open_slide
from wsi2rek.tissue import TissueMask, tissue_mask

__version__ = "0.1.0"

__all__ = [
    "Annotation",
    "AnnotationKind",
    "BackgroundSampler",
    "BlobDetector",
    "Box",
    "DatasetSummary",
    "Detection",
    "Detector",
    "EvaluationResult",
    "GridSampler",
    "LabelMap",
    "LabeledBox",
    "Manifest",
    "ObjectSampler",
    "PatchPlan",
    "PatchSpec",
    "Point",
    "SlideDetections",
    "SlideRecord",
    "SlideRunnerDB",
    "SlideSource",
    "TissueMask",
    "ValidationReport",
    "Wsi2RekError",
    "Wsi2RekWarning",
    "__version__",
    "build_dataset",
    "detect_slide",
    "evaluate_detections",
    "open_slide",
    "plan_dataset",
    "tissue_mask",
    "validate_manifest",
    "write_previews",
]
