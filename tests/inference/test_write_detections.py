"""write_detections: the format by the path's suffix, read back with read_detections, and
the checks of check_detections_output (an unknown suffix, SlideRunner-only options, an
existing database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsi2rek.cli import main
from wsi2rek.detection import Detection
from wsi2rek.errors import DetectionError, ParameterError
from wsi2rek.geometry import Box, Point
from wsi2rek.inference import (
    DetectionFormat,
    SlideDetections,
    check_detections_output,
    read_detections,
    write_detections,
)

DETS = [
    Detection("mitotic figure", 97.5, Box(100, 200, 124, 226)),
    Detection("look-alike", 81.25, Box(300, 300, 350, 340)),
]


@pytest.mark.parametrize("name", ["d.geojson", "d.json", "d.csv", "D.GEOJSON", "d.Csv"])
def test_geojson_and_csv_round_trip_through_read_detections(tmp_path: Path, name: str) -> None:
    path = write_detections(DETS, tmp_path / name)
    assert path == tmp_path / name
    assert read_detections(path) == DETS


@pytest.mark.parametrize("suffix", [".sqlite", ".sqlite3", ".db", ".SQLite"])
def test_a_sqlite_suffix_writes_a_sliderunner_database(tmp_path: Path, suffix: str) -> None:
    path = write_detections(DETS, tmp_path / f"d{suffix}", slide_name="s.svs")
    back = read_detections(path, slide="s.svs")
    # SlideRunner stores a spot at each box centre, with its confidence in the description.
    assert [(d.label, d.confidence, d.box.center) for d in back] == [
        ("mitotic figure", 97.5, Point(112, 213)),
        ("look-alike", 81.25, Point(325, 320)),
    ]


def test_class_name_puts_every_detection_into_one_sliderunner_class(tmp_path: Path) -> None:
    path = write_detections(DETS, tmp_path / "d.sqlite", slide_name="s.svs", class_name="cell")
    assert {d.label for d in read_detections(path)} == {"cell"}


def test_copy_from_appends_to_a_copy_of_a_database(tmp_path: Path) -> None:
    first = write_detections(DETS[:1], tmp_path / "a.sqlite", slide_name="s.svs")
    second = write_detections(DETS[1:], tmp_path / "b.sqlite", slide_name="s.svs", copy_from=first)
    assert len(read_detections(second)) == 2
    assert len(read_detections(first)) == 1


def test_slide_detections_name_their_slide_in_a_database(tmp_path: Path) -> None:
    found = SlideDetections("cells.svs", tuple(DETS), 1, 1, 0, 0)
    path = write_detections(found, tmp_path / "d.sqlite")
    assert len(read_detections(path, slide="cells.svs")) == 2


def test_a_database_of_plain_detections_needs_slide_name(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="slide_name=") as caught:
        write_detections(DETS, tmp_path / "d.sqlite")
    assert caught.value.parameters == ("slide_name",)
    assert not (tmp_path / "d.sqlite").exists()


def test_an_unknown_suffix_is_a_parameter_error_naming_path(tmp_path: Path) -> None:
    with pytest.raises(ParameterError) as caught:
        write_detections(DETS, tmp_path / "d.txt")
    assert str(caught.value) == (
        f"path={tmp_path / 'd.txt'}: unknown format '.txt'; use .geojson, .csv or .sqlite"
    )
    assert caught.value.parameters == ("path",)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("option", "value"), [("copy_from", Path("truth.sqlite")), ("class_name", "cell")]
)
@pytest.mark.parametrize("name", ["d.csv", "d.geojson"])
def test_sliderunner_options_are_refused_for_other_formats(
    tmp_path: Path, option: str, value: object, name: str
) -> None:
    with pytest.raises(ParameterError) as caught:
        write_detections(DETS, tmp_path / name, **{option: value})  # type: ignore[arg-type]
    assert str(caught.value) == f"{option} needs a SlideRunner path= (.sqlite)"
    assert caught.value.parameters == (option, "path")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_database_is_kept_without_overwrite(tmp_path: Path) -> None:
    path = write_detections(DETS, tmp_path / "d.sqlite", slide_name="s.svs")
    before = path.read_bytes()
    with pytest.raises(DetectionError) as caught:
        write_detections(DETS[:1], path, slide_name="s.svs")
    assert str(caught.value) == f"path={path} exists; pass overwrite=True to replace it"
    assert caught.value.parameters == ("path", "overwrite")
    assert path.read_bytes() == before
    write_detections(DETS[:1], path, slide_name="s.svs", overwrite=True)
    assert len(read_detections(path)) == 1


def test_an_existing_csv_or_geojson_is_replaced(tmp_path: Path) -> None:
    for name in ("d.csv", "d.geojson"):
        write_detections(DETS, tmp_path / name)
        write_detections(DETS[:1], tmp_path / name)
        assert read_detections(tmp_path / name) == DETS[:1]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.geojson", DetectionFormat.GEOJSON),
        ("a.JSON", DetectionFormat.GEOJSON),
        ("a.csv", DetectionFormat.CSV),
        ("a.sqlite3", DetectionFormat.SLIDERUNNER),
        ("a.db", DetectionFormat.SLIDERUNNER),
    ],
)
def test_check_detections_output_names_the_format_and_writes_nothing(
    tmp_path: Path, name: str, expected: DetectionFormat
) -> None:
    assert check_detections_output(tmp_path / name) is expected
    assert list(tmp_path.iterdir()) == []


def test_detection_format_of_an_unknown_suffix_is_none() -> None:
    assert DetectionFormat.of("a.txt") is None
    assert DetectionFormat.of("geojson") is None  # a name, not a suffix


# --- the CLI prints the same checks with its flags, before running anything ---------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--out", "x y.txt"],
            "--out x y.txt: unknown format '.txt'; use .geojson, .csv or .sqlite",
        ),
        (
            ["--out", "x.csv", "--copy-db", "a.sqlite"],
            "--copy-db needs a SlideRunner --out (.sqlite)",
        ),
        (
            ["--out", "x.geojson", "--class", "cell"],
            "--class needs a SlideRunner --out (.sqlite)",
        ),
    ],
)
def test_detect_slide_prints_the_output_checks_with_its_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    # The slide does not exist: the output is checked before the slide is opened.
    code = main(["detect-slide", str(tmp_path / "none.svs"), "--demo-detector", *extra])
    assert code == 2
    assert capsys.readouterr().err == f"wsi2rek detect-slide: error: {message}\n"


def test_detect_slide_refuses_an_existing_database_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "d.sqlite"
    out.write_bytes(b"")
    code = main(["detect-slide", str(tmp_path / "none.svs"), "--demo-detector", "--out", str(out)])
    assert code == 2
    assert capsys.readouterr().err == (
        f"wsi2rek detect-slide: error: --out {out} exists; pass --overwrite to replace it\n"
    )
