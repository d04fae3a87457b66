"""Public factories for synthetic test data: slides, plain images, SlideRunner databases.

They are used by wsi2rek's own tests, its docs and ``wsi2rek demo``, and are meant for
yours. Writing pyramidal slides needs the ``testing`` extra (``tifffile``, ``imagecodecs``).
"""

from __future__ import annotations

from wsi2rek.testing._sliderunner import (
    area,
    circle,
    make_sliderunner_db,
    polygon,
    sliderunner_connection,
    special_spot,
    spot,
)
from wsi2rek.testing._slides import make_image, make_slide

__all__ = [
    "area",
    "circle",
    "make_image",
    "make_slide",
    "make_sliderunner_db",
    "polygon",
    "sliderunner_connection",
    "special_spot",
    "spot",
]
