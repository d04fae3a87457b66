"""Fetch the public mitosis datasets (MITOS_WSI_CMC, MITOS_WSI_CCMCT): resumable, verified.

Explicit only: importing this package touches no network; only :func:`fetch_dataset` (and
``wsi2rek fetch``) downloads, and nothing else in wsi2rek calls it. The file lists, URLs
and pins live in one place, :mod:`wsi2rek.fetch._catalogue`, with their upstream sources.
"""

from wsi2rek.fetch._catalogue import (
    DATASETS,
    MITOS_WSI_CCMCT,
    MITOS_WSI_CMC,
    FileKind,
    PublicDataset,
    RemoteFile,
    get_dataset,
)
from wsi2rek.fetch._fetch import FetchSummary, FileResult, FileStatus, fetch_dataset
from wsi2rek.fetch._lock import LOCK_NAME, file_digests

__all__ = [
    "DATASETS",
    "LOCK_NAME",
    "MITOS_WSI_CCMCT",
    "MITOS_WSI_CMC",
    "FetchSummary",
    "FileKind",
    "FileResult",
    "FileStatus",
    "PublicDataset",
    "RemoteFile",
    "fetch_dataset",
    "file_digests",
    "get_dataset",
]
