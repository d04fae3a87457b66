"""A FAKE Amazon Rekognition Custom Labels HTTP server, for tests only.

This is not Rekognition and trains nothing. It speaks the same wire protocol (AWS JSON
1.1, ``X-Amz-Target: RekognitionService.<Operation>``) so that real boto3 clients,
their retry logic and wsi2rek's own polling loops can be tested over real HTTP without
an AWS account and without cost. What it does:

- Validates every request body against botocore's service model for Rekognition
  (``botocore.validate.ParamValidator`` on the operation's input shape); an invalid body
  gets ``400 ValidationException`` with botocore's own report, as the service would.
- Keeps projects, datasets and model versions in memory and walks them through their
  states (``CREATE_IN_PROGRESS`` -> ``CREATE_COMPLETE``; ``TRAINING_IN_PROGRESS`` ->
  ``TRAINING_COMPLETED``; ``STARTING`` -> ``RUNNING``; ``STOPPING`` -> ``STOPPED``;
  ``COPYING_IN_PROGRESS`` -> ``COPYING_COMPLETED``) after configurable, short durations.
- Can be told to fail the next training or dataset import (with status messages and
  per-entry errors), and to fail the next N calls of any operation in a chosen way
  (:meth:`FakeRekognitionServer.inject`: throttling, 5xx, a dropped connection, a
  response lost after the request was applied, a read timeout).
- Answers ``DetectCustomLabels`` with canned labels (:meth:`set_detections`), only for a
  ``RUNNING`` model, and rejects payloads over 4 MB or that are neither PNG nor JPEG.

Usage::

    import boto3
    from wsi2rek.testing.fake_rekognition import FakeRekognitionServer

    with FakeRekognitionServer(training_seconds=0.1) as fake:
        client = boto3.client(
            "rekognition", endpoint_url=fake.endpoint_url, region_name="us-east-1",
            aws_access_key_id="x", aws_secret_access_key="x",
        )
        arn = client.create_project(ProjectName="demo")["ProjectArn"]

The server binds 127.0.0.1 on a free port and runs in a daemon thread. Operations not
listed in :attr:`FakeRekognitionServer.OPERATIONS` answer ``UnknownOperationException``.
"""

from __future__ import annotations

from wsi2rek.testing.fake_rekognition._server import FakeRekognitionServer
from wsi2rek.testing.fake_rekognition._state import RecordedRequest

__all__ = ["FakeRekognitionServer", "RecordedRequest"]
