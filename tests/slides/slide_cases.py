"""The record the slide tests share: one generated file and what must be read from it."""

from __future__ import annotations

from pathlib import Path

import attrs

from wsi2rek.slides import SlideSource, open_slide


@attrs.frozen
class SlideCase:
    """One generated file, the backend that reads it, and what it must report.

    ``forced`` cases open the file with ``open_slide(path, backend=backend)``; the others
    check that ``open_slide``'s automatic choice is ``backend``.
    """

    name: str
    path: Path
    backend: str
    vendor: str | None
    dimensions: tuple[int, int]
    level_count: int
    mpp: tuple[float, float] | None
    cells: tuple[tuple[float, float], ...]
    associated_images: tuple[str, ...]
    forced: bool = False

    def open(self) -> SlideSource:
        """Open the file the way this case says (automatic or forced backend)."""
        return open_slide(self.path, backend=self.backend if self.forced else "auto")
