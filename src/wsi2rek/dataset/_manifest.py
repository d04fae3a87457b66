"""Ground Truth object-detection manifests: one JSON object per line.

A line looks like this (``bounding-box`` is the attribute name; any name works as long as
its ``-metadata`` twin matches)::

    {"source-ref": "images/train/a.png",
     "bounding-box": {"image_size": [{"width": 512, "height": 512, "depth": 3}],
                      "annotations": [{"class_id": 0, "left": 10, "top": 20,
                                       "width": 50, "height": 50}]},
     "bounding-box-metadata": {"objects": [{"confidence": 1}],
                               "class-map": {"0": "mitotic figure"},
                               "type": "groundtruth/object-detection",
                               "human-annotated": "yes",
                               "creation-date": "2000-01-01T00:00:00.000000",
                               "job-name": "wsi2rek"}}

:class:`Manifest` reads such a file without ever failing on a bad line: each line's raw
text is kept so that :meth:`Manifest.validate` can report every problem with the code
Rekognition would use and its 1-based line number.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from wsi2rek._atomic import atomic_write_text
from wsi2rek._jsonl import RawLine, dumps_line, iter_raw_lines, parse_line
from wsi2rek.dataset._linecheck import OBJECT_DETECTION
from wsi2rek.dataset._validate import (
    DEFAULT_ATTRIBUTE,
    Limits,
    ValidationReport,
    detect_attribute,
    train_side,
    validate_lines,
)
from wsi2rek.errors import ManifestError
from wsi2rek.rekognition import QUOTA, Code

__all__ = [
    "DEFAULT_ATTRIBUTE",  # re-exported from _validate
    "DEFAULT_CREATION_DATE",
    "BoxRecord",
    "Manifest",
    "ManifestLine",
]

#: The fixed ``creation-date`` written when neither the caller nor the plan gives one, so
#: that the same plan always gives byte-identical manifests.
DEFAULT_CREATION_DATE = "2000-01-01T00:00:00.000000"

#: ``(class_id, left, top, width, height)`` in integer pixels of the image frame.
BoxRecord = tuple[int, int, int, int, int]


def _boxes(value: Iterable[Sequence[int]]) -> tuple[BoxRecord, ...]:
    out: list[BoxRecord] = []
    for b in value:
        class_id, left, top, width, height = (int(v) for v in b)
        out.append((class_id, left, top, width, height))
    return tuple(out)


def _class_map(value: Mapping[int, str]) -> dict[int, str]:
    return {int(k): str(v) for k, v in sorted(value.items(), key=lambda kv: int(kv[0]))}


@attrs.frozen
class ManifestLine:
    """One image of an object-detection manifest.

    Attributes:
        source_ref: Image location: a path relative to the manifest's folder before upload
            (``images/train/x.png``), an ``s3://bucket/key`` URI after.
        width: Image width in pixels.
        height: Image height in pixels.
        depth: Colour channels (3 for RGB).
        boxes: ``(class_id, left, top, width, height)`` integer boxes in the image frame.
        class_map: ``class_id`` -> label name for every class used in ``boxes``.
        creation_date: ISO-8601 timestamp written as ``creation-date``.
        job_name: Written as ``job-name``.
    """

    source_ref: str
    width: int
    height: int
    depth: int = 3
    boxes: tuple[BoxRecord, ...] = attrs.field(default=(), converter=_boxes)
    class_map: Mapping[int, str] = attrs.field(factory=dict, converter=_class_map)
    creation_date: str = DEFAULT_CREATION_DATE
    job_name: str = "wsi2rek"

    def to_json(self, attribute: str = DEFAULT_ATTRIBUTE) -> dict[str, Any]:
        """The JSON object of this line, with ``attribute`` and its ``-metadata`` twin."""
        return {
            "source-ref": self.source_ref,
            attribute: {
                "image_size": [{"width": self.width, "height": self.height, "depth": self.depth}],
                "annotations": [
                    {"class_id": c, "left": x, "top": y, "width": w, "height": h}
                    for c, x, y, w, h in self.boxes
                ],
            },
            f"{attribute}-metadata": {
                "objects": [{"confidence": 1} for _ in self.boxes],
                "class-map": {str(k): v for k, v in self.class_map.items()},
                "type": OBJECT_DETECTION,
                "human-annotated": "yes",
                "creation-date": self.creation_date,
                "job-name": self.job_name,
            },
        }

    def dumps(self, attribute: str = DEFAULT_ATTRIBUTE) -> str:
        """This line as compact JSON text (no newline)."""
        return dumps_line(self.to_json(attribute), what=f"the manifest line of {self.source_ref}")

    @property
    def labels(self) -> tuple[str, ...]:
        """The label name of every box, in box order."""
        return tuple(self.class_map.get(b[0], str(b[0])) for b in self.boxes)

    @classmethod
    def from_json(
        cls, data: Mapping[str, Any], attribute: str = DEFAULT_ATTRIBUTE, *, line: int | None = None
    ) -> ManifestLine:
        """Parse one decoded JSON line.

        Raises:
            ManifestError: The line does not have the object-detection structure; ``code``
                is the Rekognition error code, ``line`` the given line number.
        """
        where = f" (line {line})" if line is not None else ""
        try:
            ref = data["source-ref"]
        except KeyError:
            raise ManifestError(
                f"no 'source-ref' key{where}", line=line, code=Code.ERROR_MISSING_SOURCE_REF
            ) from None
        try:
            body = data[attribute]
            meta = data[f"{attribute}-metadata"]
            size = body["image_size"][0]
            boxes = [
                (a["class_id"], a["left"], a["top"], a["width"], a["height"])
                for a in body["annotations"]
            ]
            class_map = {int(k): str(v) for k, v in meta["class-map"].items()}
            return cls(
                source_ref=str(ref),
                width=int(size["width"]),
                height=int(size["height"]),
                depth=int(size.get("depth", 3)),
                boxes=boxes,
                class_map=class_map,
                creation_date=str(meta.get("creation-date", "")),
                job_name=str(meta.get("job-name", "")),
            )
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise ManifestError(
                f"line{where} is not an object-detection line with attribute {attribute!r}: "
                f"{type(exc).__name__}: {exc}",
                line=line,
                code=Code.ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT,
            ) from exc


def _line_tuple(lines: Iterable[ManifestLine]) -> tuple[ManifestLine, ...]:
    return tuple(lines)


@attrs.frozen
class Manifest:
    """A Ground Truth object-detection manifest.

    Build one from :class:`ManifestLine` values and :meth:`write` it, or :meth:`read` a
    file. Reading never fails on a bad line: lines that do not parse are left out of
    :attr:`lines` but their text is kept, so :meth:`validate` reports them with their
    line number and Rekognition error code.

    Attributes:
        lines: The lines that parse as object-detection lines.
        attribute: The label attribute name (``bounding-box`` by default).
        path: The file this manifest was read from, if any.
        source_lines: The raw text of every line of the file (when read), blank lines
            included, so line numbers match the file.
        size_bytes: Size of the file in bytes (when read).
        unreadable: Line number -> the line, for lines that are not UTF-8 or too long.
    """

    lines: tuple[ManifestLine, ...] = attrs.field(converter=_line_tuple)
    attribute: str = DEFAULT_ATTRIBUTE
    path: Path | None = None
    source_lines: tuple[str, ...] | None = None
    size_bytes: int | None = None
    unreadable: Mapping[int, RawLine] = attrs.field(factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.source_lines) if self.source_lines is not None else len(self.lines)

    @classmethod
    def read(cls, path: str | Path, *, attribute: str | None = None) -> Manifest:
        r"""Read a manifest file; the attribute name is detected when not given.

        Lines are split on ``\n`` only. A line that is not UTF-8 or not an
        object-detection line is left out of :attr:`lines` (its text is kept for
        :meth:`validate`, which reports it with its line number); the file is never
        refused for one bad line.

        Raises:
            ManifestError: The file cannot be read
                (code ``ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT``).
        """
        p = Path(path)
        try:
            raw = p.read_bytes()
        except OSError as exc:
            raise ManifestError(
                f"cannot read manifest {p}: {exc.strerror or exc}. Expected a UTF-8 "
                "JSON-lines file.",
                path=p,
                code=Code.ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT,
            ) from exc
        rows = tuple(iter_raw_lines(io.BytesIO(raw), QUOTA.max_line_chars))
        attr = attribute if attribute is not None else detect_attribute(r.text for r in rows)
        parsed: list[ManifestLine] = []
        for row in rows:
            data = parse_line(row.text)[0] if row.text is not None else None
            if isinstance(data, dict):
                try:
                    parsed.append(ManifestLine.from_json(data, attr, line=row.number))
                except ManifestError:
                    continue  # reported by validate() with the exact code
        texts = tuple(r.text if r.text is not None else "" for r in rows)
        unreadable = {r.number: r for r in rows if r.text is None}
        return cls(parsed, attr, p, texts, len(raw), unreadable)

    def dumps(self) -> str:
        """The whole manifest as text, one line per :class:`ManifestLine`, newline-ended."""
        return "".join(line.dumps(self.attribute) + "\n" for line in self.lines)

    def write(self, path: str | Path) -> None:
        """Write the manifest to ``path`` atomically (temporary name, then rename)."""
        atomic_write_text(path, self.dumps())

    def _rows(self) -> Iterable[RawLine]:
        texts = self.source_lines
        if texts is None:
            texts = tuple(line.dumps(self.attribute) for line in self.lines)
        for n, text in enumerate(texts, start=1):
            yield self.unreadable.get(n) or RawLine(n, text, None, len(text))

    def _size(self) -> int:
        if self.size_bytes is not None:
            return self.size_bytes
        if self.source_lines is not None:
            return sum(len(t.encode("utf-8")) + 1 for t in self.source_lines)
        return len(self.dumps().encode("utf-8"))

    def validate(
        self,
        *,
        check_images: bool = True,
        base_dir: str | Path | None = None,
        train: Manifest | None = None,
        limits: Limits | None = None,
        distribute: bool = False,
        test: bool = False,
    ) -> ValidationReport:
        """Check every rule Rekognition applies that can be checked locally.

        Args:
            check_images: Also open each local image (existence, PNG/JPEG header, file
                size, real dimensions). ``s3://`` images are never fetched.
            base_dir: Folder that relative ``source-ref`` paths are relative to (default:
                the manifest's folder, or the current directory for in-memory manifests).
            train: The training manifest, when this one is a test manifest: the
                guide's label overlap ((common labels)/(train labels) >= 50 %) and the
                absence of shared images are checked, and the test quota applies.
            limits: Quotas to check against (default: Rekognition's).
            distribute: This training manifest will be split by Rekognition
                (``distribute_dataset_entries``): every label needs two or more images.
            test: This is a test manifest (implied by ``train``): at most 1,000 images
                per label.

        Returns:
            A :class:`ValidationReport`; ``ok`` is False when any error was found.
        """
        if base_dir is None:
            base_dir = self.path.parent if self.path is not None else Path.cwd()
        root = Path(base_dir)
        side = None
        if train is not None:
            train_root = train.path.parent if train.path is not None else root
            side = train_side(
                *validate_lines(
                    train._rows(),
                    attribute=train.attribute,
                    size_bytes=train._size(),
                    base_dir=None,
                    ref_root=train_root,
                    limits=limits,
                )
            )
        report, _ = validate_lines(
            self._rows(),
            attribute=self.attribute,
            size_bytes=self._size(),
            base_dir=root if check_images else None,
            ref_root=root,
            train=side,
            test=test,
            limits=limits,
            distribute=distribute,
        )
        return report
