"""Synthetic slides and databases shared by the whole-slide detection tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsi2rek.testing import make_slide, make_sliderunner_db, spot

#: Slide 2000 x 1500; with tile 512 / overlap 64 the tile edges sit at x in
#: {448, 512, 896, 960, 1344, 1408, 1488} and y in {448, 512, 896, 960, 988}.
#: Every cell below lies on such an edge or corner, or on the slide edge.
BORDER_CELLS: tuple[tuple[int, int], ...] = (
    (512, 200),  # right edge of the first column
    (448, 700),  # left edge of the second column
    (960, 960),  # a corner shared by four tiles
    (902, 442),  # just inside a corner
    (1344, 1100),
    (1491, 300),
    (1000, 512),
    (200, 950),
    (1408, 988),
    (300, 300),  # inside one tile only
    (1700, 1300),
    (1950, 80),
    (6, 1000),  # cut by the slide's own edge
)
SLIDE_SIZE = (2000, 1500)


@pytest.fixture(scope="session")
def border_cells() -> tuple[tuple[int, int], ...]:
    """The cell centres painted on ``cell_slide`` (and stored in ``cell_db``)."""
    return BORDER_CELLS


@pytest.fixture(scope="session")
def cell_slide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A slide full of tissue with dark cells on tile borders and corners."""
    folder = tmp_path_factory.mktemp("slides")
    return make_slide(folder / "cells.svs", *SLIDE_SIZE, cells=BORDER_CELLS, tissue="full")


@pytest.fixture(scope="session")
def cell_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ground truth for ``cell_slide``: every cell a mitotic figure (class 2), plus a decoy."""
    folder = tmp_path_factory.mktemp("db")
    return make_sliderunner_db(
        folder / "truth.sqlite",
        ["cells.svs", "other.svs"],
        [spot(1, x, y, 2) for x, y in BORDER_CELLS] + [spot(2, 10, 10, 2)],
        classes={1: "look-alike", 2: "mitotic figure"},
    )
