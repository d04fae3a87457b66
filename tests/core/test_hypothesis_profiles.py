"""The example budgets of tests/hypothesis_profiles.py follow the loaded profile."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests.hypothesis_profiles import BASE_EXAMPLES, examples


@pytest.fixture
def restore_profile() -> Iterator[None]:
    name = settings.get_current_profile_name()
    yield
    settings.load_profile(name)


@pytest.mark.usefixtures("restore_profile")
def test_budget_is_as_given_under_the_default_profile() -> None:
    settings.load_profile("wsi2rek")
    assert settings().max_examples == BASE_EXAMPLES
    assert examples(40).max_examples == 40


@pytest.mark.usefixtures("restore_profile")
def test_thorough_profile_multiplies_every_budget_by_ten() -> None:
    """A plain @settings(max_examples=40) would stay at 40 here."""
    settings.load_profile("thorough")
    assert examples(40).max_examples == 400
    assert examples(1).max_examples == 10


@pytest.mark.usefixtures("restore_profile")
def test_health_check_suppressions_are_per_budget_and_keep_the_profiles() -> None:
    settings.load_profile("mutation")
    plain = examples(10)
    shared = examples(10, function_scoped_fixtures=True)
    assert HealthCheck.too_slow in plain.suppress_health_check  # from the profile
    assert HealthCheck.function_scoped_fixture not in plain.suppress_health_check
    assert HealthCheck.function_scoped_fixture in shared.suppress_health_check
    assert plain.derandomize
