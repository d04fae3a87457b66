r"""The public mitosis datasets wsi2rek can fetch, and where each file list comes from.

This module is the one owner of the datasets' file lists, URLs and pins. Nothing here
touches the network: it only describes files. The lists are copied from the datasets' own
repositories, at the commits named below, and never extended by guesswork:

- **MITOS_WSI_CMC** (Aubreville et al., *Sci Data* 7, 417, 2020): the 21 slides and their
  figshare file ids from ``Setup.ipynb`` of github.com/DeepMicroscopy/MITOS_WSI_CMC at
  commit ``4e07b844e1f20b0c19799b0415427901c2f119f7`` (the same 21 ids as ``dataset.py`` of
  github.com/aws-samples/amazon-rekognition-custom-labels-mitotic-figures at commit
  ``a21d6d0c76d3686374a04fdea999152f8cab32f2``, which drops the old ``private_link`` query).
  The databases are that commit's ``databases/MITOS_WSI_CMC_MEL.sqlite``,
  ``MITOS_WSI_CMC_ODAEL_TR.sqlite`` and ``MITOS_WSI_CMC_COADEL_TR.sqlite`` (the CODAEL
  variant; upstream spells the file ``COADEL``), served from raw.githubusercontent.com at
  that commit.
- **MITOS_WSI_CCMCT** (Bertram et al., *Sci Data* 6, 274, 2019): the 32 slides and their
  figshare file ids from ``Setup.ipynb`` of github.com/DeepMicroscopy/MITOS_WSI_CCMCT at
  commit ``0b67ef2d6a4d236f710ca778487152e298ea18b7``. That notebook also fetches the four
  databases (MEL, HEAEL, ODAEL, Tumorzone) from figshare; wsi2rek takes the copies committed
  in the same repository's ``databases/`` folder at that commit instead, because their git
  blob ids pin their content and figshare publishes no checksum.

Pins, and only where upstream gives one:

- ``sha256``: the SHA-256 the AWS blog's notebook checks for the MEL database
  (``detecting_mitotic_figures.ipynb``, ``DATABASE_SHA256_SIGNATURE``, commit
  ``a21d6d0c...`` above). No other upstream pins a SHA-256.
- ``git_blob_sha1``: the blob id of each database in the git tree of the cited commit
  (``git ls-tree``); a blob id is the SHA-1 of ``b"blob <size>\0" + content``, so it pins
  the exact bytes the pinned raw URL serves.
- ``size``: only where the git tree of the cited commit records it. figshare publishes no
  sizes in the repositories, so slides are checked against the size the server announces
  and, after download, against the database's ``Slides`` table (the file must open as an
  Aperio slide of the recorded width and height).

Tests and mirrors inject their own :class:`PublicDataset` (see
:func:`wsi2rek.fetch.fetch_dataset`); ``--base-url`` keeps these relative paths.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import attrs

from wsi2rek.errors import ParameterError

__all__ = [
    "DATASETS",
    "MITOS_WSI_CCMCT",
    "MITOS_WSI_CMC",
    "FileKind",
    "PublicDataset",
    "RemoteFile",
    "get_dataset",
]

#: What a file is: ``--only`` selects by it, and slides get the Aperio/dimension check.
FileKind = Literal["slide", "database"]


def _is_hex(value: str | None, length: int) -> bool:
    return value is None or (len(value) == length and all(c in "0123456789abcdef" for c in value))


@attrs.frozen
class RemoteFile:
    """One file of a public dataset.

    Attributes:
        path: Relative POSIX path of the file in the destination folder, and under a
            mirror's ``--base-url`` (``"WSI/<name>.svs"``, ``"databases/<name>.sqlite"``).
        url: Where the upstream dataset publishes it.
        kind: ``"slide"`` or ``"database"``.
        sha256: Pinned SHA-256 (lowercase hex), only where upstream pins one.
        git_blob_sha1: Pinned git blob id, for files served from a pinned git commit.
        size: Pinned size in bytes, only where upstream records it.
    """

    path: str
    url: str
    kind: FileKind
    sha256: str | None = None
    git_blob_sha1: str | None = None
    size: int | None = None

    def __attrs_post_init__(self) -> None:
        parts = self.path.split("/")
        bad_part = any(p in ("", ".", "..") for p in parts)
        if self.path.startswith("/") or "\\" in self.path or bad_part:
            raise ParameterError(
                f"file path {self.path!r} must be a relative POSIX path without '..' "
                "(it names the file inside DEST and under a mirror's base URL)"
            )
        if not self.url.startswith(("https://", "http://")):
            raise ParameterError(f"{self.path}: url must be http(s), got {self.url!r}")
        if not _is_hex(self.sha256, 64):
            raise ParameterError(f"{self.path}: sha256 must be 64 lowercase hex digits")
        if not _is_hex(self.git_blob_sha1, 40):
            raise ParameterError(f"{self.path}: git_blob_sha1 must be 40 lowercase hex digits")

    @property
    def name(self) -> str:
        """The file's base name (``"022857018aa597374b6c.svs"``)."""
        return self.path.rsplit("/", 1)[-1]


@attrs.frozen
class PublicDataset:
    """A named public dataset: its files and where their list comes from.

    Attributes:
        name: The name ``wsi2rek fetch`` takes (``"mitos-wsi-cmc"``).
        title: Human-readable title with the paper.
        source: Where the file list was taken from (repository, path, commit).
        files: Every file, databases first (slides are checked against them).
    """

    name: str
    title: str
    source: str
    files: tuple[RemoteFile, ...]

    def __attrs_post_init__(self) -> None:
        paths = [f.path for f in self.files]
        dupes = sorted({p for p in paths if paths.count(p) > 1})
        if dupes:
            raise ParameterError(f"dataset {self.name!r} lists {', '.join(dupes)} twice")

    def select(self, only: FileKind | None = None) -> tuple[RemoteFile, ...]:
        """The files of one kind (``None``: all), databases before slides."""
        chosen = [f for f in self.files if only is None or f.kind == only]
        return tuple(sorted(chosen, key=lambda f: f.kind != "database"))

    @property
    def databases(self) -> tuple[RemoteFile, ...]:
        """The annotation databases, in catalogue order."""
        return self.select("database")


def _figshare(ids: Iterable[tuple[str, int]]) -> tuple[RemoteFile, ...]:
    return tuple(
        RemoteFile(f"WSI/{name}", f"https://ndownloader.figshare.com/files/{file_id}", "slide")
        for name, file_id in ids
    )


def _github(
    repo: str, commit: str, blobs: Iterable[tuple[str, str, int | None]]
) -> tuple[RemoteFile, ...]:
    """Database files of ``repo`` at ``commit``; ``blobs``: (name, git blob id, size or None)."""
    return tuple(
        RemoteFile(
            f"databases/{name}",
            f"https://raw.githubusercontent.com/{repo}/{commit}/databases/{name}",
            "database",
            git_blob_sha1=blob,
            size=size,
        )
        for name, blob, size in blobs
    )


_CMC_COMMIT = "4e07b844e1f20b0c19799b0415427901c2f119f7"
_CCMCT_COMMIT = "0b67ef2d6a4d236f710ca778487152e298ea18b7"

#: SHA-256 of MITOS_WSI_CMC_MEL.sqlite pinned by the AWS blog's notebook
#: (aws-samples/amazon-rekognition-custom-labels-mitotic-figures@a21d6d0c,
#: detecting_mitotic_figures.ipynb, DATABASE_SHA256_SIGNATURE).
_CMC_MEL_SHA256 = "a328051d0c4fb4797f838cb1cf919f3ff0acdb6ac56cfe1c6e063fac25f25302"

_cmc_databases = _github(
    "DeepMicroscopy/MITOS_WSI_CMC",
    _CMC_COMMIT,
    [  # git ls-tree 4e07b844 databases/ (blob ids; the tree did not give these sizes)
        ("MITOS_WSI_CMC_MEL.sqlite", "0083b13d42c3f70fe27f140047471837f50602d7", None),
        ("MITOS_WSI_CMC_ODAEL_TR.sqlite", "40f71befc422960c781c4251d02a682883ef3b88", None),
        ("MITOS_WSI_CMC_COADEL_TR.sqlite", "37e4aaf21c3154dd46a5f855ef4a681ebf46a443", None),
    ],
)
_cmc_databases = (attrs.evolve(_cmc_databases[0], sha256=_CMC_MEL_SHA256), *_cmc_databases[1:])

#: MITOS_WSI_CMC: 21 slides + MEL, ODAEL and CODAEL databases. Setup.ipynb of
#: DeepMicroscopy/MITOS_WSI_CMC@4e07b844 (comments: the notebook's slide numbers).
MITOS_WSI_CMC = PublicDataset(
    name="mitos-wsi-cmc",
    title="MITOS_WSI_CMC: canine mammary carcinoma (Aubreville et al., Sci Data 7, 417, 2020)",
    source=(
        f"github.com/DeepMicroscopy/MITOS_WSI_CMC@{_CMC_COMMIT}: Setup.ipynb (slides), "
        "databases/ (databases); MEL SHA-256 from github.com/aws-samples/"
        "amazon-rekognition-custom-labels-mitotic-figures@a21d6d0c76d3686374a04fdea999152f8cab32f2"
        ": detecting_mitotic_figures.ipynb"
    ),
    files=(
        *_cmc_databases,
        *_figshare(
            [
                ("deb768e5efb9d1dcbc13.svs", 22407414),  # 18
                ("d37ab62158945f22deed.svs", 22585835),  # 19
                ("022857018aa597374b6c.svs", 22407537),  # 1
                ("69a02453620ade0edefd.svs", 22407411),  # 2
                ("a8773be388e12df89edd.svs", 22407540),  # 3
                ("c4b95da36e32993289cb.svs", 22407552),  # 4
                ("3d3d04eca056556b0b26.svs", 22407585),  # 5
                ("d0423ef9a648bb66a763.svs", 22407624),  # 6
                ("50cf88e9a33df0c0c8f9.svs", 22407531),  # 7
                ("084383c18b9060880e82.svs", 22407486),  # 8
                ("4eee7b944ad5e46c60ce.svs", 22407528),  # 9
                ("2191a7aa287ce1d5dbc0.svs", 22407525),  # 10
                ("13528f1921d4f1f15511.svs", 22407519),  # 11
                ("2d56d1902ca533a5b509.svs", 22407522),  # 12
                ("460906c0b1fe17ea5354.svs", 22407447),  # 13
                ("da18e7b9846e9d38034c.svs", 22407453),  # 14
                ("72c93e042d0171a61012.svs", 22407456),  # 15
                ("b1bdee8e5e3372174619.svs", 22407423),  # 16
                ("fa4959e484beec77543b.svs", 22407459),  # 17
                ("e09512d530d933e436d5.svs", 22407465),  # 20
                ("d7a8af121d7d4f3fbf01.svs", 22407477),  # 21
            ]
        ),
    ),
)

#: MITOS_WSI_CCMCT: 32 slides + MEL, HEAEL, ODAEL and Tumorzone databases. Setup.ipynb of
#: DeepMicroscopy/MITOS_WSI_CCMCT@0b67ef2d (comments: the notebook's slide numbers).
MITOS_WSI_CCMCT = PublicDataset(
    name="mitos-wsi-ccmct",
    title=(
        "MITOS_WSI_CCMCT: canine cutaneous mast cell tumour (Bertram et al., Sci Data 6, 274, 2019)"
    ),
    source=(
        f"github.com/DeepMicroscopy/MITOS_WSI_CCMCT@{_CCMCT_COMMIT}: Setup.ipynb (slides), "
        "databases/ (databases)"
    ),
    files=(
        *_github(
            "DeepMicroscopy/MITOS_WSI_CCMCT",
            _CCMCT_COMMIT,
            [  # git ls-tree -l 0b67ef2d databases/
                ("MITOS_WSI_CCMCT_MEL.sqlite", "6af235edaa1129fa2bfaa2ced9cf273d7ea69c17", None),
                ("MITOS_WSI_CCMCT_HEAEL.sqlite", "11fe7ac91cfddbc51eb55ebc3cf0627aa7a8281d", None),
                ("MITOS_WSI_CCMCT_ODAEL.sqlite", "d675c65aeef61f8523dc073c650547f78f99da83", None),
                (
                    "MITOS_WSI_CCMCT_Tumorzone.sqlite",
                    "9a63f6b81628d15f84c9e902d8b6ca55cb8cded4",
                    2369536,
                ),
            ],
        ),
        *_figshare(
            [
                ("96274538c93980aad8d6.svs", 16261559),  # 3
                ("1018715d369dd0df2fc0.svs", 16261562),  # 20
                ("9374efe6ac06388cc877.svs", 16261553),  # 26
                ("552c51bfb88fd3e65ffe.svs", 16261556),  # 27
                ("285f74bb6be025a676b6.svs", 16261550),  # 29
                ("91a8e57ea1f9cb0aeb63.svs", 16261544),  # 24
                ("70ed18cd5f806cf396f0.svs", 16261541),  # 35
                ("066c94c4c161224077a9.svs", 16261547),  # 25
                ("39ecf7f94ed96824405d.svs", 16261529),  # 19
                ("34eb28ce68c1106b2bac.svs", 16261538),  # 14
                ("20c0753af38303691b27.svs", 16261532),  # 21
                ("3f2e034c75840cb901e6.svs", 16261505),  # 15
                ("2efb541724b5c017c503.svs", 16261520),  # 22
                ("2f2591b840e83a4b4358.svs", 16261514),  # 23
                ("8bebdd1f04140ed89426.svs", 16261523),  # 17
                ("8c9f9618fcaca747b7c3.svs", 16261526),  # 9
                ("2f17d43b3f9e7dacf24c.svs", 16261535),  # 8
                ("f3741e764d39ccc4d114.svs", 16261493),  # 31
                ("fff27b79894fe0157b08.svs", 16261490),  # 7
                ("f26e9fcef24609b988be.svs", 16261496),  # 6
                ("dd4246ab756f6479c841.svs", 16261487),  # 18
                ("c3eb4b8382b470dd63a9.svs", 16261466),  # 4
                ("c86cd41f96331adf3856.svs", 16261475),  # 30
                ("c91a842257ed2add5134.svs", 16261481),  # 1
                ("dd6dd0d54b81ebc59c77.svs", 16261478),  # 28
                ("be10fa37ad6e88e1f406.svs", 16261469),  # 11
                ("ce949341ba99845813ac.svs", 16261484),  # 34
                ("a0c8b612fe0655eab3ce.svs", 16261424),  # 13
                ("add0a9bbc53d1d9bac4c.svs", 16261436),  # 2
                ("2e611073cff18d503cea.svs", 16261439),  # 32
                ("0e56fd11a762be0983f0.svs", 16261442),  # 31 (sic: two slides are commented 31)
                ("ac1168b2c893d2acad38.svs", 16261445),  # 12
            ]
        ),
    ),
)

#: Every dataset ``wsi2rek fetch`` knows, by name.
DATASETS: dict[str, PublicDataset] = {d.name: d for d in (MITOS_WSI_CMC, MITOS_WSI_CCMCT)}


def get_dataset(name: str) -> PublicDataset:
    """The catalogue entry called ``name``.

    Raises:
        ParameterError: No dataset has that name; the message lists the known ones.
    """
    try:
        return DATASETS[name]
    except KeyError:
        raise ParameterError(
            f"unknown dataset {name!r}; choose one of: {', '.join(sorted(DATASETS))}"
        ) from None
