"""Preview pictures: title, side panel (legend of present categories only, downsample,
scale bar) outside the slide area, checked pixel by pixel."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from wsi2rek.dataset import scale_bar, write_previews
from wsi2rek.geometry import Box
from wsi2rek.sampling import LabeledBox, PatchPlan, PatchSpec
from wsi2rek.testing import make_image, make_slide

BLUE, ORANGE, GREY = (30, 90, 255), (255, 140, 0), (120, 120, 120)
CRIMSON, GOLD = (220, 20, 60), (255, 215, 0)


def count(pixels: NDArray[np.uint8], colour: tuple[int, int, int]) -> int:
    return int((pixels == colour).all(axis=-1).sum())


def area(image: Image.Image, key: str, n: int = 4) -> tuple[int, ...]:
    return tuple(int(v) for v in str(image.info[key]).split(",")[:n])


@pytest.mark.parametrize(
    ("downsample", "mpp", "expected"),
    [
        (5.12, 0.25, (78, "100 µm")),  # 100 µm = 400 level-0 px = 78.1 preview px
        (30.0, 0.25, (67, "500 µm")),  # 7.5 µm per preview px: 750 µm fit, 500 is round
        (200.0, 0.5, (100, "10 mm")),
        (4.0, None, (50, "200 px (level 0)")),
    ],
)
def test_scale_bar_is_a_round_length_drawn_to_scale(
    downsample: float, mpp: float | None, expected: tuple[int, str]
) -> None:
    assert scale_bar(downsample, mpp) == expected


@pytest.mark.parametrize("downsample", [0.7, 1.0, 3.3, 17.0, 123.4, 999.0])
@pytest.mark.parametrize("mpp", [0.1, 0.2527, 0.5, 1.0, None])
def test_scale_bar_is_the_largest_round_length_that_fits(
    downsample: float, mpp: float | None
) -> None:
    """Brute force over 1, 2, 5 x 10^k: the chosen value is the largest that fits 100 px."""
    length, label = scale_bar(downsample, mpp)
    unit = downsample * (mpp or 1.0)
    candidates = [n * 10.0**k for k in range(-3, 8) for n in (1, 2, 5) if n * 10.0**k <= 100 * unit]
    best = max(candidates)
    assert length == round(best / unit)
    assert 40 <= length <= 100
    number = float(label.split()[0]) * (1000 if label.endswith(" mm") else 1)
    assert math.isclose(number, best, rel_tol=1e-9)


def test_preview_has_title_panel_and_scale_outside_the_slide(tmp_path: Path) -> None:
    slide = make_slide(tmp_path / "s.svs", 4000, 2000, mpp=0.25, seed=1)
    plan = PatchPlan(
        [
            PatchSpec(
                "s.svs",
                Box(1000, 500, 1512, 1012),
                "train",
                [LabeledBox("mitotic figure", Box(1200, 700, 1250, 750))],
            )
        ],
        {"s.svs": str(slide)},
        ("mitotic figure", "look-alike"),
    )
    (path,) = write_previews(plan, tmp_path / "ds", max_size=400)
    with Image.open(path) as image:
        image.load()
        pixels = np.asarray(image.convert("RGB"))
        left, top, right, bottom = area(image, "wsi2rek:slide-area")
        downsample = float(image.info["wsi2rek:downsample"])
        bar_x, bar_y, bar_len = area(image, "wsi2rek:scale-bar", 3)
        bar_label = str(image.info["wsi2rek:scale-bar"]).split(",")[3]
    assert (left, right - left, bottom - top) == (0, 400, 200)  # the slide, long side 400
    assert top > 10  # a title band above it ...
    assert (pixels[:top] < 100).all(axis=-1).sum() > 20  # ... with dark text in it
    assert pixels.shape[1] > right + 150  # and a panel to its right
    assert downsample == pytest.approx(10.0)
    panel = pixels[:, right:]
    slide_area = pixels[top:bottom, :right]
    # The legend lists what the slide shows (a training window, a mitotic figure, tissue) ...
    assert count(panel, BLUE) >= 81  # a 9 x 9 swatch inside its outline
    assert count(panel, CRIMSON) >= 81
    assert count(panel, (0, 150, 0)) >= 81
    # ... and nothing it does not: no test or background window, no look-alike.
    # (a swatch is 81 pixels of its colour; anti-aliased text may hit a colour by chance)
    for absent in (ORANGE, GREY, GOLD):
        assert count(pixels, absent) < 10
    # The training window is drawn in the slide area, where the plan puts it.
    x0, y0 = round(1000 / downsample), round(500 / downsample) + top
    assert tuple(pixels[y0 + 10, x0]) == BLUE
    assert count(slide_area, BLUE) > 4 * 40
    # The scale bar: a solid black bar of the stated length, 200 µm at 2.5 µm per pixel.
    assert bar_label == "200 µm"
    assert bar_len == 80
    assert (pixels[bar_y : bar_y + 5, bar_x : bar_x + bar_len] == 0).all()
    assert (pixels[bar_y : bar_y + 5, bar_x + bar_len] != 0).any()
    assert (pixels[bar_y : bar_y + 5, bar_x - 1] != 0).any()


def test_preview_scale_bar_in_pixels_without_mpp(tmp_path: Path) -> None:
    image_path = make_image(tmp_path / "plain.png", 1200, 800, seed=2)
    plan = PatchPlan(
        [PatchSpec("plain.png", Box(0, 0, 512, 512), "test", sampler="background")],
        {"plain.png": str(image_path)},
        ("mitotic figure",),
    )
    (path,) = write_previews(plan, tmp_path / "ds", max_size=300, tissue=False)
    with Image.open(path) as image:
        image.load()
        label = str(image.info["wsi2rek:scale-bar"]).split(",")[3]
        pixels = np.asarray(image.convert("RGB"))
    assert label.endswith("px (level 0)")
    assert count(pixels, GREY) > 0  # the background window and its swatch
    assert max(count(pixels, c) for c in (BLUE, ORANGE, CRIMSON)) < 10


def test_preview_outlines_the_mask_tissue_mask_computes(tmp_path: Path) -> None:
    """The green outline is the border of ``tissue_mask(slide, max_size)``, the mask the
    planner samples from (the preview computes it from its own thumbnail, not a second read).
    """
    from wsi2rek.dataset._preview import _outline
    from wsi2rek.slides import open_slide
    from wsi2rek.tissue import tissue_mask

    slide = make_slide(tmp_path / "s.svs", 3000, 2000, tissue="blobs", seed=4)
    plan = PatchPlan(
        [PatchSpec("s.svs", Box(0, 0, 64, 64), "train", sampler="background")],
        {"s.svs": str(slide)},
        ("mitotic figure",),
    )
    (path,) = write_previews(plan, tmp_path / "ds", max_size=300)
    with Image.open(path) as image:
        image.load()
        left, top, right, bottom = area(image, "wsi2rek:slide-area")
        pixels = np.asarray(image.convert("RGB"))[top:bottom, left:right]
    with open_slide(slide) as source:
        mask = tissue_mask(source, max_size=300).mask
    assert mask.any()
    assert not mask.all()
    drawn = (pixels == (0, 150, 0)).all(axis=-1)
    assert drawn.shape == mask.shape
    assert np.array_equal(drawn, _outline(mask))
