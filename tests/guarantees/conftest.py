"""Inputs shared by the guarantee tests: two synthetic slides and a SlideRunner database."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsi2rek.testing import make_slide, make_sliderunner_db, spot

CELLS = {
    "one.svs": [(400, 400, 2), (900, 500, 1), (1300, 900, 2)],
    "two.svs": [(500, 600, 2), (1000, 300, 1)],
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(database, slides folder)``: SlideRunner spots on two 1600 x 1200 slides."""
    root = tmp_path_factory.mktemp("inputs")
    slides = root / "slides"
    slides.mkdir()
    annotations = []
    for uid, (name, cells) in enumerate(CELLS.items(), start=1):
        make_slide(slides / name, 1600, 1200, cells=[(x, y) for x, y, _ in cells], seed=uid)
        annotations += [spot(uid, x, y, label) for x, y, label in cells]
    db = make_sliderunner_db(
        root / "cells.sqlite",
        list(CELLS),
        annotations,
        classes={1: "look-alike", 2: "mitotic figure"},
    )
    return db, slides


def build_args(inputs: tuple[Path, Path], out: Path, *extra: str) -> list[str]:
    """``wsi2rek build`` arguments for :func:`inputs` (one process, 256 px patches)."""
    db, slides = inputs
    return [
        "build",
        "--db",
        str(db),
        "--slides",
        str(slides),
        "--out",
        str(out),
        "--label",
        "mitotic figure=2",
        "--test-slides",
        "two.svs",
        "--patch-size",
        "256",
        "--workers",
        "0",
        *extra,
    ]
