"""``open_slide``: pick the backend that can read a file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import openslide

from wsi2rek.errors import (
    ImageTooLargeError,
    ParameterError,
    SlideNotFoundError,
    UnsupportedSlideError,
)
from wsi2rek.slides._base import SlideSource
from wsi2rek.slides._openslide import OpenSlideSource
from wsi2rek.slides._pillow import PillowSlideSource

__all__ = ["BACKENDS", "Backend", "open_slide"]

Backend = Literal["auto", "openslide", "tifffile", "pillow"]
#: The values ``open_slide(backend=...)`` and the CLI's ``--backend`` accept.
BACKENDS: tuple[Backend, ...] = ("auto", "openslide", "tifffile", "pillow")
#: OpenSlide formats whose tile layout the tifffile backend can follow exactly.
_TIFF_VENDORS = ("aperio", "generic-tiff")


def open_slide(
    path: str | os.PathLike[str],
    *,
    max_pixels: int | None = None,
    backend: Backend | str = "auto",
) -> SlideSource:
    """Open a slide or plain image with the backend that reads it.

    With ``backend="auto"`` OpenSlide decides what the file is and reads every format it
    recognises (Aperio SVS, Hamamatsu NDPI, MIRAX MRXS, DICOM, generic tiled TIFF, ...).
    An Aperio SVS or generic tiled TIFF (including OME-TIFF) whose level 0 the tifffile
    backend decodes exactly (JPEG, LZW, Deflate or uncompressed 8-bit RGB tiles) goes to
    :class:`~wsi2rek.slides.TiffSlideSource` instead: the same pixels, several times
    faster, and all levels of a pyramidal OME-TIFF. Files OpenSlide does not recognise,
    such as plain PNG, JPEG and untiled TIFF images (e.g. the TUPAC high-power fields), go
    to Pillow. A DICOM WSI folder is opened through one of its ``.dcm`` files.

    Example:
        >>> with open_slide("slide.svs") as slide:  # doctest: +SKIP
        ...     patch = slide.read_region(1000, 2000, 512, 512)  # (512, 512, 3) uint8

    Args:
        path: The slide or image file.
        max_pixels: Largest plain image (width x height) the Pillow backend decodes,
            since it decodes them whole. Default: the ``WSI2REK_MAX_IMAGE_PIXELS``
            environment variable, else :data:`~wsi2rek.slides.DEFAULT_MAX_PIXELS` (2**28).
        backend: ``"auto"`` (default), or force ``"openslide"``, ``"tifffile"`` or
            ``"pillow"``; a forced backend that cannot read the file raises.

    Returns:
        An :class:`OpenSlideSource`, :class:`TiffSlideSource` or
        :class:`PillowSlideSource`.

    Raises:
        SlideNotFoundError: ``path`` does not exist.
        ImageTooLargeError: A plain image has more than ``max_pixels`` pixels.
        UnsupportedSlideError: No backend can open the file (or the forced one cannot);
            ``tried`` says why each declined.
        ParameterError: ``backend`` is not one of :data:`BACKENDS`.
    """
    if backend not in BACKENDS:
        raise ParameterError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    p = _slide_file(Path(path))
    if backend in ("pillow", "tifffile"):
        return _forced(p, backend, max_pixels)
    tried: list[str] = []
    vendor = openslide.OpenSlide.detect_format(p)
    if vendor in _TIFF_VENDORS and backend == "auto":
        from wsi2rek.slides._tifffile import TiffSlideSource  # noqa: PLC0415 (lazy: tifffile)

        try:
            return TiffSlideSource(p)
        except UnsupportedSlideError:
            pass  # not a layout it decodes exactly (or a damaged file): OpenSlide decides
    if vendor is not None or backend == "openslide":
        try:
            return OpenSlideSource(p)
        except UnsupportedSlideError as exc:
            # a damaged slide is reported as such, not half-read as a plain image
            tried.extend(f"{t} (detected as {vendor})" for t in exc.tried)
            tried.append(f"pillow: not tried, OpenSlide recognised the format ({vendor})")
            if vendor is None:  # forced, and OpenSlide does not know the format
                raise
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
    except ImageTooLargeError:
        raise  # its own message says what to do
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


def _slide_file(p: Path) -> Path:
    """The file to open: ``p`` itself, or a ``.dcm`` file of a DICOM folder."""
    if not p.exists():
        raise SlideNotFoundError(
            f"slide file not found: {p.absolute()}; check the path (relative paths are "
            f"resolved from {Path.cwd()})",
            path=p,
        )
    if p.is_dir():
        p = _dicom_file(p)
    if not p.is_file():
        # a named pipe, socket or device: opening it could block forever or consume it
        raise UnsupportedSlideError(
            f"{p} is not a regular file (a named pipe, socket or device); pass a slide file",
            path=p,
            tried=(),
        )
    return p


def _forced(path: Path, backend: str, max_pixels: int | None) -> SlideSource:
    if backend == "pillow":
        return PillowSlideSource(path, max_pixels=max_pixels)
    from wsi2rek.slides._tifffile import TiffSlideSource  # noqa: PLC0415 (lazy: tifffile)

    return TiffSlideSource(path)


def _dicom_file(folder: Path) -> Path:
    """The first ``.dcm`` file of a DICOM WSI folder that OpenSlide reads as one.

    OpenSlide opens the whole series from any of its files (it finds the other levels in
    the same folder by their Series Instance UID), so the first one in name order that it
    detects as ``dicom`` stands for the slide; other DICOM files in the folder (a
    different kind of image) are passed over.
    """
    files = sorted(f for f in folder.iterdir() if f.suffix.lower() == ".dcm" and f.is_file())
    if not files:
        raise UnsupportedSlideError(
            f"{folder} is a folder without .dcm files, not a slide; pass the slide file "
            "itself (for MIRAX, the .mrxs file next to its data folder) or a DICOM WSI "
            "folder",
            path=folder,
            tried=("dicom: no .dcm file in the folder",),
        )
    for file in files:
        if openslide.OpenSlide.detect_format(file) == "dicom":
            return file
    raise UnsupportedSlideError(
        f"{folder} holds {len(files)} .dcm file(s) but none is a DICOM whole-slide image "
        f"that OpenSlide reads (e.g. {files[0].name}); pass a folder of a VL Whole Slide "
        "Microscopy Image series (SOP class 1.2.840.10008.5.1.4.1.1.77.1.6)",
        path=folder,
        tried=(f"dicom: OpenSlide does not detect {len(files)} .dcm file(s) as DICOM WSI",),
    )
