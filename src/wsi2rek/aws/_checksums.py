"""Comparing a local file with what S3 itself computed for an object.

S3 computes checksums on its side and returns them from ``HeadObject`` with
``ChecksumMode=ENABLED`` (S3 User Guide, "Checking object integrity"):

- a single-part upload has a **full-object** checksum: ``ChecksumSHA256`` is the base64
  SHA-256 of the whole object (``ChecksumCRC32`` the big-endian CRC-32, ...);
- a multipart upload with SHA-256 has a **composite** checksum (``ChecksumType``
  ``COMPOSITE``, real S3 appends ``-<parts>``): the SHA-256 of the concatenated binary
  SHA-256 digests of the parts. It is reproduced here from the local file and the part
  size S3 reports (``HeadObject`` with ``PartNumber=1`` gives the first part's length and
  ``PartsCount``).

Metadata written by the uploader (``x-amz-meta-...``) is a claim, not a proof, and is
never trusted for verification.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["is_multipart", "matches", "sha256_b64"]

_CHUNK = 1 << 20


def sha256_b64(path: Path) -> str:
    """The base64 SHA-256 of a whole file (S3's ``ChecksumSHA256`` format)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode("ascii")


def _crc32_b64(path: Path) -> str:
    crc = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            crc = zlib.crc32(chunk, crc)
    return base64.b64encode(crc.to_bytes(4, "big")).decode("ascii")


def _composite_sha256_b64(path: Path, part_size: int) -> tuple[str, int]:
    """S3's composite SHA-256 of ``path`` uploaded in parts of ``part_size``; part count."""
    digests: list[bytes] = []
    with path.open("rb") as fh:
        while True:
            part = hashlib.sha256()
            remaining = part_size
            while remaining:
                chunk = fh.read(min(_CHUNK, remaining))
                if not chunk:
                    break
                part.update(chunk)
                remaining -= len(chunk)
            if remaining == part_size:  # nothing read: end of file
                break
            digests.append(part.digest())
            if remaining:
                break
    composite = hashlib.sha256(b"".join(digests)).digest()
    return base64.b64encode(composite).decode("ascii"), len(digests)


def _composite_matches(checksum: str, path: Path, first_part: Mapping[str, Any]) -> bool | None:
    value, _, parts_suffix = checksum.partition("-")
    part_size = int(first_part.get("ContentLength", 0))
    parts_count = int(first_part.get("PartsCount", 0) or parts_suffix or 0)
    if part_size <= 0:
        return None
    composite, count = _composite_sha256_b64(path, part_size)
    return composite == value and (not parts_count or count == parts_count)


def is_multipart(head: Mapping[str, Any]) -> bool:
    """Whether a ``HeadObject`` answer describes a multipart (composite-checksum) object."""
    etag = str(head.get("ETag", "")).strip('"')
    checksum = str(head.get("ChecksumSHA256", ""))
    return "-" in etag or "-" in checksum or head.get("ChecksumType") == "COMPOSITE"


def matches(
    head: Mapping[str, Any],
    path: Path,
    local_sha256: str,
    *,
    first_part: Callable[[], Mapping[str, Any]],
) -> bool | None:
    """Whether S3's own checksum of an object proves it equals the local file.

    Args:
        head: ``HeadObject(ChecksumMode="ENABLED")`` of the object.
        path: The local file.
        local_sha256: Its base64 SHA-256 (already computed by the caller).
        first_part: Returns ``HeadObject(PartNumber=1)`` of the object (called only for
            multipart objects).

    Returns:
        True or False when S3 computed a checksum that can be compared (full-object
        SHA-256, composite SHA-256, or full-object CRC-32); None when it computed none
        (a store that keeps no checksums, or an algorithm not compared here).
    """
    if int(head.get("ContentLength", -1)) not in (-1, path.stat().st_size):
        return False
    sha = head.get("ChecksumSHA256")
    multipart = is_multipart(head)
    if isinstance(sha, str) and sha:
        if not multipart:
            return sha == local_sha256
        return _composite_matches(sha, path, first_part())
    crc = head.get("ChecksumCRC32")
    if isinstance(crc, str) and crc and head.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT":
        if multipart and "ChecksumType" not in head:
            return None  # a composite CRC-32 of parts: not compared here
        return crc == _crc32_b64(path)
    return None
