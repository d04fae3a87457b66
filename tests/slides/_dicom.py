"""A writer of small DICOM whole-slide images, for tests only (pydicom, a dev dependency).

Each pyramid level is one VL Whole Slide Microscopy Image instance (SOP class
1.2.840.10008.5.1.4.1.1.77.1.6, DICOM PS3.3 A.32.8, from Supplement 145), tiled
``TILED_FULL`` (frames in row-major order), each frame a baseline JPEG (transfer syntax
1.2.840.10008.1.2.4.50, photometric interpretation ``YBR_FULL_422``), all levels sharing
one Series Instance UID. These are the attributes OpenSlide 4's DICOM driver
(``src/openslide-vendor-dicom.c``: ``maybe_add_file``, ``add_level_file``,
``finalize_level``) reads and checks: ``ImageType`` value 3 ``VOLUME``, the transfer
syntax, ``PlanarConfiguration`` 0, 8-bit samples, 3 samples per pixel, one focal plane,
``SOPInstanceUID``, ``TotalPixelMatrixColumns``/``Rows`` and the tile size in
``Columns``/``Rows``; the pixel spacing of ``SharedFunctionalGroupsSequence`` /
``PixelMeasuresSequence`` gives ``openslide.mpp-x``/``-y``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import UID, JPEGBaseline8Bit, generate_uid

VL_WSI = UID("1.2.840.10008.5.1.4.1.1.77.1.6")
#: Secondary Capture Image Storage: a DICOM image that is not a whole-slide image
SECONDARY_CAPTURE = UID("1.2.840.10008.5.1.4.1.1.7")


def _frames(level: NDArray[np.uint8], tile: int) -> list[bytes]:
    """The level cut into ``tile`` px JPEG frames, row by row; edge tiles padded white."""
    height, width, _ = level.shape
    frames = []
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            frame = np.full((tile, tile, 3), 255, np.uint8)
            part = level[top : top + tile, left : left + tile]
            frame[: part.shape[0], : part.shape[1]] = part
            buffer = io.BytesIO()
            # subsampling=1 is 4:2:2, what YBR_FULL_422 declares
            Image.fromarray(frame).save(buffer, "JPEG", quality=90, subsampling=1)
            frames.append(buffer.getvalue())
    return frames


def _instance(sop_class: UID, series: str, study: str) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.PlanarConfiguration = 0
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.LossyImageCompression = "01"
    return ds


def write_dicom_wsi(
    folder: Path,
    levels: Sequence[NDArray[np.uint8]],
    *,
    tile: int = 256,
    mpp: float = 0.25,
    names: Sequence[str] | None = None,
) -> list[Path]:
    """Write one ``.dcm`` per level of ``levels`` (level 0 first) into ``folder``.

    Returns:
        The files written, level 0 first (named ``names`` or ``level<N>.dcm``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    series, study, frame_of_reference = generate_uid(), generate_uid(), generate_uid()
    written = []
    for n, level in enumerate(levels):
        height, width, _ = level.shape
        downsample = levels[0].shape[1] / width
        ds = _instance(VL_WSI, series, study)
        ds.FrameOfReferenceUID = frame_of_reference
        ds.Modality = "SM"
        ds.InstanceNumber = n + 1
        ds.ImageType = (
            ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
            if n == 0
            else ["DERIVED", "PRIMARY", "VOLUME", "RESAMPLED"]
        )
        frames = _frames(level, tile)
        ds.Rows = tile
        ds.Columns = tile
        ds.NumberOfFrames = len(frames)
        ds.TotalPixelMatrixColumns = width
        ds.TotalPixelMatrixRows = height
        ds.TotalPixelMatrixFocalPlanes = 1
        ds.DimensionOrganizationType = "TILED_FULL"
        ds.NumberOfOpticalPaths = 1
        path = Dataset()
        path.OpticalPathIdentifier = "1"
        ds.OpticalPathSequence = [path]
        measures = Dataset()
        spacing = mpp * downsample / 1000  # mm per pixel, row then column
        measures.PixelSpacing = [spacing, spacing]
        measures.SliceThickness = 0
        shared = Dataset()
        shared.PixelMeasuresSequence = [measures]
        ds.SharedFunctionalGroupsSequence = [shared]
        ds.PixelData = encapsulate(frames)
        ds["PixelData"].VR = "OB"
        target = folder / (names[n] if names else f"level{n}.dcm")
        ds.save_as(target, enforce_file_format=True)
        written.append(target)
    return written


def write_secondary_capture(target: Path, image: NDArray[np.uint8]) -> Path:
    """A valid DICOM image of another kind (Secondary Capture), one JPEG frame."""
    ds = _instance(SECONDARY_CAPTURE, generate_uid(), generate_uid())
    ds.Modality = "OT"
    ds.Rows, ds.Columns = image.shape[:2]
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=90, subsampling=1)
    ds.PixelData = encapsulate([buffer.getvalue()])
    ds["PixelData"].VR = "OB"
    target.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(target, enforce_file_format=True)
    return target


def decode_level(file: Path, width: int, height: int, tile: int) -> NDArray[np.uint8]:
    """A level rebuilt from its JPEG frames by Pillow: the pixels the file holds."""
    ds = dcmread(file)
    across = -(-width // tile)
    out = np.zeros((-(-height // tile) * tile, across * tile, 3), np.uint8)
    for i, frame in enumerate(generate_frames(ds.PixelData, number_of_frames=ds.NumberOfFrames)):
        row, col = divmod(i, across)
        tile_rgb = np.asarray(Image.open(io.BytesIO(frame)).convert("RGB"))
        out[row * tile : (row + 1) * tile, col * tile : (col + 1) * tile] = tile_rgb
    return out[:height, :width]
