"""The Pillow backend: plain PNG, JPEG and (untiled or tiled) TIFF images, one level."""

from __future__ import annotations

import os
import struct
import threading
import types
from collections.abc import Mapping
from pathlib import Path
from typing import SupportsIndex

import attrs
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFile, JpegImagePlugin, PngImagePlugin, TiffImagePlugin

from wsi2rek.errors import (
    ImageTooLargeError,
    ParameterError,
    SlideNotFoundError,
    SlideReadError,
    UnsupportedSlideError,
)
from wsi2rek.slides._base import (
    SlideSource,
    _fit_size,
    check_region,
    plausible_mpp,
    rgba_on_white,
)

__all__ = ["DEFAULT_MAX_PIXELS", "MAX_PIXELS_ENV", "PillowSlideSource", "resolve_max_pixels"]

#: Largest plain image (width x height) the Pillow backend decodes unless told otherwise.
#: Plain images are decoded whole: 2**28 pixels take 768 MiB as RGB, and decoding needs
#: about as much again. Set by ``max_pixels=`` or the :data:`MAX_PIXELS_ENV` variable.
DEFAULT_MAX_PIXELS = 2**28
#: Environment variable that overrides :data:`DEFAULT_MAX_PIXELS` (an integer), read when
#: a slide is opened; it also reaches the command line and worker processes.
MAX_PIXELS_ENV = "WSI2REK_MAX_IMAGE_PIXELS"

# The formats this backend reads. The plugin classes are called directly instead of
# Image.open so that the size limit is ours (``max_pixels``), not Pillow's process-wide
# ``Image.MAX_IMAGE_PIXELS``, which wsi2rek never changes.
_FORMATS: tuple[tuple[str, type[ImageFile.ImageFile]], ...] = (
    ("PNG", PngImagePlugin.PngImageFile),
    ("JPEG", JpegImagePlugin.JpegImageFile),
    ("TIFF", TiffImagePlugin.TiffImageFile),
)
# What Pillow raises on data it cannot parse or decode.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, IndexError, TypeError, struct.error)

_RESOLUTION_UNIT_UM = {2: 25_400.0, 3: 10_000.0}  # TIFF ResolutionUnit: inch, centimetre


@attrs.frozen
class _Meta:
    size: tuple[int, int]
    format: str
    properties: Mapping[str, str]
    mpp: tuple[float, float] | None


def resolve_max_pixels(max_pixels: int | None) -> int:
    """``max_pixels``, else the :data:`MAX_PIXELS_ENV` variable, else the default.

    Raises:
        ParameterError: The value is not a positive integer.
    """
    where = "max_pixels"
    if max_pixels is None:
        text = os.environ.get(MAX_PIXELS_ENV, "").strip()
        if not text:
            return DEFAULT_MAX_PIXELS
        where = f"the environment variable {MAX_PIXELS_ENV}"
        try:
            max_pixels = int(text.replace("_", ""))
        except ValueError:
            raise ParameterError(
                f"{where} must be a whole number of pixels, got {text!r}"
            ) from None
    if isinstance(max_pixels, bool) or max_pixels <= 0:
        raise ParameterError(f"{where} must be a positive number of pixels, got {max_pixels}")
    return int(max_pixels)


def _open_image(path: Path) -> ImageFile.ImageFile:
    """Open ``path`` with the first of PNG/JPEG/TIFF that accepts it (header only)."""
    reasons = []
    for name, cls in _FORMATS:
        try:
            return cls(path)
        except PermissionError:
            raise
        except _DECODE_ERRORS as exc:
            reasons.append(f"{name}: {exc}")
    raise UnsupportedSlideError(
        f"Pillow cannot read {path}: it is not a PNG, JPEG or TIFF image ({'; '.join(reasons)})",
        path=path,
        tried=("pillow: not a PNG, JPEG or TIFF image",),
    )


def _tiff_mpp(image: ImageFile.ImageFile) -> tuple[float, float] | None:
    """Micrometres per pixel from TIFF resolution tags when their unit is inch or cm."""
    if not isinstance(image, TiffImagePlugin.TiffImageFile):
        return None
    tags = image.tag_v2
    unit = tags.get(TiffImagePlugin.RESOLUTION_UNIT)
    xres = tags.get(TiffImagePlugin.X_RESOLUTION)
    yres = tags.get(TiffImagePlugin.Y_RESOLUTION)
    if unit not in _RESOLUTION_UNIT_UM or xres is None:
        return None
    try:
        fx = float(xres)
        fy = float(yres) if yres is not None else fx
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not (fx > 0 and fy > 0 and np.isfinite(fx) and np.isfinite(fy)):
        return None
    um = _RESOLUTION_UNIT_UM[int(unit)]
    return (um / fx, um / fy)


def _to_rgb(image: Image.Image) -> NDArray[np.uint8]:
    """Decoded pixels as RGB; transparency is composited on white like OpenSlide's."""
    transparent = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or ("transparency" in image.info)
    if transparent:
        return rgba_on_white(image.convert("RGBA"))
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.array(image, dtype=np.uint8)


class PillowSlideSource(SlideSource):
    """A plain PNG, JPEG or TIFF image seen as a one-level slide.

    The header is read on construction; the pixels are decoded on the first
    :meth:`read_region` and kept in memory (3 bytes per pixel) until :meth:`close`. The
    file handle is never held between calls. ``mpp`` comes from TIFF resolution tags
    when their unit is inch or centimetre.

    Args:
        path: The image file.
        max_pixels: Refuse images with more pixels than this, since they are decoded
            whole (default: the :data:`MAX_PIXELS_ENV` variable, else
            :data:`DEFAULT_MAX_PIXELS`, 2**28).

    Raises:
        SlideNotFoundError: ``path`` does not exist.
        ImageTooLargeError: The image has more than ``max_pixels`` pixels.
        UnsupportedSlideError: The file is not a PNG/JPEG/TIFF image.
        ParameterError: ``max_pixels`` is not a positive integer.
    """

    backend = "pillow"

    def __init__(self, path: str | os.PathLike[str], *, max_pixels: int | None = None) -> None:
        self._max_pixels = resolve_max_pixels(max_pixels)
        self._path = Path(path).absolute()
        self._init_state()
        self._metadata()

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._pixels: NDArray[np.uint8] | None = None
        self._pid = 0
        self._meta: _Meta | None = None

    def _check_exists(self) -> None:
        if not self._path.exists():
            raise SlideNotFoundError(
                f"image file not found: {self._path}; check the path", path=self._path
            )

    def _metadata(self) -> _Meta:
        if self._meta is not None:
            return self._meta
        self._check_exists()
        with _open_image(self._path) as image:
            w, h = image.size
            if w * h > self._max_pixels:
                raise ImageTooLargeError(
                    f"{self._path} is a plain {image.format} image of {w} x {h} = {w * h} "
                    f"pixels, more than max_pixels={self._max_pixels}: plain images are "
                    f"decoded whole (about {w * h * 3 / 2**30:.1f} GiB here), and it could be "
                    "a decompression bomb. Convert it to a tiled pyramid, which is read tile "
                    "by tile: vips tiffsave IN OUT.tif --tile --pyramid --compression jpeg "
                    "(or bfconvert -tilex 512 -tiley 512 IN OUT.tif); or, if you trust the "
                    f"file and have the memory, raise max_pixels or {MAX_PIXELS_ENV}",
                    path=self._path,
                    tried=(f"pillow: {w * h} pixels exceeds max_pixels={self._max_pixels}",),
                )
            props = {
                "pillow.format": str(image.format),
                "pillow.mode": image.mode,
                "pillow.width": str(w),
                "pillow.height": str(h),
            }
            if isinstance(image, TiffImagePlugin.TiffImageFile):
                tiled = TiffImagePlugin.TILEWIDTH in image.tag_v2
                props["pillow.tiff-tiled"] = "true" if tiled else "false"
            mpp = plausible_mpp(_tiff_mpp(image), path=self._path, source="TIFF resolution")
            if mpp is not None:
                props["pillow.mpp-x"], props["pillow.mpp-y"] = (repr(v) for v in mpp)
            self._meta = _Meta((w, h), str(image.format), types.MappingProxyType(props), mpp)
        return self._meta

    def _decoded(self, region: tuple[int, int, int, int, int]) -> NDArray[np.uint8]:
        """The whole image decoded as RGB, cached per process."""
        pid = os.getpid()
        with self._lock:
            if self._pixels is None or self._pid != pid:
                self._check_exists()
                try:
                    with _open_image(self._path) as image:
                        image.load()
                        self._pixels = _to_rgb(image)
                except UnsupportedSlideError:
                    raise
                except _DECODE_ERRORS as exc:
                    raise SlideReadError(
                        f"could not decode the pixels of {self._path} (reading region "
                        f"x={region[0]}, y={region[1]}, width={region[2]}, "
                        f"height={region[3]}): {exc}; the file is probably truncated or "
                        "corrupt",
                        path=self._path,
                        region=region,
                    ) from exc
                self._pid = pid
            return self._pixels

    def close(self) -> None:
        """Drop the decoded pixels (decoded again on next read)."""
        with self._lock:
            self._pixels = None
            self._pid = 0

    def __getstate__(self) -> dict[str, object]:
        return {"path": str(self._path), "max_pixels": self._max_pixels}

    def __setstate__(self, state: dict[str, object]) -> None:
        self._path = Path(str(state["path"]))
        max_pixels = state["max_pixels"]
        assert isinstance(max_pixels, int)
        self._max_pixels = max_pixels
        self._init_state()

    # --- the contract ------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The image file (absolute)."""
        return self._path

    @property
    def level_dimensions(self) -> tuple[tuple[int, int], ...]:
        """One level: the image size."""
        return (self._metadata().size,)

    @property
    def level_downsamples(self) -> tuple[float, ...]:
        """``(1.0,)``."""
        return (1.0,)

    @property
    def mpp(self) -> tuple[float, float] | None:
        """From TIFF resolution tags (unit inch or cm), else None.

        None too when the value is outside :data:`~wsi2rek.slides.PLAUSIBLE_MPP` (such as
        the 72 dpi many programs write by default); a warning says so on opening.
        """
        return self._metadata().mpp

    @property
    def vendor(self) -> str | None:
        """None: a plain image has no slide vendor (``properties`` has the format)."""
        return None

    @property
    def properties(self) -> Mapping[str, str]:
        """Metadata: ``pillow.format``, ``pillow.mode``, ``pillow.width``, ``pillow.height``.

        TIFFs add ``pillow.tiff-tiled`` (``"true"``/``"false"``); when the resolution is
        known, ``pillow.mpp-x`` and ``pillow.mpp-y`` are added too.
        """
        return self._metadata().properties

    @property
    def associated_images(self) -> tuple[str, ...]:
        """Always empty."""
        return ()

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
            RegionError: A size is zero or negative or ``level`` is not 0.
            SlideReadError: The image pixels could not be decoded (truncated file...).
        """
        region = check_region(x, y, width, height, level, source=self)
        xi, yi, wi, hi, _ = region
        pixels = self._decoded(region)
        img_h, img_w = pixels.shape[:2]
        out = np.full((hi, wi, 3), 255, dtype=np.uint8)
        sx0, sy0 = max(xi, 0), max(yi, 0)
        sx1, sy1 = min(xi + wi, img_w), min(yi + hi, img_h)
        if sx1 > sx0 and sy1 > sy0:
            out[sy0 - yi : sy1 - yi, sx0 - xi : sx1 - xi] = pixels[sy0:sy1, sx0:sx1]
        return out

    def thumbnail(self, max_size: int | tuple[int, int] = 1024) -> Image.Image:
        """An RGB thumbnail fitting in ``max_size``; JPEGs decode at reduced size (draft).

        Raises:
            SlideReadError: The image pixels could not be decoded.
        """
        size = _fit_size(max_size)
        if self._pixels is not None and self._pid == os.getpid():
            image = Image.fromarray(self._pixels)
        else:
            w, h = self._metadata().size
            region = (0, 0, w, h, 0)
            self._check_exists()
            try:
                with _open_image(self._path) as source:
                    # JPEG decodes at 1/2, 1/4 or 1/8 scale; other formats ignore draft
                    source.draft("RGB", size)
                    source.load()
                    image = Image.fromarray(_to_rgb(source))
            except UnsupportedSlideError:
                raise
            except _DECODE_ERRORS as exc:
                raise SlideReadError(
                    f"could not decode the pixels of {self._path} for a thumbnail: {exc}; "
                    "the file is probably truncated or corrupt",
                    path=self._path,
                    region=region,
                ) from exc
        image.thumbnail(size, Image.Resampling.LANCZOS)
        return image
