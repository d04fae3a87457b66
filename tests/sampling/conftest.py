"""Fixtures for the sampling tests: the public in-memory slide."""

from __future__ import annotations

import pytest

from wsi2rek.slides import ArraySlide


@pytest.fixture
def array_slide() -> type[ArraySlide]:
    """The :class:`~wsi2rek.slides.ArraySlide` class, to build in-memory slides in a test."""
    return ArraySlide
