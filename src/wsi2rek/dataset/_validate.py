"""Local validation of object-detection manifests against Rekognition's rules.

Every rule of the developer guide that can be checked without AWS is checked here, with
the code the service uses (or a ``WSI2REK_*`` code where the guide states a rule but
names no code; see :mod:`wsi2rek.rekognition`, which owns every code and quota) and the
1-based line number. Whole-file problems are reported on line 0.

Validation is streaming and bounded: the file size is checked before anything is read,
lines are read one at a time (a line over 100,000 characters is skipped, not read), and
JSON lines past the 250,000-line quota are counted but not checked, as the service does.
A broken line (bad UTF-8, bad JSON, absurd nesting or numbers, an image header claiming
a giant size) is one error on its line; the rest of the file is still validated.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from wsi2rek._jsonl import RawLine, iter_raw_lines, parse_line
from wsi2rek.dataset._imageinfo import image_info
from wsi2rek.dataset._linecheck import Issue, LineChecker
from wsi2rek.errors import ManifestError
from wsi2rek.rekognition import QUOTA, TERMINAL_CONTENT_CODES, Code, Quota

__all__ = [
    "DatasetReport",
    "Issue",
    "Limits",
    "ValidationReport",
    "detect_attribute",
    "image_info",
    "validate_dataset",
    "validate_lines",
    "validate_manifest",
]

#: The quotas a validation checks against (an alias of :class:`wsi2rek.rekognition.Quota`).
Limits = Quota

DEFAULT_ATTRIBUTE = "bounding-box"
_DETECT_LINES = 1000


@attrs.frozen
class ValidationReport:
    """The result of validating one manifest.

    Attributes:
        lines: Number of lines in the manifest.
        errors: Every error found, in line order (whole-file errors, line 0, last).
        warnings: Every warning (``WARNING_NO_ANNOTATIONS`` for background lines).
        labels: Label name -> number of boxes, over the lines without errors.
        background: Lines without any box: accepted by Rekognition but unused by
            training (pure background patches teach the service nothing).
        invalid_lines: Lines with at least one error (Rekognition drops them).
        images_per_label: Label name -> number of images (lines without errors) that
            have at least one box of it (the unit of the test-set quota).
    """

    lines: int
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()
    labels: Mapping[str, int] = attrs.field(factory=dict)
    background: int = 0
    invalid_lines: int = 0
    images_per_label: Mapping[str, int] = attrs.field(factory=dict)

    @property
    def ok(self) -> bool:
        """True when no error was found (warnings allowed)."""
        return not self.errors

    def codes(self) -> set[str]:
        """The distinct error and warning codes found."""
        return {i.code for i in (*self.errors, *self.warnings)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``ok``, ``lines``, ``errors``, ``warnings``, ``labels``..."""
        return {
            "ok": self.ok,
            "lines": self.lines,
            "errors": [i.to_dict() for i in self.errors],
            "warnings": [i.to_dict() for i in self.warnings],
            "labels": dict(self.labels),
            "images_per_label": dict(self.images_per_label),
            "background": self.background,
            "invalid_lines": self.invalid_lines,
        }


@attrs.frozen
class TrainSide:
    """What a test manifest is checked against: the training labels and images."""

    labels: frozenset[str]
    refs: Mapping[str, int]


def _ref_key(ref: str, root: Path | None) -> str:
    """A comparable form of a ``source-ref``: S3 URIs as is, local paths normalised."""
    if ref.startswith("s3://") or root is None:
        return ref
    return os.path.normpath(root / ref)


class _Run:
    """The state of one validation: fed line by line, then finished."""

    def __init__(
        self,
        *,
        attribute: str,
        base_dir: Path | None,
        ref_root: Path | None,
        quota: Quota,
        train: TrainSide | None,
        test: bool,
    ) -> None:
        self.attribute = attribute
        self.base_dir = base_dir
        self.ref_root = ref_root
        self.quota = quota
        self.train = train
        self.test = test or train is not None
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.pair: list[Issue] = []
        self.labels: Counter[str] = Counter()
        self.images_per_label: Counter[str] = Counter()
        self.buckets: set[str] = set()
        self.refs: dict[str, int] = {}
        self.lines = self.invalid = self.terminal = self.background = 0

    def feed(self, raw: RawLine) -> None:
        self.lines += 1
        if self.lines > self.quota.max_manifest_lines:
            return  # the service validates lines only up to the row quota
        n = raw.number
        checker = LineChecker(n, self.attribute, self.base_dir, self.quota)
        if raw.text is None:
            if raw.problem == "too long":
                checker.error(
                    Code.WSI2REK_LINE_TOO_LONG,
                    f"the line has {raw.chars} characters or more; at most "
                    f"{self.quota.max_line_chars} (the service drops it silently)",
                )
            else:
                checker.error(
                    Code.ERROR_INVALID_JSON_LINE,
                    f"{raw.problem}; every line must be one JSON object in UTF-8",
                )
        else:
            data, reason = parse_line(raw.text)
            if isinstance(data, dict):
                checker.check(data)
            else:
                if reason is None:
                    reason = f"a JSON {type(data).__name__}, not an object"
                checker.error(
                    Code.ERROR_INVALID_JSON_LINE,
                    f"{reason}; every line must be one JSON object (remove or fix the line)",
                )
        if checker.ref is not None:
            self._ref(checker, checker.ref)
        self.errors.extend(checker.errors)
        self.warnings.extend(checker.warnings)
        if checker.bucket is not None:
            self.buckets.add(checker.bucket)
        if checker.errors:
            self.invalid += 1
            self.terminal += any(i.code in TERMINAL_CONTENT_CODES for i in checker.errors)
        else:
            self.labels.update(checker.labels)
            self.images_per_label.update(set(checker.labels))
            self.background += checker.background

    def _ref(self, checker: LineChecker, ref: str) -> None:
        key = _ref_key(ref, self.ref_root)
        first = self.refs.setdefault(key, checker.n)
        if first != checker.n:
            checker.error(
                Code.WSI2REK_DUPLICATE_SOURCE_REF,
                f"source-ref {ref!r} was already used on line {first}; an image can only "
                "be referenced once in a dataset (the service drops the repeat silently)",
            )
        if self.train is not None and key in self.train.refs:
            self.pair.append(
                Issue(
                    checker.n,
                    Code.WSI2REK_TRAIN_TEST_OVERLAP,
                    f"line {checker.n}: image {ref!r} is also in the training manifest (line "
                    f"{self.train.refs[key]}); test and training images must not overlap",
                )
            )

    def finish(self, *, size_bytes: int, distribute: bool) -> ValidationReport:
        out = self._whole_file(size_bytes)
        if distribute:
            out.extend(self._distribute())
        return ValidationReport(
            lines=self.lines,
            errors=(*self.errors, *self.pair, *out),
            warnings=tuple(self.warnings),
            labels=dict(sorted(self.labels.items())),
            background=self.background,
            invalid_lines=self.invalid,
            images_per_label=dict(sorted(self.images_per_label.items())),
        )

    def _whole_file(self, size_bytes: int) -> list[Issue]:
        """Line-0 issues, in order: file volume, labels and buckets, then the test side."""
        if self.lines == 0:
            return [
                Issue(
                    0,
                    Code.ERROR_EMPTY_MANIFEST,
                    "the manifest is empty; it needs one JSON line per image",
                )
            ]
        return [*self._volume(size_bytes), *self._label_set(), *self._test_side()]

    def _volume(self, size_bytes: int) -> Iterator[Issue]:
        """The size and row quotas, and the share of invalid lines over the checked rows."""
        q = self.quota
        if size_bytes > q.max_manifest_bytes:
            yield Issue(
                0,
                Code.ERROR_MANIFEST_SIZE_TOO_LARGE,
                f"the manifest is {size_bytes} bytes; at most {q.max_manifest_bytes} (sample "
                "fewer patches or split the dataset)",
            )
        if self.lines > q.max_manifest_lines:
            yield Issue(
                0,
                Code.ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM,
                f"the manifest has {self.lines} lines; at most {q.max_manifest_lines} (lines "
                "past the quota were not checked; sample fewer patches)",
            )
        checked = min(self.lines, q.max_manifest_lines)
        if self.terminal / checked > q.max_invalid_fraction:
            yield Issue(
                0,
                Code.ERROR_TOO_MANY_RECORDS_IN_ERROR,
                f"{self.terminal} of {checked} lines have terminal content errors (bad JSON, "
                f"source-ref, duplicates, over-long lines; more than "
                f"{q.max_invalid_fraction:.0%}): fix the line errors above",
            )
        elif self.invalid / checked > q.max_invalid_fraction:
            yield Issue(
                0,
                Code.ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST,
                f"{self.invalid} of {checked} lines have errors (more than "
                f"{q.max_invalid_fraction:.0%}); Rekognition refuses the whole manifest: fix "
                "the line errors above",
            )

    def _label_set(self) -> Iterator[Issue]:
        """The label count quotas and the one-bucket rule."""
        q = self.quota
        if len(self.labels) < q.min_labels:
            yield Issue(
                0,
                Code.ERROR_MANIFEST_TOO_FEW_LABELS,
                f"no line without errors has a bounding box, so the dataset has no label; an "
                f"object-detection dataset needs at least {q.min_labels} (check the label map "
                "and the errors above)",
            )
        if len(self.labels) > q.max_labels:
            yield Issue(
                0,
                Code.ERROR_MANIFEST_TOO_MANY_LABELS,
                f"the manifest uses {len(self.labels)} labels; at most {q.max_labels} (merge "
                "classes in the label map)",
            )
        if len(self.buckets) > 1:
            yield Issue(
                0,
                Code.ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS,
                f"images come from {len(self.buckets)} S3 buckets {sorted(self.buckets)}; a "
                "dataset's images must all be in one bucket",
            )

    def _test_side(self) -> Iterator[Issue]:
        """A test manifest's quota of images per label, and its label overlap with train."""
        q = self.quota
        if self.test:
            over = {
                k: v
                for k, v in sorted(self.images_per_label.items())
                if v > q.max_test_images_per_label
            }
            if over:
                yield Issue(
                    0,
                    Code.WSI2REK_TOO_MANY_TEST_IMAGES_PER_LABEL,
                    f"labels {over} have more than {q.max_test_images_per_label} test images "
                    "each (the service's testing quota); rebuild with the default "
                    f"--max-test-images-per-label {q.max_test_images_per_label}, which "
                    "subsamples the test split reproducibly",
                )
        if self.train is not None and self.train.labels:
            shared = set(self.labels) & self.train.labels
            share = len(shared) / len(self.train.labels)
            if share < q.min_label_overlap:
                yield Issue(
                    0,
                    Code.ERROR_INSUFFICIENT_USABLE_LABEL_OVERLAP,
                    f"only {len(shared)} of the {len(self.train.labels)} training labels "
                    f"{sorted(self.train.labels)} are in the test set {sorted(self.labels)} "
                    f"({share:.0%}); the guide's formula (common labels)/(train labels) must "
                    f"reach {q.min_label_overlap:.0%} (use the same label map for both splits)",
                )

    def _distribute(self) -> list[Issue]:
        """``distribute_dataset_entries`` needs enough images of every label to split."""
        need = self.quota.min_images_per_label_to_distribute
        ipl = self.images_per_label
        short = {label: n for label, n in sorted(ipl.items()) if n < need}
        if not ipl or not short:
            return []
        return [
            Issue(
                0,
                Code.ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE,
                f"labels {short} have fewer than {need} images each; Rekognition cannot split "
                "this training set into a test set (give an explicit test manifest, or sample "
                "more patches of those labels)",
            )
        ]


def detect_attribute(texts: Iterable[str | None]) -> str:
    """The label attribute of the first line that has one with a ``-metadata`` twin."""
    for text in texts:
        if text is None:
            continue
        data, _ = parse_line(text)
        if not isinstance(data, dict):
            continue
        for key in data:
            if key != "source-ref" and not key.endswith("-metadata") and f"{key}-metadata" in data:
                return str(key)
    return DEFAULT_ATTRIBUTE


def validate_lines(
    lines: Iterable[RawLine],
    *,
    attribute: str,
    size_bytes: int,
    base_dir: Path | None,
    ref_root: Path | None = None,
    train: TrainSide | None = None,
    test: bool = False,
    limits: Quota | None = None,
    distribute: bool = False,
) -> tuple[ValidationReport, dict[str, int]]:
    """Validate raw lines; returns the report and ``{source-ref key: line}``."""
    run = _Run(
        attribute=attribute,
        base_dir=base_dir,
        ref_root=ref_root if ref_root is not None else base_dir,
        quota=limits or QUOTA,
        train=train,
        test=test,
    )
    for raw in lines:
        run.feed(raw)
    return run.finish(size_bytes=size_bytes, distribute=distribute), run.refs


def _open_size(path: Path) -> int:
    try:
        st = path.stat()
    except OSError as exc:
        raise ManifestError(
            f"cannot read manifest {path}: {exc.strerror or exc}; give the path of a "
            "*.manifest file",
            path=path,
            code=Code.ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT,
        ) from exc
    if not path.is_file():
        raise ManifestError(
            f"{path} is not a regular file; give the path of a *.manifest file (or a "
            "dataset folder)",
            path=path,
            code=Code.ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT,
        )
    return st.st_size


def _scan(
    path: Path,
    *,
    check_images: bool,
    train: TrainSide | None,
    test: bool,
    limits: Quota,
    distribute: bool,
    attribute: str | None,
) -> tuple[ValidationReport, dict[str, int]]:
    size = _open_size(path)
    if size > limits.max_manifest_bytes:
        # A terminal file error: the service reads no line of such a file.
        issue = Issue(
            0,
            Code.ERROR_MANIFEST_SIZE_TOO_LARGE,
            f"the manifest is {size} bytes; at most {limits.max_manifest_bytes} (sample fewer "
            "patches or split the dataset); its lines were not checked",
        )
        return ValidationReport(lines=0, errors=(issue,)), {}
    try:
        with path.open("rb") as f:
            if attribute is None:
                head = iter_raw_lines(f, limits.max_line_chars)
                attribute = detect_attribute(
                    r.text for r, _ in zip(head, range(_DETECT_LINES), strict=False)
                )
                f.seek(0)
            return validate_lines(
                iter_raw_lines(f, limits.max_line_chars),
                attribute=attribute,
                size_bytes=size,
                base_dir=path.parent if check_images else None,
                ref_root=path.parent,
                train=train,
                test=test,
                limits=limits,
                distribute=distribute,
            )
    except OSError as exc:
        raise ManifestError(
            f"cannot read manifest {path}: {exc}",
            path=path,
            code=Code.ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT,
        ) from exc


def train_side(report: ValidationReport, refs: Mapping[str, int]) -> TrainSide:
    """The part of a training manifest's validation that its test manifest is checked against."""
    return TrainSide(frozenset(report.labels), dict(refs))


def validate_manifest(
    path: str | Path,
    *,
    check_images: bool = True,
    train: str | Path | None = None,
    limits: Quota | None = None,
    distribute: bool = False,
    test: bool = False,
    attribute: str | None = None,
) -> ValidationReport:
    """Validate the manifest at ``path``, streaming (see the module docs).

    Args:
        path: The manifest file.
        check_images: Also check each local image file (existence, PNG/JPEG header,
            file size, real dimensions). ``s3://`` images are never fetched.
        train: The training manifest, when ``path`` is a test manifest: the label overlap
            and the absence of shared images are checked, and the test-set quota of 1,000
            images per label applies.
        limits: Quotas to check against (default: Rekognition's).
        distribute: The manifest is a training set that Rekognition will split into a
            test set (``distribute_dataset_entries``): every label needs at least two
            images.
        test: ``path`` is a test manifest (implied by ``train``).
        attribute: The label attribute name (default: detected from the first lines).

    Raises:
        ManifestError: The file cannot be read at all.
    """
    quota = limits or QUOTA
    side = None
    if train is not None:
        train_report, refs = _scan(
            Path(train),
            check_images=False,
            train=None,
            test=False,
            limits=quota,
            distribute=False,
            attribute=attribute,
        )
        side = train_side(train_report, refs)
    report, _ = _scan(
        Path(path),
        check_images=check_images,
        train=side,
        test=test,
        limits=quota,
        distribute=distribute,
        attribute=attribute,
    )
    return report


@attrs.frozen
class DatasetReport:
    """The validation of a dataset folder's manifests, as the pair they are.

    Attributes:
        folder: The dataset folder.
        reports: ``"train"`` and (when present) ``"test"`` -> the manifest's report; the
            test report includes the rules between the two (label overlap, shared images,
            the test quota of 1,000 images per label).
    """

    folder: Path
    reports: Mapping[str, ValidationReport]

    @property
    def ok(self) -> bool:
        """True when no manifest has an error."""
        return all(r.ok for r in self.reports.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``ok``, ``folder`` and one report per split."""
        return {
            "ok": self.ok,
            "folder": str(self.folder),
            **{split: r.to_dict() for split, r in self.reports.items()},
        }


def validate_dataset(
    folder: str | Path,
    *,
    check_images: bool = True,
    limits: Quota | None = None,
) -> DatasetReport:
    """Validate ``folder/train.manifest`` and ``folder/test.manifest`` together.

    The training manifest is checked alone; the test manifest also against it (label
    overlap by the guide's formula, no image in both) and against the test-set quota.
    Without ``test.manifest`` the training manifest is checked as one that Rekognition
    will split (``distribute``: at least two images per label).

    Raises:
        ManifestError: The folder has no ``train.manifest`` (or a manifest is unreadable).
    """
    root = Path(folder)
    train_path, test_path = root / "train.manifest", root / "test.manifest"
    if not train_path.is_file():
        found = sorted(p.name for p in root.glob("*.manifest")) if root.is_dir() else []
        raise ManifestError(
            f"{root} has no train.manifest (found {found or 'no manifest'}); give a dataset "
            "folder written by `wsi2rek build`, or a manifest file",
            path=train_path,
            code=Code.ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT,
        )
    quota = limits or QUOTA
    has_test = test_path.is_file()
    train_report, refs = _scan(
        train_path,
        check_images=check_images,
        train=None,
        test=False,
        limits=quota,
        distribute=not has_test,
        attribute=None,
    )
    reports = {"train": train_report}
    if has_test:
        reports["test"], _ = _scan(
            test_path,
            check_images=check_images,
            train=train_side(train_report, refs),
            test=True,
            limits=quota,
            distribute=False,
            attribute=None,
        )
    return DatasetReport(root, reports)
