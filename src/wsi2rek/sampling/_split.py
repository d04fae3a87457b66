"""Split slides (never patches) into train and test sets."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import attrs
import numpy as np

from wsi2rek.errors import SamplingError
from wsi2rek.sampling._plan import Split

__all__ = ["SlideSplit", "split_slides"]


@attrs.frozen
class SlideSplit:
    """Which slide goes to which split, and how that was decided.

    Attributes:
        train: Slide names in the training split, sorted.
        test: Slide names in the test split, sorted.
        mode: ``"explicit"`` (a list of test slides), ``"fraction"`` (a seeded fraction)
            or ``"all_train"`` (neither was given).
        note: Anything the user should know (e.g. one slide cannot be split).
    """

    train: tuple[str, ...]
    test: tuple[str, ...]
    mode: str
    note: str = ""

    def of(self, slide: str) -> Split:
        """The split of ``slide``."""
        return "test" if slide in self.test else "train"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        data: dict[str, object] = {
            "mode": self.mode,
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
        (``mode="all_train"``).

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
            mode="explicit",
        )
    if test_fraction is None:
        return SlideSplit(train=tuple(names), test=(), mode="all_train")
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
            mode="fraction",
            note=f"{len(names)} slide(s) cannot be split by slide: everything is train",
        )
    n_test = min(max(round(test_fraction * len(names)), 1), len(names) - 1)
    order = rng.permutation(len(names))
    test = {names[i] for i in order[:n_test]}
    return SlideSplit(
        train=tuple(n for n in names if n not in test),
        test=tuple(sorted(test)),
        mode="fraction",
    )
