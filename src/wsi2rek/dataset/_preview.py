"""Per-slide preview images: where the patches of a dataset came from.

Each preview is the slide's thumbnail with the tissue mask outlined in green (the slide
itself stays visible), every labelled object as a small outline coloured by label, and
every sampled window drawn on top (blue for training patches, orange for test patches,
grey for background patches without objects), with a legend.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path, PurePath

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from wsi2rek.dataset._manifest import atomic_write_bytes
from wsi2rek.errors import DatasetError
from wsi2rek.geometry import Box
from wsi2rek.sampling._plan import PatchPlan

__all__ = ["LABEL_COLOURS", "write_previews"]

#: Outline colours of labels, by the label's index in ``PatchPlan.labels`` (cycled).
LABEL_COLOURS: tuple[tuple[int, int, int], ...] = (
    (220, 20, 60),  # crimson
    (255, 215, 0),  # gold
    (148, 0, 211),  # violet
    (0, 191, 255),  # sky blue
    (255, 105, 180),  # pink
    (127, 255, 0),  # chartreuse
    (139, 69, 19),  # brown
    (0, 0, 0),  # black
)
_SPLIT_COLOURS = {"train": (30, 90, 255), "test": (255, 140, 0)}
_BACKGROUND_COLOUR = (120, 120, 120)
_TISSUE_COLOUR = np.array([0, 150, 0], dtype=np.float32)


def _outline(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The boundary of a boolean mask, two pixels wide (mask minus its 2x erosion)."""
    inner = mask.copy()
    for _ in range(2):
        padded = np.pad(inner, 1, constant_values=False)
        inner = (
            padded[1:-1, 1:-1]
            & padded[:-2, 1:-1]
            & padded[2:, 1:-1]
            & padded[1:-1, :-2]
            & padded[1:-1, 2:]
        )
    boundary: NDArray[np.bool_] = mask & ~inner
    return boundary


def _scaled(box: Box, sx: float, sy: float) -> tuple[float, float, float, float]:
    return box.left * sx, box.top * sy, box.right * sx, box.bottom * sy


def _preview_image(plan: PatchPlan, slide_name: str, max_size: int, tissue: bool) -> Image.Image:
    from wsi2rek.slides import open_slide  # noqa: PLC0415  (keeps import of this module light)

    with open_slide(plan.slide_paths[slide_name]) as slide:
        thumb = slide.thumbnail(max_size).convert("RGB")
        width, height = slide.dimensions
        rgb = np.asarray(thumb, dtype=np.float32)
        if tissue:
            from wsi2rek.tissue import tissue_mask  # noqa: PLC0415  (optional overlay)

            mask = tissue_mask(slide, max_size=max_size).to_image()
            m = np.asarray(mask.resize(thumb.size, Image.Resampling.NEAREST)) > 0
            rgb[m] = 0.9 * rgb[m] + 0.1 * _TISSUE_COLOUR  # a faint tint keeps tissue visible
            rgb[_outline(m)] = _TISSUE_COLOUR
    image = Image.fromarray(rgb.round().astype(np.uint8))
    sx, sy = image.width / width, image.height / height
    draw = ImageDraw.Draw(image)
    index = {name: i for i, name in enumerate(plan.labels)}
    for obj in plan.objects.get(slide_name, ()):
        colour = LABEL_COLOURS[index.get(obj.label, len(LABEL_COLOURS) - 1) % len(LABEL_COLOURS)]
        x0, y0, x1, y1 = _scaled(obj.box, sx, sy)
        draw.rectangle((x0, y0, max(x1, x0 + 2), max(y1, y0 + 2)), outline=colour)
    for spec in plan.patches:
        if spec.slide == slide_name:
            colour = _SPLIT_COLOURS[spec.split] if spec.boxes else _BACKGROUND_COLOUR
            draw.rectangle(_scaled(spec.window, sx, sy), outline=colour, width=2)
            for b in spec.boxes:
                colour = LABEL_COLOURS[index[b.label] % len(LABEL_COLOURS)]
                x0, y0, x1, y1 = _scaled(b.box, sx, sy)
                draw.rectangle((x0, y0, max(x1, x0 + 2), max(y1, y0 + 2)), fill=colour)
    legend = [(f"{s} window", c) for s, c in _SPLIT_COLOURS.items()]
    legend += [("background window", _BACKGROUND_COLOUR)]
    if tissue:
        legend += [("tissue", (0, 150, 0))]
    legend += [(name, LABEL_COLOURS[i % len(LABEL_COLOURS)]) for i, name in enumerate(plan.labels)]
    draw.rectangle((0, 0, 150, 8 + 14 * len(legend)), fill=(255, 255, 255))
    y = 4
    for text, colour in legend:
        draw.rectangle((4, y, 14, y + 10), fill=colour, outline=(0, 0, 0))
        draw.text((18, y - 1), text, fill=(0, 0, 0))
        y += 14
    return image


def write_previews(
    source: PatchPlan | str | Path,
    out: str | Path | None = None,
    *,
    max_size: int = 1024,
    tissue: bool = True,
    slides: Sequence[str] | None = None,
) -> list[Path]:
    """Write ``preview/<slide stem>.png`` for each slide of a plan or dataset folder.

    Args:
        source: A :class:`PatchPlan`, or a dataset folder written by
            :func:`~wsi2rek.dataset.build_dataset` (its ``plan.json`` is read).
        out: The dataset folder to write into (default: ``source`` when it is a folder).
        max_size: Long side of each preview, in pixels.
        tissue: Tint the tissue mask (computed from the thumbnail).
        slides: Only these slide names (default: every slide with patches or objects).

    Returns:
        The preview files written, in slide-name order.

    Raises:
        DatasetError: ``source`` is a folder without ``plan.json``, or no ``out`` was
            given with a plan.
    """
    if isinstance(source, PatchPlan):
        if out is None:
            raise DatasetError("write_previews(plan, out): give the dataset folder to write into")
        plan = source
        root = Path(out)
    else:
        folder = Path(source)
        plan_file = folder / "plan.json"
        if not plan_file.is_file():
            raise DatasetError(
                f"{folder} has no plan.json; expected a dataset folder written by "
                "build_dataset (or pass the PatchPlan itself)",
                path=folder,
            )
        plan = PatchPlan.load(plan_file)
        root = Path(out) if out is not None else folder
    names = sorted(
        name
        for name in {p.slide for p in plan.patches} | set(plan.objects)
        if name in plan.slide_paths  # a slide without a path has no pixels to draw on
    )
    if slides is not None:
        names = [n for n in names if n in set(slides)]
    target = root / "preview"
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in names:
        image = _preview_image(plan, name, max_size, tissue)
        buffer = io.BytesIO()
        image.save(buffer, "PNG", compress_level=6)
        path = target / f"{PurePath(name).stem}.png"
        atomic_write_bytes(path, buffer.getvalue())
        written.append(path)
    return written
