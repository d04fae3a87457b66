"""Annotation sources (SlideRunner databases, QuPath GeoJSON) and annotation value types."""

from wsi2rek.annotations._qupath import (
    GEOJSON_SUFFIXES,
    QuPathObject,
    QuPathSkip,
    class_name_of,
    parse_qupath_objects,
    read_qupath_objects,
)
from wsi2rek.annotations._qupath import skip_summary as qupath_skip_summary
from wsi2rek.annotations._source import AnnotationSource, QuPathGeoJSON, open_annotations
from wsi2rek.annotations._summary import (
    AnnotationCounts,
    AnnotationSummary,
    count_annotations,
    summarise_annotations,
)
from wsi2rek.annotations._types import DEFAULT_SPOT_RADIUS_PX, Annotation, AnnotationKind
from wsi2rek.annotations.sliderunner import (
    SQLITE_HEADER,
    AnnotationRead,
    SkippedAnnotation,
    SlideRecord,
    SlideRunnerDB,
    is_sqlite_file,
)

__all__ = [
    "DEFAULT_SPOT_RADIUS_PX",
    "GEOJSON_SUFFIXES",
    "SQLITE_HEADER",
    "Annotation",
    "AnnotationCounts",
    "AnnotationKind",
    "AnnotationRead",
    "AnnotationSource",
    "AnnotationSummary",
    "QuPathGeoJSON",
    "QuPathObject",
    "QuPathSkip",
    "SkippedAnnotation",
    "SlideRecord",
    "SlideRunnerDB",
    "class_name_of",
    "count_annotations",
    "is_sqlite_file",
    "open_annotations",
    "parse_qupath_objects",
    "qupath_skip_summary",
    "read_qupath_objects",
    "summarise_annotations",
]
