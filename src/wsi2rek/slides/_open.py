"""``open_slide``: pick the backend that can read a file."""

from __future__ import annotations

import os
from pathlib import Path

import openslide

from wsi2rek.errors import SlideNotFoundError, UnsupportedSlideError
from wsi2rek.slides._base import SlideSource
from wsi2rek.slides._openslide import OpenSlideSource
from wsi2rek.slides._pillow import DEFAULT_MAX_PIXELS, PillowSlideSource

__all__ = ["open_slide"]


def open_slide(
    path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> SlideSource:
    """Open a slide or plain image with the backend that reads it.

    OpenSlide is tried first and reads every format it recognises (Aperio SVS, Hamamatsu
    NDPI, MIRAX MRXS, generic tiled TIFF, ...). Files it does not recognise, such as plain
    PNG, JPEG and untiled TIFF images (e.g. the TUPAC high-power fields), go to Pillow.

    Example:
        >>> with open_slide("slide.svs") as slide:  # doctest: +SKIP
        ...     patch = slide.read_region(1000, 2000, 512, 512)  # (512, 512, 3) uint8

    Args:
        path: The slide or image file.
        max_pixels: Largest plain image (width x height) the Pillow backend decodes.

    Returns:
        An :class:`OpenSlideSource` or a :class:`PillowSlideSource`.

    Raises:
        SlideNotFoundError: ``path`` does not exist.
        UnsupportedSlideError: No backend can open the file; ``tried`` says why each
            declined.
    """
    p = Path(path)
    if not p.exists():
        raise SlideNotFoundError(
            f"slide file not found: {p.absolute()}; check the path (relative paths are "
            f"resolved from {Path.cwd()})",
            path=p,
        )
    if p.is_dir():
        raise UnsupportedSlideError(
            f"{p} is a folder, not a slide file; pass the slide file itself (for MIRAX, "
            "the .mrxs file next to its data folder)",
            path=p,
            tried=(),
        )
    if not p.is_file():
        # a named pipe, socket or device: opening it could block forever or consume it
        raise UnsupportedSlideError(
            f"{p} is not a regular file (a named pipe, socket or device); pass a slide file",
            path=p,
            tried=(),
        )
    tried: list[str] = []
    vendor = openslide.OpenSlide.detect_format(p)
    if vendor is not None:
        try:
            return OpenSlideSource(p)
        except UnsupportedSlideError as exc:
            # a damaged slide is reported as such, not half-read as a plain image
            tried.extend(f"{t} (detected as {vendor})" for t in exc.tried)
            tried.append(f"pillow: not tried, OpenSlide recognised the format ({vendor})")
            raise UnsupportedSlideError(
                f"cannot open {p.absolute()}: OpenSlide recognised the format ({vendor}) but "
                f"could not open it ({'; '.join(exc.tried)}). The file is probably "
                "truncated or corrupt: check that it (and, for MRXS/VMS, its companion "
                "files) was copied completely",
                path=p,
                tried=tuple(tried),
            ) from exc
    tried.append("openslide: format not recognised")
    detail = ""
    try:
        source = PillowSlideSource(p, max_pixels=max_pixels)
    except UnsupportedSlideError as exc:
        tried.extend(exc.tried)
        detail = f" Pillow said: {exc.message}."
    else:
        if source.properties.get("pillow.tiff-tiled") != "true":
            return source
        # OpenSlide reads every sound tiled TIFF; one it rejects is damaged or exotic, and
        # Pillow would decode its whole level 0 into memory: refuse rather than guess.
        tried.append("pillow: not used, a tiled TIFF that OpenSlide rejects is probably damaged")
    raise UnsupportedSlideError(
        f"cannot open {p.absolute()}: no backend reads it ({'; '.join(tried)}).{detail} "
        "wsi2rek reads what OpenSlide reads (SVS, NDPI, MRXS, tiled TIFF, ...) and plain "
        "PNG/JPEG/TIFF images",
        path=p,
        tried=tuple(tried),
    )
