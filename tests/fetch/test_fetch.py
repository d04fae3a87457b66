"""``fetch_dataset`` against a local HTTP server (tests/fetch/conftest.py), never the real hosts.

The catalogue is injected: a :class:`PublicDataset` naming the stand-in files, fetched
through ``base_url`` from 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import sys
from collections import namedtuple
from pathlib import Path
from typing import Any

import pytest

from wsi2rek.errors import FetchError, FetchVerificationError, ParameterError, Wsi2RekError
from wsi2rek.fetch import LOCK_NAME, FileKind, PublicDataset, RemoteFile, fetch_dataset

from .conftest import SLIDE_SIZE, tree

DB = "databases/cells.sqlite"
SLIDE_A, SLIDE_B = "WSI/a1b2c3.svs", "WSI/d4e5f6.svs"


def catalogue(standin: dict[str, bytes], **pins: Any) -> PublicDataset:
    """The stand-in dataset; ``pins`` maps a path to RemoteFile fields (sha256=, size=)."""
    files = []
    for path in (SLIDE_A, DB, SLIDE_B):
        kind: FileKind = "database" if path.endswith(".sqlite") else "slide"
        files.append(
            RemoteFile(path, f"https://upstream.invalid/{path}", kind, **pins.get(path, {}))
        )
    return PublicDataset("standin", "stand-in", "tests/fetch/conftest.py", tuple(files))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run(server: Any, dataset: PublicDataset, dest: Path, **kwargs: Any) -> Any:
    kwargs.setdefault("workers", 2)
    kwargs.setdefault("timeout", 10.0)
    return fetch_dataset(dataset, dest, base_url=server.url, **kwargs)


def test_fetches_verifies_and_records_every_file(
    serve: Any, standin: dict[str, bytes], tmp_path: Path
) -> None:
    server = serve(standin)
    dest = tmp_path / "data"
    summary = run(server, catalogue(standin, **{DB: {"sha256": sha(standin[DB])}}), dest)

    assert tree(dest) == {**standin, LOCK_NAME: (dest / LOCK_NAME).read_bytes()}
    assert [f.path for f in summary.files] == [DB, SLIDE_A, SLIDE_B]  # databases first
    assert {f.status for f in summary.files} == {"downloaded"}
    assert summary.received == sum(len(v) for v in standin.values())
    lock = json.loads((dest / LOCK_NAME).read_text())["files"]
    assert {p: e["sha256"] for p, e in lock.items()} == {p: sha(d) for p, d in standin.items()}
    slide = next(f for f in summary.files if f.path == SLIDE_A)
    assert "opens as an Aperio SVS" in slide.checks
    assert f"{SLIDE_SIZE[0]} x {SLIDE_SIZE[1]} px as in cells.sqlite" in slide.checks
    db = next(f for f in summary.files if f.path == DB)
    assert "SHA-256 matches the pinned value" in db.checks


def test_rerun_downloads_nothing_and_verifies_against_the_lock(
    serve: Any, standin: dict[str, bytes], tmp_path: Path
) -> None:
    server = serve(standin)
    dataset = catalogue(standin)
    run(server, dataset, tmp_path)
    seen = len(server.requests)

    again = run(server, dataset, tmp_path)

    assert len(server.requests) == seen  # not even a size probe
    assert {f.status for f in again.files} == {"verified"}
    assert again.received == 0


def test_resumes_after_the_connection_drops_mid_file(
    serve: Any, standin: dict[str, bytes], tmp_path: Path
) -> None:
    server = serve(standin)
    half = len(standin[SLIDE_A]) // 2
    server.drop_after[SLIDE_A] = half

    summary = run(server, catalogue(standin), tmp_path)

    assert (tmp_path / SLIDE_A).read_bytes() == standin[SLIDE_A]
    assert [r.range for r in server.gets(SLIDE_A)] == [None, f"bytes={half}-"]
    result = next(f for f in summary.files if f.path == SLIDE_A)
    assert result.status == "resumed"
    assert result.received == len(standin[SLIDE_A])  # each byte fetched once


def test_continues_a_partial_file_from_an_earlier_run(
    serve: Any, standin: dict[str, bytes], tmp_path: Path
) -> None:
    server = serve(standin)
    third = len(standin[SLIDE_B]) // 3
    (tmp_path / "WSI").mkdir()
    (tmp_path / f"{SLIDE_B}.part").write_bytes(standin[SLIDE_B][:third])

    summary = run(server, catalogue(standin), tmp_path)

    assert [r.range for r in server.gets(SLIDE_B)] == [f"bytes={third}-"]
    assert (tmp_path / SLIDE_B).read_bytes() == standin[SLIDE_B]
    assert not (tmp_path / f"{SLIDE_B}.part").exists()
    result = next(f for f in summary.files if f.path == SLIDE_B)
    assert (result.status, result.received) == ("resumed", len(standin[SLIDE_B]) - third)


def test_ctrl_c_stops_running_downloads_and_the_next_run_resumes_them(
    serve: Any, standin: dict[str, bytes], tmp_path: Path
) -> None:
    server = serve(standin)
    server.slow = 0.02  # ~30 KiB slides take ~0.6 s each
    server.interrupt_at = (SLIDE_A, 8 * 1024)

    with pytest.raises(KeyboardInterrupt):
        run(server, catalogue(standin), tmp_path, only="slide", workers=2)

    partial = tmp_path / f"{SLIDE_A}.part"
    assert 8 * 1024 <= partial.stat().st_size < len(standin[SLIDE_A])
    assert not (tmp_path / SLIDE_A).exists()
    kept = partial.stat().st_size
    server.slow = 0.0

    summary = run(server, catalogue(standin), tmp_path, only="slide")

    assert server.gets(SLIDE_A)[-1].range == f"bytes={kept}-"
    assert tree(tmp_path / "WSI") == {
        p.removeprefix("WSI/"): d for p, d in standin.items() if p.startswith("WSI/")
    }
    assert next(f for f in summary.files if f.path == SLIDE_A).status == "resumed"


def test_a_server_without_ranges_restarts_the_file(
    serve: Any, standin: dict[str, bytes], tmp_path: Path
) -> None:
    server = serve(standin)
    server.ignore_ranges = True
    (tmp_path / "WSI").mkdir()
    (tmp_path / f"{SLIDE_A}.part").write_bytes(b"stale bytes from somewhere else")

    run(server, catalogue(standin), tmp_path, only="slide")

    assert (tmp_path / SLIDE_A).read_bytes() == standin[SLIDE_A]


def test_a_partial_file_already_complete_is_finished_without_a_body(
    serve: Any, standin: dict[str, bytes], tmp_path: Path
) -> None:
    server = serve(standin)
    (tmp_path / "WSI").mkdir()
    (tmp_path / f"{SLIDE_B}.part").write_bytes(standin[SLIDE_B])

    summary = run(server, catalogue(standin), tmp_path, only="slide")

    assert [r.range for r in server.gets(SLIDE_B)] == [f"bytes={len(standin[SLIDE_B])}-"]
    assert (tmp_path / SLIDE_B).read_bytes() == standin[SLIDE_B]
    assert next(f for f in summary.files if f.path == SLIDE_B).received == 0


def test_a_partial_file_longer_than_the_remote_one_starts_again(
    serve: Any, standin: dict[str, bytes], tmp_path: Path
) -> None:
    server = serve(standin)
    longer = standin[SLIDE_B] + b"stale tail"
    (tmp_path / "WSI").mkdir()
    (tmp_path / f"{SLIDE_B}.part").write_bytes(longer)

    run(server, catalogue(standin), tmp_path, only="slide")

    assert [r.range for r in server.gets(SLIDE_B)] == [f"bytes={len(longer)}-", None]
    assert (tmp_path / SLIDE_B).read_bytes() == standin[SLIDE_B]


def test_a_corrupted_byte_is_detected_and_the_file_never_appears(
    serve: Any, standin: dict[str, bytes], tmp_path: Path
) -> None:
    corrupted = bytearray(standin[DB])
    corrupted[len(corrupted) // 2] ^= 0xFF
    server = serve({**standin, DB: bytes(corrupted)})
    dataset = catalogue(standin, **{DB: {"sha256": sha(standin[DB])}})

    with pytest.raises(
        FetchVerificationError, match=r"cells\.sqlite: SHA-256 .* differs from the pinned"
    ) as info:
        run(server, dataset, tmp_path)

    assert info.value.path == tmp_path / DB
    assert not (tmp_path / DB).exists()
    assert not (tmp_path / f"{DB}.part").exists()  # a rerun starts the file cleanly
    assert DB not in json.loads((tmp_path / LOCK_NAME).read_text())["files"]
    assert (tmp_path / SLIDE_A).exists()  # the other files still completed


def test_a_byte_changed_after_download_is_caught_by_the_lock(
    serve: Any, standin: dict[str, bytes], tmp_path: Path
) -> None:
    server = serve(standin)
    dataset = catalogue(standin)
    run(server, dataset, tmp_path)
    target = tmp_path / SLIDE_B
    data = bytearray(target.read_bytes())
    data[1000] ^= 0x01
    target.write_bytes(bytes(data))

    with pytest.raises(FetchVerificationError, match=r"d4e5f6\.svs: SHA-256 .* lock file") as info:
        run(server, dataset, tmp_path)

    assert info.value.path == target
    assert target.read_bytes() == bytes(data)  # the user's file is left as it is


def test_a_wrong_size_file_is_refused(
    serve: Any, standin: dict[str, bytes], tmp_path: Path
) -> None:
    server = serve(standin)
    pinned = len(standin[SLIDE_A]) + 1
    dataset = catalogue(standin, **{SLIDE_A: {"size": pinned}})

    with pytest.raises(
        FetchVerificationError,
        match=rf"a1b2c3\.svs: .* announces {pinned - 1} bytes but the catalogue pins {pinned}",
    ):
        run(server, dataset, tmp_path)

    assert not (tmp_path / SLIDE_A).exists()


def test_a_file_already_in_dest_is_adopted_after_verification(
    serve: Any, standin: dict[str, bytes], tmp_path: Path
) -> None:
    server = serve(standin)
    (tmp_path / "databases").mkdir()
    (tmp_path / DB).write_bytes(standin[DB])  # copied by hand, e.g. from a colleague

    summary = run(server, catalogue(standin), tmp_path, only="database")

    assert server.gets(DB) == []  # only the size probe
    assert [f.status for f in summary.files] == ["adopted"]
    assert json.loads((tmp_path / LOCK_NAME).read_text())["files"][DB]["sha256"] == sha(standin[DB])


def test_an_existing_file_of_another_size_is_an_error_and_kept(
    serve: Any, standin: dict[str, bytes], tmp_path: Path
) -> None:
    server = serve(standin)
    (tmp_path / "databases").mkdir()
    (tmp_path / DB).write_bytes(b"SQLite format 3\x00 but truncated")

    with pytest.raises(
        FetchVerificationError,
        match=r"cells\.sqlite: \d+ bytes, but the server announces .*left as it is",
    ):
        run(server, catalogue(standin), tmp_path, only="database")

    assert (tmp_path / DB).read_bytes() == b"SQLite format 3\x00 but truncated"


def test_slide_dimensions_must_match_the_database(
    serve: Any, standin: dict[str, bytes], tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from wsi2rek.testing import make_slide

    other = make_slide(tmp_path_factory.mktemp("big") / "x.svs", 700, 480).read_bytes()
    server = serve({**standin, SLIDE_B: other})

    with pytest.raises(
        FetchVerificationError,
        match=r"d4e5f6\.svs: 700 x 480 px, but cells\.sqlite's Slides table records 640 x 480",
    ):
        run(server, catalogue(standin), tmp_path)

    assert not (tmp_path / SLIDE_B).exists()


def test_a_slide_that_is_not_an_aperio_svs_is_refused(
    serve: Any, standin: dict[str, bytes], generic_tiff: bytes, tmp_path: Path
) -> None:
    server = serve({**standin, SLIDE_A: generic_tiff})

    with pytest.raises(
        FetchVerificationError, match=r"a1b2c3\.svs: opens as generic-tiff, not an Aperio SVS"
    ):
        run(server, catalogue(standin), tmp_path, only="slide")


def test_an_html_page_instead_of_a_database_is_refused(
    serve: Any, standin: dict[str, bytes], tmp_path: Path
) -> None:
    server = serve({**standin, DB: b"<html>Access denied</html>"})

    with pytest.raises(FetchVerificationError, match=r"cells\.sqlite: not a SQLite database"):
        run(server, catalogue(standin), tmp_path, only="database")


def test_slides_without_a_database_say_their_dimensions_were_not_checked(
    serve: Any, standin: dict[str, bytes], tmp_path: Path
) -> None:
    server = serve(standin)

    summary = run(server, catalogue(standin), tmp_path, only="slide")

    assert [f.path for f in summary.files] == [SLIDE_A, SLIDE_B]
    for result in summary.files:
        assert "dimensions not checked: no database in DEST lists this slide" in result.checks
    assert not (tmp_path / DB).exists()


def test_404_names_the_file_and_downloads_nothing(
    serve: Any, standin: dict[str, bytes], tmp_path: Path
) -> None:
    server = serve({k: v for k, v in standin.items() if k != SLIDE_B})

    with pytest.raises(
        FetchError,
        match=(
            r"WSI/d4e5f6\.svs: HTTP 404 Not Found from "
            r"http://127\.0\.0\.1:\d+/mirror/WSI/d4e5f6\.svs; .*base_url"
        ),
    ) as info:
        run(server, catalogue(standin), tmp_path)

    assert str(info.value.url).endswith(SLIDE_B)
    assert tree(tmp_path) == {}  # sizes are probed before anything is written


def test_no_network_is_one_clear_error(standin: dict[str, bytes], tmp_path: Path) -> None:
    # A port held by a socket that never listens: connections are refused, and no other
    # test (pytest-xdist runs them in parallel) can start a server on it meanwhile.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(
            FetchError,
            match=r"cannot reach http://127\.0\.0\.1:\d+/(WSI|databases)/.*Connection refused.*"
            r"check the network",
        ):
            fetch_dataset(
                catalogue(standin), tmp_path, base_url=f"http://127.0.0.1:{port}", retries=0
            )


def test_dest_that_is_a_file_is_refused(standin: dict[str, bytes], tmp_path: Path) -> None:
    dest = tmp_path / "data"
    dest.write_text("not a folder")

    with pytest.raises(FetchError, match=r"DEST .*data is a file, not a folder"):
        fetch_dataset(catalogue(standin), dest, base_url="http://127.0.0.1:9")

    assert dest.read_text() == "not a folder"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_full_disk_is_one_clear_error_and_the_partial_file_is_kept(
    serve: Any, standin: dict[str, bytes], tmp_path: Path
) -> None:
    # /dev/full fails every write with ENOSPC: the .part file points there, so the
    # downloader meets a real "No space left on device" from the kernel.
    server = serve(standin)
    (tmp_path / "WSI").mkdir()
    (tmp_path / f"{SLIDE_A}.part").symlink_to("/dev/full")

    with pytest.raises(
        FetchError, match=r"a1b2c3\.svs: no space left on the device writing .*rerun"
    ):
        run(server, catalogue(standin), tmp_path, only="slide", workers=1)

    assert not (tmp_path / SLIDE_A).exists()


def test_not_enough_free_space_is_refused_before_downloading(
    serve: Any, standin: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(standin)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(10**6, 10**6 - 100, 100))

    with pytest.raises(
        FetchError, match=r"not enough free space in .*: 0\.00 GB still to download"
    ):
        run(server, catalogue(standin), tmp_path)

    assert server.gets(SLIDE_A) == []


def test_dry_run_lists_sizes_and_writes_nothing(
    serve: Any, standin: dict[str, bytes], tmp_path: Path
) -> None:
    server = serve(standin)
    dest = tmp_path / "new"

    summary = run(server, catalogue(standin), dest, dry_run=True)

    assert not dest.exists()
    assert {f.path: (f.status, f.size) for f in summary.files} == {
        p: ("missing", len(d)) for p, d in standin.items()
    }
    assert summary.to_download == sum(len(d) for d in standin.values())
    assert all(r.range == "bytes=0-0" for r in server.requests)


def test_dry_run_after_a_partial_run(serve: Any, standin: dict[str, bytes], tmp_path: Path) -> None:
    server = serve(standin)
    run(server, catalogue(standin), tmp_path, only="database")
    (tmp_path / "WSI").mkdir()
    (tmp_path / f"{SLIDE_A}.part").write_bytes(standin[SLIDE_A][:100])

    summary = run(server, catalogue(standin), tmp_path, dry_run=True)

    states = {f.path: f.status for f in summary.files}
    assert states == {DB: "complete", SLIDE_A: "partial", SLIDE_B: "missing"}
    assert summary.to_download == len(standin[SLIDE_A]) - 100 + len(standin[SLIDE_B])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": "ftp://mirror"}, "base_url must start with http"),
        ({"workers": 0}, "workers must be at least 1"),
        ({"only": "slides"}, "only must be"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], message: str, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=message):
        fetch_dataset("mitos-wsi-cmc", tmp_path, **kwargs)
    assert tree(tmp_path) == {}


def test_every_failure_is_a_wsi2rek_error() -> None:
    assert issubclass(FetchError, Wsi2RekError)
    assert issubclass(FetchError, OSError)
    assert issubclass(FetchVerificationError, FetchError)
    assert issubclass(FetchVerificationError, ValueError)


def test_progress_shows_an_overall_bar_and_one_per_file(
    serve: Any, standin: dict[str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = serve(standin)

    run(server, catalogue(standin), tmp_path / "quiet")
    assert capsys.readouterr().err == ""

    run(server, catalogue(standin), tmp_path / "bars", progress=True)
    err = capsys.readouterr().err
    assert "total" in err
    for name in ("cells.sqlite", "a1b2c3.svs", "d4e5f6.svs"):
        assert name in err
    overall = [line for line in err.replace("\r", "\n").splitlines() if line.startswith("total")]
    assert overall[-1].startswith("total: 100%")  # every byte counted once


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
def test_a_second_fetch_into_the_same_dest_is_refused(
    serve: Any, standin: dict[str, bytes], tmp_path: Path
) -> None:
    import fcntl

    server = serve(standin)
    with (tmp_path / ".wsi2rek-fetch.running").open("a+b") as held:  # as a running fetch does
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(FetchError, match="another wsi2rek fetch is writing into"):
            run(server, catalogue(standin), tmp_path)
        assert server.requests == []
        fcntl.flock(held.fileno(), fcntl.LOCK_UN)

    run(server, catalogue(standin), tmp_path)  # released: the next run proceeds
    assert (tmp_path / SLIDE_A).read_bytes() == standin[SLIDE_A]
