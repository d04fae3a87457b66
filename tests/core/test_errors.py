from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from wsi2rek import errors


def test_every_error_derives_from_the_root_and_a_builtin() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        if cls is errors.EntryError:  # the record a TrainingFailedError carries
            continue
        if issubclass(cls, Warning):
            assert issubclass(cls, errors.Wsi2RekWarning)
            assert issubclass(cls, UserWarning)
            continue
        assert issubclass(cls, errors.Wsi2RekError), name
        if cls is errors.Wsi2RekError:
            continue
        builtin_bases = [
            b for b in cls.__mro__ if b.__module__ == "builtins" and b not in (Exception, object)
        ]
        assert builtin_bases[:-1], f"{name} inherits no builtin besides Exception"


def test_structured_fields_and_message() -> None:
    exc = errors.SlideNotFoundError("no such slide: a.svs", path="a.svs")
    assert isinstance(exc, FileNotFoundError)
    assert exc.path == Path("a.svs")
    assert str(exc) == "no such slide: a.svs"
    with pytest.raises(errors.Wsi2RekError):
        raise exc


def test_manifest_error_carries_line_and_code() -> None:
    exc = errors.ManifestError("bad", path="x.manifest", line=3, code="ERROR_INVALID_JSON_LINE")
    assert (exc.line, exc.code) == (3, "ERROR_INVALID_JSON_LINE")
    assert isinstance(exc, ValueError)


def test_warnings_can_be_filtered_as_a_family() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore", errors.Wsi2RekWarning)
        warnings.warn("skipped 3", errors.SkippedAnnotationWarning, stacklevel=1)
    assert caught == []
