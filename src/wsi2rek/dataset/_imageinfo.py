"""Format and size of a PNG or JPEG file, read from its header without decoding pixels.

Pillow refuses (``DecompressionBombError``) or tries to allocate images whose header
claims a giant size; validating a dataset only needs the header, so it is parsed here:
the PNG ``IHDR`` chunk (PNG specification, section 11.2.2) and the first JPEG
start-of-frame marker (ITU-T T.81, B.2.2), reading a few bytes per marker segment.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import IO

from wsi2rek.errors import ManifestError
from wsi2rek.rekognition import Code

__all__ = ["image_info"]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
#: SOFn markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_MAX_SEGMENTS = 10_000


def _jpeg_size(f: IO[bytes], path: Path) -> tuple[int, int]:
    pos = 2
    for _ in range(_MAX_SEGMENTS):
        f.seek(pos)
        head = f.read(4)
        if len(head) < 2 or head[0] != 0xFF:
            break
        marker = head[1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker in (0xD9, 0xDA) or len(head) < 4:  # end of image / start of scan
            break
        length = (head[2] << 8) | head[3]
        if marker in _SOF:
            frame = f.read(5)
            if len(frame) < 5:
                break
            height, width = struct.unpack(">HH", frame[1:5])
            return int(width), int(height)
        if length < 2:
            break
        pos += 2 + length
    raise ManifestError(
        f"{path} starts like a JPEG but has no readable frame header (SOF marker)",
        path=path,
        code=Code.ERROR_INVALID_IMAGE,
    )


def image_info(path: str | Path) -> tuple[str, int, int]:
    """``(format, width, height)`` of a PNG or JPEG file, read from its header only.

    Raises:
        ManifestError: The file is neither PNG nor JPEG by its magic bytes, or its
            header is unreadable (code ``ERROR_INVALID_IMAGE``).
    """
    p = Path(path)
    try:
        with p.open("rb") as f:
            head = f.read(32)
            if head.startswith(_PNG_MAGIC) and head[12:16] == b"IHDR" and len(head) >= 24:
                width, height = struct.unpack(">II", head[16:24])
                return "png", int(width), int(height)
            if head.startswith(_JPEG_MAGIC):
                width, height = _jpeg_size(f, p)
                return "jpeg", width, height
    except OSError as exc:
        raise ManifestError(
            f"cannot read image {p}: {exc}", path=p, code=Code.ERROR_INVALID_IMAGE
        ) from exc
    raise ManifestError(
        f"{p} is not a PNG or JPEG file (first bytes {head[:8]!r})",
        path=p,
        code=Code.ERROR_INVALID_IMAGE,
    )
