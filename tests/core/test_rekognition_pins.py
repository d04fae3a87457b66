"""Pins of the training-rescale rule of wsi2rek.rekognition (issue 15, mutation testing).

tm-debugging-json-line-errors.md (ERROR_BOUNDING_BOX_TOO_SMALL) in the Amazon Rekognition
Custom Labels developer guide: "During training, Amazon Rekognition Custom Labels resizes
an image if any of its dimensions are greater than 1280 pixels ... The resulting bounding
box heights and widths must be greater than 1 x 1 pixels."
"""

from __future__ import annotations

import attrs

from wsi2rek.rekognition import QUOTA, box_survives_rescale, training_scale


def test_an_image_without_pixels_is_not_rescaled() -> None:
    """A 0 x 0 image_size (reported as a dimension error) must not divide by zero."""
    assert training_scale(0, 0) == 1.0


def test_an_image_of_1280_px_is_not_rescaled() -> None:
    assert training_scale(1280, 64) == 1.0
    assert training_scale(64, 1281) == 1280 / 1281


def test_a_box_1_px_high_after_the_rescale_is_too_small() -> None:
    """A 2560 px wide image is halved: a 2 px high box becomes exactly 1 px, which is not
    "greater than 1"; 3 px (1.5 px after) survives."""
    assert not box_survives_rescale(40, 2, 2560, 512)
    assert box_survives_rescale(40, 3, 2560, 512)


def test_the_rescale_uses_the_quota_given() -> None:
    """With a training long side of 640 px a 1280 px image is halved too."""
    quota = attrs.evolve(QUOTA, training_long_side=640)
    assert box_survives_rescale(2, 2, 1280, 1280)
    assert not box_survives_rescale(2, 2, 1280, 1280, quota)
    assert training_scale(1280, 1280, quota) == 0.5
