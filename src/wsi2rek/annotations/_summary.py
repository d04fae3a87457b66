"""What an annotation source holds, counted: the summary ``wsi2rek info`` prints.

:func:`summarise_annotations` reads a SlideRunner database or QuPath GeoJSON (any
:class:`~wsi2rek.annotations.AnnotationSource`) once and returns a frozen
:class:`AnnotationSummary`; :func:`count_annotations` is its counting step, for
annotations already in hand. ``to_dict()`` is the JSON of ``wsi2rek info --json``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from wsi2rek.annotations._source import AnnotationSource, QuPathGeoJSON
from wsi2rek.annotations._types import Annotation, AnnotationKind
from wsi2rek.annotations.sliderunner import SlideRunnerDB

__all__ = ["AnnotationCounts", "AnnotationSummary", "count_annotations", "summarise_annotations"]


@attrs.frozen
class AnnotationCounts:
    """Annotations counted by kind and by class.

    Attributes:
        total: Annotations that are not deleted; ``by_kind`` and ``by_class`` count these.
        deleted: Annotations marked deleted (SlideRunner keeps them; QuPath has none).
        skipped: Rows or features the reader could not turn into annotations (image
            annotations, unknown types, lines, NaN coordinates, ...;
            ``read_annotations()`` says why).
        by_kind: Every :class:`~wsi2rek.annotations.AnnotationKind` name -> count (0 listed).
        by_class: Every class id of the source (as a string) -> count, 0 listed, then
            class ids that are not a known class, then ``"unknown"``: annotations
            without an agreed class.
    """

    total: int
    deleted: int
    skipped: int
    by_kind: Mapping[str, int]
    by_class: Mapping[str, int]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``annotations`` of ``wsi2rek info --json``)."""
        return {
            "total": self.total,
            "deleted": self.deleted,
            "by_kind": dict(self.by_kind),
            "by_class": dict(self.by_class),
            "skipped": self.skipped,
        }


def count_annotations(
    annotations: Sequence[Annotation], classes: Mapping[int, str], *, skipped: int = 0
) -> AnnotationCounts:
    """Count non-deleted annotations by kind and by class, and the deleted ones apart.

    Args:
        annotations: The annotations, deleted ones included (they are counted apart).
        classes: Class id -> name of the source; every id is listed, with 0 when absent.
        skipped: How many rows the reader skipped (reported as given).

    Returns:
        The counts.
    """
    live = [a for a in annotations if not a.deleted]
    kinds = Counter(a.kind for a in live)
    labels = Counter(a.class_id for a in live)
    by_class: dict[str, int] = {str(uid): labels.get(uid, 0) for uid in sorted(classes)}
    for label in sorted(x for x in labels if x is not None and x not in classes):
        by_class[str(label)] = labels[label]
    by_class["unknown"] = labels.get(None, 0)
    return AnnotationCounts(
        total=len(live),
        deleted=len(annotations) - len(live),
        skipped=skipped,
        by_kind={kind.name: kinds.get(kind, 0) for kind in AnnotationKind},
        by_class=by_class,
    )


@attrs.frozen
class AnnotationSummary:
    """What one annotation source holds.

    Attributes:
        kind: ``"sliderunner"`` (a SlideRunner database), ``"qupath"`` (QuPath GeoJSON)
            or, for another :class:`AnnotationSource`, its class name.
        path: The file read.
        slide_names: Slide file names (the names ``test_slides`` and a slides folder
            need); sorted for a database, in the file's order for GeoJSON.
        classes: Class id -> name.
        annotations: The counts.
        schema_version: SlideRunner's ``PRAGMA user_version``; None for QuPath.
        persons: Annotator uid -> name; None for QuPath.
        vote_disagreements: Live annotations with a vote that differs from their agreed
            class; None for QuPath (no votes).
    """

    kind: str
    path: Path
    slide_names: tuple[str, ...]
    classes: Mapping[int, str]
    annotations: AnnotationCounts
    schema_version: int | None = None
    persons: Mapping[int, str] | None = None
    vote_disagreements: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, the output of ``wsi2rek info --json``."""
        data: dict[str, Any] = {"kind": self.kind, "path": str(self.path)}
        if self.schema_version is not None:
            data["schema_version"] = self.schema_version
        data["slides"] = len(self.slide_names)
        data["slide_names"] = list(self.slide_names)
        data["classes"] = {str(uid): name for uid, name in self.classes.items()}
        if self.persons is not None:
            data["persons"] = {str(uid): name for uid, name in self.persons.items()}
        data["annotations"] = self.annotations.to_dict()
        if self.vote_disagreements is not None:
            data["vote_disagreements"] = self.vote_disagreements
        return data


def _disagrees(annotation: Annotation) -> bool:
    return any(vote != annotation.class_id for vote in annotation.votes.values())


def summarise_annotations(source: AnnotationSource) -> AnnotationSummary:
    """Read every annotation of ``source`` once and count them.

    Example:
        >>> with SlideRunnerDB("MITOS_WSI_CMC_MEL.sqlite") as db:  # doctest: +SKIP
        ...     summary = summarise_annotations(db)
        >>> summary.annotations.by_class  # doctest: +SKIP

    Args:
        source: An open SlideRunner database or QuPath GeoJSON (any
            :class:`AnnotationSource`); it is only read.

    Returns:
        The summary. Skipped annotations also warn
        (:class:`~wsi2rek.errors.SkippedAnnotationWarning`), as reading them does.
    """
    read = source.read_annotations(include_deleted=True)
    annotations = list(read.annotations)
    classes = source.classes()
    counts = count_annotations(annotations, classes, skipped=len(read.skipped))
    if not isinstance(source, SlideRunnerDB):
        return AnnotationSummary(
            kind="qupath" if isinstance(source, QuPathGeoJSON) else type(source).__name__,
            path=source.path,
            slide_names=tuple(s.filename for s in source.slides()),
            classes=classes,
            annotations=counts,
        )
    return AnnotationSummary(
        kind="sliderunner",
        path=source.path,
        slide_names=tuple(sorted(s.filename for s in source.slides())),
        classes=classes,
        annotations=counts,
        schema_version=source.schema_version,
        persons=source.persons(),
        vote_disagreements=sum(1 for a in annotations if not a.deleted and _disagrees(a)),
    )
