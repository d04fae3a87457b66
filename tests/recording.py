"""A recording :class:`wsi2rek.execution.ProgressSubscriber` shared by the progress tests."""

from __future__ import annotations

from typing import Any


class Recorder:
    """Records every progress event as a tuple, in the order the library sends them."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def on_start(self, desc: str, total: int, *, unit: str, done: int) -> None:
        self.events.append(("start", desc, total, unit, done))

    def on_progress(self, n: int) -> None:
        self.events.append(("progress", n))

    def on_done(self, error: BaseException | None) -> None:
        self.events.append(("done", error))

    @property
    def starts(self) -> list[tuple[Any, ...]]:
        """The ``on_start`` events."""
        return [e for e in self.events if e[0] == "start"]

    @property
    def advanced(self) -> int:
        """Units reported done by ``on_progress``."""
        return sum(e[1] for e in self.events if e[0] == "progress")

    @property
    def errors(self) -> list[BaseException | None]:
        """What each ``on_done`` received."""
        return [e[1] for e in self.events if e[0] == "done"]
