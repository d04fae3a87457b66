"""Amazon S3 and Rekognition Custom Labels: upload datasets, train, evaluate, run, detect.

This is the only wsi2rek package that imports boto3. Every class takes an injected
client (typed with boto3-stubs) and creates one with botocore's standard retry mode only
when none is given; ``endpoint_url`` and ``region_name`` are honoured everywhere.
"""

from __future__ import annotations

from wsi2rek.aws._clients import make_rekognition_client, make_s3_client, parse_s3_uri
from wsi2rek.aws._s3 import S3Uploader, UploadFailure, UploadReport

__all__ = [
    "S3Uploader",
    "UploadFailure",
    "UploadReport",
    "make_rekognition_client",
    "make_s3_client",
    "parse_s3_uri",
]
