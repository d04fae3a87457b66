"""Geometry value types in level-0 slide pixels.

:class:`Point` and :class:`Box` are frozen, hashable and cheap. Coordinates are floats in
the level-0 pixel frame of a slide unless a name says otherwise (``patch_box`` for a box
in a patch's frame). A :class:`Box` is half-open in spirit: ``right`` and ``bottom`` are
the coordinates just past the last covered pixel, so ``width = right - left``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import attrs

from wsi2rek.errors import ParameterError

__all__ = ["Box", "Point"]


def _finite(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(value):
        raise ParameterError(f"{attribute.name} must be a finite number, got {value!r}")


@attrs.frozen(order=True)
class Point:
    """A point ``(x, y)`` in level-0 pixels."""

    x: float = attrs.field(converter=float, validator=_finite)
    y: float = attrs.field(converter=float, validator=_finite)

    def translate(self, dx: float, dy: float) -> Point:
        """Return this point moved by ``(dx, dy)``."""
        return Point(self.x + dx, self.y + dy)

    def scale(self, factor: float) -> Point:
        """Return this point with both coordinates multiplied by ``factor``."""
        return Point(self.x * factor, self.y * factor)

    def distance(self, other: Point) -> float:
        """Euclidean distance to ``other``."""
        return math.hypot(self.x - other.x, self.y - other.y)


@attrs.frozen(order=True)
class Box:
    """An axis-aligned box ``(left, top, right, bottom)``; ``left <= right``, ``top <= bottom``."""

    left: float = attrs.field(converter=float, validator=_finite)
    top: float = attrs.field(converter=float, validator=_finite)
    right: float = attrs.field(converter=float, validator=_finite)
    bottom: float = attrs.field(converter=float, validator=_finite)

    def __attrs_post_init__(self) -> None:
        if self.right < self.left or self.bottom < self.top:
            raise ParameterError(
                f"Box needs left <= right and top <= bottom, got left={self.left}, "
                f"top={self.top}, right={self.right}, bottom={self.bottom}"
            )

    # --- construction -------------------------------------------------------------------

    @classmethod
    def from_xywh(cls, x: float, y: float, width: float, height: float) -> Box:
        """Box from its top-left corner and size."""
        return cls(x, y, x + width, y + height)

    @classmethod
    def around(cls, center: Point, radius: float) -> Box:
        """Square box of half-side ``radius`` centred on ``center``."""
        if radius < 0:
            raise ParameterError(f"radius must be >= 0, got {radius}")
        return cls(center.x - radius, center.y - radius, center.x + radius, center.y + radius)

    @classmethod
    def from_points(cls, points: Iterable[Point]) -> Box:
        """The extent (bounding box) of one or more points."""
        pts = list(points)
        if not pts:
            raise ParameterError("Box.from_points needs at least one point")
        xs = [p.x for p in pts]
        ys = [p.y for p in pts]
        return cls(min(xs), min(ys), max(xs), max(ys))

    # --- measures -----------------------------------------------------------------------

    @property
    def width(self) -> float:
        """``right - left``."""
        return self.right - self.left

    @property
    def height(self) -> float:
        """``bottom - top``."""
        return self.bottom - self.top

    @property
    def area(self) -> float:
        """``width * height``."""
        return self.width * self.height

    @property
    def center(self) -> Point:
        """The centre point."""
        return Point((self.left + self.right) / 2, (self.top + self.bottom) / 2)

    @property
    def is_empty(self) -> bool:
        """True when the box has zero width or height."""
        return self.width <= 0 or self.height <= 0

    # --- transforms ---------------------------------------------------------------------

    def translate(self, dx: float, dy: float) -> Box:
        """Return this box moved by ``(dx, dy)``."""
        return Box(self.left + dx, self.top + dy, self.right + dx, self.bottom + dy)

    def scale(self, factor: float) -> Box:
        """Return this box with every coordinate multiplied by ``factor`` (>= 0)."""
        if factor < 0:
            raise ParameterError(f"scale factor must be >= 0, got {factor}")
        return Box(self.left * factor, self.top * factor, self.right * factor, self.bottom * factor)

    def expand(self, amount: float) -> Box:
        """Grow by ``amount`` on every side (``amount`` may be negative; see :meth:`shrink`)."""
        if amount < 0:
            shrunk = self.shrink(-amount)
            if shrunk is None:
                raise ParameterError(f"cannot shrink {self} by {-amount}: nothing would be left")
            return shrunk
        return Box(self.left - amount, self.top - amount, self.right + amount, self.bottom + amount)

    def shrink(self, amount: float) -> Box | None:
        """Shrink by ``amount`` on every side; None when nothing (not even a line) is left."""
        if amount < 0:
            return self.expand(-amount)
        left, top = self.left + amount, self.top + amount
        right, bottom = self.right - amount, self.bottom - amount
        if right < left or bottom < top:
            return None
        return Box(left, top, right, bottom)

    # --- relations ----------------------------------------------------------------------

    def intersection(self, other: Box) -> Box | None:
        """The overlap with ``other``, or None when they do not overlap with positive area."""
        left, top = max(self.left, other.left), max(self.top, other.top)
        right, bottom = min(self.right, other.right), min(self.bottom, other.bottom)
        if right <= left or bottom <= top:
            return None
        return Box(left, top, right, bottom)

    def intersects(self, other: Box) -> bool:
        """True when the two boxes overlap with positive area."""
        # Same rule as intersection(): an empty box overlaps nothing.
        return max(self.left, other.left) < min(self.right, other.right) and max(
            self.top, other.top
        ) < min(self.bottom, other.bottom)

    def contains(self, other: Box | Point, margin: float = 0.0) -> bool:
        """True when ``other`` lies inside this box shrunk by ``margin`` on every side.

        Edges count as inside: a box equal to this one is contained with ``margin=0``.
        """
        inner = self.shrink(margin)
        if inner is None:
            return False
        if isinstance(other, Point):
            return inner.left <= other.x <= inner.right and inner.top <= other.y <= inner.bottom
        return (
            inner.left <= other.left
            and inner.top <= other.top
            and other.right <= inner.right
            and other.bottom <= inner.bottom
        )

    def union(self, other: Box) -> Box:
        """The smallest box covering both."""
        return Box(
            min(self.left, other.left),
            min(self.top, other.top),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )

    def iou(self, other: Box) -> float:
        """Intersection over union, in [0, 1]; 0 when either box is empty."""
        inter = self.intersection(other)
        if inter is None:
            return 0.0
        union = self.area + other.area - inter.area
        return inter.area / union if union > 0 else 0.0

    def clip(self, bounds: Box) -> Box | None:
        """The part of this box inside ``bounds`` (alias of :meth:`intersection`)."""
        return self.intersection(bounds)

    def to_ints(self) -> tuple[int, int, int, int]:
        """``(left, top, right, bottom)`` rounded outward to whole pixels."""
        return (
            math.floor(self.left),
            math.floor(self.top),
            math.ceil(self.right),
            math.ceil(self.bottom),
        )
