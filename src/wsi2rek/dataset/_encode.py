"""Image encoding: RGB ``uint8`` arrays to PNG or JPEG bytes, no float round trip.

PNG is written by a small encoder of our own rather than Pillow's: every row uses the
PNG "Up" filter (computed with one numpy subtraction) and the stream is deflated by
ISA-L (``isal``), Intel's deflate library, which on these rows is about five times
faster than zlib at level 1 for files of the same size. Pillow tries all five filters on
every row ("adaptive" filtering), which on 512 px H&E patches costs more than the
compression itself. The result is a standard zlib stream in an IDAT chunk, so any PNG
decoder reads it; it is lossless and carries no timestamp, and the same pixels give the
same bytes (for a given ISA-L version, recorded in ``dataset.json``).

JPEG is encoded by libjpeg-turbo through imagecodecs straight from the numpy array
(Pillow would first copy it into its own 4-bytes-per-pixel image), with the settings
Pillow uses (4:2:0 subsampling, JFIF header, no optimisation), so the bytes are the same
as Pillow's ``save(..., quality=q)``.
"""

from __future__ import annotations

import struct
import zlib
from typing import Literal

import attrs
import imagecodecs
import numpy as np
from isal import isal_zlib
from numpy.typing import NDArray

from wsi2rek.errors import ParameterError

__all__ = ["ImageFormat", "ImageOptions", "encode_patch", "encode_png"]

ImageFormat = Literal["png", "jpeg"]


def _format(value: str) -> ImageFormat:
    v = value.lower()
    if v == "jpg":
        v = "jpeg"
    if v == "png":
        return "png"
    if v == "jpeg":
        return "jpeg"
    raise ParameterError(f"image_format must be 'png' or 'jpeg', got {value!r}")


def _quality(_instance: object, _attribute: object, value: int) -> None:
    if not 1 <= value <= 100:
        raise ParameterError(f"JPEG quality must be 1 to 100, got {value}")


def _level(_instance: object, _attribute: object, value: int) -> None:
    if not 0 <= value <= 9:
        raise ParameterError(f"PNG compress level must be 0 to 9, got {value}")


@attrs.frozen
class ImageOptions:
    """How patches are encoded.

    Attributes:
        image_format: ``"png"`` (lossless, default) or ``"jpeg"``.
        quality: JPEG quality (1-100); ignored for PNG.
        png_compress_level: PNG compression level (0-9, zlib's scale): 0 stores the
            rows uncompressed, 1 (default) is ISA-L's fastest level, 2-5 and 6-9 its
            levels 2 and 3, which gain a few percent at some cost; ignored for JPEG.
    """

    image_format: ImageFormat = attrs.field(default="png", converter=_format)
    quality: int = attrs.field(default=90, validator=_quality)
    png_compress_level: int = attrs.field(default=1, validator=_level)

    @property
    def extension(self) -> str:
        """File extension without the dot: ``png`` or ``jpg``."""
        return "png" if self.image_format == "png" else "jpg"

    def to_dict(self) -> dict[str, object]:
        """The options that change the bytes written (stored in ``dataset.json``)."""
        if self.image_format == "png":
            return {"image_format": "png", "png_compress_level": self.png_compress_level}
        return {"image_format": "jpeg", "quality": self.quality}


def encode_patch(pixels: NDArray[np.uint8], options: ImageOptions) -> bytes:
    """Encode an RGB ``uint8`` array of shape ``(height, width, 3)``.

    PNG is written by :func:`encode_png` at ``options.png_compress_level``; JPEG by
    libjpeg-turbo at ``options.quality`` (4:2:0, the same bytes as Pillow's). The output
    carries no timestamp, so the same pixels always give the same bytes.

    Raises:
        ValueError: ``pixels`` is not an RGB ``uint8`` array.
    """
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ParameterError(
            f"expected an RGB uint8 array of shape (height, width, 3), got dtype "
            f"{pixels.dtype} and shape {pixels.shape}"
        )
    if options.image_format == "png":
        return encode_png(pixels, options.png_compress_level)
    return bytes(imagecodecs.jpeg8_encode(np.ascontiguousarray(pixels), level=options.quality))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _deflate(data: memoryview, level: int) -> bytes:
    """A zlib stream of ``data``: stored at level 0, else ISA-L at its level 1, 2 or 3."""
    if level == 0:
        return zlib.compress(data, 0)
    return bytes(isal_zlib.compress(data, 1 if level == 1 else 2 if level <= 5 else 3))


def encode_png(pixels: NDArray[np.uint8], level: int = 1) -> bytes:
    """Encode an RGB ``uint8`` array as an 8-bit RGB PNG with the Up filter on every row.

    Args:
        pixels: ``(height, width, 3)`` array.
        level: 0 (stored, no compression) to 9, see :class:`ImageOptions`.
    """
    height, width, _ = pixels.shape
    flat = np.ascontiguousarray(pixels).reshape(height, width * 3)
    filtered = np.empty((height, width * 3 + 1), dtype=np.uint8)
    filtered[:, 0] = 2  # filter type Up; the row above the first is all zeros
    filtered[0, 1:] = flat[0]
    np.subtract(flat[1:], flat[:-1], out=filtered[1:, 1:])  # uint8 wraps modulo 256
    idat = _deflate(filtered.data, level)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        (b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header), _chunk(b"IDAT", idat), _chunk(b"IEND", b""))
    )
