"""Slide readers: the SlideSource contract and its OpenSlide and Pillow backends.

:func:`open_slide` picks the backend; both return RGB ``uint8`` numpy arrays from
``read_region`` and pad regions past the slide edge with white.
"""

from __future__ import annotations

from wsi2rek.slides._base import SlideSource
from wsi2rek.slides._open import open_slide
from wsi2rek.slides._openslide import OpenSlideSource
from wsi2rek.slides._pillow import DEFAULT_MAX_PIXELS, PillowSlideSource

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "OpenSlideSource",
    "PillowSlideSource",
    "SlideSource",
    "open_slide",
]
