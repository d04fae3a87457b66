"""Annotation readers (SlideRunner databases) and annotation value types."""

from wsi2rek.annotations._types import DEFAULT_SPOT_RADIUS_PX, Annotation, AnnotationKind
from wsi2rek.annotations.sliderunner import (
    SQLITE_HEADER,
    SkippedAnnotation,
    SlideRecord,
    SlideRunnerDB,
    is_sqlite_file,
)

__all__ = [
    "DEFAULT_SPOT_RADIUS_PX",
    "SQLITE_HEADER",
    "Annotation",
    "AnnotationKind",
    "SkippedAnnotation",
    "SlideRecord",
    "SlideRunnerDB",
    "is_sqlite_file",
]
