"""BlobDetector and its scanline connected-component labelling."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray
from PIL import Image

from tests.hypothesis_profiles import examples
from wsi2rek.errors import DetectionError
from wsi2rek.geometry import Box, Point
from wsi2rek.inference import BlobDetector, label_components
from wsi2rek.testing import make_image


def _flood_fill_components(mask: NDArray[np.bool_]) -> set[frozenset[tuple[int, int]]]:
    seen = np.zeros_like(mask)
    comps = set()
    rows, cols = mask.shape
    for r0 in range(rows):
        for c0 in range(cols):
            if not mask[r0, c0] or seen[r0, c0]:
                continue
            todo, comp = deque([(r0, c0)]), set()
            seen[r0, c0] = True
            while todo:
                r, c = todo.popleft()
                comp.add((r, c))
                for dr in (-1, 0, 1):
                    for dc in (-1, 0, 1):
                        rr, cc = r + dr, c + dc
                        if 0 <= rr < rows and 0 <= cc < cols and mask[rr, cc] and not seen[rr, cc]:
                            seen[rr, cc] = True
                            todo.append((rr, cc))
            comps.add(frozenset(comp))
    return comps


@examples(80)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(0, 2**32 - 1), st.floats(0.1, 0.7))
def test_components_match_a_flood_fill(rows: int, cols: int, seed: int, p: float) -> None:
    mask = np.random.default_rng(seed).random((rows, cols)) < p
    found = {
        frozenset((r, c) for r, s, e in runs for c in range(s, e))
        for *_, runs in label_components(mask)
    }
    assert found == _flood_fill_components(mask)
    for component in label_components(mask):
        assert component.area == sum(e - s for _, s, e in component.runs)
        assert all(
            component.top <= r < component.bottom and component.left <= s < e <= component.right
            for r, s, e in component.runs
        )
        assert component.box == Box(
            component.left, component.top, component.right, component.bottom
        )


def test_a_component_names_its_fields_and_unpacks_as_before() -> None:
    """An L of 4 pixels and a lone pixel: named fields, a Box, and 0.1's tuple unpacking."""
    mask = np.zeros((4, 5), dtype=bool)
    mask[0, 0:2] = True
    mask[1:3, 0] = True
    mask[3, 4] = True
    first, second = label_components(mask)
    assert (first.top, first.left, first.bottom, first.right, first.area) == (0, 0, 3, 2, 4)
    assert first.runs == [(0, 0, 2), (1, 0, 1), (2, 0, 1)]
    assert second.box == Box(4, 3, 5, 4)
    top, left, bottom, right, area, runs = second
    assert (top, left, bottom, right, area, runs) == (3, 4, 4, 5, 1, [(3, 4, 5)])


def _disc_image(
    centres: list[tuple[int, int]], *, size: tuple[int, int] = (200, 300), radius: int = 12
) -> NDArray[np.uint8]:
    h, w = size
    rng = np.random.default_rng(0)
    image = rng.integers(140, 255, size=(h, w, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:h, :w]
    for cx, cy in centres:
        image[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2] = (70, 30, 90)
    return image


def test_one_detection_per_disc_centred_on_it() -> None:
    centres = [(40, 50), (150, 100), (250, 160)]
    found = BlobDetector(label="cell").detect(_disc_image(centres))
    assert len(found) == 3
    for det, (cx, cy) in zip(sorted(found, key=lambda d: d.box.left), centres, strict=True):
        assert det.label == "cell"
        assert det.box.center.distance(det.box.center.__class__(cx + 0.5, cy + 0.5)) < 1.0
        assert 50 <= det.confidence <= 100


def test_no_detection_on_texture_alone() -> None:
    assert BlobDetector().detect(_disc_image([])) == []


def test_small_specks_and_huge_areas_are_ignored() -> None:
    image = _disc_image([])
    image[10:12, 10:12] = 0  # a speck, radius ~1
    image[100:200, 100:300] = 0  # a dark band, far larger than max_radius
    assert BlobDetector().detect(image) == []


def test_cut_disc_at_the_edge_is_reported_with_lower_confidence() -> None:
    whole, cut = BlobDetector().detect(_disc_image([(100, 100), (3, 60)]))[::-1]
    assert cut.box.left == 0
    assert cut.confidence < whole.confidence


def test_darker_and_bigger_blobs_score_higher() -> None:
    image = np.full((100, 200, 3), 220, dtype=np.uint8)
    yy, xx = np.mgrid[:100, :200]
    image[(yy - 50) ** 2 + (xx - 50) ** 2 <= 15**2] = 20
    image[(yy - 50) ** 2 + (xx - 150) ** 2 <= 6**2] = 100
    by_x = sorted(BlobDetector().detect(image), key=lambda d: d.box.left)
    assert by_x[0].confidence > by_x[1].confidence


def test_accepts_grey_and_rgba_and_is_callable() -> None:
    rgb = _disc_image([(60, 60)])
    detector = BlobDetector()
    expected = detector.detect(rgb)
    rgba = np.concatenate([rgb, np.full((*rgb.shape[:2], 1), 255, np.uint8)], axis=2)
    assert detector(rgba) == expected
    grey = np.full((80, 80), 200, dtype=np.uint8)
    grey[30:50, 30:50] = 10
    assert [d.box for d in detector.detect(grey)] == [Box(30, 30, 50, 50)]


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 2), np.uint8), np.zeros((4, 4, 3), np.float32)])
def test_bad_images_are_refused(bad: NDArray[np.generic]) -> None:
    with pytest.raises(DetectionError):
        BlobDetector().detect(bad)  # type: ignore[arg-type]


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(DetectionError, match="threshold"):
        BlobDetector(threshold=300)
    with pytest.raises(DetectionError, match="min_radius"):
        BlobDetector(min_radius=10, max_radius=5)


def test_confidence_separates_cells_from_lookalikes(tmp_path: Path) -> None:
    """Every painted cell scores above 90, every painted look-alike below 70.

    The scene comes from wsi2rek.testing.make_image (the factory the demo uses).
    """
    cells = [(60.0, 60.0), (300.0, 200.0), (520.0, 90.0)]
    lookalikes = [(180.0, 120.0), (420.0, 300.0), (650.0, 250.0), (100.0, 320.0)]
    path = make_image(tmp_path / "a.png", 720, 400, seed=7, cells=cells, lookalikes=lookalikes)
    with Image.open(path) as img:
        found = BlobDetector().detect(np.asarray(img.convert("RGB")))
    assert len(found) == len(cells) + len(lookalikes)

    def score_at(x: float, y: float) -> float:
        (det,) = [d for d in found if d.box.center.distance(Point(x, y)) < 3]
        return det.confidence

    assert min(score_at(*c) for c in cells) > 90
    assert max(score_at(*c) for c in lookalikes) < 70


def test_elongated_blob_scores_lower_than_a_disc_of_the_same_darkness() -> None:
    image = np.full((100, 200, 3), 220, dtype=np.uint8)
    yy, xx = np.mgrid[:100, :200]
    image[(yy - 50) ** 2 + (xx - 50) ** 2 <= 12**2] = 66
    # an ellipse of semi-axes 16 and 8: axis ratio 0.5, about the same area
    image[((xx - 150) / 16.0) ** 2 + ((yy - 50) / 8.0) ** 2 <= 1] = 66
    disc, ellipse = sorted(BlobDetector().detect(image), key=lambda d: d.box.left)
    assert disc.confidence == pytest.approx(100.0, abs=0.5)
    # roundness 0.5, full contrast: 100 x (0.5 + 1) / 2
    assert ellipse.confidence == pytest.approx(75.0, abs=1.5)
