"""Synthetic slides and images with an H&E-like texture and dark round "cells".

:func:`make_slide` writes a pyramidal, tiled JPEG TIFF that OpenSlide opens (Aperio-style
SVS or generic tiled TIFF); :func:`make_image` writes a plain PNG/JPEG/TIFF for the Pillow
backend. Both paint the same kind of scene:

* glass: near-white background (every channel >= 240);
* tissue: pink/purple noise with lighter nuclei-like spots, every channel kept >= 150 so
  that no texture pixel is ever as dark as a cell, even after JPEG compression;
* cells (the "mitotic figures"): filled discs of a flat dark purple (every channel <= 90)
  centred on the given level-0 points, covering the pixels whose centre
  ``(col + 0.5, row + 0.5)`` lies within ``cell_radius`` of the point. A threshold at ~110
  finds them and nothing else.
* look-alikes (optional, ``lookalikes=``): cells that resemble the mitotic figures but are
  not: elongated ellipses (minor/major axis ratio 0.45-0.65, random orientation), paler
  (channel mean 86-98 instead of 66) and mottled (+-6 per pixel). A threshold at ~110 finds
  them too; their shape and intensity tell them apart, as a trained model would have to.

The scene is generated strip by strip from a small pool of texture tiles (flipped and
reused), so a 10,000 x 8,000 slide takes a few seconds and about one level-1 array of
memory. Everything is deterministic for a ``seed``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import attrs
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from wsi2rek._atomic import atomic_path
from wsi2rek.errors import ParameterError
from wsi2rek.geometry import Point

if TYPE_CHECKING:
    import tifffile

__all__ = ["make_image", "make_slide"]

_TEX = 256  # side of one texture tile in the pool
_POOL = 8  # distinct texture tiles (x 4 flips)
_GLASS = np.array([244, 243, 246], dtype=np.uint8)
_CELL = np.array([72, 38, 88], dtype=np.uint8)
# Look-alike colour = mean intensity + this offset (a purple a little redder than _CELL).
_LOOKALIKE_TINT = np.array([10.0, -22.0, 12.0])
_TEXTURE_MIN = 150
_MIN_LEVEL_SIDE = 1000

PointLike = Point | tuple[float, float]


@attrs.frozen
class _Ellipse:
    cx: float
    cy: float
    a: float  # semi-axis along the rotated x axis
    b: float
    theta: float

    def row_span(self, y: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return the x interval ``[lo, hi)`` covered on each row centre ``y`` (NaN if none)."""
        c, s = math.cos(self.theta), math.sin(self.theta)
        dy = y - self.cy
        qa = c * c / self.a**2 + s * s / self.b**2
        qb = 2.0 * dy * c * s * (1.0 / self.a**2 - 1.0 / self.b**2)
        qc = dy * dy * (s * s / self.a**2 + c * c / self.b**2) - 1.0
        disc = qb * qb - 4.0 * qa * qc
        with np.errstate(invalid="ignore"):
            root = np.sqrt(disc)
        lo = self.cx + (-qb - root) / (2.0 * qa)
        hi = self.cx + (-qb + root) / (2.0 * qa)
        return lo, hi


@attrs.frozen
class _LookAlike:
    """A mitosis look-alike: a pale, mottled, elongated ellipse."""

    shape: _Ellipse
    intensity: float  # mean of the three channels before mottling

    def paint(self, out: NDArray[np.uint8], x0: int, y0: int) -> None:
        """Paint the part of the look-alike inside ``out`` (whose origin is ``x0, y0``)."""
        e = self.shape
        h, w = out.shape[:2]
        reach = max(e.a, e.b)
        r0, r1 = max(math.floor(e.cy - reach) - y0, 0), min(math.ceil(e.cy + reach) - y0 + 1, h)
        if r1 <= r0 or e.cx + reach < x0 or e.cx - reach > x0 + w:
            return
        rows = np.arange(r0, r1)
        lo, hi = e.row_span(rows + y0 + 0.5)
        colour = self.intensity + _LOOKALIKE_TINT
        for r, a, b in zip(rows.tolist(), lo.tolist(), hi.tolist(), strict=True):
            if not a < b:  # NaN (row outside the ellipse) compares False
                continue
            c0, c1 = max(math.ceil(a - 0.5) - x0, 0), min(math.ceil(b - 0.5) - x0, w)
            if c1 <= c0:
                continue
            # Mottling from a hash of the level-0 pixel position: the same whatever strip or
            # tile the pixel is rendered in.
            xs = np.arange(c0 + x0, c1 + x0, dtype=np.int64)
            noise = ((xs * 73_856_093) ^ ((r + y0) * 19_349_663)) % 13 - 6
            out[r, c0:c1] = np.clip(np.rint(colour[None, :] + noise[:, None]), 0, 255)


def _lookalikes(
    rng: np.random.Generator, points: NDArray[np.float64], radius: float
) -> tuple[_LookAlike, ...]:
    return tuple(
        _LookAlike(
            _Ellipse(
                cx=float(x),
                cy=float(y),
                a=radius * rng.uniform(1.0, 1.25),
                b=radius * rng.uniform(0.45, 0.65),
                theta=rng.uniform(0.0, math.pi),
            ),
            intensity=rng.uniform(86.0, 98.0),
        )
        for x, y in points
    )


@attrs.frozen
class _Scene:
    width: int
    height: int
    pool: NDArray[np.uint8]  # (n, _TEX, _TEX, 3)
    choice: NDArray[np.intp]  # (tiles_y, tiles_x) index into pool
    ellipses: tuple[_Ellipse, ...] | None  # None: tissue everywhere
    cells: NDArray[np.float64]  # (n, 2) level-0 x, y
    cell_radius: float
    lookalikes: tuple[_LookAlike, ...] = ()

    def render(self, x0: int, y0: int, w: int, h: int) -> NDArray[np.uint8]:
        """Render the level-0 region ``(x0, y0, w, h)`` (inside the scene) as RGB."""
        tx0, ty0 = x0 // _TEX, y0 // _TEX
        tx1, ty1 = (x0 + w - 1) // _TEX + 1, (y0 + h - 1) // _TEX + 1
        idx = self.choice[ty0:ty1, tx0:tx1]
        # (ty, tx, T, T, 3) -> (ty*T, tx*T, 3), then crop to the region
        big = self.pool[idx].transpose(0, 2, 1, 3, 4).reshape(idx.shape[0] * _TEX, -1, 3)
        ox, oy = x0 - tx0 * _TEX, y0 - ty0 * _TEX
        out = np.ascontiguousarray(big[oy : oy + h, ox : ox + w])
        if self.ellipses is not None:
            self._apply_glass(out, x0, y0)
        self._paint_cells(out, x0, y0)
        for lookalike in self.lookalikes:
            lookalike.paint(out, x0, y0)
        return out

    def _apply_glass(self, out: NDArray[np.uint8], x0: int, y0: int) -> None:
        h, w = out.shape[:2]
        ys = np.arange(y0, y0 + h, dtype=np.float64) + 0.5
        spans = [e.row_span(ys) for e in self.ellipses or ()]
        glass = np.ones((h, w), dtype=bool)
        for lo, hi in spans:
            # pixel col is inside when lo <= col + 0.5 < hi
            start = np.clip(np.ceil(np.nan_to_num(lo, nan=np.inf) - 0.5 - x0), 0, w)
            stop = np.clip(np.ceil(np.nan_to_num(hi, nan=-np.inf) - 0.5 - x0), 0, w)
            for r in np.flatnonzero(stop > start):
                glass[r, int(start[r]) : int(stop[r])] = False
        out[glass] = _GLASS

    def _paint_cells(self, out: NDArray[np.uint8], x0: int, y0: int) -> None:
        if not len(self.cells):
            return
        h, w = out.shape[:2]
        r = self.cell_radius
        cx, cy = self.cells[:, 0], self.cells[:, 1]
        near = (cx + r >= x0) & (cx - r <= x0 + w) & (cy + r >= y0) & (cy - r <= y0 + h)
        for px, py in self.cells[near]:
            c0 = max(math.floor(px - r - x0), 0)
            c1 = min(math.ceil(px + r - x0) + 1, w)
            r0 = max(math.floor(py - r - y0), 0)
            r1 = min(math.ceil(py + r - y0) + 1, h)
            if c1 <= c0 or r1 <= r0:
                continue
            cols = np.arange(c0, c1) + x0 + 0.5 - px
            rows = np.arange(r0, r1) + y0 + 0.5 - py
            disc = rows[:, None] ** 2 + cols[None, :] ** 2 <= r * r
            out[r0:r1, c0:c1][disc] = _CELL


def _smooth_noise(rng: np.random.Generator, grid: int) -> NDArray[np.float64]:
    coarse = rng.random((grid, grid)).astype(np.float32)
    img = Image.fromarray(coarse, mode="F").resize((_TEX, _TEX), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(img, dtype=np.float64), 0.0, 1.0)


def _texture_tile(rng: np.random.Generator) -> NDArray[np.uint8]:
    """One H&E-like tile: pink stroma, lighter purple nuclei-like spots, fine noise."""
    pink_a = np.array([238.0, 182.0, 214.0])
    pink_b = np.array([214.0, 156.0, 198.0])
    purple = np.array([176.0, 150.0, 206.0])
    mix = _smooth_noise(rng, 6)[..., None]
    tile = pink_a * (1.0 - mix) + pink_b * mix
    for _ in range(int(rng.integers(18, 34))):
        sx, sy = rng.uniform(0, _TEX, size=2)
        rad = rng.uniform(3.0, 8.0)
        # blend only inside the spot's bounding window
        c0, c1 = max(int(sx - rad), 0), min(int(sx + rad) + 2, _TEX)
        r0, r1 = max(int(sy - rad), 0), min(int(sy + rad) + 2, _TEX)
        cols = np.arange(c0, c1) + 0.5 - sx
        rows = np.arange(r0, r1) + 0.5 - sy
        d = np.hypot(rows[:, None], cols[None, :]) / rad
        alpha = np.sqrt(np.clip(1.0 - d, 0.0, 1.0))[..., None]
        window = tile[r0:r1, c0:c1]
        tile[r0:r1, c0:c1] = window * (1.0 - alpha) + purple * alpha
    tile += rng.normal(0.0, 5.0, size=tile.shape)
    return np.clip(np.rint(tile), _TEXTURE_MIN, 255).astype(np.uint8)


def _texture_pool(rng: np.random.Generator, count: int) -> NDArray[np.uint8]:
    base = [_texture_tile(rng) for _ in range(count)]
    flips = [t[:, ::-1] for t in base] + [t[::-1, :] for t in base] + [t[::-1, ::-1] for t in base]
    return np.ascontiguousarray(np.stack(base + flips))


def _tissue_ellipses(rng: np.random.Generator, width: int, height: int) -> tuple[_Ellipse, ...]:
    """A few large seeded ellipses covering roughly 50-70 % of the slide."""
    gw, gh = 96, max(round(96 * height / width), 8)
    ys = (np.arange(gh) + 0.5) * height / gh
    xs = (np.arange(gw) + 0.5) * width / gw
    best: tuple[_Ellipse, ...] = ()
    best_gap = math.inf
    for _ in range(64):
        ellipses = tuple(
            _Ellipse(
                cx=rng.uniform(0.2, 0.8) * width,
                cy=rng.uniform(0.2, 0.8) * height,
                a=rng.uniform(0.18, 0.42) * width,
                b=rng.uniform(0.18, 0.42) * height,
                theta=rng.uniform(0.0, math.pi),
            )
            for _ in range(int(rng.integers(2, 5)))
        )
        covered = np.zeros((gh, gw), dtype=bool)
        for e in ellipses:
            lo, hi = e.row_span(ys)
            with np.errstate(invalid="ignore"):
                covered |= (xs[None, :] >= lo[:, None]) & (xs[None, :] < hi[:, None])
        frac = float(covered.mean())
        gap = abs(frac - 0.6)
        if gap < best_gap:
            best, best_gap = ellipses, gap
        if 0.5 <= frac <= 0.7:
            break
    return best


def _as_points(cells: Iterable[PointLike]) -> NDArray[np.float64]:
    pts = [(c.x, c.y) if isinstance(c, Point) else (float(c[0]), float(c[1])) for c in cells]
    return np.asarray(pts, dtype=np.float64).reshape(-1, 2)


def _scene(
    width: int,
    height: int,
    *,
    seed: int,
    cells: Iterable[PointLike],
    cell_radius: float,
    tissue: Literal["blobs", "full"],
    lookalikes: Iterable[PointLike] = (),
) -> _Scene:
    if width <= 0 or height <= 0:
        raise ParameterError(f"width and height must be positive, got {width} x {height}")
    if cell_radius <= 0:
        raise ParameterError(f"cell_radius must be positive, got {cell_radius}")
    if tissue not in ("blobs", "full"):
        raise ParameterError(f"tissue must be 'blobs' or 'full', got {tissue!r}")
    # spawn(4) keeps the first three streams of spawn(3): adding look-alikes changed nothing
    # else in the scenes of earlier versions.
    tex_rng, layout_rng, tissue_rng, lookalike_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)
    )
    tiles = (-(-height // _TEX), -(-width // _TEX))
    # a small image needs fewer distinct tiles (each costs a few milliseconds to make)
    pool = _texture_pool(tex_rng, min(_POOL, tiles[0] * tiles[1]))
    choice = layout_rng.integers(0, len(pool), size=tiles).astype(np.intp)
    ellipses = _tissue_ellipses(tissue_rng, width, height) if tissue == "blobs" else None
    painted = _lookalikes(lookalike_rng, _as_points(lookalikes), float(cell_radius))
    return _Scene(
        width, height, pool, choice, ellipses, _as_points(cells), float(cell_radius), painted
    )


def _downsample2(a: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Halve an (H, W, 3) image by 2x2 box averaging (odd last row/column dropped)."""
    h, w = a.shape[0] // 2 * 2, a.shape[1] // 2 * 2
    s = a[:h:2, :w:2].astype(np.uint16)
    s += a[1:h:2, :w:2]
    s += a[:h:2, 1:w:2]
    s += a[1:h:2, 1:w:2]
    s += 2
    return (s >> 2).astype(np.uint8)


def _tiles(strips: Iterable[NDArray[np.uint8]], tile: int) -> Iterator[NDArray[np.uint8]]:
    """Cut strips into (tile, tile, 3) tiles row-major, padding edge tiles with glass."""
    for strip in strips:
        h, w = strip.shape[:2]
        for x in range(0, w, tile):
            t = strip[:, x : x + tile]
            if t.shape[0] != tile or t.shape[1] != tile:
                padded = np.empty((tile, tile, 3), dtype=np.uint8)
                padded[:] = _GLASS
                padded[:h, : t.shape[1]] = t
                t = padded
            yield t


def _strips_of(image: NDArray[np.uint8], tile: int) -> Iterator[NDArray[np.uint8]]:
    for y in range(0, image.shape[0], tile):
        yield image[y : y + tile]


def _level0_strips(
    scene: _Scene, tile: int, level1: NDArray[np.uint8] | None
) -> Iterator[NDArray[np.uint8]]:
    """Render level 0 strip by strip, filling ``level1`` (2x downsample) as a side effect."""
    for y in range(0, scene.height, tile):
        strip = scene.render(0, y, scene.width, min(tile, scene.height - y))
        if level1 is not None:
            small = _downsample2(strip)
            level1[y // 2 : y // 2 + small.shape[0], : small.shape[1]] = small
        yield strip


def _level_sizes(width: int, height: int) -> list[tuple[int, int]]:
    sizes = [(width, height)]
    while max(sizes[-1]) >= _MIN_LEVEL_SIDE and min(sizes[-1]) >= 2:
        w, h = sizes[-1]
        sizes.append((w // 2, h // 2))
    return sizes


def make_slide(
    path: str | os.PathLike[str],
    width: int,
    height: int,
    *,
    mpp: float = 0.25,
    kind: Literal["svs", "tiff"] = "svs",
    tile: int = 256,
    quality: int = 85,
    seed: int = 0,
    cells: Iterable[PointLike] = (),
    cell_radius: float = 12.0,
    tissue: Literal["blobs", "full"] = "blobs",
    lookalikes: Iterable[PointLike] = (),
) -> Path:
    """Write a synthetic pyramidal tiled JPEG slide that OpenSlide opens.

    Level 0 is ``width`` x ``height``; each further level halves it until the longest side
    of the smallest level is under 1000 px. ``kind="svs"`` writes an Aperio-style file (an
    ``ImageDescription`` starting ``Aperio Image Library`` with ``|MPP = <mpp>|`` and a
    stripped thumbnail as second page), so OpenSlide reports vendor ``"aperio"``, the MPP
    and an associated ``"thumbnail"``; ``kind="tiff"`` writes a generic tiled TIFF whose
    resolution tags (unit centimetre) carry the MPP (vendor ``"generic-tiff"``).

    Example:
        >>> from wsi2rek.testing import make_slide
        >>> path = make_slide(tmp / "a.svs", 2000, 1500, cells=[(600, 400)])  # doctest: +SKIP

    Args:
        path: Output file (overwritten). Parent folders must exist.
        width: Level-0 width in pixels.
        height: Level-0 height in pixels.
        mpp: Micrometres per level-0 pixel, written to the file.
        kind: ``"svs"`` (Aperio) or ``"tiff"`` (generic tiled TIFF).
        tile: TIFF tile side in pixels (a multiple of 16).
        quality: JPEG quality 1-100.
        seed: Seed of every random choice (texture, tissue layout).
        cells: Level-0 centres of dark round cells, as :class:`~wsi2rek.geometry.Point` or
            ``(x, y)``.
        cell_radius: Cell radius in level-0 pixels.
        tissue: ``"blobs"`` (a few large tissue ellipses on glass, ~50-70 % of the area) or
            ``"full"`` (tissue everywhere).
        lookalikes: Level-0 centres of mitosis look-alikes: paler, mottled, elongated cells
            of about ``cell_radius`` (see the module docstring).

    Returns:
        The path written.

    Raises:
        ParameterError: A size, ``tile``, ``quality``, ``mpp``, ``kind`` or ``tissue`` is out of
            range.
        ImportError: ``tifffile`` or ``imagecodecs`` (dependencies of wsi2rek) is missing from
            the environment.
    """
    tifffile = _tifffile()
    _check_slide_options(kind=kind, tile=tile, quality=quality, mpp=mpp)
    scene = _scene(
        width,
        height,
        seed=seed,
        cells=cells,
        cell_radius=cell_radius,
        tissue=tissue,
        lookalikes=lookalikes,
    )
    layout = _TiffLayout(kind=kind, width=width, height=height, tile=tile, quality=quality, mpp=mpp)
    out = Path(path)
    with atomic_path(out) as tmp, tifffile.TiffWriter(tmp, bigtiff=width * height > 2**31) as tif:
        _write_pyramid(tif, scene, layout)
    return out


def _tifffile() -> ModuleType:
    """``tifffile``, imported when a slide is written (``wsi2rek.testing`` stays light).

    ``imagecodecs`` (its JPEG codec) is checked too; both are dependencies of wsi2rek.
    """
    try:
        import imagecodecs  # noqa: F401, PLC0415 -- tifffile's JPEG codec, checked up front
        import tifffile  # noqa: PLC0415 -- see the docstring
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"make_slide needs tifffile and imagecodecs, dependencies of wsi2rek missing from "
            f"this environment ({exc}); install them with `pip install tifffile imagecodecs` "
            "(or reinstall wsi2rek without --no-deps)"
        ) from exc
    return tifffile


def _check_slide_options(*, kind: str, tile: int, quality: int, mpp: float) -> None:
    """Refuse :func:`make_slide` options no TIFF reader would accept (ParameterError)."""
    if kind not in ("svs", "tiff"):
        raise ParameterError(f"kind must be 'svs' or 'tiff', got {kind!r}")
    if tile <= 0 or tile % 16:
        raise ParameterError(f"tile must be a positive multiple of 16, got {tile}")
    if not 1 <= quality <= 100:
        raise ParameterError(f"quality must be in 1..100, got {quality}")
    if not (mpp > 0 and math.isfinite(mpp)):
        raise ParameterError(f"mpp must be a positive number, got {mpp}")


@attrs.frozen
class _TiffLayout:
    """What every page of a :func:`make_slide` file shares: its kind, level-0 size and codec."""

    kind: Literal["svs", "tiff"]
    width: int
    height: int
    tile: int
    quality: int
    mpp: float

    def jpeg(self) -> dict[str, Any]:
        """``tifffile`` keyword arguments of every tiled level."""
        return {
            "photometric": "rgb",
            "compression": "jpeg",
            "compressionargs": {"level": self.quality},
            "tile": (self.tile, self.tile),
            "metadata": None,
            "software": False,
        }

    def resolution(self, level_width: int) -> dict[str, Any]:
        """A generic TIFF level's resolution tags (pixels per centimetre); none for SVS."""
        if self.kind == "svs":
            return {}
        res_cm = 1e4 / self.mpp / (self.width / level_width)
        return {"resolution": (res_cm, res_cm), "resolutionunit": "CENTIMETER"}

    def level0_tags(self) -> dict[str, Any]:
        """Level 0's tags: the Aperio description (SVS) or the resolution (generic TIFF)."""
        if self.kind != "svs":
            return self.resolution(self.width)
        w, h, t = self.width, self.height, self.tile
        return {
            "description": (
                f"Aperio Image Library v12.0.15 \r\n{w}x{h} [0,0 {w}x{h}]"
                f" ({t}x{t}) JPEG/RGB Q={self.quality}|AppMag = {10.0 / self.mpp:g}"
                f"|MPP = {self.mpp:.6g}|Filename = wsi2rek-synthetic"
            )
        }


def _write_pyramid(tif: tifffile.TiffWriter, scene: _Scene, layout: _TiffLayout) -> None:
    """Write level 0, rendered strip by strip, then each halving of it.

    An SVS gets its thumbnail as the second page, where OpenSlide's Aperio reader finds it.
    """
    sizes = _level_sizes(layout.width, layout.height)
    level1 = np.empty((sizes[1][1], sizes[1][0], 3), dtype=np.uint8) if len(sizes) > 1 else None
    tif.write(
        _tiles(_level0_strips(scene, layout.tile, level1), layout.tile),
        shape=(layout.height, layout.width, 3),
        dtype=np.uint8,
        **layout.jpeg(),
        **layout.level0_tags(),
    )
    current = level1
    for level, (lw, lh) in enumerate(sizes[1:], start=1):
        if current is None:  # pragma: no cover - len(sizes) > 1 implies level1
            break
        if level > 1:
            current = _downsample2(current)[:lh, :lw]
        if layout.kind == "svs" and level == 1:
            _write_thumbnail(tif, current, layout)
        tif.write(
            _tiles(_strips_of(current, layout.tile), layout.tile),
            shape=(lh, lw, 3),
            dtype=np.uint8,
            subfiletype=1,
            **layout.jpeg(),
            **layout.resolution(lw),
        )


def _write_thumbnail(
    tif: tifffile.TiffWriter, level1: NDArray[np.uint8], layout: _TiffLayout
) -> None:
    """The SVS thumbnail page: level 1 shrunk to fit 768 px, stripped (not tiled) JPEG."""
    thumb = Image.fromarray(level1)
    thumb.thumbnail((768, 768))
    tif.write(
        np.asarray(thumb),
        photometric="rgb",
        compression="jpeg",
        compressionargs={"level": layout.quality},
        rowsperstrip=16,
        metadata=None,
        software=False,
        description=f"Aperio Image Library v12.0.15 \r\n{layout.width}x{layout.height} -> "
        f"{thumb.width}x{thumb.height} - |MPP = {layout.mpp:.6g}",
    )


def make_image(
    path: str | os.PathLike[str],
    width: int,
    height: int,
    *,
    seed: int = 0,
    cells: Iterable[PointLike] = (),
    cell_radius: float = 12.0,
    tissue: Literal["blobs", "full"] = "full",
    lookalikes: Iterable[PointLike] = (),
    mpp: float | None = None,
    quality: int = 90,
) -> Path:
    """Write a plain (single-level, untiled) image with the synthetic texture.

    The format follows the suffix: ``.png``, ``.jpg``/``.jpeg`` or ``.tif``/``.tiff``
    (uncompressed). Such files are read by the Pillow backend of
    :func:`wsi2rek.slides.open_slide`.

    Args:
        path: Output file (overwritten). Parent folders must exist.
        width: Width in pixels.
        height: Height in pixels.
        seed: Seed of every random choice.
        cells: Centres of dark round cells, as :class:`~wsi2rek.geometry.Point` or ``(x, y)``.
        cell_radius: Cell radius in pixels.
        tissue: ``"full"`` (default, like a high-power field) or ``"blobs"``.
        lookalikes: Centres of mitosis look-alikes (paler, mottled, elongated cells).
        mpp: For TIFF only: micrometres per pixel, written as resolution tags in pixels per
            centimetre. None writes no resolution.
        quality: JPEG quality (JPEG only).

    Returns:
        The path written.

    Raises:
        ParameterError: The suffix is not a supported format, or a size is out of range.
    """
    out = Path(path)
    suffix = out.suffix.lower()
    formats = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}
    if suffix not in formats:
        raise ParameterError(
            f"make_image writes .png, .jpg/.jpeg or .tif/.tiff; got {out.name!r} "
            f"(suffix {suffix!r})"
        )
    scene = _scene(
        width,
        height,
        seed=seed,
        cells=cells,
        cell_radius=cell_radius,
        tissue=tissue,
        lookalikes=lookalikes,
    )
    img = Image.fromarray(scene.render(0, 0, width, height))
    fmt = formats[suffix]
    options: dict[str, object] = {}
    if fmt == "JPEG":
        options = {"quality": quality}
    elif fmt == "TIFF" and mpp is not None:
        # Pillow writes resolution unit 3 (centimetre) for resolution_unit="cm"
        options = {"resolution_unit": "cm", "resolution": 1e4 / mpp}
    with atomic_path(out) as tmp:
        img.save(tmp, format=fmt, **options)
    return out
