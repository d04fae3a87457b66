"""Per-slide preview images: where the patches of a dataset came from.

Each preview is the slide's thumbnail with the tissue mask outlined in green (the slide
itself stays visible), every labelled object as a small outline coloured by label, and
every sampled window drawn on top (blue for training patches, orange for test patches,
grey for background patches without objects). A title above names the slide and counts its
patches; a panel to the right of the slide (never over it) holds the legend, listing only
the categories the slide shows, the downsample factor and a scale bar (µm when the slide
knows its MPP, else level-0 pixels). The PNG's text chunks ``wsi2rek:slide-area``,
``wsi2rek:downsample`` and ``wsi2rek:scale-bar`` say where the slide is drawn and at
which scale.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path, PurePath

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, PngImagePlugin

from wsi2rek._atomic import atomic_write_bytes
from wsi2rek.errors import DatasetError, SamplingError
from wsi2rek.geometry import Box
from wsi2rek.sampling import PatchPlan

__all__ = ["LABEL_COLOURS", "scale_bar", "write_previews"]

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


_TITLE_HEIGHT = 22
_PANEL_WIDTH = 200
_INK = (0, 0, 0)
_PAPER = (255, 255, 255)
_NICE = (1.0, 2.0, 5.0)


def scale_bar(downsample: float, mpp: float | None, target_px: float = 100.0) -> tuple[int, str]:
    """A scale bar of a round length, about ``target_px`` preview pixels long.

    Args:
        downsample: Level-0 pixels per preview pixel.
        mpp: Micrometres per level-0 pixel, or None (the bar is then in level-0 pixels).
        target_px: Wanted length in preview pixels.

    Returns:
        ``(length in preview pixels, label)``, e.g. ``(80, "500 µm")``: the label's length is
        1, 2 or 5 times a power of ten, in µm (mm from 1000 µm) or in level-0 px.
    """
    unit = downsample * (mpp or 1.0)  # µm (or level-0 px) per preview pixel
    wanted = target_px * unit
    exponent = math.floor(math.log10(wanted))
    value = max(n * 10.0**exponent for n in _NICE if n * 10.0**exponent <= wanted)
    length = round(value / unit)
    if mpp is None:
        return length, f"{value:g} px (level 0)"
    if value >= 1000:
        return length, f"{value / 1000:g} mm"
    return length, f"{value:g} µm"


def _preview_image(plan: PatchPlan, slide_name: str, max_size: int, tissue: bool) -> Image.Image:
    from wsi2rek.slides import open_slide  # noqa: PLC0415  (keeps import of this module light)

    with open_slide(plan.slide_paths[slide_name]) as slide:
        thumb = slide.thumbnail(max_size).convert("RGB")
        width, height = slide.dimensions
        mpp = slide.mpp
        rgb = np.array(thumb, dtype=np.uint8)
        if tissue:
            from wsi2rek.tissue import mask_from_rgb  # noqa: PLC0415  (optional overlay)

            # the mask of this very thumbnail: what tissue_mask(slide, max_size) computes,
            # without reading and resizing the thumbnail a second time
            try:
                m, _ = mask_from_rgb(rgb)
            except SamplingError as exc:
                raise SamplingError(f"{slide_name}: {exc.message}", slide=slide_name) from exc
            # a faint tint keeps tissue visible; float32 for the tissue pixels only (not a
            # float copy of the whole thumbnail: the build draws previews beside its workers)
            rgb[m] = (0.9 * rgb[m].astype(np.float32) + 0.1 * _TISSUE_COLOUR).round()
            rgb[_outline(m)] = _TISSUE_COLOUR
    image = Image.fromarray(rgb)
    sx, sy = image.width / width, image.height / height
    draw = ImageDraw.Draw(image)
    index = {name: i for i, name in enumerate(plan.labels)}
    present_labels: set[str] = set()
    present_windows: set[str] = set()
    for obj in plan.objects.get(slide_name, ()):
        present_labels.add(obj.label)
        colour = LABEL_COLOURS[index.get(obj.label, len(LABEL_COLOURS) - 1) % len(LABEL_COLOURS)]
        x0, y0, x1, y1 = _scaled(obj.box, sx, sy)
        draw.rectangle((x0, y0, max(x1, x0 + 2), max(y1, y0 + 2)), outline=colour)
    counts: dict[str, int] = {}
    for spec in plan.patches:
        if spec.slide == slide_name:
            kind = spec.split if spec.boxes else "background"
            counts[kind] = counts.get(kind, 0) + 1
            present_windows.add(kind)
            colour = _SPLIT_COLOURS[spec.split] if spec.boxes else _BACKGROUND_COLOUR
            draw.rectangle(_scaled(spec.window, sx, sy), outline=colour, width=2)
            for b in spec.boxes:
                present_labels.add(b.label)
                colour = LABEL_COLOURS[index[b.label] % len(LABEL_COLOURS)]
                x0, y0, x1, y1 = _scaled(b.box, sx, sy)
                draw.rectangle((x0, y0, max(x1, x0 + 2), max(y1, y0 + 2)), fill=colour)
    # Only the categories this slide shows, in a fixed order.
    legend = [(f"{s} window", c) for s, c in _SPLIT_COLOURS.items() if s in present_windows]
    if "background" in present_windows:
        legend += [("background window", _BACKGROUND_COLOUR)]
    if tissue:
        legend += [("tissue outline", (0, 150, 0))]
    legend += [
        (name, LABEL_COLOURS[i % len(LABEL_COLOURS)])
        for i, name in enumerate(plan.labels)
        if name in present_labels
    ]
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    title = f"{slide_name}: {sum(counts.values())} patches ({summary or 'none'})"
    return _with_margins(image, title, legend, width / image.width, mpp[0] if mpp else None)


def _text_with_micro(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str) -> None:
    """Draw ``text``, a "µ" as a "u" with a stem (Pillow's default font has no "µ")."""
    x, y = xy
    before, micro, after = text.partition("µ")
    draw.text((x, y), before, fill=_INK)
    if not micro:
        return
    x += round(draw.textlength(before))
    draw.text((x, y), "u", fill=_INK)
    top, bottom = draw.textbbox((x, y), "u")[1::2]
    draw.line((x, top, x, bottom + 3), fill=_INK)
    draw.text((x + round(draw.textlength("u")), y), after, fill=_INK)


def _with_margins(
    slide_area: Image.Image,
    title: str,
    legend: Sequence[tuple[str, tuple[int, int, int]]],
    downsample: float,
    mpp: float | None,
) -> Image.Image:
    """Put ``slide_area`` on a canvas with a title above and a side panel (legend, scale)."""
    panel_height = 8 + 14 * len(legend) + 70
    canvas = Image.new(
        "RGB",
        (slide_area.width + _PANEL_WIDTH, _TITLE_HEIGHT + max(slide_area.height, panel_height)),
        _PAPER,
    )
    canvas.paste(slide_area, (0, _TITLE_HEIGHT))
    draw = ImageDraw.Draw(canvas)
    draw.text((4, 5), title, fill=_INK)
    x, y = slide_area.width + 8, _TITLE_HEIGHT + 4
    for text, colour in legend:
        draw.rectangle((x, y, x + 10, y + 10), fill=colour, outline=_INK)
        draw.text((x + 14, y - 1), text, fill=_INK)
        y += 14
    y += 8
    draw.text((x, y), f"downsample {downsample:.3g}x", fill=_INK)
    length, label = scale_bar(downsample, mpp, target_px=min(100.0, _PANEL_WIDTH - 20))
    y += 20
    draw.rectangle((x, y, x + length - 1, y + 4), fill=_INK)
    _text_with_micro(draw, (x, y + 8), label)
    canvas.info["wsi2rek:slide-area"] = (
        f"0,{_TITLE_HEIGHT},{slide_area.width},{_TITLE_HEIGHT + slide_area.height}"
    )
    canvas.info["wsi2rek:downsample"] = f"{downsample:.6g}"
    canvas.info["wsi2rek:scale-bar"] = f"{x},{y},{length},{label}"
    return canvas


def write_previews(
    source: PatchPlan | str | Path,
    out: str | Path | None = None,
    *,
    max_size: int = 1024,
    tissue: bool = True,
    slides: Sequence[str] | None = None,
    slides_dir: str | Path | None = None,
) -> list[Path]:
    """Write ``preview/<slide stem>.png`` for each slide of a plan or dataset folder.

    Args:
        source: A :class:`PatchPlan`, or a dataset folder written by
            :func:`~wsi2rek.dataset.build_dataset` (its ``plan.json`` is read).
        out: The dataset folder to write into (default: ``source`` when it is a folder).
        max_size: Long side of each preview, in pixels.
        tissue: Tint the tissue mask (computed from the thumbnail).
        slides: Only these slide names (default: every slide with patches or objects).
        slides_dir: The folder that holds the slides now, when a dataset folder was moved
            or copied without them (``--slides`` of ``wsi2rek preview``).

    Returns:
        The preview files written, in slide-name order.

    Raises:
        DatasetError: ``source`` is a folder without ``plan.json``, or no ``out`` was
            given with a plan, or a slide file is not where the plan says (nor in
            ``slides_dir``).
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
    if slides_dir is not None:
        try:
            plan = plan.with_slides_in(slides_dir)
        except SamplingError as exc:
            raise DatasetError(exc.message, path=Path(slides_dir)) from exc
    missing = [plan.slide_paths[n] for n in names if not Path(plan.slide_paths[n]).is_file()]
    if missing:
        raise DatasetError(
            f"{len(missing)} slide file(s) of the plan are not where it says, e.g. {missing[0]}; "
            "if the dataset folder was moved without its slides, give the folder that holds "
            "them as slides_dir=",
            path=root,
            parameter="slides_dir",
        )
    target = root / "preview"
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in names:
        image = _preview_image(plan, name, max_size, tissue)
        buffer = io.BytesIO()
        # Where the slide is drawn, its downsample and the scale bar, for tools and tests.
        meta = PngImagePlugin.PngInfo()
        for key, value in image.info.items():
            if isinstance(key, str) and key.startswith("wsi2rek:"):
                meta.add_text(key, str(value))
        # level 1: a preview is for eyes; level 6 took ~0.6 s per slide for a few % of size
        image.save(buffer, "PNG", compress_level=1, pnginfo=meta)
        path = target / f"{PurePath(name).stem}.png"
        atomic_write_bytes(path, buffer.getvalue())
        written.append(path)
    return written
