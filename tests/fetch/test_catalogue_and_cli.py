"""The real catalogue against its upstream sources, and ``wsi2rek fetch`` as a subprocess.

Outside sources: the slide names and figshare ids are those of ``Setup.ipynb`` in
github.com/DeepMicroscopy/MITOS_WSI_CMC@4e07b844 and MITOS_WSI_CCMCT@0b67ef2d; the 7 CMC
test slides are the paper's (listed in the dataset repository's README erratum and in
/work/shared/SEED_WORKFLOW.md); the git blob ids below are upstream's ``git ls-tree``
entries for the TUPAC databases that ../shared/data/sliderunner/ holds, whose SHA-256 that
folder's README records. The CLI runs against the local server of conftest.py only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wsi2rek.annotations import SlideRecord
from wsi2rek.errors import ParameterError
from wsi2rek.fetch import (
    DATASETS,
    LOCK_NAME,
    MITOS_WSI_CCMCT,
    MITOS_WSI_CMC,
    RemoteFile,
    file_digests,
    get_dataset,
)
from wsi2rek.testing import make_sliderunner_db

from .conftest import SLIDE_SIZE

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "sliderunner"

CMC_TEST_SLIDES = {
    "2d56d1902ca533a5b509.svs", "69a02453620ade0edefd.svs", "4eee7b944ad5e46c60ce.svs",
    "b1bdee8e5e3372174619.svs", "e09512d530d933e436d5.svs", "022857018aa597374b6c.svs",
    "13528f1921d4f1f15511.svs",
}  # fmt: skip


def test_cmc_lists_21_slides_and_the_three_databases() -> None:
    slides = MITOS_WSI_CMC.select("slide")
    assert len(slides) == len({f.name for f in slides}) == 21
    assert {f.name for f in slides} >= CMC_TEST_SLIDES
    assert all(f.url.startswith("https://ndownloader.figshare.com/files/22") for f in slides)
    assert [f.name for f in MITOS_WSI_CMC.databases] == [
        "MITOS_WSI_CMC_MEL.sqlite",
        "MITOS_WSI_CMC_ODAEL_TR.sqlite",
        "MITOS_WSI_CMC_COADEL_TR.sqlite",
    ]
    mel = MITOS_WSI_CMC.databases[0]
    assert mel.sha256 == "a328051d0c4fb4797f838cb1cf919f3ff0acdb6ac56cfe1c6e063fac25f25302"
    assert all(
        "/4e07b844e1f20b0c19799b0415427901c2f119f7/databases/" in f.url
        for f in MITOS_WSI_CMC.databases
    )
    assert [f.kind for f in MITOS_WSI_CMC.select()][:3] == ["database"] * 3


def test_ccmct_lists_32_slides_and_four_databases() -> None:
    slides = MITOS_WSI_CCMCT.select("slide")
    assert len(slides) == len({f.name for f in slides}) == 32
    assert len({f.url for f in slides}) == 32
    assert len(MITOS_WSI_CCMCT.databases) == 4
    assert all(f.git_blob_sha1 for f in MITOS_WSI_CCMCT.databases)
    assert all(f.sha256 is None for f in MITOS_WSI_CCMCT.files)  # upstream pins none


def test_the_cli_offers_exactly_the_catalogue() -> None:
    from wsi2rek.cli import _fetch

    assert set(_fetch._NAMES) == set(DATASETS)


def test_get_dataset_names_the_known_ones() -> None:
    assert get_dataset("mitos-wsi-cmc") is MITOS_WSI_CMC
    assert set(DATASETS) == {"mitos-wsi-cmc", "mitos-wsi-ccmct"}
    with pytest.raises(ParameterError, match="choose one of: mitos-wsi-ccmct, mitos-wsi-cmc"):
        get_dataset("mitos")


@pytest.mark.parametrize("path", ["../x.svs", "/abs.svs", "WSI//x.svs", "a\\b.svs"])
def test_remote_paths_must_stay_inside_dest(path: str) -> None:
    with pytest.raises(ParameterError, match="relative POSIX path"):
        RemoteFile(path, "https://x.invalid/", "slide")


def test_remote_urls_must_be_http() -> None:
    with pytest.raises(ParameterError, match="url must be http"):
        RemoteFile("WSI/x.svs", "file:///etc/passwd", "slide")


def test_git_blob_ids_match_upstream_for_real_sliderunner_files() -> None:
    """The blob-id arithmetic that pins the databases, checked on real upstream files.

    ``git ls-tree 4e07b844 databases/`` of DeepMicroscopy/MITOS_WSI_CMC lists TUPAC.sqlite
    as ca9e7845... and TUPAC_alternativeLabels_augmented_training.sqlite as 71868506...;
    the SHA-256 values are those in ../shared/data/sliderunner/README.md.
    """
    sha, blob, size = file_digests(SHARED / "TUPAC.sqlite")
    assert (blob, size) == ("ca9e7845fb5951891b1bb5d6e2c021d9d554f3cc", 299008)
    assert sha == "c3cbe5b94d30cd76ad158e3a3974d9604cf4ebecb49535fcdf6f611477fc043b"
    sha, blob, _ = file_digests(SHARED / "TUPAC_AL.sqlite")
    assert blob == "7186850645074b2496d17d77ef3c1859d9278ca6"
    assert sha == "cd8e500196a475a866017609e450a5f98cfed5c4b24035fde74a003cfe6b5184"


def test_importing_wsi2rek_and_its_cli_opens_no_socket() -> None:
    code = (
        "import socket\n"
        "def boom(*a, **k): raise SystemExit('socket opened at import')\n"
        "socket.socket.connect = boom; socket.socket.connect_ex = boom\n"
        "socket.create_connection = boom; socket.getaddrinfo = boom\n"
        "import wsi2rek, wsi2rek.fetch, wsi2rek.cli\n"
        "wsi2rek.cli.build_parser()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# --- the CLI, as a subprocess --------------------------------------------------------


def wsi2rek(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WSI2REK_DEBUG": ""}
    return subprocess.run(
        [sys.executable, "-m", "wsi2rek", *map(str, args)],
        capture_output=True, text=True, timeout=300, cwd=cwd, env=env, check=False,
    )  # fmt: skip


@pytest.fixture
def cmc_mirror(serve: Any, standin: dict[str, bytes]) -> Any:
    """A mirror of MITOS_WSI_CMC's layout with stand-ins: every slide name, one stand-in."""
    slide = standin["WSI/a1b2c3.svs"]
    files = {f.path: slide for f in MITOS_WSI_CMC.select("slide")}
    files.update({f.path: standin["databases/cells.sqlite"] for f in MITOS_WSI_CMC.databases})
    return serve(files)


def test_cli_fetches_the_cmc_slides_from_a_mirror_and_checks_them_against_a_database(
    cmc_mirror: Any, tmp_path: Path
) -> None:
    dest = tmp_path / "data"
    names = [f.name for f in MITOS_WSI_CMC.select("slide")]
    width, height = SLIDE_SIZE
    (dest / "databases").mkdir(parents=True)  # a database the user already has
    make_sliderunner_db(
        dest / "databases" / "MITOS_WSI_CMC_MEL.sqlite",
        [SlideRecord(i, n, width=width, height=height) for i, n in enumerate(names, 1)],
        [],
        classes={2: "Mitotic figure"},
    )

    result = wsi2rek(
        "fetch",
        "mitos-wsi-cmc",
        dest,
        "--only",
        "slides",
        "--base-url",
        cmc_mirror.url,
        "--json",
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # --json: no progress bars
    summary = json.loads(result.stdout)
    assert len(summary["files"]) == 21
    assert {f["status"] for f in summary["files"]} == {"downloaded"}
    assert all(
        f"{width} x {height} px as in MITOS_WSI_CMC_MEL.sqlite" in f["checks"]
        for f in summary["files"]
    )
    lock = json.loads((dest / LOCK_NAME).read_text())["files"]
    assert set(lock) == {f"WSI/{n}" for n in names}

    again = wsi2rek(
        "fetch",
        "mitos-wsi-cmc",
        dest,
        "--only",
        "slides",
        "--base-url",
        cmc_mirror.url,
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr
    assert sum(line.startswith("verified ") for line in again.stdout.splitlines()) == 21
    assert "0 B downloaded" in again.stdout


def test_cli_mismatch_is_one_line_naming_the_file(cmc_mirror: Any, tmp_path: Path) -> None:
    # The mirror's MEL database is a stand-in: its SHA-256 is not the one the blog pins.
    result = wsi2rek(
        "fetch",
        "mitos-wsi-cmc",
        "data",
        "--only",
        "databases",
        "--base-url",
        cmc_mirror.url,
        cwd=tmp_path,
    )

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "MITOS_WSI_CMC_MEL.sqlite" in lines[0]
    assert "SHA-256" in lines[0]
    assert "differs from the pinned" in lines[0]
    assert "2 more files failed" in lines[0]  # ODAEL and CODAEL: their git blob ids differ
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "databases" / "MITOS_WSI_CMC_MEL.sqlite").exists()


def test_cli_dry_run_lists_files_and_sizes(cmc_mirror: Any, tmp_path: Path) -> None:
    result = wsi2rek(
        "fetch",
        "mitos-wsi-cmc",
        "data",
        "--only",
        "slides",
        "--dry-run",
        "--base-url",
        cmc_mirror.url,
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 22
    assert all(line.startswith("missing") for line in lines[:-1])
    assert "21 files" in lines[-1]
    assert "to download" in lines[-1]
    assert not (tmp_path / "data").exists()


def test_cli_dest_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("x")

    result = wsi2rek(
        "fetch", "mitos-wsi-cmc", "data", "--base-url", "http://127.0.0.1:9", cwd=tmp_path
    )

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "wsi2rek fetch: error: DEST data is a file, not a folder; pass a folder to download "
        "into (it is created if missing)"
    )


def test_cli_404_is_one_line(serve: Any, tmp_path: Path) -> None:
    empty = serve({})

    result = wsi2rek(
        "fetch",
        "mitos-wsi-ccmct",
        "data",
        "--only",
        "databases",
        "--base-url",
        empty.url,
        cwd=tmp_path,
    )

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "HTTP 404 Not Found" in result.stderr
    assert "databases/MITOS_WSI_CCMCT_" in result.stderr


def test_the_cmc_howto_starts_with_fetch_and_never_runs_it() -> None:
    """docs/howto/mitos-wsi-cmc.md: the first command is the fetch, marked skip for the docs tests.

    tests/docs/test_markdown_pages.py runs every console block unless ``<!-- skip: next -->``
    precedes it; the real fetch would download 37 GB from figshare.
    """
    page = (Path(__file__).resolve().parents[2] / "docs" / "howto" / "mitos-wsi-cmc.md").read_text(
        encoding="utf-8"
    )
    visible = page.split("-->", 1)[1]  # past the invisible stand-in block
    first_block = visible.index("```")
    assert visible[first_block:].startswith("```console\n$ wsi2rek fetch mitos-wsi-cmc data/\n")
    assert visible[:first_block].rstrip().endswith("<!-- skip: next -->")
