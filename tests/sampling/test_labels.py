from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hypothesis_profiles import examples
from wsi2rek.errors import LabelMapError
from wsi2rek.labels import LabelMap


def test_parse_cli_specs_keeps_order_and_ids() -> None:
    lm = LabelMap.parse(["mitotic figure=2", "look-alike=1,7"])
    assert lm.labels == ("mitotic figure", "look-alike")
    assert lm.class_ids("look-alike") == (1, 7)
    assert lm.label_for(7) == "look-alike"
    assert lm.label_for(3) is None
    assert lm.label_for(None) is None
    assert lm.all_class_ids == (1, 2, 7)
    assert lm.to_dict() == {"mitotic figure": [2], "look-alike": [1, 7]}


def test_parse_uses_the_last_equals_sign_and_merges_repeats() -> None:
    lm = LabelMap.parse(["a=b=1", "a=b=2", " x = 3 , 4 "])
    assert lm.mapping == {"a=b": (1, 2), "x": (3, 4)}


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("mitosis", "LABEL=ID"),
        ("=2", "LABEL=ID"),
        ("mitosis=", "no class id"),
        ("mitosis=two", "whole numbers"),
        ("mitosis=0", "positive"),
    ],
)
def test_parse_rejects_bad_specs(spec: str, match: str) -> None:
    with pytest.raises(LabelMapError, match=match):
        LabelMap.parse([spec])


def test_empty_map_is_an_error_that_says_how_to_fix() -> None:
    with pytest.raises(LabelMapError, match=r"empty.*--label"):
        LabelMap({})
    with pytest.raises(LabelMapError, match="empty"):
        LabelMap.parse([])


def test_one_class_cannot_be_two_labels() -> None:
    with pytest.raises(LabelMapError, match="both 'a' and 'b'"):
        LabelMap({"a": [1], "b": [1, 2]})


def test_ids_must_be_a_list_and_label_short() -> None:
    with pytest.raises(LabelMapError, match="as a list"):
        LabelMap({"a": 1})  # type: ignore[arg-type]
    with pytest.raises(LabelMapError, match="at most 256"):
        LabelMap({"x" * 257: [1]})
    with pytest.raises(LabelMapError, match="no class ids"):
        LabelMap({"a": []})


def test_check_lists_the_database_classes() -> None:
    lm = LabelMap({"mitotic figure": [2], "other": [9]})
    lm.check({1: "Mitose", 2: "Hard negative", 9: "x"})
    with pytest.raises(LabelMapError, match=r"\[9\].*TUPAC_AL\.sqlite.*1 \(Mitose\), 2 \(Hard"):
        lm.check({1: "Mitose", 2: "Hard negative"}, source="TUPAC_AL.sqlite")


def test_unknown_label_lists_labels() -> None:
    with pytest.raises(LabelMapError, match=r"'nope'.*\['a'\]"):
        LabelMap({"a": [1]}).class_ids("nope")


def test_frozen_hashable_and_coerce() -> None:
    lm = LabelMap({"a": [1], "b": [2]})
    assert lm == LabelMap.coerce({"a": [1], "b": [2]})
    assert LabelMap.coerce(lm) is lm
    assert hash(lm) == hash(LabelMap({"a": (1,), "b": (2,)}))
    assert lm != LabelMap({"b": [2], "a": [1]})  # order is the class_id order
    assert "a" in lm
    assert len(lm) == 2
    assert repr(lm) == "LabelMap({'a': [1], 'b': [2]})"


def test_from_classes_names_labels_like_the_database() -> None:
    lm = LabelMap.from_classes({2: "Hard negative", 1: "Mitose"})
    assert lm.labels == ("Mitose", "Hard negative")


@examples(50)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=12).filter(lambda s: s.strip() == s and "," not in s),
        st.lists(st.integers(1, 50), min_size=1, max_size=3, unique=True),
        min_size=1,
        max_size=5,
    )
)
def test_parse_round_trips_to_dict(mapping: dict[str, list[int]]) -> None:
    ids = [i for v in mapping.values() for i in v]
    if len(ids) != len(set(ids)):
        with pytest.raises(LabelMapError):
            LabelMap(mapping)
        return
    lm = LabelMap(mapping)
    specs = [f"{k}={','.join(map(str, v))}" for k, v in lm.to_dict().items()]
    assert LabelMap.parse(specs) == lm
