"""wsi2rek: whole-slide images and annotations to Rekognition Custom Labels and back."""

from __future__ import annotations

from wsi2rek.errors import Wsi2RekError, Wsi2RekWarning
from wsi2rek.geometry import Box, Point

__version__ = "0.1.0"

__all__ = [
    "Box",
    "Point",
    "Wsi2RekError",
    "Wsi2RekWarning",
    "__version__",
]
