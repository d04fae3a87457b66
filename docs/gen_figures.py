"""Generate the documentation figures from synthetic data (run by ``docs/hooks.py``).

Every picture in the docs is drawn here, at build time, from wsi2rek's own code on
synthetic slides: nothing is hand-made and no binary is committed. Run it by hand with
``python docs/gen_figures.py OUT_DIR``. Pillow only (no matplotlib).
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from wsi2rek.dataset import build_dataset
from wsi2rek.detection import Detection
from wsi2rek.geometry import Box, Point
from wsi2rek.inference import (
    BlobDetector,
    ThresholdPoint,
    detect_slide,
    evaluate_detections,
    write_detection_preview,
)
from wsi2rek.labels import LabelMap
from wsi2rek.sampling import (
    EDGE_POLICIES,
    EdgePolicy,
    LabeledBox,
    ObjectSampler,
    apply_edge_policy,
    plan_dataset,
)
from wsi2rek.slides import open_slide
from wsi2rek.testing import make_slide, make_sliderunner_db, spot
from wsi2rek.tissue import tissue_mask

__all__ = ["FIGURES", "generate"]

Color = tuple[int, int, int]
INK: Color = (40, 40, 60)
GLASS: Color = (250, 247, 250)
TISSUE: Color = (236, 200, 222)
WINDOW: Color = (60, 90, 200)
MARGIN: Color = (200, 210, 245)
KEPT: Color = (20, 150, 70)
CLIPPED: Color = (230, 140, 0)
LOST: Color = (210, 30, 40)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _rect(draw: ImageDraw.ImageDraw, box: Box, color: Color, width: int = 3) -> None:
    draw.rectangle((box.left, box.top, box.right, box.bottom), outline=color, width=width)


def _dashed(draw: ImageDraw.ImageDraw, box: Box, color: Color, dash: int = 7) -> None:
    left, top, right, bottom = box.left, box.top, box.right, box.bottom
    for x in range(int(left), int(right), 2 * dash):
        draw.line((x, top, min(x + dash, right), top), fill=color, width=3)
        draw.line((x, bottom, min(x + dash, right), bottom), fill=color, width=3)
    for y in range(int(top), int(bottom), 2 * dash):
        draw.line((left, y, left, min(y + dash, bottom)), fill=color, width=3)
        draw.line((right, y, right, min(y + dash, bottom)), fill=color, width=3)


def _cell(draw: ImageDraw.ImageDraw, box: Box, fill: Color = (90, 40, 110)) -> None:
    pad = 7
    draw.ellipse((box.left + pad, box.top + pad, box.right - pad, box.bottom - pad), fill=fill)


def _save(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


# --------------------------------------------------------------------------- edge policies
_PANEL = 330
_WIN = Box(55.0, 70.0, 295.0, 310.0)
_MARGIN_PX = 18.0
_INSIDE = Box(110.0, 130.0, 160.0, 180.0)
_CROSSING = Box(262.0, 200.0, 322.0, 260.0)  # straddles the right edge: 55 % visible


def _policy_panel(policy: EdgePolicy) -> Image.Image:
    """Draw what ``apply_edge_policy`` (the samplers' own rule) decides for one window."""
    objects = [
        LabeledBox("mitotic figure", _INSIDE, annotation=1),
        LabeledBox("mitotic figure", _CROSSING, annotation=2),
    ]
    verdict = apply_edge_policy(_WIN, objects, margin=_MARGIN_PX, policy=policy)
    image = Image.new("RGB", (_PANEL, _PANEL + 70), GLASS)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((10, 40, _PANEL - 5, _PANEL + 5), radius=40, fill=TISSUE)
    inner = _WIN.shrink(_MARGIN_PX)
    assert inner is not None
    draw.rectangle((_WIN.left, _WIN.top, _WIN.right, _WIN.bottom), fill=MARGIN)
    draw.rectangle((inner.left, inner.top, inner.right, inner.bottom), fill=TISSUE)
    for obj in objects:
        _cell(draw, obj.box)
    draw.text((12, 8), f'edge_policy="{policy}"', fill=INK, font=_font(20))
    if not verdict.accepted:
        _dashed(draw, _WIN, LOST)
        draw.line((_WIN.left, _WIN.top, _WIN.right, _WIN.bottom), fill=LOST, width=2)
        draw.line((_WIN.left, _WIN.bottom, _WIN.right, _WIN.top), fill=LOST, width=2)
        for obj in objects:
            _rect(draw, obj.box, INK, width=2)
        lines = [
            f"window refused ({verdict.reason}):",
            "redrawn (max_tries), else a counted Skip",
        ]
    else:
        _rect(draw, _WIN, WINDOW)
        for obj in verdict.dropped:
            _dashed(draw, obj.box, LOST)
        for kept in verdict.boxes:
            if kept.clipped:
                whole = next(o.box for o in objects if o.annotation == kept.annotation)
                _dashed(draw, whole, (150, 150, 150))
                _rect(draw, kept.box, CLIPPED)
            else:
                _rect(draw, kept.box, KEPT)
        clipped = [k for k in verdict.boxes if k.clipped]
        if clipped:
            share = clipped[0].box.area / _CROSSING.area
            lines = [
                f"visible part kept ({share:.0%} >= min_visible)",
                "as LabeledBox(clipped=True)",
            ]
        else:
            lines = [
                f"{len(verdict.dropped)} object left unlabelled (the blog's",
                "behaviour), counted as dropped",
            ]
    small = _font(14)
    for i, text in enumerate(lines):
        draw.text((12, _PANEL + 16 + 22 * i), text, fill=INK, font=small)
    return image


def edge_policies(_scratch: Path) -> bytes:
    """Three panels: what reject, clip and drop do with an object crossing the window."""
    panels = [_policy_panel(policy) for policy in EDGE_POLICIES]
    gap = 12
    width = sum(panel.width for panel in panels) + gap * (len(panels) - 1)
    legend_height = 34
    figure = Image.new("RGB", (width, panels[0].height + legend_height), (255, 255, 255))
    x = 0
    for panel in panels:
        figure.paste(panel, (x, 0))
        x += panel.width + gap
    draw = ImageDraw.Draw(figure)
    small = _font(14)
    legend: Sequence[tuple[Color, str]] = (
        (WINDOW, "patch window"),
        (MARGIN, "margin band"),
        (KEPT, "labelled box"),
        (CLIPPED, "clipped box"),
        (LOST, "rejected / unlabelled"),
    )
    x = 12
    y = panels[0].height + 8
    for color, text in legend:
        draw.rectangle((x, y, x + 16, y + 16), fill=color)
        draw.text((x + 22, y), text, fill=INK, font=small)
        x += 34 + int(draw.textlength(text, font=small))
    return _save(figure)


# ------------------------------------------------------------------------ coordinate frames
def coordinate_frames(_scratch: Path) -> bytes:
    """One object seen in the three frames: level-0 slide px, patch px, normalised 0-1."""
    slide_window = Box(40_960.0, 18_432.0, 41_472.0, 18_944.0)
    l0_box = Box(41_180.0, 18_650.0, 41_230.0, 18_700.0)
    patch_box = l0_box.translate(-slide_window.left, -slide_window.top)
    size = slide_window.width
    norm = (
        patch_box.left / size,
        patch_box.top / size,
        patch_box.width / size,
        patch_box.height / size,
    )
    panel_w, panel_h = 330, 330
    figure = Image.new("RGB", (3 * panel_w + 24, panel_h + 86), (255, 255, 255))
    draw = ImageDraw.Draw(figure)
    title, small = _font(18), _font(13)

    # 1. the slide, level-0 pixels (drawn at 1:256)
    ox, oy = 10, 36
    draw.text((ox, 8), "1. slide, level-0 px", fill=INK, font=title)
    draw.rectangle((ox, oy, ox + 310, oy + 230), fill=GLASS, outline=INK)
    draw.ellipse((ox + 40, oy + 30, ox + 270, oy + 200), fill=TISSUE)
    scale = 1 / 256
    wx, wy = ox + slide_window.left * scale, oy + slide_window.top * scale
    draw.rectangle((wx, wy, wx + 8, wy + 8), outline=WINDOW, width=2)
    draw.text((ox, oy + 240), "l0_box = Box(41180, 18650,", fill=INK, font=small)
    draw.text((ox, oy + 258), "            41230, 18700)", fill=INK, font=small)
    draw.text((ox, oy + 276), "window at (40960, 18432), 512 px", fill=WINDOW, font=small)

    # 2. the patch, integer px relative to its top-left corner
    ox = panel_w + 12
    draw.text((ox, 8), "2. patch frame, int px", fill=INK, font=title)
    k = 230 / size
    draw.rectangle((ox, oy, ox + 230, oy + 230), fill=TISSUE, outline=WINDOW, width=3)
    pb = Box(
        ox + patch_box.left * k,
        oy + patch_box.top * k,
        ox + patch_box.right * k,
        oy + patch_box.bottom * k,
    )
    _cell(draw, pb.expand(4))
    _rect(draw, pb, KEPT, width=2)
    left, top = int(patch_box.left), int(patch_box.top)
    draw.text((ox, oy + 240), f'"left": {left}, "top": {top},', fill=INK, font=small)
    draw.text(
        (ox, oy + 258),
        f'"width": {int(patch_box.width)}, "height": {int(patch_box.height)}',
        fill=INK,
        font=small,
    )
    draw.text((ox, oy + 276), "(the manifest line)", fill=INK, font=small)

    # 3. Rekognition's answer, normalised to the image size
    ox = 2 * panel_w + 14
    draw.text((ox, 8), "3. Rekognition, 0-1", fill=INK, font=title)
    draw.rectangle((ox, oy, ox + 230, oy + 230), fill=TISSUE, outline=WINDOW, width=3)
    _cell(draw, pb.translate(ox - (panel_w + 12), 0).expand(4))
    _rect(draw, pb.translate(ox - (panel_w + 12), 0), KEPT, width=2)
    draw.text((ox, oy + 240), f"Left {norm[0]:.3f}  Top {norm[1]:.3f}", fill=INK, font=small)
    draw.text((ox, oy + 258), f"Width {norm[2]:.3f}  Height {norm[3]:.3f}", fill=INK, font=small)
    draw.text((ox, oy + 276), "(detect_custom_labels)", fill=INK, font=small)
    draw.text(
        (10, panel_h + 50),
        "wsi2rek converts level-0 -> patch once (writing the manifest) and "
        "normalised -> level-0 once (in wsi2rek.aws / detect_slide).",
        fill=INK,
        font=small,
    )
    return _save(figure)


# ------------------------------------------------------------------ F1 versus threshold
def _simulated_detections(seed: int = 7) -> tuple[list[Detection], list[Point]]:
    """A seeded stand-in for a trained model: confident hits, doubtful look-alikes, misses."""
    rng = np.random.default_rng(seed)
    truth = [Point(float(x), float(y)) for x, y in rng.uniform(0, 20_000, size=(300, 2))]
    detections: list[Detection] = []
    for point in truth:
        if rng.random() < 0.9:  # 10 % of the mitoses are missed at any threshold
            confidence = float(np.clip(rng.normal(78, 12), 1, 99.9))
            jitter = rng.normal(0, 5, size=2)
            centre = Point(point.x + float(jitter[0]), point.y + float(jitter[1]))
            detections.append(Detection("mitotic figure", confidence, Box.around(centre, 25)))
    for x, y in rng.uniform(0, 20_000, size=(260, 2)):  # look-alikes mistaken for mitoses
        confidence = float(np.clip(rng.normal(45, 18), 1, 99.9))
        detections.append(
            Detection("mitotic figure", confidence, Box.around(Point(float(x), float(y)), 25))
        )
    return detections, truth


def f1_threshold(_scratch: Path) -> bytes:
    """Precision, recall and F1 versus the confidence threshold, from evaluate_detections."""
    detections, truth = _simulated_detections()
    result = evaluate_detections(detections, truth, radius_px=25.0)
    width, height = 760, 440
    left, top, right, bottom = 70, 50, width - 30, height - 70
    figure = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(figure)
    small = _font(14)

    def xy(threshold: float, value: float) -> tuple[float, float]:
        return (
            left + (right - left) * threshold / 100.0,
            bottom - (bottom - top) * value,
        )

    for tick in range(0, 101, 10):
        x, _ = xy(tick, 0)
        draw.line((x, top, x, bottom), fill=(235, 235, 240))
        draw.text((x - 8, bottom + 6), str(tick), fill=INK, font=small)
    for tick in range(0, 11, 2):
        _, y = xy(0, tick / 10)
        draw.line((left, y, right, y), fill=(235, 235, 240))
        draw.text((left - 34, y - 8), f"{tick / 10:.1f}", fill=INK, font=small)
    draw.rectangle((left, top, right, bottom), outline=INK)
    series: Sequence[tuple[str, Color, Callable[[ThresholdPoint], float]]] = (
        ("precision", WINDOW, lambda p: p.metrics.precision),
        ("recall", CLIPPED, lambda p: p.metrics.recall),
        ("F1", KEPT, lambda p: p.metrics.f1),
    )
    for name, color, value in series:
        points = [xy(p.threshold, value(p)) for p in result.curve]
        draw.line(points, fill=color, width=3 if name == "F1" else 2)
    best = result.best
    assert best is not None
    bx, by = xy(best.threshold, best.metrics.f1)
    draw.line((bx, top, bx, bottom), fill=INK, width=1)
    draw.ellipse((bx - 5, by - 5, bx + 5, by + 5), fill=KEPT)
    label = f"best F1 {best.metrics.f1:.3f} at {best.threshold:.0f} %"
    lx = bx - 12 - draw.textlength(label, font=small)
    draw.rectangle((lx - 4, by + 14, bx - 8, by + 34), fill=(255, 255, 255))
    draw.text((lx, by + 16), label, fill=INK, font=small)
    draw.text(
        (left, 14),
        "Scores versus confidence threshold (evaluate_detections, 25 px radius)",
        fill=INK,
        font=_font(17),
    )
    draw.text((left, bottom + 29), "confidence threshold (%)", fill=INK, font=small)
    x = right - 230
    for name, color, _value in series:
        draw.rectangle((x, bottom + 30, x + 14, bottom + 44), fill=color)
        draw.text((x + 20, bottom + 29), name, fill=INK, font=small)
        x += 34 + int(draw.textlength(name, font=small))
    return _save(figure)


# ------------------------------------------------ a synthetic dataset, built by wsi2rek
_LABEL_COLORS: dict[str, Color] = {"mitotic figure": (220, 20, 60), "look-alike": (255, 200, 0)}


def _tissue_points(folder: Path, seed: int, count: int, width: int, height: int) -> list[Point]:
    """Seeded points well inside the tissue ``make_slide`` will draw for this seed.

    The tissue layout scales with the slide, so a slide 8 times smaller shows where it is.
    """
    scale = 8
    small = make_slide(folder / "layout.svs", width // scale, height // scale, seed=seed)
    with open_slide(small) as slide:
        mask = tissue_mask(slide)
    rng = np.random.default_rng(seed)
    points: list[Point] = []
    for _ in range(20_000):
        if len(points) == count:
            break
        x, y = (float(v) for v in rng.integers(100, (width - 100, height - 100)))
        if mask.fraction(Box.around(Point(x / scale, y / scale), 100 / scale)) < 0.999:
            continue
        if all(Point(x, y).distance(p) >= 110 for p in points):
            points.append(Point(x, y))
    return points


def _dataset(scratch: Path) -> Path:
    """One synthetic slide with mitoses (painted) and look-alikes, built into a dataset."""
    out = scratch / "dataset"
    if (out / "train.manifest").exists():
        return out
    width, height, seed = 3000, 2000, 11
    points = _tissue_points(scratch, seed, 36, width, height)
    mitoses, lookalikes = points[::2], points[1::2]
    slides = scratch / "slides"
    slides.mkdir(exist_ok=True)
    make_slide(
        slides / "synthetic.svs", width, height, cells=mitoses, lookalikes=lookalikes, seed=seed
    )
    annotations = [spot(1, p.x, p.y, 2) for p in mitoses] + [
        spot(1, p.x, p.y, 1) for p in lookalikes
    ]
    db = make_sliderunner_db(
        scratch / "cells.sqlite",
        ["synthetic.svs"],
        annotations,
        classes={1: "Mitotic figure lookalike", 2: "Mitotic figure"},
    )
    plan = plan_dataset(
        db,
        slides,
        LabelMap.parse(["mitotic figure=2", "look-alike=1"]),
        sampler=ObjectSampler(patch_size=512, per_slide=8),
        seed=0,
    )
    build_dataset(plan, out, workers=0, preview=True)
    return out


def sampling_preview(scratch: Path) -> bytes:
    """The preview ``build_dataset`` writes: tissue, objects by label, patch windows."""
    [preview] = sorted((_dataset(scratch) / "preview").glob("*.png"))
    with Image.open(preview) as image:
        return _save(image.convert("RGB"))


def annotated_patch(scratch: Path) -> bytes:
    """The training patch with the most boxes, drawn from its manifest line."""
    dataset = _dataset(scratch)
    lines = [
        json.loads(text)
        for text in (dataset / "train.manifest").read_text(encoding="utf-8").splitlines()
    ]
    line = max(lines, key=lambda item: len(item["bounding-box"]["annotations"]))
    class_map = line["bounding-box-metadata"]["class-map"]
    with Image.open(dataset / line["source-ref"]) as patch:
        image = patch.convert("RGB")
    draw = ImageDraw.Draw(image)
    small = _font(15)
    for box in line["bounding-box"]["annotations"]:
        label = class_map[str(box["class_id"])]
        color = _LABEL_COLORS.get(label, INK)
        left, top = box["left"], box["top"]
        draw.rectangle(
            (left, top, left + box["width"], top + box["height"]), outline=color, width=3
        )
        x = min(left, image.width - draw.textlength(label, font=small) - 2)
        draw.rectangle(draw.textbbox((x, top - 19), label, font=small), fill=color)
        draw.text((x, top - 19), label, fill=(0, 0, 0), font=small)
    return _save(image)


def detection_preview(scratch: Path) -> bytes:
    """``detect-slide --preview``: marks against the truth, density and the hotspot.

    A 4096 x 3072 slide at 1 um/px (12.6 mm²): mitotic figures clustered in one region,
    look-alikes spread out; the blob detector finds both, so look-alikes show as false
    positives; one painted mitosis is left out of the detection list to show a miss.
    """
    rng = np.random.default_rng(5)
    width, height = 4096, 3072
    cluster = [
        Point(float(x), float(y)) for x, y in rng.uniform((2300, 700), (3500, 1900), (18, 2))
    ]
    spread = [Point(float(x), float(y)) for x, y in rng.uniform((300, 300), (3800, 2800), (10, 2))]
    lookalikes = [
        Point(float(x), float(y)) for x, y in rng.uniform((300, 300), (3800, 2800), (8, 2))
    ]
    mitoses = cluster + spread
    path = make_slide(
        scratch / "hotspot.svs",
        width,
        height,
        mpp=1.0,
        tissue="full",
        cells=mitoses,
        lookalikes=lookalikes,
        seed=5,
    )
    found = detect_slide(path, BlobDetector(), tile_size=1024, overlap=64, tissue_only=False)
    detections = [d for d in found.detections if d.box.center.distance(spread[0]) > 30]
    out = scratch / "detection-preview.png"
    write_detection_preview(path, detections, out, truth=mitoses, max_size=520)
    with Image.open(out) as image:
        return _save(image.convert("RGB"))


#: Figure file name -> function producing its PNG bytes.
FIGURES: dict[str, Callable[[Path], bytes]] = {
    "edge-policies.png": edge_policies,
    "coordinate-frames.png": coordinate_frames,
    "f1-threshold.png": f1_threshold,
    "sampling-preview.png": sampling_preview,
    "annotated-patch.png": annotated_patch,
    "detection-preview.png": detection_preview,
}


def generate(out_dir: Path) -> list[Path]:
    """Write every figure into ``out_dir``, rewriting only files whose bytes changed.

    Args:
        out_dir: Destination folder (created if missing), normally ``docs/generated/figures``.

    Returns:
        The paths of all figures (written or already up to date).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    with tempfile.TemporaryDirectory(prefix="wsi2rek-docs-") as scratch:
        for name, make in FIGURES.items():
            data = make(Path(scratch))
            path = out_dir / name
            if not path.exists() or path.read_bytes() != data:
                tmp = path.with_name(path.name + ".tmp")
                tmp.write_bytes(data)
                tmp.replace(path)
            paths.append(path)
    return paths


if __name__ == "__main__":
    for written in generate(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/generated/figures")):
        print(written)
