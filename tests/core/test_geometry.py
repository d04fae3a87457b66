from __future__ import annotations

import math
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.core.strategies import boxes, points, sizes
from wsi2rek.errors import ParameterError
from wsi2rek.geometry import Box, Point


def test_box_rejects_inverted_bounds() -> None:
    with pytest.raises(ParameterError, match="left <= right"):
        Box(10, 0, 5, 5)


def test_box_rejects_nan() -> None:
    with pytest.raises(ParameterError, match="finite"):
        Box(math.nan, 0, 1, 1)


def test_box_measures() -> None:
    b = Box(10, 20, 40, 60)
    assert (b.width, b.height, b.area) == (30, 40, 1200)
    assert b.center == Point(25, 40)
    assert Box.from_xywh(10, 20, 30, 40) == b


def test_contains_with_margin_edges() -> None:
    window = Box(0, 0, 100, 100)
    assert window.contains(Box(10, 10, 90, 90), margin=10)
    assert not window.contains(Box(9, 10, 90, 90), margin=10)
    assert window.contains(window)
    assert not window.contains(Box(0, 0, 1, 1), margin=60)  # margin leaves nothing


def test_around_and_shrink() -> None:
    b = Box.around(Point(50, 50), 25)
    assert b == Box(25, 25, 75, 75)
    assert b.shrink(30) is None
    assert b.expand(-25) == Box(50, 50, 50, 50)
    with pytest.raises(ParameterError, match="radius"):
        Box.around(Point(0, 0), -1)


def test_iou_known_value() -> None:
    a, b = Box(0, 0, 10, 10), Box(5, 0, 15, 10)
    assert a.iou(b) == pytest.approx(50 / 150)
    assert a.iou(Box(20, 20, 30, 30)) == 0.0


def test_value_types_are_hashable_and_picklable() -> None:
    b = Box(1, 2, 3, 4)
    assert pickle.loads(pickle.dumps(b)) == b
    assert len({b, Box(1, 2, 3, 4), Point(1, 2)}) == 2


def test_to_ints_rounds_outward() -> None:
    assert Box(0.2, 0.7, 9.1, 9.9).to_ints() == (0, 0, 10, 10)


@given(boxes(), boxes())
def test_intersection_is_inside_both(a: Box, b: Box) -> None:
    inter = a.intersection(b)
    if inter is None:
        assert not a.intersects(b)
    else:
        assert a.intersects(b)
        assert a.contains(inter)
        assert b.contains(inter)


@given(boxes(), boxes())
def test_iou_symmetric_and_bounded(a: Box, b: Box) -> None:
    assert a.iou(b) == pytest.approx(b.iou(a))
    assert 0.0 <= a.iou(b) <= 1.0 + 1e-9


@given(boxes())
def test_iou_with_itself_is_one_unless_empty(a: Box) -> None:
    if a.area > 1e-6:
        assert a.iou(a) == pytest.approx(1.0)


@given(boxes(), boxes())
def test_union_covers_both(a: Box, b: Box) -> None:
    u = a.union(b)
    assert u.contains(a)
    assert u.contains(b)


@given(boxes(), st.floats(-1e4, 1e4), st.floats(-1e4, 1e4))
def test_translate_keeps_size(a: Box, dx: float, dy: float) -> None:
    t = a.translate(dx, dy)
    assert t.width == pytest.approx(a.width, abs=1e-6)
    assert t.height == pytest.approx(a.height, abs=1e-6)


@given(boxes(), sizes)
def test_shrink_then_contains(a: Box, m: float) -> None:
    inner = a.shrink(m)
    if inner is not None:
        assert a.contains(inner)
        assert a.contains(inner.center, margin=m - 1e-6 * max(1.0, m))


@given(points, points)
def test_distance_symmetric(p: Point, q: Point) -> None:
    assert p.distance(q) == pytest.approx(q.distance(p))
