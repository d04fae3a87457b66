"""Hypothesis strategies for geometry, kept in one place."""

from __future__ import annotations

from hypothesis import strategies as st

from wsi2rek.geometry import Box, Point

coords = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
sizes = st.floats(min_value=0, max_value=1e5, allow_nan=False, allow_infinity=False)


@st.composite
def boxes(draw: st.DrawFn) -> Box:
    """Any valid box (possibly empty)."""
    x, y = draw(coords), draw(coords)
    return Box.from_xywh(x, y, draw(sizes), draw(sizes))


points = st.builds(Point, coords, coords)
