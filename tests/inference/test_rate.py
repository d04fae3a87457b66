"""RateLimiter: spacing, burst, and a shared limit across threads."""

from __future__ import annotations

import threading
import time

import pytest

from wsi2rek.errors import DetectionError
from wsi2rek.inference import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_calls_are_spaced_by_the_interval() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4.0, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(5):
        limiter.acquire()
        starts.append(clock.now)
    assert starts == pytest.approx([100.0, 100.25, 100.5, 100.75, 101.0])


def test_idle_time_does_not_bank_more_than_the_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2.0, burst=3, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 60.0  # a long idle period
    waits = [limiter.acquire() for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] > 0


def test_threads_share_one_limit() -> None:
    limiter = RateLimiter(50.0)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            limiter.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps.sort()
    # 20 calls at 50/s need at least 19 intervals of 20 ms.
    assert stamps[-1] - stamps[0] >= 19 / 50 - 0.01


@pytest.mark.parametrize("rate", [0.0, -1.0, float("inf"), float("nan")])
def test_bad_rates_are_refused(rate: float) -> None:
    with pytest.raises(DetectionError, match="TPS"):
        RateLimiter(rate)
