"""The tifffile backend: decodes only the TIFF tiles a region needs, exactly as OpenSlide.

OpenSlide reads a 512 px window of an SVS by decoding every tile it touches into a
premultiplied ARGB canvas, which wsi2rek then un-premultiplies and strips of alpha; on a
JPEG slide that compositing costs about as much as the JPEG decode itself. This backend
reads the raw tiles with a plain file read and decodes them with imagecodecs
(libjpeg-turbo, zlib, LZW), pasting them into an RGB array.

**Exactness is the contract.** The tile layout comes from OpenSlide's own drivers
(``openslide-vendor-aperio.c``, ``openslide-vendor-generic-tiff.c``,
``openslide-decode-tiff.c``, ``openslide-grid.c`` in OpenSlide 4):

* Aperio: the levels are the tiled directories in file order; generic TIFF: directory 0
  and every tiled directory marked reduced-resolution, widest first. The backend finds
  the same directories and checks their sizes against OpenSlide's levels.
* JPEG tiles (8-bit, 3 samples, contiguous, photometric RGB or YCbCr) are decoded the way
  OpenSlide's direct path does: the directory's ``JPEGTables`` first, and the JPEG colour
  space forced from the TIFF photometric tag (RGB: no colour transform, as Aperio needs).
  Uncompressed, LZW and Deflate tiles (8-bit RGB, predictor none or horizontal) are
  decoded to the same samples libtiff gives OpenSlide.
* Tiles on the right and bottom edge are clipped to the image; pixels outside the level
  are white, like OpenSlide's transparent pixels after wsi2rek composites them on white.
* OpenSlide maps a level-0 position to a level by dividing by the level's downsample as
  a float and resamples when the result is fractional. This backend decodes tiles
  itself only where that division is exact (level 0 always; other levels when the
  downsample is a whole number dividing ``x`` and ``y``) and asks OpenSlide otherwise,
  so every read returns OpenSlide's pixels.

Directories the backend does not handle (JPEG 2000 SVS, zero-length "missing" tiles,
other compressions or sample layouts) are read through OpenSlide, and a file whose level
0 it does not handle is declined: :func:`~wsi2rek.slides.open_slide` then uses OpenSlide.

A pyramidal OME-TIFF keeps its reduced resolutions in SubIFDs, which OpenSlide does not
read (it reports one level). This backend serves them as further levels; a position on
such a level is ``floor(x / downsample)`` (there is no OpenSlide reference to follow).
"""

from __future__ import annotations

import math
import os
import threading
import types
import weakref
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, SupportsIndex

import attrs
import imagecodecs
import numpy as np
import tifffile
from numpy.typing import NDArray

from wsi2rek.errors import SlideNotFoundError, SlideReadError, UnsupportedSlideError
from wsi2rek.slides._base import SlideSource, check_region
from wsi2rek.slides._openslide import OpenSlideSource

__all__ = ["TiffSlideSource"]

# TIFF tag values (TIFF 6.0 specification)
_NONE, _LZW, _JPEG, _DEFLATE, _DEFLATE_OLD = 1, 5, 7, 8, 32946
_PHOTOMETRIC_RGB, _PHOTOMETRIC_YCBCR = 2, 6
_PLANAR_CONTIG = 1
_REDUCED_IMAGE = 1  # NewSubfileType bit
# libjpeg's J_COLOR_SPACE values, as imagecodecs takes them
_JCS_RGB, _JCS_YCBCR = 2, 3
_COMPRESSIONS = {_NONE: "none", _LZW: "LZW", _JPEG: "JPEG", _DEFLATE: "Deflate"}
_COMPRESSIONS[_DEFLATE_OLD] = "Deflate"
# What imagecodecs raises on a damaged tile.
_DECODE_ERRORS = (RuntimeError, ValueError, zlib.error, imagecodecs.Jpeg8Error)


@attrs.frozen
class _Level:
    """One pyramid level this backend decodes itself: where its tiles are and how."""

    width: int
    height: int
    tile_width: int
    tile_height: int
    tiles_across: int
    offsets: NDArray[np.int64]
    bytecounts: NDArray[np.int64]
    compression: int
    jpeg_tables: bytes | None
    jpeg_colorspace: int
    predictor: int


@attrs.frozen
class _Layout:
    """The levels of a slide; ``None`` levels are read through OpenSlide."""

    levels: tuple[_Level | None, ...]
    level_dimensions: tuple[tuple[int, int], ...]
    level_downsamples: tuple[float, ...]
    openslide_levels: int
    properties: Mapping[str, str]
    kind: str


def _unsupported(page: Any) -> str | None:
    """Why this backend cannot decode ``page`` exactly as OpenSlide does, or None."""
    jpeg = page.compression == _JPEG
    checks = (
        (not page.is_tiled, "not tiled"),
        (
            page.compression not in _COMPRESSIONS,
            f"compression {int(page.compression)} is not JPEG, LZW, Deflate or none",
        ),
        (
            page.bitspersample != 8 or page.samplesperpixel != 3,
            f"{page.samplesperpixel} samples of {page.bitspersample} bits, not 8-bit RGB",
        ),
        (page.planarconfig != _PLANAR_CONTIG, "planar (separate) samples"),
        (getattr(page, "imagedepth", 1) != 1, "ImageDepth is not 1"),
        (
            jpeg and page.photometric not in (_PHOTOMETRIC_RGB, _PHOTOMETRIC_YCBCR),
            f"JPEG tiles with photometric {int(page.photometric)}",
        ),
        (
            not jpeg and page.photometric != _PHOTOMETRIC_RGB,
            f"photometric {int(page.photometric)} is not RGB",
        ),
        (not jpeg and page.predictor not in (1, 2), f"predictor {int(page.predictor)}"),
        # libtiff's RGBA reader (OpenSlide's path for non-JPEG tiles) honours these two
        (not jpeg and int(page.tags.valueof(274, 1)) != 1, "orientation is not top-left"),
        (not jpeg and int(page.tags.valueof(266, 1)) != 1, "fill order is not MSB-first"),
        (
            bool(np.any(np.asarray(page.databytecounts) == 0)),
            "zero-length (missing) tiles",
        ),
    )
    return next((reason for failed, reason in checks if failed), None)


def _level(page: Any) -> _Level:
    tables = page.jpegtables
    return _Level(
        width=int(page.imagewidth),
        height=int(page.imagelength),
        tile_width=int(page.tilewidth),
        tile_height=int(page.tilelength),
        tiles_across=-(-int(page.imagewidth) // int(page.tilewidth)),
        offsets=np.asarray(page.dataoffsets, dtype=np.int64),
        bytecounts=np.asarray(page.databytecounts, dtype=np.int64),
        compression=int(page.compression),
        jpeg_tables=bytes(tables) if tables else None,
        jpeg_colorspace=_JCS_YCBCR if page.photometric == _PHOTOMETRIC_YCBCR else _JCS_RGB,
        predictor=int(page.predictor),
    )


def _openslide_directories(tif: Any, vendor: str | None) -> list[int]:
    """The directories OpenSlide uses as levels for ``vendor``, in OpenSlide's order."""
    pages = tif.pages
    pages.useframes = False
    found = []
    for index in range(len(pages)):
        page = pages[index]
        if not page.is_tiled:
            continue
        if vendor == "aperio" or index == 0 or page.subfiletype & _REDUCED_IMAGE:
            found.append(index)
    if vendor != "aperio":
        found.sort(key=lambda i: -int(pages[i].imagewidth))  # stable, like a width sort
    return found


def _downsample(level0: tuple[int, int], size: tuple[int, int]) -> float:
    """OpenSlide's downsample of a level: the mean of the height and width ratios."""
    return (level0[1] / size[1] + level0[0] / size[0]) / 2.0


def _layout(path: Path, reference: OpenSlideSource) -> tuple[_Layout, str | None]:
    """Map OpenSlide's levels to TIFF directories; the reason level 0 is not served, if so."""
    vendor = reference.vendor
    dims = reference.level_dimensions
    props = dict(reference.properties)
    with tifffile.TiffFile(path) as tif:
        dirs = _openslide_directories(tif, vendor)
        pages: list[Any] = [tif.pages[i] for i in dirs]
        sizes = [(int(p.imagewidth), int(p.imagelength)) for p in pages]
        levels: list[_Level | None] = [None] * len(dims)
        reason: str | None = None
        if vendor not in ("aperio", "generic-tiff"):
            reason = f"OpenSlide reads it as {vendor!r}, not Aperio or generic TIFF"
        elif sizes != list(dims):
            reason = f"its tiled directories {sizes} are not OpenSlide's levels {list(dims)}"
        else:
            for i, page in enumerate(pages):
                why = _unsupported(page)
                if why is None:
                    levels[i] = _level(page)
                elif i == 0:
                    reason = f"level 0 (directory {dirs[0]}): {why}"
        downsamples = list(reference.level_downsamples)
        kind = vendor or "tiff"
        if reason is None and tif.is_ome and len(dims) == 1:
            kind = "ome-tiff"
            extra = [lv.keyframe for lv in tif.series[0].levels[1:]]
            for page in extra:
                size = (int(page.imagewidth), int(page.imagelength))
                if _unsupported(page) is not None or size[0] >= dims[-1][0]:
                    break
                n = len(levels)
                levels.append(_level(page))
                dims = (*dims, size)
                downsamples.append(_downsample(dims[0], size))
                props.update(
                    {
                        f"openslide.level[{n}].width": str(size[0]),
                        f"openslide.level[{n}].height": str(size[1]),
                        f"openslide.level[{n}].downsample": repr(downsamples[-1]),
                        f"openslide.level[{n}].tile-width": str(int(page.tilewidth)),
                        f"openslide.level[{n}].tile-height": str(int(page.tilelength)),
                    }
                )
            props["openslide.level-count"] = str(len(dims))
    layout = _Layout(
        levels=tuple(levels),
        level_dimensions=tuple(dims),
        level_downsamples=tuple(downsamples),
        openslide_levels=reference.level_count,
        properties=types.MappingProxyType(props),
        kind=kind,
    )
    return layout, reason


def _undo_predictor(tile: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Undo TIFF horizontal differencing (predictor 2) per sample, modulo 256."""
    return np.cumsum(tile, axis=1, dtype=np.uint8)


def _decoder(level: _Level) -> Callable[[bytes], NDArray[np.uint8]]:
    th, tw = level.tile_height, level.tile_width
    if level.compression == _JPEG:
        tables, space = level.jpeg_tables, level.jpeg_colorspace

        def jpeg(data: bytes) -> NDArray[np.uint8]:
            out: NDArray[np.uint8] = imagecodecs.jpeg8_decode(
                data, tables=tables, colorspace=space, outcolorspace=_JCS_RGB
            )
            return out

        return jpeg

    def other(data: bytes) -> NDArray[np.uint8]:
        if level.compression == _LZW:
            data = bytes(imagecodecs.lzw_decode(data))
        elif level.compression != _NONE:
            data = zlib.decompress(data)
        if len(data) < th * tw * 3:
            raise ValueError(f"tile holds {len(data)} bytes, expected {th * tw * 3}")
        tile = np.frombuffer(data, dtype=np.uint8, count=th * tw * 3).reshape(th, tw, 3)
        return _undo_predictor(tile) if level.predictor == 2 else tile

    return other


def _close_fd(fd: int, pid: int) -> None:
    if os.getpid() == pid:  # only the process that opened it
        os.close(fd)


class TiffSlideSource(SlideSource):
    """An Aperio SVS, generic tiled TIFF or pyramidal OME-TIFF read tile by tile.

    Returns the same pixels as :class:`~wsi2rek.slides.OpenSlideSource` for every
    region (reads it cannot serve exactly are passed to OpenSlide), with the same
    metadata, several times faster on JPEG slides. A pyramidal OME-TIFF gets all its
    levels (OpenSlide sees only the first).

    The file is read with one plain file handle per process, opened lazily; the object
    pickles its path, like the other backends.

    Args:
        path: The slide file.

    Raises:
        SlideNotFoundError: ``path`` does not exist.
        UnsupportedSlideError: OpenSlide cannot open the file, or level 0 is a layout this
            backend does not decode exactly (``tried`` says which).
    """

    backend = "tifffile"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path).absolute()
        self._init_state()
        self._layout_or_raise()

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._pid = 0
        self._reference: OpenSlideSource | None = None
        self._layout: _Layout | None = None
        self._decoders: dict[int, Callable[[bytes], NDArray[np.uint8]]] = {}

    def _openslide(self) -> OpenSlideSource:
        if self._reference is None:
            if not self._path.exists():
                raise SlideNotFoundError(
                    f"slide file not found: {self._path}; check the path", path=self._path
                )
            self._reference = OpenSlideSource(self._path)
        return self._reference

    def _layout_or_raise(self) -> _Layout:
        if self._layout is not None:
            return self._layout
        reference = self._openslide()
        try:
            layout, reason = _layout(self._path, reference)
        except (tifffile.TiffFileError, OSError, ValueError, KeyError, IndexError) as exc:
            reason, layout = f"tifffile cannot parse it: {exc}", None
        if reason is not None or layout is None:
            raise UnsupportedSlideError(
                f"the tifffile backend does not read {self._path} exactly: {reason}; "
                "open it with backend='openslide' (or 'auto')",
                path=self._path,
                tried=(f"tifffile: {reason}",),
            )
        self._layout = layout
        return layout

    def _handle(self) -> int:
        """This process's file descriptor, (re)opened when needed."""
        pid = os.getpid()
        with self._lock:
            if self._fd is None or self._pid != pid:
                # a descriptor inherited through fork belongs to the parent: never close it
                fd = os.open(self._path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
                # closed when this object goes away, even if close() is never called (as
                # with the per-thread slide caches of thread-pool builds)
                self._finalizer = weakref.finalize(self, _close_fd, fd, pid)
                self._fd, self._pid = fd, pid
            return self._fd

    def _read_raw(self, offset: int, count: int) -> bytes:
        fd = self._handle()
        if hasattr(os, "pread"):
            return os.pread(fd, count, offset)
        with self._lock:  # pragma: no cover - Windows has no pread
            os.lseek(fd, offset, os.SEEK_SET)
            return os.read(fd, count)

    def close(self) -> None:
        """Close the file descriptor and OpenSlide's handle (reopened on next use)."""
        with self._lock:
            if self._finalizer is not None:
                self._finalizer()
            self._fd, self._finalizer = None, None
            self._pid = 0
        if self._reference is not None:
            self._reference.close()

    def __getstate__(self) -> dict[str, object]:
        return {"path": str(self._path)}

    def __setstate__(self, state: dict[str, object]) -> None:
        self._path = Path(str(state["path"]))
        self._init_state()

    # --- the contract ------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The slide file (absolute)."""
        return self._path

    @property
    def level_dimensions(self) -> tuple[tuple[int, int], ...]:
        """OpenSlide's levels, plus the reduced resolutions of a pyramidal OME-TIFF."""
        return self._layout_or_raise().level_dimensions

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        """OpenSlide's downsamples (the mean of the height and width ratios)."""
        return self._layout_or_raise().level_downsamples

    @property
    def mpp(self) -> tuple[float, float] | None:
        """As OpenSlide reports it (``openslide.mpp-x``/``-y``), or None."""
        return self._openslide().mpp

    @property
    def vendor(self) -> str | None:
        """OpenSlide's vendor (``"aperio"`` or ``"generic-tiff"``)."""
        return self._openslide().vendor

    @property
    def properties(self) -> Mapping[str, str]:
        """OpenSlide's properties; for OME-TIFF levels, ``openslide.level[...]`` too."""
        return self._layout_or_raise().properties

    @property
    def associated_images(self) -> tuple[str, ...]:
        """As OpenSlide reports them."""
        return self._openslide().associated_images

    @property
    def layout(self) -> str:
        """What the backend recognised: ``"aperio"``, ``"generic-tiff"`` or ``"ome-tiff"``."""
        return self._layout_or_raise().kind

    def read_region(
        self,
        x: SupportsIndex | float,
        y: SupportsIndex | float,
        width: SupportsIndex | float,
        height: SupportsIndex | float,
        level: SupportsIndex = 0,
    ) -> NDArray[np.uint8]:
        """Read an RGB ``uint8`` array of shape ``(height, width, 3)``; outside is white.

        Raises:
            RegionError: A size is zero or negative or ``level`` does not exist.
            SlideReadError: A tile could not be decoded (corrupt or truncated file);
                ``region`` holds ``(x, y, width, height, level)``.
        """
        region = check_region(x, y, width, height, level, source=self)
        xi, yi, wi, hi, li = region
        layout = self._layout_or_raise()
        lv = layout.levels[li]
        ds = layout.level_downsamples[li]
        if li < layout.openslide_levels:
            exact = li == 0 or (ds.is_integer() and xi % int(ds) == 0 and yi % int(ds) == 0)
            if lv is None or not exact:
                return self._openslide().read_region(xi, yi, wi, hi, li)
            lx, ly = (xi, yi) if li == 0 else (xi // int(ds), yi // int(ds))
        else:
            assert lv is not None
            lx, ly = math.floor(xi / ds), math.floor(yi / ds)
        return self._paint(lv, (lx, ly), region)

    def _paint(
        self, lv: _Level, origin: tuple[int, int], region: tuple[int, int, int, int, int]
    ) -> NDArray[np.uint8]:
        """Decode the tiles under the request, its top-left at level pixel ``origin``."""
        (lx, ly), (w, h) = origin, region[2:4]
        out = np.full((h, w, 3), 255, dtype=np.uint8)
        x0, y0 = max(lx, 0), max(ly, 0)
        x1, y1 = min(lx + w, lv.width), min(ly + h, lv.height)
        if x1 <= x0 or y1 <= y0:
            return out
        decode = self._decoders.get(id(lv))
        if decode is None:
            decode = self._decoders[id(lv)] = _decoder(lv)
        tw, th = lv.tile_width, lv.tile_height
        for row in range(y0 // th, (y1 - 1) // th + 1):
            ty = row * th
            for col in range(x0 // tw, (x1 - 1) // tw + 1):
                tx = col * tw
                index = row * lv.tiles_across + col
                offset, count = int(lv.offsets[index]), int(lv.bytecounts[index])
                try:
                    data = self._read_raw(offset, count)
                    if len(data) != count:
                        raise ValueError(f"file ends {count - len(data)} bytes into the tile")
                    tile = decode(data)
                    if tile.shape[:2] != (th, tw):
                        raise ValueError(f"tile decodes to {tile.shape[:2]}, expected {(th, tw)}")
                except _DECODE_ERRORS as exc:
                    xi, yi, wi, hi, li = region
                    raise SlideReadError(
                        f"could not decode tile {col},{row} at level {li} of {self._path} "
                        f"(reading region x={xi}, y={yi}, width={wi}, height={hi}): {exc}; "
                        "the file is probably corrupt or truncated",
                        path=self._path,
                        region=region,
                    ) from exc
                # the part of this tile inside both the image and the request
                sx0, sy0 = max(x0, tx), max(y0, ty)
                sx1, sy1 = min(x1, tx + tw), min(y1, ty + th)
                out[sy0 - ly : sy1 - ly, sx0 - lx : sx1 - lx] = tile[
                    sy0 - ty : sy1 - ty, sx0 - tx : sx1 - tx
                ]
        return out
