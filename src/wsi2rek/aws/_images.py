"""Turn the images users have into bytes ``DetectCustomLabels`` accepts, and boxes back.

Rekognition takes PNG or JPEG bytes of at most 4 MB (the developer guide's limit; the
service model allows 5 MiB, the smaller one is what we respect). Anything else (other
formats, arrays, PIL images, oversized files) is encoded here: PNG first, JPEG when the
PNG would be too large, and a smaller JPEG (lower quality, then half the size) when even
that is too large. Boxes come back normalised to 0-1, so scaling the image down for the
request does not change where they land in the caller's frame.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from wsi2rek.detection import Detection
from wsi2rek.errors import ParameterError
from wsi2rek.geometry import Box
from wsi2rek.rekognition import DETECT_MAX_IMAGE_BYTES, QUOTA

__all__ = ["MAX_IMAGE_BYTES", "EncodedImage", "ImageInput", "encode_for_detection", "to_detection"]

#: The largest image payload sent to ``DetectCustomLabels`` (4 MB per the guide).
MAX_IMAGE_BYTES = DETECT_MAX_IMAGE_BYTES

ImageInput = str | os.PathLike[str] | bytes | Image.Image | NDArray[np.uint8]
"""What :meth:`CustomLabelsModel.detect` accepts: a PNG/JPEG path, encoded bytes, a PIL
image or an RGB ``uint8`` array of shape ``(height, width, 3)``."""

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"


@attrs.frozen
class EncodedImage:
    """Bytes to send, and the size of the caller's image (the frame boxes map to)."""

    data: bytes
    width: int
    height: int
    format: str


def _encode(image: Image.Image, fmt: str, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    if fmt == "PNG":
        image.save(buffer, format="PNG", compress_level=1)
    else:
        image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _fit(image: Image.Image, limit: int) -> tuple[bytes, str]:
    rgb = image.convert("RGB") if image.mode != "RGB" else image
    png = _encode(rgb, "PNG")
    if len(png) <= limit:
        return png, "PNG"
    current = rgb
    while True:
        for quality in (90, 75, 60):
            jpeg = _encode(current, "JPEG", quality)
            if len(jpeg) <= limit:
                return jpeg, "JPEG"
        if min(current.size) <= QUOTA.min_image_side:
            raise ParameterError(
                f"cannot encode the image under {limit} bytes even at "
                f"{current.size[0]}x{current.size[1]} px"
            )
        current = current.resize((max(1, current.width // 2), max(1, current.height // 2)))


def encode_for_detection(image: ImageInput, *, limit: int = MAX_IMAGE_BYTES) -> EncodedImage:
    """Encode ``image`` for ``DetectCustomLabels`` (see the module docs).

    Args:
        image: A path, PNG/JPEG/other encoded bytes, a PIL image or an RGB uint8 array.
        limit: Maximum payload in bytes.

    Returns:
        The payload and the original width and height.

    Raises:
        ValueError: An array is not ``(height, width, 3)`` uint8, or bytes are not an image.
        FileNotFoundError: A path does not exist.
    """
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ParameterError(
                "expected an RGB uint8 array of shape (height, width, 3), got dtype "
                f"{image.dtype} and shape {image.shape}"
            )
        pil = Image.fromarray(image, mode="RGB")
        data, fmt = _fit(pil, limit)
        return EncodedImage(data, pil.width, pil.height, fmt)
    if isinstance(image, Image.Image):
        data, fmt = _fit(image, limit)
        return EncodedImage(data, image.width, image.height, fmt)
    raw = image if isinstance(image, bytes) else Path(image).read_bytes()
    try:
        with Image.open(io.BytesIO(raw)) as opened:
            width, height = opened.size
            if len(raw) <= limit and raw.startswith((_PNG, _JPEG)):
                return EncodedImage(raw, width, height, "PNG" if raw.startswith(_PNG) else "JPEG")
            opened.load()
            data, fmt = _fit(opened, limit)
    except (OSError, Image.DecompressionBombError) as exc:
        where = "bytes" if isinstance(image, bytes) else str(image)
        raise ParameterError(f"{where}: not a readable image ({exc})") from exc
    return EncodedImage(data, width, height, fmt)


def to_detection(label: Mapping[str, Any], width: int, height: int) -> Detection | None:
    """One ``CustomLabels`` entry as a :class:`Detection` in pixels, or None without a box.

    Boxes are clipped to the image: the service may return coordinates a hair outside 0-1.
    """
    geometry = label.get("Geometry") or {}
    bbox = geometry.get("BoundingBox")
    if not bbox:
        return None
    left = float(bbox.get("Left", 0.0)) * width
    top = float(bbox.get("Top", 0.0)) * height
    right = left + float(bbox.get("Width", 0.0)) * width
    bottom = top + float(bbox.get("Height", 0.0)) * height
    box = Box(
        min(max(left, 0.0), width),
        min(max(top, 0.0), height),
        min(max(right, 0.0), width),
        min(max(bottom, 0.0), height),
    )
    confidence = min(max(float(label.get("Confidence", 0.0)), 0.0), 100.0)
    return Detection(label=str(label.get("Name", "")), confidence=confidence, box=box)
