"""Slides generated once per session, and a fixture that runs a test over every backend."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from numpy.typing import NDArray

from tests.slides.slide_cases import SlideCase
from wsi2rek.testing import make_image, make_slide

WIDTH, HEIGHT = 2000, 1500
IMAGE_WIDTH, IMAGE_HEIGHT = 640, 480
CELL_RADIUS = 12.0
SLIDE_CELLS = ((600.0, 400.0), (1000.5, 700.5), (1990.0, 1490.0))
IMAGE_CELLS = ((100.0, 100.0), (320.5, 240.5))


@pytest.fixture(scope="session")
def slide_cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SlideCase]:
    """Every kind of file the backends read, generated once (small sizes: fast)."""
    root = tmp_path_factory.mktemp("slides")
    cases = [
        SlideCase(
            "svs",
            make_slide(root / "a.svs", WIDTH, HEIGHT, kind="svs", mpp=0.25, cells=SLIDE_CELLS),
            "tifffile",
            "aperio",
            (WIDTH, HEIGHT),
            3,
            (0.25, 0.25),
            SLIDE_CELLS,
            ("thumbnail",),
        ),
        SlideCase(
            "tiff",
            make_slide(root / "a.tiff", WIDTH, HEIGHT, kind="tiff", mpp=0.5, cells=SLIDE_CELLS),
            "tifffile",
            "generic-tiff",
            (WIDTH, HEIGHT),
            3,
            (0.5, 0.5),
            SLIDE_CELLS,
            (),
        ),
        SlideCase(
            "png",
            make_image(root / "a.png", IMAGE_WIDTH, IMAGE_HEIGHT, cells=IMAGE_CELLS),
            "pillow",
            None,
            (IMAGE_WIDTH, IMAGE_HEIGHT),
            1,
            None,
            IMAGE_CELLS,
            (),
        ),
        SlideCase(
            "jpeg",
            make_image(root / "a.jpg", IMAGE_WIDTH, IMAGE_HEIGHT, cells=IMAGE_CELLS),
            "pillow",
            None,
            (IMAGE_WIDTH, IMAGE_HEIGHT),
            1,
            None,
            IMAGE_CELLS,
            (),
        ),
        SlideCase(
            "plain-tif",
            make_image(root / "a.tif", IMAGE_WIDTH, IMAGE_HEIGHT, cells=IMAGE_CELLS, mpp=0.24),
            "pillow",
            None,
            (IMAGE_WIDTH, IMAGE_HEIGHT),
            1,
            (0.24, 0.24),
            IMAGE_CELLS,
            (),
        ),
    ]
    # the same slides through OpenSlide, forced: the contract holds for both backends
    cases += [
        attrs.evolve(c, name=f"{c.name}-openslide", backend="openslide", forced=True)
        for c in cases[:2]
    ]
    return {c.name: c for c in cases}


@pytest.fixture(
    params=["svs", "tiff", "svs-openslide", "tiff-openslide", "png", "jpeg", "plain-tif"]
)
def case(request: pytest.FixtureRequest, slide_cases: dict[str, SlideCase]) -> SlideCase:
    """Each generated file in turn: the contract suite runs over both backends."""
    name = request.param
    assert isinstance(name, str)
    return slide_cases[name]


@pytest.fixture(scope="session")
def whole_level0(slide_cases: dict[str, SlideCase]) -> dict[str, NDArray[np.uint8]]:
    """Level 0 of every generated file, decoded once: the reference for region reads."""
    out = {}
    for name, c in slide_cases.items():
        with c.open() as slide:
            out[name] = slide.read_region(0, 0, *c.dimensions)
    return out
