"""A thread-safe rate limiter shared by the detection workers."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from wsi2rek.errors import DetectionError

__all__ = ["RateLimiter"]


class RateLimiter:
    """Spaces calls at least ``1 / rate`` seconds apart, across every thread using it.

    Each :meth:`acquire` reserves the next free slot under a lock and then sleeps, outside
    the lock, until that slot. With ``burst`` > 1, up to ``burst`` calls may start at once
    after an idle period (a token bucket of that capacity); the long-run rate never
    exceeds ``rate`` calls per second.

    Example:
        >>> limiter = RateLimiter(1000.0)
        >>> limiter.acquire() >= 0.0
        True
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise DetectionError(f"a TPS limit must be a positive number, got {rate!r}")
        if burst < 1:
            raise DetectionError(f"burst must be at least 1, got {burst}")
        self.rate = float(rate)
        self.burst = burst
        self._interval = 1.0 / self.rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: float | None = None

    def acquire(self) -> float:
        """Block until the caller may make one call; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            if self._next is None:
                self._next = now
            # Idle time refills at most ``burst`` slots.
            earliest = now - (self.burst - 1) * self._interval
            slot = max(self._next, earliest)
            self._next = slot + self._interval
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
            return wait
        return 0.0

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate:g}, burst={self.burst})"
