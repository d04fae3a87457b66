"""Split slides (never patches) into train and test sets."""

from __future__ import annotations

import enum
import math
from collections.abc import Collection, Sequence

import attrs
import numpy as np

from wsi2rek.errors import ParameterError, SamplingError
from wsi2rek.sampling._plan import Split

__all__ = ["SlideSplit", "SplitMode", "split_slides"]


class SplitMode(enum.StrEnum):
    """How :func:`split_slides` chose the test slides: ``params["split"]["mode"]`` of a plan.

    ``docs/guide/sampling.md`` explains each (a test checks it covers this list).
    """

    #: ``test_slides`` named them.
    EXPLICIT = "explicit"
    #: ``test_fraction`` drew them with the plan's seed.
    FRACTION = "fraction"
    #: Neither was given: every slide is train.
    ALL_TRAIN = "all_train"


def _mode(value: str) -> SplitMode:
    try:
        return SplitMode(value)
    except ValueError:
        known = ", ".join(repr(m.value) for m in SplitMode)
        raise ParameterError(f"SlideSplit mode must be one of {known}, got {value!r}") from None


@attrs.frozen
class SlideSplit:
    """Which slide goes to which split, and how that was decided.

    Attributes:
        train: Slide names in the training split, sorted.
        test: Slide names in the test split, sorted.
        mode: How the test slides were chosen (a :class:`SplitMode`; a string is
            converted, and an unknown one is a :class:`~wsi2rek.errors.ParameterError`).
        note: Anything the user should know (e.g. one slide cannot be split).
    """

    train: tuple[str, ...]
    test: tuple[str, ...]
    mode: SplitMode = attrs.field(converter=_mode)
    note: str = ""

    def of(self, slide: str) -> Split:
        """The split of ``slide``."""
        return "test" if slide in self.test else "train"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        data: dict[str, object] = {
            "mode": self.mode.value,
            "train": list(self.train),
            "test": list(self.test),
        }
        if self.note:
            data["note"] = self.note
        return data


def split_slides(
    slides: Collection[str],
    *,
    test_slides: Sequence[str] | None = None,
    test_fraction: float | None = None,
    rng: np.random.Generator | None = None,
) -> SlideSplit:
    """Assign each slide to ``"train"`` or ``"test"``; a slide is never in both.

    Args:
        slides: Slide names (file names) to split.
        test_slides: Names (already resolved to entries of ``slides``) for the test split.
        test_fraction: Fraction of slides (0 < f < 1) drawn for the test split with
            ``rng``: ``round(f * n)`` slides, but at least one on each side when there are
            two or more slides. A single slide stays in train (see ``note``).
        rng: Generator for ``test_fraction`` (required with it).

    Returns:
        The split. Without ``test_slides`` and ``test_fraction`` every slide is train
        (``SplitMode.ALL_TRAIN``).

    Raises:
        SamplingError: when both options are given, the fraction is out of range, or a
            test slide is not among ``slides``.
    """
    names = sorted(set(slides))
    if test_slides is not None and test_fraction is not None:
        raise SamplingError(
            "give either test_slides (a list of slide file names) or test_fraction, not both"
        )
    if test_slides is not None:
        wanted = sorted(set(test_slides))
        missing = [s for s in wanted if s not in names]
        if missing:
            raise SamplingError(
                f"test slide(s) {missing} are not among the slides being planned {names}; "
                "check the names or the slides folder"
            )
        chosen = set(wanted)
        return SlideSplit(
            train=tuple(n for n in names if n not in chosen),
            test=tuple(wanted),
            mode=SplitMode.EXPLICIT,
        )
    if test_fraction is None:
        return SlideSplit(train=tuple(names), test=(), mode=SplitMode.ALL_TRAIN)
    if not (math.isfinite(test_fraction) and 0.0 < test_fraction < 1.0):
        raise SamplingError(
            f"test_fraction must be strictly between 0 and 1, got {test_fraction}; use "
            "test_slides to choose slides by name"
        )
    if rng is None:
        raise SamplingError("split_slides needs a seeded rng with test_fraction")
    if len(names) < 2:
        return SlideSplit(
            train=tuple(names),
            test=(),
            mode=SplitMode.FRACTION,
            note=f"{len(names)} slide(s) cannot be split by slide: everything is train",
        )
    n_test = min(max(round(test_fraction * len(names)), 1), len(names) - 1)
    order = rng.permutation(len(names))
    test = {names[i] for i in order[:n_test]}
    return SlideSplit(
        train=tuple(n for n in names if n not in test),
        test=tuple(sorted(test)),
        mode=SplitMode.FRACTION,
    )
