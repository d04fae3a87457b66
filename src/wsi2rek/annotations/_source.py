"""Annotation sources: SlideRunner databases and QuPath GeoJSON behind one interface.

:class:`QuPathGeoJSON` yields the same :class:`Annotation` values as
:class:`~wsi2rek.annotations.SlideRunnerDB`: points become spots, rectangles areas,
other shapes polygons, each with a class id from :meth:`classes` (class names sorted,
numbered from 1, so the ids do not depend on the order of the file).
:func:`open_annotations` picks the reader from the file's content.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from wsi2rek.annotations._qupath import (
    GEOJSON_SUFFIXES,
    QuPathObject,
    QuPathSkip,
    read_qupath_objects,
    skip_summary,
)
from wsi2rek.annotations._types import Annotation, AnnotationKind
from wsi2rek.annotations.sliderunner import (
    AnnotationRead,
    SkippedAnnotation,
    SlideRecord,
    SlideRunnerDB,
    find_slide,
    is_sqlite_file,
    split_path,
)
from wsi2rek.errors import (
    AnnotationError,
    DatabaseNotFoundError,
    SkippedAnnotationWarning,
    SlideLookupError,
)

__all__ = ["AnnotationSource", "QuPathGeoJSON", "open_annotations"]


@runtime_checkable
class AnnotationSource(Protocol):
    """What planning, ``info`` and evaluation need from an annotation source."""

    @property
    def path(self) -> Path:
        """The file or folder read."""
        ...

    def slides(self) -> tuple[SlideRecord, ...]:
        """Every slide."""
        ...

    def slide(self, name_or_uid: int | str | os.PathLike[str] | SlideRecord) -> SlideRecord:
        """One slide, by uid or file name."""
        ...

    def classes(self) -> dict[int, str]:
        """Class id -> name."""
        ...

    def annotations(
        self,
        slide: int | str | os.PathLike[str] | SlideRecord | None = None,
        include_deleted: bool = False,
        *,
        kinds: Iterable[AnnotationKind] | None = None,
        labels: Iterable[int | None] | None = None,
    ) -> list[Annotation]:
        """The annotations of one slide (or all)."""
        ...

    def read_annotations(
        self,
        slide: int | str | os.PathLike[str] | SlideRecord | None = None,
        include_deleted: bool = False,
        *,
        kinds: Iterable[AnnotationKind] | None = None,
        labels: Iterable[int | None] | None = None,
    ) -> AnnotationRead:
        """The annotations of one slide (or all), with what this call skipped."""
        ...

    def close(self) -> None:
        """Release what the source holds."""
        ...


def _slide_file_name(geojson: Path) -> str:
    """The slide a QuPath export belongs to.

    ``a.svs.geojson`` -> ``a.svs``; ``a.geojson`` -> the slide next to it with that stem
    (``a.svs``), else the stem itself.
    """
    stem = geojson.name[: -len(geojson.suffix)]
    if Path(stem).suffix:
        return stem
    try:
        siblings = sorted(
            p.name
            for p in geojson.parent.iterdir()
            if p.stem == stem and p.suffix.lower() not in GEOJSON_SUFFIXES and p.is_file()
        )
    except OSError:
        siblings = []
    return siblings[0] if siblings else stem


class QuPathGeoJSON:
    """Annotations exported from QuPath as GeoJSON (versions 0.4 to 0.7).

    QuPath exports one file per image: ``path`` is one ``.geojson`` file for one slide,
    or a folder of ``<slide stem>.geojson`` files (one slide each), typically next to the
    slides. See :mod:`wsi2rek.annotations._qupath` for the forms understood.

    Example:
        >>> with QuPathGeoJSON("slides/") as source:  # doctest: +SKIP
        ...     spots = source.annotations("slide-a.svs")

    Args:
        path: A GeoJSON file or a folder of them.
        slide_name: For a single file: the slide's file name (default: from the file
            name, ``a.svs.geojson`` -> ``a.svs``, or the slide with that stem next to it).

    Raises:
        DatabaseNotFoundError: when ``path`` does not exist.
        AnnotationError: when a file is not JSON or not GeoJSON, or a folder holds none.
    """

    def __init__(self, path: str | os.PathLike[str], *, slide_name: str | None = None) -> None:
        self._path = Path(path)
        if not self._path.exists():
            raise DatabaseNotFoundError(
                f"QuPath GeoJSON not found: {self._path} (expected a .geojson file or a "
                "folder of them; check the path)",
                path=self._path,
            )
        if self._path.is_dir():
            files = sorted(
                p
                for p in self._path.iterdir()
                if p.suffix.lower() in GEOJSON_SUFFIXES and p.is_file()
            )
            if not files:
                raise AnnotationError(
                    f"{self._path} holds no .geojson files; export one per slide from QuPath "
                    "(File > Export objects as GeoJSON) as <slide stem>.geojson"
                )
            names = [_slide_file_name(f) for f in files]
        else:
            files = [self._path]
            names = [slide_name or _slide_file_name(self._path)]
        self._records = tuple(SlideRecord(uid, n) for uid, n in enumerate(names, start=1))
        self._objects: dict[int, list[QuPathObject]] = {}
        self._skips: dict[int, list[QuPathSkip]] = {}
        self._totals: dict[int, int] = {}
        self._files: dict[int, Path] = {}
        for record, file in zip(self._records, files, strict=True):
            objects, skips = read_qupath_objects(file)
            self._objects[record.uid] = objects
            self._skips[record.uid] = skips
            self._totals[record.uid] = len({o.feature for o in objects}) + len(
                {s.feature for s in skips}
            )
            self._files[record.uid] = file
        names_used = {o.class_name for objs in self._objects.values() for o in objs}
        self._classes = dict(enumerate(sorted(n for n in names_used if n is not None), start=1))

    @property
    def path(self) -> Path:
        """The file or folder read."""
        return self._path

    def slides(self) -> tuple[SlideRecord, ...]:
        """One record per GeoJSON file, in file-name order."""
        return self._records

    def slide(self, name_or_uid: int | str | os.PathLike[str] | SlideRecord) -> SlideRecord:
        """The slide with this uid or file name (the rule of ``SlideRunnerDB.slide``).

        A name that matches no file name also matches a slide of the same stem
        (``a`` or ``a.tif`` for ``a.svs``) when only one slide has it.
        """
        try:
            return find_slide(self._records, name_or_uid, path=self._path)
        except SlideLookupError:
            if not isinstance(name_or_uid, str | os.PathLike):
                raise
            parts = split_path(os.fspath(name_or_uid))
            wanted = Path(parts[-1]).stem.casefold() if parts else ""
            same_stem = [r for r in self._records if Path(r.name).stem.casefold() == wanted]
            if len(same_stem) != 1:
                raise
            return same_stem[0]

    def classes(self) -> dict[int, str]:
        """Class id -> name: every class name used, sorted, numbered from 1."""
        return dict(self._classes)

    def persons(self) -> dict[int, str]:
        """QuPath records no annotators: always empty."""
        return {}

    def annotations(
        self,
        slide: int | str | os.PathLike[str] | SlideRecord | None = None,
        include_deleted: bool = False,
        *,
        kinds: Iterable[AnnotationKind] | None = None,
        labels: Iterable[int | None] | None = None,
    ) -> list[Annotation]:
        """The annotations of one slide (or of all): :meth:`read_annotations` without skips."""
        read = self._read(slide, kinds=kinds, labels=labels, stacklevel=3)
        del include_deleted  # QuPath has no soft-deleted objects
        return list(read.annotations)

    def read_annotations(
        self,
        slide: int | str | os.PathLike[str] | SlideRecord | None = None,
        include_deleted: bool = False,
        *,
        kinds: Iterable[AnnotationKind] | None = None,
        labels: Iterable[int | None] | None = None,
    ) -> AnnotationRead:
        """The annotations of one slide (or of all), in file order, with this call's skips.

        Every object type is read (QuPath annotations, detections and cells). ``uid``
        numbers the shapes of a slide from 1 in file order.

        Warns:
            SkippedAnnotationWarning: once per call when features were skipped (lines,
                unknown geometry types, NaN coordinates, ...); the result's ``skipped``
                lists them (``uid`` is the feature index).
        """
        del include_deleted  # QuPath has no soft-deleted objects
        return self._read(slide, kinds=kinds, labels=labels, stacklevel=3)

    def _read(
        self,
        slide: int | str | os.PathLike[str] | SlideRecord | None,
        *,
        kinds: Iterable[AnnotationKind] | None,
        labels: Iterable[int | None] | None,
        stacklevel: int,
    ) -> AnnotationRead:
        records = self._records if slide is None else (self.slide(slide),)
        wanted_kinds = None if kinds is None else frozenset(AnnotationKind(k) for k in kinds)
        wanted_labels = None if labels is None else frozenset(labels)
        ids = {name: uid for uid, name in self._classes.items()}
        result: list[Annotation] = []
        skipped: list[SkippedAnnotation] = []
        messages: list[str] = []
        for record in records:
            for number, obj in enumerate(self._objects[record.uid], start=1):
                label = None if obj.class_name is None else ids[obj.class_name]
                if wanted_kinds is not None and obj.kind not in wanted_kinds:
                    continue
                if wanted_labels is not None and label not in wanted_labels:
                    continue
                result.append(
                    Annotation(
                        uid=number,
                        slide=record.uid,
                        kind=obj.kind,
                        class_id=label,
                        points=obj.points,
                        description=obj.name,
                    )
                )
            skips = self._skips[record.uid]
            skipped.extend(
                SkippedAnnotation(s.feature, record.uid, None, f"{s.category}: {s.reason}")
                for s in skips
            )
            if skips:
                messages.append(
                    skip_summary(str(self._files[record.uid]), skips, self._totals[record.uid])
                )
        if messages:
            warnings.warn(
                " | ".join(messages)
                + "; QuPathGeoJSON.read_annotations(...).skipped lists each with its reason",
                SkippedAnnotationWarning,
                stacklevel=stacklevel,
            )
        return AnnotationRead(tuple(result), tuple(skipped))

    def close(self) -> None:
        """Nothing to release (the files are read when opened)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"QuPathGeoJSON({str(self._path)!r}, slides={len(self._records)})"

    def __reduce__(self) -> tuple[type[QuPathGeoJSON], tuple[Path]]:
        return (type(self), (self._path,))


def open_annotations(
    path: str | os.PathLike[str], *, slide_name: str | None = None
) -> SlideRunnerDB | QuPathGeoJSON:
    """Open an annotation source by its content.

    A SlideRunner database (SQLite header or ``.sqlite`` suffix), or QuPath GeoJSON (a
    ``.geojson``/``.json`` file, or a folder of them).

    Args:
        path: The database, GeoJSON file or folder.
        slide_name: For one GeoJSON file, the slide it belongs to (see
            :class:`QuPathGeoJSON`).

    Raises:
        DatabaseNotFoundError: when ``path`` does not exist.
        AnnotationError: when it is neither kind.
    """
    source = Path(path)
    if not source.exists():
        raise DatabaseNotFoundError(
            f"annotations not found: {source} (expected a SlideRunner .sqlite file, a QuPath "
            ".geojson file or a folder of them; check the path)",
            path=source,
        )
    if source.is_dir() or source.suffix.lower() in GEOJSON_SUFFIXES:
        return QuPathGeoJSON(source, slide_name=slide_name)
    if is_sqlite_file(source) or source.suffix.lower() in (".sqlite", ".sqlite3", ".db"):
        return SlideRunnerDB(source)
    raise AnnotationError(
        f"{source} is neither a SlideRunner database nor QuPath GeoJSON; pass a .sqlite file, "
        "a .geojson file or a folder of .geojson files"
    )
