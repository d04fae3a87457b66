"""What a detector returns, and the protocol every detector follows.

A :class:`Detection` is a labelled box with a confidence in percent (0-100, the scale
Amazon Rekognition uses). Its ``box`` is in the frame of the image the detector was
given; :func:`wsi2rek.detect_slide` maps it to level-0 slide pixels.

Any object with a ``detect(image)`` method that takes an RGB ``uint8`` array of shape
``(height, width, 3)`` and returns detections is a :class:`Detector`:
:class:`wsi2rek.aws.CustomLabelsModel`, the offline demo detector, or your own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import attrs
import numpy as np
from numpy.typing import NDArray

from wsi2rek.errors import ParameterError
from wsi2rek.geometry import Box

__all__ = ["Detection", "Detector", "RGBImage"]

RGBImage = NDArray[np.uint8]
"""An RGB image: a ``uint8`` array of shape ``(height, width, 3)``."""


def _confidence(_instance: object, _attribute: object, value: float) -> None:
    if not (math.isfinite(value) and 0.0 <= value <= 100.0):
        raise ParameterError(f"confidence must be in [0, 100] (percent), got {value!r}")


@attrs.frozen
class Detection:
    """One detected object: ``label``, ``confidence`` in percent, and ``box``."""

    label: str
    confidence: float = attrs.field(converter=float, validator=_confidence)
    box: Box


@runtime_checkable
class Detector(Protocol):
    """Anything that finds labelled boxes in an RGB image."""

    def detect(self, image: RGBImage, /) -> Sequence[Detection]:
        """Return the detections in ``image`` (boxes in the image's pixel frame)."""
        ...
