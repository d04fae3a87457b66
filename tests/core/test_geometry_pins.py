"""Example-based pins for ``wsi2rek.geometry``: one behaviour per test.

Each test here kills mutants that the property tests in ``test_geometry.py`` let through
(found with ``mutmut``, see docs/contributing.md): sign flips in transforms, ``and``/``or``
swaps in point containment, the edges of ``contains``, and the inputs nothing else used
(``Point.translate``/``scale``, ``Box.from_points``/``scale``/``clip``/``is_empty``).
"""

from __future__ import annotations

import pytest

from wsi2rek.errors import ParameterError
from wsi2rek.geometry import Box, Point


def test_point_translate_moves_each_axis_by_its_own_offset() -> None:
    assert Point(10, 20).translate(3, -5) == Point(13, 15)


def test_point_scale_multiplies_both_coordinates() -> None:
    assert Point(10, -20).scale(0.5) == Point(5, -10)


def test_point_distance_uses_both_axes() -> None:
    assert Point(1, 2).distance(Point(4, 6)) == 5.0


def test_point_distance_is_a_difference_not_a_sum() -> None:
    assert Point(3, 4).distance(Point(3, 4)) == 0.0


def test_around_accepts_radius_zero_as_a_degenerate_box() -> None:
    assert Box.around(Point(7, 9), 0) == Box(7, 9, 7, 9)


def test_around_accepts_a_radius_below_one() -> None:
    assert Box.around(Point(10, 10), 0.5) == Box(9.5, 9.5, 10.5, 10.5)


def test_from_points_is_the_extent_of_unordered_points() -> None:
    pts = [Point(30, 5), Point(10, 40), Point(20, 20)]
    assert Box.from_points(pts) == Box(10, 5, 30, 40)


def test_from_points_of_one_point_is_that_point() -> None:
    assert Box.from_points(iter([Point(3, 4)])) == Box(3, 4, 3, 4)


def test_from_points_rejects_no_points() -> None:
    with pytest.raises(ParameterError, match="at least one point"):
        Box.from_points([])


def test_is_empty_for_zero_width_or_zero_height_only() -> None:
    assert Box(0, 0, 0, 10).is_empty
    assert Box(0, 0, 10, 0).is_empty
    assert not Box(0, 0, 1, 1).is_empty


def test_translate_moves_every_edge() -> None:
    assert Box(1, 2, 3, 4).translate(10, 100) == Box(11, 102, 13, 104)


def test_box_scale_multiplies_every_edge() -> None:
    assert Box(2, 4, 6, 10).scale(0.5) == Box(1, 2, 3, 5)


def test_box_scale_by_zero_is_allowed() -> None:
    assert Box(2, 4, 6, 10).scale(0) == Box(0, 0, 0, 0)


def test_box_scale_rejects_negative_factor() -> None:
    with pytest.raises(ParameterError, match="scale factor must be >= 0, got -1"):
        Box(0, 0, 1, 1).scale(-1)


def test_expand_grows_every_side() -> None:
    assert Box(10, 10, 20, 20).expand(5) == Box(5, 5, 25, 25)


def test_expand_negative_shrinks() -> None:
    assert Box(10, 10, 20, 20).expand(-2) == Box(12, 12, 18, 18)


def test_expand_negative_past_nothing_names_the_amount() -> None:
    with pytest.raises(ParameterError, match=r"by 6: nothing would be left"):
        Box(10, 10, 20, 20).expand(-6)


def test_shrink_negative_grows() -> None:
    assert Box(10, 10, 20, 20).shrink(-5) == Box(5, 5, 25, 25)


def test_shrink_to_a_line_is_kept() -> None:
    assert Box(0, 0, 10, 20).shrink(5) == Box(5, 5, 5, 15)


def test_intersects_needs_overlap_on_both_axes() -> None:
    # Overlapping in x only (a column apart in y): no intersection.
    assert not Box(0, 0, 10, 10).intersects(Box(5, 20, 15, 30))
    assert not Box(0, 0, 10, 10).intersects(Box(20, 5, 30, 15))


def test_intersects_is_false_for_touching_edges() -> None:
    assert not Box(0, 0, 10, 10).intersects(Box(10, 0, 20, 10))


def test_contains_point_needs_both_axes_inside() -> None:
    box = Box(0, 0, 10, 10)
    assert not box.contains(Point(5, 50))
    assert not box.contains(Point(50, 5))


@pytest.mark.parametrize("corner", [Point(0, 0), Point(10, 0), Point(0, 10), Point(10, 10)])
def test_contains_point_counts_edges_as_inside(corner: Point) -> None:
    assert Box(0, 0, 10, 10).contains(corner)


def test_contains_point_with_margin_uses_the_shrunk_box() -> None:
    box = Box(0, 0, 100, 100)
    assert box.contains(Point(10, 90), margin=10)
    assert not box.contains(Point(9, 50), margin=10)
    assert not box.contains(Point(50, 91), margin=10)


def test_contains_point_when_margin_leaves_nothing() -> None:
    assert not Box(0, 0, 10, 10).contains(Point(5, 5), margin=6)


@pytest.mark.parametrize(
    "inner",
    [Box(-1, 0, 5, 5), Box(0, -1, 5, 5), Box(5, 5, 11, 10), Box(5, 5, 10, 11)],
    ids=["left", "top", "right", "bottom"],
)
def test_contains_box_checks_each_edge(inner: Box) -> None:
    assert not Box(0, 0, 10, 10).contains(inner)


def test_clip_keeps_the_part_inside_bounds() -> None:
    assert Box(-5, -5, 5, 5).clip(Box(0, 0, 100, 100)) == Box(0, 0, 5, 5)


def test_clip_outside_bounds_is_none() -> None:
    assert Box(200, 200, 210, 210).clip(Box(0, 0, 100, 100)) is None


def test_union_of_disjoint_boxes() -> None:
    assert Box(0, 5, 1, 6).union(Box(10, 0, 11, 1)) == Box(0, 0, 11, 6)


def test_intersection_of_overlapping_boxes() -> None:
    assert Box(0, 0, 10, 10).intersection(Box(5, -5, 15, 5)) == Box(5, 0, 10, 5)


def test_to_ints_keeps_whole_numbers() -> None:
    assert Box(1, 2, 3, 4).to_ints() == (1, 2, 3, 4)


def test_to_ints_rounds_negative_coordinates_outward() -> None:
    assert Box(-1.5, -0.2, -0.5, 0.5).to_ints() == (-2, -1, 0, 1)
