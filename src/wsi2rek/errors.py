"""The exceptions and warnings wsi2rek raises.

Every exception derives from :class:`Wsi2RekError`, and also from the builtin a caller
would naturally catch (:class:`FileNotFoundError`, :class:`ValueError`, ...), so both
``except Wsi2RekError`` and ``except ValueError`` work. Each carries structured fields
(the offending path, slide, table, line or annotation uid) besides its message, which
always says what was expected, what was found and where.

A bad argument is a :class:`ParameterError` wherever it is found (a geometry value, a
sampling option, an ARN, a file path handed to a reader that does not exist...).
:class:`ParameterError` also derives from :class:`ValueError`, the builtin Python raises
for a bad argument, so code written against ``except ValueError`` keeps working.

No public function lets a bare builtin exception escape: ``tests/core/test_error_contract.py``
walks the source and fails on any ``raise ValueError(...)``-style statement that is not on
its commented allow-list (signals, module ``__getattr__``, errors caught in the same module).

Warnings derive from :class:`Wsi2RekWarning` (a :class:`UserWarning`) so they can be
filtered as one family.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import attrs

__all__ = [
    "AnnotationError",
    "AwsError",
    "AwsTimeoutError",
    "DatabaseError",
    "DatabaseNotFoundError",
    "DatasetError",
    "DatasetMismatchError",
    "DetectionCacheError",
    "DetectionError",
    "EntryError",
    "FetchError",
    "FetchVerificationError",
    "ImageTooLargeError",
    "ImplausibleMppWarning",
    "InputNotFoundError",
    "LabelMapError",
    "MainGuardError",
    "ManifestError",
    "ModelNotStoppedError",
    "ParameterError",
    "RegionError",
    "SamplingError",
    "SchemaError",
    "SkippedAnnotationWarning",
    "SlideError",
    "SlideLookupError",
    "SlideNotFoundError",
    "SlideReadError",
    "TrainingFailedError",
    "UnsupportedSlideError",
    "Wsi2RekError",
    "Wsi2RekWarning",
]


class Wsi2RekError(Exception):
    """Root of every error raised by wsi2rek.

    ``parameters`` names the library parameters the message is about (``("test_slides",)``),
    spelled in the message as the caller wrote them (``test_slides``, ``overwrite=True``):
    the command line rewrites those names into its own flags (``--test-slides``,
    ``--overwrite``), so each audience reads the names it typed.
    """

    def __init__(self, message: str, *, parameter: str | tuple[str, ...] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.parameters: tuple[str, ...] = (
            () if parameter is None else (parameter,) if isinstance(parameter, str) else parameter
        )

    def __str__(self) -> str:
        return self.message


# --- slides ---------------------------------------------------------------------------


class SlideError(Wsi2RekError, OSError):
    """A slide file could not be used. ``path`` names the file."""

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class SlideNotFoundError(SlideError, FileNotFoundError):
    """The slide file does not exist."""


class UnsupportedSlideError(SlideError, ValueError):
    """No backend can open the file; ``tried`` lists each backend and why it declined."""

    def __init__(
        self, message: str, *, path: str | Path | None = None, tried: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message, path=path)
        self.tried = tried


class SlideReadError(SlideError):
    """The slide opened but a region could not be decoded; ``region`` is (x, y, w, h, level)."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        region: tuple[int, int, int, int, int] | None = None,
    ) -> None:
        super().__init__(message, path=path)
        self.region = region


class ParameterError(Wsi2RekError, ValueError):
    """An argument is malformed or out of range (an ARN, an S3 URI, a quality level...).

    Also a :class:`ValueError`, so ``except ValueError`` catches it as it catches Python's
    own bad-argument errors.
    """


class InputNotFoundError(ParameterError, FileNotFoundError):
    """A file named by an argument does not exist; ``path`` names it.

    Both a :class:`ParameterError` and a :class:`FileNotFoundError`.
    """

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class MainGuardError(Wsi2RekError, RuntimeError):
    """Worker processes would re-run the caller's script, which lacks a ``__main__`` guard.

    Raised before any worker starts: a build with worker processes was called from the
    top level of a script outside an ``if __name__ == "__main__":`` block. Each worker
    re-imports the main script (the ``forkserver`` and ``spawn`` start methods do), so
    each would start the build again.
    """

    def __init__(
        self, message: str, *, path: str | Path | None = None, line: int | None = None
    ) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None
        self.line = line


class RegionError(Wsi2RekError, ValueError):
    """A requested region is invalid (negative or zero size, unknown level)."""


# --- annotation databases ---------------------------------------------------------------


class DatabaseError(Wsi2RekError, ValueError):
    """An annotation database could not be read; ``path`` and ``table`` say where."""

    def __init__(
        self, message: str, *, path: str | Path | None = None, table: str | None = None
    ) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None
        self.table = table


class DatabaseNotFoundError(DatabaseError, FileNotFoundError):
    """The database file does not exist."""


class SchemaError(DatabaseError):
    """A required table or column is missing; ``column`` names it when it is a column."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        table: str | None = None,
        column: str | None = None,
    ) -> None:
        super().__init__(message, path=path, table=table)
        self.column = column


class SlideLookupError(DatabaseError, LookupError):
    """A slide name is unknown or ambiguous in a database; ``candidates`` lists near names."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        slide: str | int | None = None,
        candidates: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, path=path, table="Slides")
        self.slide = slide
        self.candidates = candidates


class AnnotationError(Wsi2RekError, ValueError):
    """An annotation cannot be used as asked (e.g. a spot radius in micrometres without MPP)."""

    def __init__(
        self, message: str, *, uid: int | None = None, slide: int | str | None = None
    ) -> None:
        super().__init__(message)
        self.uid = uid
        self.slide = slide


# --- datasets ---------------------------------------------------------------------------


class LabelMapError(Wsi2RekError, ValueError):
    """A label map is empty, malformed, or names classes the database does not have."""


class SamplingError(Wsi2RekError, ValueError):
    """Sampling parameters cannot work (patch size out of range, margin leaving no room...)."""

    def __init__(
        self,
        message: str,
        *,
        slide: str | None = None,
        parameter: str | tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(message, parameter=parameter)
        self.slide = slide


class DatasetError(Wsi2RekError, OSError):
    """A dataset folder could not be written or read; ``path`` names it."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        parameter: str | tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(message, parameter=parameter)
        self.path = Path(path) if path is not None else None


class DatasetMismatchError(DatasetError):
    """An output folder holds a dataset built with different parameters; it is not mixed."""


class ManifestError(Wsi2RekError, ValueError):
    """A manifest line is malformed; ``path`` and 1-based ``line`` say where, ``code`` what."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None
        self.line = line
        self.code = code


# --- AWS and detection ------------------------------------------------------------------


class AwsError(Wsi2RekError, RuntimeError):
    """An AWS call failed; ``operation``, ``resource`` (bucket, ARN) and ``code`` say which."""

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        resource: str | None = None,
        code: str | None = None,
        parameter: str | tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(message, parameter=parameter)
        self.operation = operation
        self.resource = resource
        self.code = code


class DetectionError(Wsi2RekError, RuntimeError):
    """A detector failed on a tile or image; ``tile`` is the level-0 window when known."""

    def __init__(
        self,
        message: str,
        *,
        tile: tuple[int, int, int, int] | None = None,
        parameter: str | tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(message, parameter=parameter)
        self.tile = tile


# --- warnings ---------------------------------------------------------------------------


class Wsi2RekWarning(UserWarning):
    """Root of every warning wsi2rek emits."""


class SkippedAnnotationWarning(Wsi2RekWarning):
    """Annotations were skipped (image annotations, unknown types, degenerate shapes)."""


# --- appended by the AWS layer (H5) ------------------------------------------------------


class AwsTimeoutError(AwsError, TimeoutError):
    """An AWS resource did not reach the wanted state before the caller's deadline.

    ``status`` is the last status seen; the resource keeps going on the AWS side (and may
    keep costing money: stop or delete it if you no longer want it).
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        resource: str | None = None,
        status: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation, resource=resource, code="Timeout")
        self.status = status


@attrs.frozen
class EntryError:
    """One per-line (or whole-manifest) error Rekognition reported for a dataset.

    Not an exception: the record a :class:`TrainingFailedError` carries in
    ``entry_errors`` (``code`` is the service's error code, ``source_ref`` the image).
    """

    code: str
    message: str
    source_ref: str | None = None


class TrainingFailedError(AwsError):
    """Training (or a dataset import) failed; ``entry_errors`` holds the first line errors."""

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        resource: str,
        code: str,
        entry_errors: Sequence[EntryError] = (),
    ) -> None:
        super().__init__(message, operation=operation, resource=resource, code=code)
        self.entry_errors = tuple(entry_errors)


# --- appended by whole-slide detection (H6) -----------------------------------------------


class DetectionCacheError(DetectionError, ValueError):
    """A detection cache file cannot be reused (other parameters, or not a cache)."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        parameter: str | tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(message, parameter=parameter)
        self.path = Path(path) if path is not None else None


# --- fetching the public datasets (wsi2rek.fetch) -----------------------------------------


class FetchError(Wsi2RekError, OSError):
    """Downloading a public dataset failed (network, HTTP status, disk, destination).

    ``path`` names the file in the destination folder, ``url`` where it was fetched from.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        url: str | None = None,
        parameter: str | tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(message, parameter=parameter)
        self.path = Path(path) if path is not None else None
        self.url = url


class FetchVerificationError(FetchError, ValueError):
    """A fetched or existing file does not match its expected size, checksum or content."""


# --- appended by the model's stop guarantee (issue 10) -------------------------------------


class ModelNotStoppedError(AwsError):
    """A model could not be stopped: it may still be RUNNING and billed per hour.

    The message names the ARN and the exact ``aws rekognition stop-project-version`` and
    ``wsi2rek model stop`` commands that stop it.
    """

    def __init__(self, message: str, *, resource: str | None = None) -> None:
        super().__init__(
            message, operation="StopProjectVersion", resource=resource, code="ModelNotStopped"
        )


# --- appended for bounded memory and metadata checks (issue 10) -------------------------


class ImageTooLargeError(UnsupportedSlideError):
    """A plain image has more pixels than wsi2rek decodes at once (``max_pixels``).

    Plain PNG/JPEG/TIFF images are decoded whole; convert a large one to a tiled pyramid
    (e.g. ``vips tiffsave in.png out.tif --tile --pyramid``), which is read tile by tile.
    """


class ImplausibleMppWarning(Wsi2RekWarning):
    """A file's pixel size is outside the microscopy range and is treated as absent."""
