"""Dataset execution: build images and manifests from a plan, validate, preview.

:func:`build_dataset` executes a :class:`~wsi2rek.sampling.PatchPlan` into a folder that
Amazon Rekognition Custom Labels accepts as object-detection training and test sets;
:class:`Manifest` reads, writes and validates Ground Truth manifests; and
:func:`write_previews` draws where the patches came from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wsi2rek._lazy import lazy_exports

if TYPE_CHECKING:
    from wsi2rek.dataset._build import DATASET_FORMAT, build_dataset, manifest_line
    from wsi2rek.dataset._coco import export_coco
    from wsi2rek.dataset._encode import ImageOptions, encode_patch
    from wsi2rek.dataset._imageinfo import image_info
    from wsi2rek.dataset._linecheck import Issue
    from wsi2rek.dataset._manifest import (
        DEFAULT_CREATION_DATE,
        BoxRecord,
        Manifest,
        ManifestLine,
    )
    from wsi2rek.dataset._preview import scale_bar, write_previews
    from wsi2rek.dataset._summary import DatasetSummary
    from wsi2rek.dataset._validate import (
        DEFAULT_ATTRIBUTE,
        DatasetReport,
        Limits,
        ValidationReport,
        validate_dataset,
        validate_manifest,
    )

__all__ = [
    "DATASET_FORMAT",
    "DEFAULT_ATTRIBUTE",
    "DEFAULT_CREATION_DATE",
    "BoxRecord",
    "DatasetReport",
    "DatasetSummary",
    "ImageOptions",
    "Issue",
    "Limits",
    "Manifest",
    "ManifestLine",
    "ValidationReport",
    "build_dataset",
    "encode_patch",
    "export_coco",
    "image_info",
    "manifest_line",
    "scale_bar",
    "validate_dataset",
    "validate_manifest",
    "write_previews",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BoxRecord": "wsi2rek.dataset._manifest",
        "DATASET_FORMAT": "wsi2rek.dataset._build",
        "DEFAULT_ATTRIBUTE": "wsi2rek.dataset._validate",
        "DEFAULT_CREATION_DATE": "wsi2rek.dataset._manifest",
        "DatasetSummary": "wsi2rek.dataset._summary",
        "ImageOptions": "wsi2rek.dataset._encode",
        "Issue": "wsi2rek.dataset._linecheck",
        "Limits": "wsi2rek.dataset._validate",
        "Manifest": "wsi2rek.dataset._manifest",
        "ManifestLine": "wsi2rek.dataset._manifest",
        "ValidationReport": "wsi2rek.dataset._validate",
        "DatasetReport": "wsi2rek.dataset._validate",
        "validate_dataset": "wsi2rek.dataset._validate",
        "build_dataset": "wsi2rek.dataset._build",
        "encode_patch": "wsi2rek.dataset._encode",
        "export_coco": "wsi2rek.dataset._coco",
        "image_info": "wsi2rek.dataset._imageinfo",
        "manifest_line": "wsi2rek.dataset._build",
        "validate_manifest": "wsi2rek.dataset._validate",
        "write_previews": "wsi2rek.dataset._preview",
        "scale_bar": "wsi2rek.dataset._preview",
    },
)
