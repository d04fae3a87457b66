"""Hypothesis settings in one place: the registered profiles and per-test example budgets.

Profiles (select one with ``--hypothesis-profile NAME`` or ``HYPOTHESIS_PROFILE=NAME``):

- ``wsi2rek`` (default): no per-example deadline, since a shared 2-core CI machine makes
  timings meaningless; 100 examples per test unless a test's budget says otherwise.
- ``mutation``: derandomized, so a mutation run (docs/contributing.md) kills the same
  mutants every time.
- ``thorough``: ten times the examples of every test, for a release check.

A test whose examples are costly (it writes a slide, plans a dataset) or cheap states its
budget with :func:`examples` instead of its own ``@settings(...)``: the budget is scaled
by the loaded profile, so ``thorough`` multiplies it by ten (a plain
``@settings(max_examples=40)`` would pin 40 under every profile).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

#: The ``max_examples`` of the default profile: budgets are given relative to it.
BASE_EXAMPLES = 100

settings.register_profile("wsi2rek", deadline=None, print_blob=True, max_examples=BASE_EXAMPLES)
settings.register_profile(
    "mutation",
    parent=settings.get_profile("wsi2rek"),
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", parent=settings.get_profile("wsi2rek"), max_examples=10 * BASE_EXAMPLES
)


def load_profile() -> None:
    """Load the profile named by ``HYPOTHESIS_PROFILE`` (default ``wsi2rek``).

    ``--hypothesis-profile`` on the pytest command line, applied by Hypothesis' plugin
    after this, wins.
    """
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "wsi2rek"))


def examples(
    n: int, *, function_scoped_fixtures: bool = False, slow_generation: bool = False
) -> settings:
    """A test's example budget: ``n`` under the default profile, scaled by the loaded one.

    Args:
        n: Examples under the default profile (100 would be no change).
        function_scoped_fixtures: The test takes a function-scoped fixture (e.g.
            ``tmp_path``) that is deliberately shared by its examples: silences that
            health check for this test only.
        slow_generation: The test's strategy is slow to draw from by design (large
            generated documents): silences the ``too_slow`` health check for this test.
    """
    current = settings()  # the loaded profile
    scale = current.max_examples / BASE_EXAMPLES
    checks = [HealthCheck.function_scoped_fixture] if function_scoped_fixtures else []
    checks += [HealthCheck.too_slow] if slow_generation else []
    return settings(
        max_examples=max(1, round(n * scale)),
        suppress_health_check=[*current.suppress_health_check, *checks],
    )
