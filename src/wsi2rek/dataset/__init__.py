"""Dataset execution: build images and manifests from a plan, validate, preview.

:func:`build_dataset` executes a :class:`~wsi2rek.sampling.PatchPlan` into a folder that
Amazon Rekognition Custom Labels accepts as object-detection training and test sets;
:class:`Manifest` reads, writes and validates Ground Truth manifests; and
:func:`write_previews` draws where the patches came from.
"""

from __future__ import annotations

from wsi2rek.dataset._build import DATASET_FORMAT, build_dataset, manifest_line
from wsi2rek.dataset._encode import ImageOptions, encode_image
from wsi2rek.dataset._manifest import (
    DEFAULT_ATTRIBUTE,
    DEFAULT_CREATION_DATE,
    BoxRecord,
    Manifest,
    ManifestLine,
)
from wsi2rek.dataset._preview import write_previews
from wsi2rek.dataset._summary import DatasetSummary
from wsi2rek.dataset._validate import Issue, Limits, ValidationReport, image_info, validate_manifest

__all__ = [
    "DATASET_FORMAT",
    "DEFAULT_ATTRIBUTE",
    "DEFAULT_CREATION_DATE",
    "BoxRecord",
    "DatasetSummary",
    "ImageOptions",
    "Issue",
    "Limits",
    "Manifest",
    "ManifestLine",
    "ValidationReport",
    "build_dataset",
    "encode_image",
    "image_info",
    "manifest_line",
    "validate_manifest",
    "write_previews",
]
