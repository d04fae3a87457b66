"""The record the slide tests share: one generated file and what must be read from it."""

from __future__ import annotations

from pathlib import Path

import attrs


@attrs.frozen
class SlideCase:
    """One generated file and what open_slide must report for it."""

    name: str
    path: Path
    backend: str
    vendor: str | None
    dimensions: tuple[int, int]
    level_count: int
    mpp: tuple[float, float] | None
    cells: tuple[tuple[float, float], ...]
    associated_images: tuple[str, ...]
