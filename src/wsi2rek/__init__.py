"""wsi2rek: whole-slide images and annotations to Rekognition Custom Labels and back.

The top-level package re-exports the names most scripts need; each concept lives in its
own subpackage (``wsi2rek.slides``, ``wsi2rek.annotations``, ``wsi2rek.sampling``,
``wsi2rek.dataset``, ``wsi2rek.inference``) and the AWS layer in ``wsi2rek.aws``, the
only part that imports boto3 (import it explicitly).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wsi2rek._lazy import lazy_exports

if TYPE_CHECKING:
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

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Annotation": "wsi2rek.annotations",
        "AnnotationKind": "wsi2rek.annotations",
        "BackgroundSampler": "wsi2rek.sampling",
        "BlobDetector": "wsi2rek.inference",
        "Box": "wsi2rek.geometry",
        "DatasetSummary": "wsi2rek.dataset",
        "Detection": "wsi2rek.detection",
        "Detector": "wsi2rek.detection",
        "EvaluationResult": "wsi2rek.inference",
        "GridSampler": "wsi2rek.sampling",
        "LabelMap": "wsi2rek.labels",
        "LabeledBox": "wsi2rek.sampling",
        "Manifest": "wsi2rek.dataset",
        "ObjectSampler": "wsi2rek.sampling",
        "PatchPlan": "wsi2rek.sampling",
        "PatchSpec": "wsi2rek.sampling",
        "Point": "wsi2rek.geometry",
        "SlideDetections": "wsi2rek.inference",
        "SlideRecord": "wsi2rek.annotations",
        "SlideRunnerDB": "wsi2rek.annotations",
        "SlideSource": "wsi2rek.slides",
        "TissueMask": "wsi2rek.tissue",
        "ValidationReport": "wsi2rek.dataset",
        "Wsi2RekError": "wsi2rek.errors",
        "Wsi2RekWarning": "wsi2rek.errors",
        "build_dataset": "wsi2rek.dataset",
        "detect_slide": "wsi2rek.inference",
        "evaluate_detections": "wsi2rek.inference",
        "open_slide": "wsi2rek.slides",
        "plan_dataset": "wsi2rek.sampling",
        "tissue_mask": "wsi2rek.tissue",
        "validate_manifest": "wsi2rek.dataset",
        "write_previews": "wsi2rek.dataset",
    },
)
