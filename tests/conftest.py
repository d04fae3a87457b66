"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# One place for Hypothesis settings (select one with --hypothesis-profile NAME):
# - "wsi2rek" (default): no per-example deadline, since a shared 2-core CI machine makes
#   timings meaningless; tests choose max_examples where their examples are costly.
# - "mutation": derandomized, so a mutation run (docs/contributing.md) kills the same
#   mutants every time.
# - "thorough": ten times the examples, for a release check.
settings.register_profile("wsi2rek", deadline=None, print_blob=True)
settings.register_profile(
    "mutation",
    parent=settings.get_profile("wsi2rek"),
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", parent=settings.get_profile("wsi2rek"), max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "wsi2rek"))

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
