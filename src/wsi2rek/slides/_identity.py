"""A slide file's identity: a content fingerprint cheap enough for multi-GB slides.

A resumed build must not mix pixels of two different files that happen to share a name
(a rescan, a re-export, a copy of the wrong slide). Hashing a whole slide costs seconds
per gigabyte, so the identity hashes the size and a fixed sample of the content instead:
the first and last 64 KiB (TIFF headers and, for most formats, the directory of tiles
with their offsets and byte counts, which change whenever any tile changes) and 16
blocks of 4 KiB spread evenly over the file. That is about 200 KiB read per slide,
whatever its size.

The identity does not depend on the path or on the modification time, so a slide that
is copied or moved (with its dataset) keeps its identity. For MIRAX (``.mrxs``), whose
pixels live in a companion folder of the same stem, every file of that folder is
sampled too.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from wsi2rek.errors import SlideError, SlideNotFoundError

__all__ = ["slide_identity"]

#: Bytes hashed at each end of a file.
_END_BYTES = 64 * 1024
#: Evenly spaced blocks hashed between the ends.
_BLOCKS = 16
_BLOCK_BYTES = 4 * 1024
#: Prefix of the identity string; bumped if the sampling changes.
_SCHEME = "v1"


def _sample(path: Path, digest: hashlib._Hash) -> int:
    """Feed ``path``'s size and sampled content to ``digest``; returns the size."""
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        digest.update(f"{size}\n".encode())
        if size <= 2 * _END_BYTES + _BLOCKS * _BLOCK_BYTES:
            digest.update(fh.read())
            return size
        offsets = [0, size - _END_BYTES]
        step = (size - 2 * _END_BYTES) // (_BLOCKS + 1)
        offsets[1:1] = [_END_BYTES + step * (i + 1) for i in range(_BLOCKS)]
        for offset in offsets:
            fh.seek(offset)
            digest.update(fh.read(_END_BYTES if offset in (0, size - _END_BYTES) else _BLOCK_BYTES))
    return size


def slide_identity(path: str | os.PathLike[str]) -> str:
    """A short string that changes when the slide file's content changes.

    Two files with the same identity have the same size and the same bytes at about 200
    KiB of fixed sample positions (see the module docstring); it is not a full hash, so
    a change confined to unsampled tile data of a file whose tile directory is unchanged
    is not seen. The path and the modification time are not part of it.

    Args:
        path: The slide file (for MIRAX, the ``.mrxs`` file next to its data folder).

    Returns:
        ``"v1:<size in bytes>:<first 32 hex digits of a SHA-256>"``.

    Raises:
        SlideNotFoundError: ``path`` does not exist.
        SlideError: ``path`` is not a regular file or cannot be read.
    """
    p = Path(path)
    if not p.exists():
        raise SlideNotFoundError(f"slide file not found: {p}; check the path", path=p)
    if not p.is_file():
        raise SlideError(f"{p} is not a regular file, so it is not a slide file", path=p)
    digest = hashlib.sha256()
    try:
        size = _sample(p, digest)
        companion = p.with_suffix("")
        if p.suffix.lower() == ".mrxs" and companion.is_dir():
            for part in sorted(companion.iterdir()):
                if part.is_file():
                    digest.update(f"{part.name}\n".encode())
                    size += _sample(part, digest)
    except OSError as exc:
        raise SlideError(f"cannot read {p} to fingerprint it: {exc}", path=p) from exc
    return f"{_SCHEME}:{size}:{digest.hexdigest()[:32]}"
