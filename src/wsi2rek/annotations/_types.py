"""Annotation value types shared by every annotation reader."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping

import attrs

from wsi2rek.errors import AnnotationError
from wsi2rek.geometry import Box, Point

__all__ = ["DEFAULT_SPOT_RADIUS_PX", "Annotation", "AnnotationKind"]

#: SlideRunner draws spots with this radius, and the MITOS_WSI papers use it for boxes.
DEFAULT_SPOT_RADIUS_PX = 25.0


class AnnotationKind(enum.IntEnum):
    """Annotation types, numbered as SlideRunner stores them in ``Annotations.type``."""

    SPOT = 1
    AREA = 2
    POLYGON = 3
    SPECIAL_SPOT = 4
    CIRCLE = 5


@attrs.frozen
class Annotation:
    """One annotation in level-0 pixels of its slide.

    Attributes:
        uid: The annotation's id in its database.
        slide: The uid of the slide it belongs to.
        kind: Its :class:`AnnotationKind`.
        class_id: The agreed class id, or None when there is no agreement (0 or NULL); a
            :class:`~wsi2rek.labels.LabelMap` turns class ids into label names.
        points: Level-0 points in drawing order (one for spots, two for areas and
            circles, N for polygons).
        deleted: True when soft-deleted in the database.
        votes: Person uid -> class id, one vote per person.
        description: Free text from the database, when it has any.
    """

    uid: int
    slide: int
    kind: AnnotationKind
    class_id: int | None
    points: tuple[Point, ...]
    deleted: bool = False
    votes: Mapping[int, int] = attrs.field(factory=dict, eq=False, hash=False)
    description: str | None = None

    @property
    def center(self) -> Point:
        """The centre of the annotation's extent (the point itself for spots)."""
        if self.kind in (AnnotationKind.SPOT, AnnotationKind.SPECIAL_SPOT):
            return self.points[0]
        return Box.from_points(self.points).center

    def box(
        self,
        spot_radius_px: float | None = None,
        *,
        spot_radius_um: float | None = None,
        mpp: float | tuple[float, float] | None = None,
    ) -> Box:
        """The level-0 box of this annotation.

        Spots (and special spots) become a square of half-side ``spot_radius_px``
        (default 25 px), or ``spot_radius_um`` micrometres converted with ``mpp``
        (micrometres per pixel, one number or ``(x, y)``). Areas and circles span their
        two points; polygons their extent.

        Raises:
            AnnotationError: when both radii are given, a radius is negative, or a
                micrometre radius is asked for without ``mpp``.
        """
        if self.kind not in (AnnotationKind.SPOT, AnnotationKind.SPECIAL_SPOT):
            return Box.from_points(self.points)
        if spot_radius_px is not None and spot_radius_um is not None:
            raise AnnotationError(
                "give either spot_radius_px or spot_radius_um, not both",
                uid=self.uid,
                slide=self.slide,
            )
        c = self.points[0]
        if spot_radius_um is not None:
            if mpp is None:
                raise AnnotationError(
                    f"annotation {self.uid} on slide {self.slide}: a spot radius of "
                    f"{spot_radius_um} um needs the slide's microns per pixel (mpp), and "
                    "none was given; pass mpp=... or use spot_radius_px",
                    uid=self.uid,
                    slide=self.slide,
                )
            mx, my = (mpp, mpp) if isinstance(mpp, int | float) else mpp
            if not (mx > 0 and my > 0 and spot_radius_um >= 0):
                raise AnnotationError(
                    f"annotation {self.uid}: radius and mpp must be positive, got "
                    f"radius={spot_radius_um} um, mpp={mpp}",
                    uid=self.uid,
                    slide=self.slide,
                )
            rx, ry = spot_radius_um / mx, spot_radius_um / my
            if not (math.isfinite(rx) and math.isfinite(ry)):
                raise AnnotationError(
                    f"annotation {self.uid}: a spot radius of {spot_radius_um} um at mpp "
                    f"{mpp} is not a finite number of pixels; give a radius of a few "
                    "micrometres",
                    uid=self.uid,
                    slide=self.slide,
                )
            return Box(c.x - rx, c.y - ry, c.x + rx, c.y + ry)
        radius = DEFAULT_SPOT_RADIUS_PX if spot_radius_px is None else spot_radius_px
        if not (radius >= 0 and math.isfinite(radius)):
            raise AnnotationError(
                f"annotation {self.uid}: spot radius must be a finite number >= 0, got {radius}",
                uid=self.uid,
                slide=self.slide,
            )
        return Box.around(c, radius)
