"""Slide readers: the SlideSource contract and its backends.

OpenSlide, tifffile and Pillow read files; :class:`ArraySlide` serves an array in memory.
:func:`open_slide` picks the backend; all return RGB ``uint8`` numpy arrays from
``read_region`` and pad regions past the slide edge with white. The tifffile backend
(:class:`TiffSlideSource`, imported on first use) returns OpenSlide's pixels, faster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wsi2rek._lazy import lazy_exports
from wsi2rek.slides._array import ArraySlide
from wsi2rek.slides._base import MAX_REGION_PIXELS, PLAUSIBLE_MPP, SlideSource
from wsi2rek.slides._identity import slide_identity
from wsi2rek.slides._open import BACKENDS, open_slide
from wsi2rek.slides._openslide import OpenSlideSource
from wsi2rek.slides._pillow import DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV, PillowSlideSource

if TYPE_CHECKING:
    from wsi2rek.slides._tifffile import TiffSlideSource

__all__ = [
    "BACKENDS",
    "DEFAULT_MAX_PIXELS",
    "MAX_PIXELS_ENV",
    "MAX_REGION_PIXELS",
    "PLAUSIBLE_MPP",
    "ArraySlide",
    "OpenSlideSource",
    "PillowSlideSource",
    "SlideSource",
    "TiffSlideSource",
    "open_slide",
    "slide_identity",
]

# tifffile and imagecodecs load only when a TIFF-family slide is opened
__getattr__, __dir__ = lazy_exports(__name__, {"TiffSlideSource": "wsi2rek.slides._tifffile"})
