"""find_slide: uid and name lookup, ambiguity, suggestions (pure logic)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hypothesis_profiles import examples
from wsi2rek.annotations import SlideRecord
from wsi2rek.annotations.sliderunner import find_slide, split_path
from wsi2rek.errors import SlideLookupError

stems = st.text(alphabet="abcdefghij0123456789_-", min_size=1, max_size=12)


@examples(50)
@given(names=st.lists(stems, min_size=1, max_size=8, unique_by=str.casefold), data=st.data())
def test_every_slide_is_found_by_uid_and_by_any_casing_of_its_name(
    names: list[str], data: st.DataObject
) -> None:
    records = [SlideRecord(uid * 3 + 1, f"{n}.svs", "/data") for uid, n in enumerate(names)]
    target = data.draw(st.sampled_from(records))
    assert find_slide(records, target.uid) == target
    flipped = "".join(
        c.upper() if data.draw(st.booleans(), label="upper") else c for c in target.filename
    )
    assert find_slide(records, flipped) == target
    assert find_slide(records, f"C:\\elsewhere\\{flipped}") == target
    assert find_slide(records, target) == target


def test_windows_and_posix_paths_are_split() -> None:
    assert split_path("E:\\TUPAC Robert\\Bilder/01.tif") == (
        "E:",
        "TUPAC Robert",
        "Bilder",
        "01.tif",
    )
    assert SlideRecord(1, "sub\\dir\\x.svs").name == "x.svs"
    assert SlideRecord(1, "").name == ""


def test_ambiguity_is_resolved_by_trailing_folders() -> None:
    records = [
        SlideRecord(1, "25.tif", "/mnt/TUPAC/01"),
        SlideRecord(2, "25.tif", "D:\\TUPAC\\02"),
        SlideRecord(3, "25.tif", None),
    ]
    assert find_slide(records, "02/25.tif").uid == 2
    assert find_slide(records, "/elsewhere/TUPAC/01/25.tif").uid == 1
    with pytest.raises(SlideLookupError, match=r"3 slides are named '25\.tif'") as info:
        find_slide(records, "25.tif")
    assert len(info.value.candidates) == 3
    with pytest.raises(SlideLookupError, match="3 slides are named"):
        find_slide(records, "07/25.tif")  # folders that match nothing do not narrow


def test_unknown_name_without_near_names_lists_examples() -> None:
    records = [SlideRecord(1, "alpha.svs"), SlideRecord(2, "beta.svs")]
    with pytest.raises(SlideLookupError, match=re.escape("e.g. 'alpha.svs', 'beta.svs'")) as info:
        find_slide(records, "zzzzzzzz.mrxs")
    assert info.value.candidates == ()
    assert info.value.slide == "zzzzzzzz.mrxs"


def test_unknown_uid_in_an_empty_database() -> None:
    with pytest.raises(SlideLookupError, match="no slides at all"):
        find_slide([], 1)


def test_record_properties() -> None:
    record = SlideRecord(4, "x.svs", "/d", 100, 50)
    assert record.dimensions == (100, 50)
    assert SlideRecord(4, "x.svs", "/d", 100, None).dimensions is None
    assert record.describe() == "uid 4: '/d/x.svs'"
