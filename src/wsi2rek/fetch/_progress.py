"""Progress bars for fetches: one overall bar and one per file being downloaded (tqdm).

Disabled, every method is a no-op, so the download code calls them unconditionally.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Self

from tqdm.auto import tqdm

__all__ = ["FileBar", "Progress"]


class FileBar:
    """The bar of one file; ``start`` and ``advance`` are ``download``'s callbacks."""

    def __init__(self, owner: Progress, bar: tqdm[Any] | None) -> None:
        self._owner = owner
        self._bar = bar
        self._have = 0

    def start(self, have: int, total: int | None) -> None:
        """A response starts at byte ``have`` of ``total``."""
        if self._bar is not None:
            self._bar.reset(total=total)
            self._bar.update(have)
        self._owner.rewind(self._have - have)  # bytes thrown away by a restart
        self._have = have

    def advance(self, n: int) -> None:
        """``n`` more bytes written."""
        self._have += n
        if self._bar is not None:
            self._bar.update(n)
        self._owner.advance(n)


class Progress:
    """Overall and per-file byte counters on stderr, when ``enabled``."""

    def __init__(self, *, enabled: bool, total: int) -> None:
        self.enabled = enabled
        self._lock = threading.Lock()
        self._slots: list[int] = []
        self._next_slot = 1
        self._overall: tqdm[Any] | None = None
        if enabled:
            self._overall = tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc="total",
                position=0,
                file=sys.stderr,
                dynamic_ncols=True,
            )

    def __repr__(self) -> str:
        return f"Progress(enabled={self.enabled})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._overall is not None:
            self._overall.close()

    def advance(self, n: int) -> None:
        """Count ``n`` bytes in the overall bar."""
        if self._overall is not None:
            with self._lock:
                self._overall.update(n)

    def rewind(self, n: int) -> None:
        """A file restarted from an earlier byte: ``n`` bytes must be fetched again."""
        if self._overall is not None and n > 0:
            with self._lock:
                self._overall.total = (self._overall.total or 0) + n
                self._overall.refresh()

    @contextmanager
    def file(self, name: str) -> Iterator[FileBar]:
        """A bar for one file while it downloads (none when disabled)."""
        if not self.enabled:
            yield FileBar(self, None)
            return
        with self._lock:
            slot = self._slots.pop(0) if self._slots else self._next_slot
            if slot == self._next_slot:
                self._next_slot += 1
        bar: tqdm[Any] = tqdm(
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=name.rsplit("/", 1)[-1],
            position=slot,
            leave=False,
            file=sys.stderr,
            dynamic_ncols=True,
        )
        try:
            yield FileBar(self, bar)
        finally:
            bar.close()
            with self._lock:
                self._slots.append(slot)
                self._slots.sort()
