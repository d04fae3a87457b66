"""The SlideSource contract, run over every backend and file kind (see conftest.case)."""

from __future__ import annotations

import multiprocessing
import os
import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

from tests.hypothesis_profiles import examples
from tests.slides.slide_cases import SlideCase
from wsi2rek.slides import (
    OpenSlideSource,
    PillowSlideSource,
    SlideSource,
    TiffSlideSource,
    open_slide,
)

if TYPE_CHECKING:
    from multiprocessing.queues import Queue

DARK = 110  # cells are painted with every channel <= 90, texture never below ~130


def test_backend_and_metadata(case: SlideCase) -> None:
    with case.open() as slide:
        assert slide.backend == case.backend
        assert slide.vendor == case.vendor
        assert slide.path == case.path.absolute()
        assert slide.dimensions == case.dimensions
        assert slide.level_count == case.level_count
        assert slide.level_dimensions[0] == case.dimensions
        assert len(slide.level_downsamples) == case.level_count
        assert slide.level_downsamples[0] == pytest.approx(1.0)
        assert slide.associated_images == case.associated_images
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in slide.properties.items())
        if case.mpp is None:
            assert slide.mpp is None
        else:
            assert slide.mpp == pytest.approx(case.mpp)


def test_backend_class(case: SlideCase) -> None:
    expected = {
        "openslide": OpenSlideSource,
        "tifffile": TiffSlideSource,
        "pillow": PillowSlideSource,
    }[case.backend]
    with case.open() as slide:
        assert type(slide) is expected
        assert repr(slide).startswith(f"{expected.__name__}(")
        assert f"{case.dimensions[0]}x{case.dimensions[1]}" in repr(slide)


def test_pyramid_levels_halve(case: SlideCase) -> None:
    with case.open() as slide:
        for (w, h), down in zip(slide.level_dimensions, slide.level_downsamples, strict=True):
            assert w == pytest.approx(slide.dimensions[0] / down, abs=1)
            assert h == pytest.approx(slide.dimensions[1] / down, abs=1)
        assert max(slide.level_dimensions[-1]) < 1000


def test_read_region_is_rgb_uint8_writable(case: SlideCase) -> None:
    with case.open() as slide:
        region = slide.read_region(10, 20, 37, 23)
    assert region.shape == (23, 37, 3)
    assert region.dtype == np.uint8
    assert region.flags.writeable
    region[0, 0] = 0  # callers may draw on what they get


def test_painted_cell_is_dark_and_round(case: SlideCase) -> None:
    cx, cy = case.cells[0]
    with case.open() as slide:
        patch = slide.read_region(int(cx) - 20, int(cy) - 20, 40, 40)
    dark = patch.max(axis=2) <= DARK
    assert dark[20, 20]  # the centre pixel
    # area of a disc of radius 12 is ~452 px; JPEG edges blur it by a pixel or so
    assert 380 <= int(dark.sum()) <= 520
    assert not dark[0:4, :].any()  # nothing dark beyond the cell
    assert not dark[:, 0:4].any()


def test_texture_is_never_as_dark_as_a_cell(case: SlideCase) -> None:
    with case.open() as slide:
        level = slide.level_count - 1
        w, h = slide.level_dimensions[level]
        pixels = slide.read_region(0, 0, w, h, level)
        down = slide.level_downsamples[level]
    dark = pixels.max(axis=2) <= DARK
    ys, xs = np.nonzero(dark)
    cells = np.asarray(case.cells) / down
    # every dark pixel lies within (radius + 2 px) of a painted cell
    dist = np.hypot(xs[:, None] + 0.5 - cells[None, :, 0], ys[:, None] + 0.5 - cells[None, :, 1])
    assert (dist.min(axis=1) <= 12.0 / down + 2).all()


@pytest.mark.parametrize("name", ["svs", "tiff"])
def test_cell_visible_at_lower_level(slide_cases: dict[str, SlideCase], name: str) -> None:
    case = slide_cases[name]
    cx, cy = case.cells[0]
    with case.open() as slide:
        patch = slide.read_region(int(cx) - 20, int(cy) - 20, 20, 20, level=1)
    assert patch[10, 10].max() <= DARK  # level-0 centre at half resolution


@pytest.mark.parametrize(
    ("dx", "dy"),
    [(-15, -15), (-15, 0), (0, -15)],
    ids=["top-left", "left", "top"],
)
def test_negative_coordinates_pad_white(case: SlideCase, dx: int, dy: int) -> None:
    with case.open() as slide:
        patch = slide.read_region(dx, dy, 30, 30)
    outside = np.zeros((30, 30), dtype=bool)
    outside[: max(-dy, 0), :] = True
    outside[:, : max(-dx, 0)] = True
    assert (patch[outside] == 255).all()
    assert (patch[~outside] < 255).any()  # the slide itself is not pure white


def test_past_the_far_edge_pads_white(case: SlideCase) -> None:
    w, h = case.dimensions
    with case.open() as slide:
        patch = slide.read_region(w - 10, h - 10, 30, 40)
        beyond = slide.read_region(w + 100, h + 100, 8, 8)
    assert (patch[10:, :] == 255).all()
    assert (patch[:, 10:] == 255).all()
    assert (patch[:10, :10] < 255).any()
    assert (beyond == 255).all()


def test_region_on_a_lower_level_is_padded(case: SlideCase) -> None:
    level = case.level_count - 1
    with case.open() as slide:
        lw, lh = slide.level_dimensions[level]
        down = slide.level_downsamples[level]
        patch = slide.read_region(0, 0, lw + 5, lh + 5, level)
    assert patch.shape == (lh + 5, lw + 5, 3)
    assert (patch[lh:, :] == 255).all()
    assert (patch[:, lw:] == 255).all()
    assert down >= 1.0


@examples(20, function_scoped_fixtures=True)
@given(data=st.data())
def test_any_region_equals_padded_crop_of_the_whole(
    case: SlideCase, whole_level0: dict[str, NDArray[np.uint8]], data: st.DataObject
) -> None:
    whole = whole_level0[case.name]
    w, h = case.dimensions
    x = data.draw(st.integers(-60, w + 20), label="x")
    y = data.draw(st.integers(-60, h + 20), label="y")
    rw = data.draw(st.integers(1, 200), label="width")
    rh = data.draw(st.integers(1, 200), label="height")
    with case.open() as slide:
        got = slide.read_region(x, y, rw, rh)
    expected = np.full((rh, rw, 3), 255, dtype=np.uint8)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + rw, w), min(y + rh, h)
    if x1 > x0 and y1 > y0:
        expected[y0 - y : y1 - y, x0 - x : x1 - x] = whole[y0:y1, x0:x1]
    np.testing.assert_array_equal(got, expected)


def test_integral_floats_and_numpy_ints_are_accepted(case: SlideCase) -> None:
    with case.open() as slide:
        a = slide.read_region(np.int64(5), np.int32(6), 7.0, 8)
        b = slide.read_region(5, 6, 7, 8)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("max_size", [256, (300, 100)])
def test_thumbnail_fits_and_keeps_aspect(case: SlideCase, max_size: int | tuple[int, int]) -> None:
    with case.open() as slide:
        thumb = slide.thumbnail(max_size)
    mw, mh = (max_size, max_size) if isinstance(max_size, int) else max_size
    w, h = case.dimensions
    assert thumb.mode == "RGB"
    assert thumb.width <= mw
    assert thumb.height <= mh
    assert thumb.width == mw or thumb.height == mh  # as large as fits
    assert thumb.width / thumb.height == pytest.approx(w / h, rel=0.03)


def test_thumbnail_never_enlarges(case: SlideCase) -> None:
    with case.open() as slide:
        thumb = slide.thumbnail(5000)
    assert thumb.size == case.dimensions


def test_best_level_for_downsample(case: SlideCase) -> None:
    with case.open() as slide:
        downs = slide.level_downsamples
        assert slide.best_level_for_downsample(0.5) == 0
        assert slide.best_level_for_downsample(1.0) == 0
        assert slide.best_level_for_downsample(1e6) == slide.level_count - 1
        for level, down in enumerate(downs):
            assert slide.best_level_for_downsample(down) == level
            assert slide.best_level_for_downsample(down * 1.5) == level


def test_pickle_keeps_only_the_path(case: SlideCase) -> None:
    with case.open() as slide:
        before = slide.read_region(50, 60, 64, 64)
        blob = pickle.dumps(slide)
    assert len(blob) < 1000  # no handle, no pixels
    clone = pickle.loads(blob)
    assert type(clone) is type(slide)
    assert clone.path == case.path.absolute()
    assert clone.dimensions == case.dimensions
    np.testing.assert_array_equal(clone.read_region(50, 60, 64, 64), before)
    clone.close()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["svs", "png"])  # spawning is slow: one per backend
def test_process_pool_worker_reads_the_same_pixels(
    slide_cases: dict[str, SlideCase], name: str
) -> None:
    case = slide_cases[name]
    region = (int(case.cells[0][0]) - 16, int(case.cells[0][1]) - 16, 32, 32)
    with case.open() as slide:
        here = slide.read_region(*region)
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            # a bound method pickles the source (its path) and reads in the worker
            there = pool.submit(slide.read_region, *region).result(timeout=60)
    np.testing.assert_array_equal(there, here)


def _child_read(slide: SlideSource, out: Queue[object]) -> None:
    try:
        out.put((os.getpid(), slide.read_region(0, 0, 16, 16).tolist()))
    except Exception as exc:  # noqa: BLE001 -- report anything to the parent test
        out.put(repr(exc))


def test_forked_child_uses_its_own_handle(case: SlideCase) -> None:
    ctx = multiprocessing.get_context("fork")
    with case.open() as slide:
        here = slide.read_region(0, 0, 16, 16)  # the parent's handle is open now
        queue: Queue[object] = ctx.Queue()
        child = ctx.Process(target=_child_read, args=(slide, queue))
        child.start()
        got = queue.get(timeout=60)
        child.join(timeout=60)
        # the parent's handle still works after the child used (and dropped) its copy
        again = slide.read_region(0, 0, 16, 16)
    assert isinstance(got, tuple), got
    pid, pixels = got
    assert pid != os.getpid()
    np.testing.assert_array_equal(np.asarray(pixels, dtype=np.uint8), here)
    np.testing.assert_array_equal(again, here)


def test_context_manager_closes_and_reopens_on_use(case: SlideCase) -> None:
    slide = case.open()
    with slide as entered:
        assert entered is slide
        first = slide.read_region(0, 0, 32, 32)
    # closed: the next read reopens transparently
    np.testing.assert_array_equal(slide.read_region(0, 0, 32, 32), first)
    slide.close()
    slide.close()  # idempotent
    assert slide.dimensions == case.dimensions


@pytest.mark.parametrize("name", ["svs", "tiff"])
def test_thumbnail_of_a_big_level_is_read_in_strips(
    slide_cases: dict[str, SlideCase], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wsi2rek.slides import _base

    with open_slide(slide_cases[name].path) as slide:
        direct = slide.thumbnail(100)
        # pretend every level is huge: the strip-by-strip path must give the same picture
        monkeypatch.setattr(_base, "_THUMBNAIL_DIRECT_PIXELS", 1000)
        monkeypatch.setattr(_base, "_THUMBNAIL_STRIP_ROWS", 50)
        strips = slide.thumbnail(100)
    assert strips.size == direct.size == (100, 75)
    diff = np.abs(np.asarray(strips, dtype=int) - np.asarray(direct, dtype=int))
    assert diff.mean() < 3.0


def test_concurrent_reads_from_threads_agree(case: SlideCase) -> None:
    from concurrent.futures import ThreadPoolExecutor

    w, h = case.dimensions
    regions = [((i * 53) % (w - 64), (i * 31) % (h - 64), 64, 64) for i in range(24)]
    with case.open() as slide:
        expected = [slide.read_region(*r) for r in regions]
        slide.close()  # the threads race to reopen it
        with ThreadPoolExecutor(max_workers=4) as pool:
            got = list(pool.map(lambda r: slide.read_region(*r), regions))
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)
