"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.hypothesis_profiles import load_profile

# The Hypothesis profiles and example budgets live in tests/hypothesis_profiles.py.
load_profile()

REPO = Path(__file__).resolve().parents[1]


def _shared_sliderunner_dir() -> Path:
    env = os.environ.get("WSI2REK_SHARED_DATA")
    base = Path(env) if env else REPO.parent / "shared" / "data"
    return base / "sliderunner"


@pytest.fixture(scope="session")
def sliderunner_dir() -> Path:
    """Folder with the real SlideRunner databases (read-only; copy before writing)."""
    path = _shared_sliderunner_dir()
    if not (path / "TUPAC_AL.sqlite").is_file():
        pytest.skip(
            f"real SlideRunner databases not found in {path}; set WSI2REK_SHARED_DATA to the "
            "folder holding sliderunner/"
        )
    return path
