from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hypothesis_profiles import examples
from wsi2rek.errors import ParameterError, SamplingError
from wsi2rek.sampling import SlideSplit, SplitMode, split_slides

names = st.lists(st.text("abcdef0123", min_size=1, max_size=6), min_size=0, max_size=30)


@examples(80)
@given(slides=names, fraction=st.floats(0.01, 0.99), seed=st.integers(0, 2**32 - 1))
def test_fraction_split_is_disjoint_complete_and_seeded(
    slides: list[str], fraction: float, seed: int
) -> None:
    split = split_slides(slides, test_fraction=fraction, rng=np.random.default_rng(seed))
    assert set(split.train).isdisjoint(split.test)
    assert set(split.train) | set(split.test) == set(slides)
    if len(set(slides)) >= 2:
        assert split.train
        assert split.test
    again = split_slides(
        list(reversed(slides)), test_fraction=fraction, rng=np.random.default_rng(seed)
    )
    assert again == split  # input order does not matter


def test_fraction_rounds_and_keeps_one_each_side() -> None:
    slides = [f"s{i}.svs" for i in range(10)]
    rng = np.random.default_rng(0)
    assert len(split_slides(slides, test_fraction=0.3, rng=rng).test) == 3
    assert len(split_slides(slides, test_fraction=0.01, rng=rng).test) == 1
    assert len(split_slides(slides, test_fraction=0.99, rng=rng).test) == 9


def test_single_slide_stays_train_with_a_note() -> None:
    split = split_slides(["a.svs"], test_fraction=0.5, rng=np.random.default_rng(0))
    assert split.train == ("a.svs",)
    assert "cannot be split" in split.note
    assert split.to_dict()["note"] == split.note


def test_explicit_split() -> None:
    split = split_slides(["b", "a", "c"], test_slides=["c", "a"])
    assert split.train == ("b",)
    assert split.test == ("a", "c")
    assert split.of("a") == "test"
    assert split.of("b") == "train"
    assert split.mode is SplitMode.EXPLICIT


def test_neither_option_is_all_train() -> None:
    split = split_slides(["b", "a"])
    assert split.train == ("a", "b")
    assert split.mode is SplitMode.ALL_TRAIN
    assert split.to_dict()["mode"] == "all_train"


def test_a_fraction_split_says_so_even_for_one_slide() -> None:
    """One slide cannot be split: mode is still FRACTION, with a note saying why."""
    split = split_slides(["a"], test_fraction=0.5, rng=np.random.default_rng(0))
    assert (split.mode, split.test) == (SplitMode.FRACTION, ())
    assert "cannot be split" in split.note


def test_split_mode_strings_convert_and_unknown_ones_are_refused() -> None:
    """``SlideSplit(mode="explicit")`` (a plan's JSON value) is the enum member."""
    assert SlideSplit(("a",), ("b",), "explicit").mode is SplitMode.EXPLICIT
    with pytest.raises(ParameterError, match=r"one of 'explicit', 'fraction', 'all_train'"):
        SlideSplit(("a",), (), "random")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"test_slides": ["a"], "test_fraction": 0.5}, "not both"),
        ({"test_slides": ["zz"]}, r"\['zz'\] are not among"),
        ({"test_fraction": 1.0}, "strictly between 0 and 1"),
        ({"test_fraction": 0.0}, "strictly between 0 and 1"),
        ({"test_fraction": 0.5}, "seeded rng"),
    ],
)
def test_split_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(SamplingError, match=match):
        split_slides(["a", "b"], **kwargs)  # type: ignore[arg-type]
