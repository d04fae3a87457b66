"""wsi2rek._atomic: a failed write leaves the target as it was and no temporary file.

Each writer of the library goes through the one helper; the parametrised test at the end
makes ``os.fsync`` fail inside the real public writers (the last step before the rename)
and checks the old file survives and nothing is left beside it.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from wsi2rek._atomic import (
    atomic_open,
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    is_temporary_name,
    temporary_name,
)
from wsi2rek.detection import Detection
from wsi2rek.errors import ParameterError
from wsi2rek.geometry import Box
from wsi2rek.inference import write_csv, write_geojson, write_sliderunner
from wsi2rek.sampling import PatchPlan, write_jsonl
from wsi2rek.testing import make_image

OLD = b"the old content\n"


class BoomError(Exception):
    """Raised by the tests in the middle of a write."""


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "out.txt"
    path.write_bytes(OLD)
    return path


def test_write_replaces_the_target_and_leaves_no_temporary(target: Path) -> None:
    atomic_write_text(target, "new\n")
    assert target.read_text(encoding="utf-8") == "new\n"
    assert _listing(target.parent) == ["out.txt"]


def test_write_creates_a_missing_target(tmp_path: Path) -> None:
    atomic_write_bytes(tmp_path / "new.bin", b"\x00\x01")
    assert (tmp_path / "new.bin").read_bytes() == b"\x00\x01"
    assert _listing(tmp_path) == ["new.bin"]


def _write_half_then(target: Path, exc: BaseException) -> None:
    with atomic_open(target, "w") as handle:
        handle.write("half of the new")
        handle.flush()
        assert len(_listing(target.parent)) == 2  # the temporary exists while writing
        raise exc


def test_exception_mid_write_keeps_the_target_and_removes_the_temporary(target: Path) -> None:
    with pytest.raises(BoomError):
        _write_half_then(target, BoomError())
    assert target.read_bytes() == OLD
    assert _listing(target.parent) == ["out.txt"]


def test_keyboard_interrupt_mid_write_is_cleaned_up_too(target: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        _write_half_then(target, KeyboardInterrupt())
    assert target.read_bytes() == OLD
    assert _listing(target.parent) == ["out.txt"]


def test_failing_fsync_keeps_the_target(target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="Input/output"):
        atomic_write_text(target, "new\n")
    assert target.read_bytes() == OLD
    assert _listing(target.parent) == ["out.txt"]


def test_failing_rename_removes_the_temporary(tmp_path: Path) -> None:
    folder_in_the_way = tmp_path / "out.txt"
    folder_in_the_way.mkdir()
    with pytest.raises(IsADirectoryError):  # os.replace cannot put a file over a folder
        atomic_write_text(folder_in_the_way, "new\n")
    assert _listing(tmp_path) == ["out.txt"]
    assert folder_in_the_way.is_dir()


def _create_then_fail(target: Path) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"partial")
        raise BoomError


def test_atomic_path_removes_what_the_body_wrote_on_failure(target: Path) -> None:
    with pytest.raises(BoomError):
        _create_then_fail(target)
    assert target.read_bytes() == OLD
    assert _listing(target.parent) == ["out.txt"]


def test_atomic_path_yields_a_fresh_hidden_sibling(target: Path) -> None:
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent
        assert not tmp.exists()
        assert is_temporary_name(tmp.name)
        assert tmp.name.startswith(".out.txt.")
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"


def test_temporary_names_are_unique_per_call(target: Path) -> None:
    names = {temporary_name(target) for _ in range(1000)}
    assert len(names) == 1000


def test_concurrent_writers_of_one_target_never_share_a_temporary(target: Path) -> None:
    """Every writer finishes with a whole file of its own (no interleaved bytes)."""
    payloads = [bytes([65 + i]) * 200_000 for i in range(8)]
    errors: list[BaseException] = []

    def write(data: bytes) -> None:
        try:
            atomic_write_bytes(target, data)
        except Exception as exc:  # noqa: BLE001  # pragma: no cover - reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert target.read_bytes() in payloads
    assert _listing(target.parent) == ["out.txt"]


def test_new_files_follow_the_umask_not_owner_only(tmp_path: Path) -> None:
    """As a plain open() would: mkstemp's 0600 would hide datasets from a shared group."""
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "shared.json", "{}\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "shared.json").stat().st_mode) == 0o644


def test_text_mode_writes_newlines_as_given(tmp_path: Path) -> None:
    with atomic_open(tmp_path / "a.csv", "w", newline="") as handle:
        handle.write("a\r\nb\n")
    assert (tmp_path / "a.csv").read_bytes() == b"a\r\nb\n"


def test_atomic_open_refuses_other_modes(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="mode='a'"), atomic_open(tmp_path / "x", "a"):
        pass  # pragma: no cover


# --- the library's writers, each failing at its last step -----------------------------

_DETECTIONS = [Detection("mitotic figure", 90.0, Box(10, 10, 60, 60))]


def _geojson(path: Path) -> object:
    return write_geojson(_DETECTIONS, path)


def _csv(path: Path) -> object:
    return write_csv(_DETECTIONS, path)


def _jsonl(path: Path) -> None:
    write_jsonl([], path)


def _plan(path: Path) -> None:
    PatchPlan(patches=(), slide_paths={"a.svs": "a.svs"}, labels=("mitotic figure",)).save(path)


def _png(path: Path) -> object:
    return make_image(path, 64, 64, seed=1)


def _sliderunner(path: Path) -> object:
    return write_sliderunner(_DETECTIONS, path, slide_name="a.svs", overwrite=True)


@pytest.mark.parametrize(
    ("name", "write"),
    [
        ("out.geojson", _geojson),
        ("out.csv", _csv),
        ("patches.jsonl", _jsonl),
        ("plan.json", _plan),
        ("scene.png", _png),
        ("out.sqlite", _sliderunner),
    ],
)
def test_library_writers_keep_the_old_file_when_the_write_fails(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    write: Callable[[Path], object],
) -> None:
    path = tmp_path / name
    path.write_bytes(OLD)

    def fail(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="No space left"):
        write(path)
    assert path.read_bytes() == OLD
    assert _listing(tmp_path) == [name]


def test_non_durable_writes_skip_fsync_but_stay_atomic(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(fd: int) -> None:
        raise AssertionError("fsync called")

    monkeypatch.setattr(os, "fsync", fail)
    atomic_write_bytes(target, b"new", durable=False)
    assert target.read_bytes() == b"new"
    assert _listing(target.parent) == ["out.txt"]
