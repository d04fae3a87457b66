"""Amazon S3 and Rekognition Custom Labels: upload datasets, train, evaluate, run, detect.

This is the only wsi2rek package that imports boto3. Every class takes an injected
client (typed with boto3-stubs) and creates one with botocore's standard retry mode only
when none is given; ``endpoint_url`` and ``region_name`` are honoured everywhere.
"""

from __future__ import annotations

from wsi2rek.aws._clients import (
    aws_error,
    error_code,
    make_rekognition_client,
    make_s3_client,
    parse_s3_uri,
    region_from_arn,
)
from wsi2rek.aws._evaluation import (
    EntryError,
    LabelMetrics,
    ModelEvaluation,
    TrainingFailedError,
    extract_entry_errors,
    parse_evaluation_summary,
)
from wsi2rek.aws._images import MAX_IMAGE_BYTES, EncodedImage, ImageInput, encode_for_detection
from wsi2rek.aws._manifests import rewrite_manifest
from wsi2rek.aws._model import CustomLabelsModel
from wsi2rek.aws._project import CustomLabelsProject, DatasetManifests, find_manifests
from wsi2rek.aws._s3 import METADATA_SHA256, S3Uploader, UploadFailure, UploadReport

__all__ = [
    "MAX_IMAGE_BYTES",
    "METADATA_SHA256",
    "CustomLabelsModel",
    "CustomLabelsProject",
    "DatasetManifests",
    "EncodedImage",
    "EntryError",
    "ImageInput",
    "LabelMetrics",
    "ModelEvaluation",
    "S3Uploader",
    "TrainingFailedError",
    "UploadFailure",
    "UploadReport",
    "aws_error",
    "encode_for_detection",
    "error_code",
    "extract_entry_errors",
    "find_manifests",
    "make_rekognition_client",
    "make_s3_client",
    "parse_evaluation_summary",
    "parse_s3_uri",
    "region_from_arn",
    "rewrite_manifest",
]
