"""Cap the test split at the service's test-images-per-label quota.

Rekognition Custom Labels accepts at most
:attr:`~wsi2rek.rekognition.Quota.max_test_images_per_label` images per label in a test
dataset. :func:`cap_test_images` leaves out a seeded subsample of test patches so that no
label is on more than ``cap`` test images.

The rule (greedy, documented in the guide): the test patches, in plan order, are shuffled
with a generator seeded from ``numpy.random.SeedSequence(seed)`` (a stream of its own, so
the slides' samplers draw exactly as without a cap); walking that order, a patch is kept
only if none of its labels is already on ``cap`` kept test images, else it is left out. A
patch with several labels counts for each; a patch without boxes is always kept. Planning
runs in one process, so the selection does not depend on the build's worker count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import attrs
import numpy as np

from wsi2rek.errors import ParameterError
from wsi2rek.sampling._plan import PatchSpec, Skip, SkipReason

__all__ = ["TEST_CAP_REASON", "TestCap", "cap_test_images", "check_test_cap"]

TEST_CAP_REASON = SkipReason.TEST_CAP
"""The :class:`Skip` reason of a test patch left out by the cap."""

# spawn_key of the cap's own child of SeedSequence(seed): far above any slide index, so it
# never coincides with the per-slide streams (children 0..number of slides).
_STREAM = 0x7E57CA9


@attrs.frozen
class TestCap:
    """What the test cap left out.

    Attributes:
        kept: Every patch of the plan still in it (train patches untouched).
        dropped: Test patches left out, as skips with reason ``"test_cap"``.
        dropped_by_label: Label -> test patches left out that hold that label.
    """

    __test__ = False  # not a pytest test class

    kept: tuple[PatchSpec, ...]
    dropped: tuple[Skip, ...]
    dropped_by_label: dict[str, int]


def check_test_cap(value: object) -> int | None:
    """``value`` if it is a positive int or None, else a :class:`ParameterError`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ParameterError(
            f"max_test_images_per_label must be a positive int (at most this many test "
            f"images per label) or None (no cap), got {value!r}"
        )
    return int(value)


def _labels(patch: PatchSpec) -> set[str]:
    return {box.label for box in patch.boxes}


def cap_test_images(
    patches: Sequence[PatchSpec], cap: int | None, *, seed: int, labels: Sequence[str]
) -> TestCap:
    """Leave out test patches until no label is on more than ``cap`` test images.

    Args:
        patches: The plan's patches, in plan order.
        cap: Most test images per label; None keeps every patch.
        seed: The plan's seed.
        labels: The label names (for the order of ``dropped_by_label``).

    Returns:
        The patches kept (in their original order) and what was left out.
    """
    none = dict.fromkeys(labels, 0)
    test = [i for i, p in enumerate(patches) if p.split == "test"]
    per_label: Counter[str] = Counter()
    for i in test:
        per_label.update(_labels(patches[i]))
    if cap is None or all(n <= cap for n in per_label.values()):
        return TestCap(kept=tuple(patches), dropped=(), dropped_by_label=none)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_STREAM,)))
    order = [test[int(j)] for j in rng.permutation(len(test))]
    kept_count: Counter[str] = Counter()
    left_out: set[int] = set()
    for i in order:
        names = _labels(patches[i])
        if any(kept_count[n] >= cap for n in names):
            left_out.add(i)
        else:
            kept_count.update(names)
    by_label = Counter(n for i in left_out for n in _labels(patches[i]))
    dropped = tuple(
        Skip(
            reason=TEST_CAP_REASON,
            slide=patches[i].slide,
            detail=(
                f"test patch at ({int(patches[i].window.left)}, {int(patches[i].window.top)}) on "
                f"{patches[i].slide} left out: labels {sorted(_labels(patches[i]))} "
                f"already on {cap} test images (max_test_images_per_label)"
            ),
        )
        for i in sorted(left_out)
    )
    return TestCap(
        kept=tuple(p for i, p in enumerate(patches) if i not in left_out),
        dropped=dropped,
        dropped_by_label={label: by_label[label] for label in labels},
    )
