"""Everything wsi2rek knows about SlideRunner databases, in one package.

- :mod:`~wsi2rek.annotations.sliderunner._schema`: the tables and triggers of every schema
  version, and the SQL functions SlideRunner's triggers call;
- :mod:`~wsi2rek.annotations.sliderunner._names`: the one rule that matches a slide name;
- :class:`SlideRunnerDB`: the read-only reader;
- :func:`write_sliderunner`: the writer for detections (a new database or a copy).

``wsi2rek.testing.make_sliderunner_db`` builds test databases from the same schema.
"""

from wsi2rek.annotations.sliderunner._names import (
    SlideRecord,
    find_slide,
    slides_named,
    split_path,
)
from wsi2rek.annotations.sliderunner._reader import (
    SQLITE_HEADER,
    AnnotationRead,
    SkippedAnnotation,
    SlideRunnerDB,
    is_sqlite_file,
)
from wsi2rek.annotations.sliderunner._schema import (
    CURRENT_SCHEMA_VERSION,
    SUPPORTED_SCHEMA_VERSIONS,
    TABLES,
    create_schema,
    register_functions,
)
from wsi2rek.annotations.sliderunner._writer import (
    DETECTED_SUFFIX,
    detection_class_name,
    write_sliderunner,
)

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "DETECTED_SUFFIX",
    "SQLITE_HEADER",
    "SUPPORTED_SCHEMA_VERSIONS",
    "TABLES",
    "AnnotationRead",
    "SkippedAnnotation",
    "SlideRecord",
    "SlideRunnerDB",
    "create_schema",
    "detection_class_name",
    "find_slide",
    "is_sqlite_file",
    "register_functions",
    "slides_named",
    "split_path",
    "write_sliderunner",
]
