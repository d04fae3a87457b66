"""The bounded run and the progress protocol of ``wsi2rek.execution``.

The contract is s3transfer's ``BoundedExecutor`` (s3transfer/futures.py): never more than
``max_size`` tasks submitted and unfinished, and ``shutdown`` waits for what runs. These
tests count concurrent calls with real threads and real executors, no mocks.
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
import time
from typing import Any

import pytest

from tests.recording import Recorder
from wsi2rek.errors import ParameterError, Wsi2RekError
from wsi2rek.execution import (
    BoundedRun,
    ProgressSubscriber,
    TqdmProgress,
    as_subscriber,
    bounded_map,
    tracked,
)


class _Gauge:
    """Counts calls running at once, from the worker threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.started: list[int] = []
        self.finished: list[int] = []

    def __call__(self, x: int) -> int:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.started.append(x)
        time.sleep(0.002 * (x % 3))
        with self.lock:
            self.now -= 1
            self.finished.append(x)
        return x * x


def test_submitted_calls_never_exceed_the_bound() -> None:
    drawn: list[int] = []
    submitted_unfinished: list[int] = []

    def items() -> Any:
        for i in range(50):
            drawn.append(i)
            yield i

    with cf.ThreadPoolExecutor(8) as pool:
        run = BoundedRun(lambda x: x, items(), executor=pool, max_in_flight=3)
        with run:
            got = 0
            for _ in run:
                got += 1
                submitted_unfinished.append(run.in_flight)
                # Lazy drawing: never more than the bound ahead of what was handed back.
                assert len(drawn) <= got + 3
    assert got == 50
    assert max(submitted_unfinished) <= 3


def test_running_calls_stay_within_the_workers_of_the_owned_pool() -> None:
    gauge = _Gauge()
    with BoundedRun(gauge, range(40), workers=2) as run:
        results = sorted(o.get() for o in run)
    assert results == [i * i for i in range(40)]
    assert gauge.peak <= 2


def test_ordered_outcomes_follow_the_input_order() -> None:
    def slow_first(x: int) -> int:
        time.sleep(0.02 if x == 0 else 0.0)
        return x

    with BoundedRun(slow_first, range(10), workers=4, ordered=True) as run:
        assert [o.item for o in run] == list(range(10))


def test_unordered_outcomes_come_as_they_complete() -> None:
    release = threading.Event()

    def blocked_first(x: int) -> int:
        if x == 0:
            release.wait(5)
        return x

    seen: list[int] = []
    with BoundedRun(blocked_first, range(4), workers=4) as run:
        for o in run:
            seen.append(o.item)
            if len(seen) == 3:
                release.set()
    assert seen[-1] == 0
    assert sorted(seen) == [0, 1, 2, 3]


def test_a_failing_call_is_an_outcome_and_get_reraises() -> None:
    def half(x: int) -> int:
        if x == 2:
            raise KeyError(x)
        return x

    with BoundedRun(half, range(4), workers=2, ordered=True) as run:
        outcomes = list(run)
    assert [o.error is None for o in outcomes] == [True, True, False, True]
    with pytest.raises(KeyError):
        outcomes[2].get()
    assert outcomes[3].get() == 3


def test_bounded_map_raises_the_first_error_and_leaves_nothing_running() -> None:
    gauge = _Gauge()
    started = threading.Event()

    def boom(x: int) -> int:
        if x == 1:
            started.wait(5)
            raise RuntimeError("tile 1")
        started.set()
        return gauge(x)

    with cf.ThreadPoolExecutor(4) as pool:
        with pytest.raises(RuntimeError, match="tile 1"):
            bounded_map(boom, range(1000), workers=4, executor=pool, max_in_flight=4)
        # Everything submitted ended before bounded_map raised; nothing new starts after.
        after = len(gauge.started)
        assert gauge.now == 0
        time.sleep(0.05)
        assert len(gauge.started) == after
    assert after < 100


def test_keyboard_interrupt_cancels_queued_calls_and_waits_for_running_ones() -> None:
    gauge = _Gauge()
    with cf.ThreadPoolExecutor(2) as pool:
        run = BoundedRun(gauge, range(1000), executor=pool, max_in_flight=6)
        with pytest.raises(KeyboardInterrupt), run:  # noqa: PT012 (the interrupt comes mid-loop)
            for i, _ in enumerate(run):
                if i == 5:
                    raise KeyboardInterrupt
        assert gauge.now == 0
        assert sorted(gauge.started) == sorted(gauge.finished)
        started = len(gauge.started)
    assert started <= 5 + 1 + 6
    assert run.in_flight == 0


def test_break_out_of_the_loop_stops_the_run() -> None:
    gauge = _Gauge()
    with BoundedRun(gauge, range(1000), workers=2) as run:
        for _ in run:
            break
    assert gauge.now == 0
    assert len(gauge.finished) < 10


def test_workers_zero_runs_inline_in_the_calling_thread() -> None:
    threads: set[str] = set()

    def where(x: int) -> int:
        threads.add(threading.current_thread().name)
        return x

    with BoundedRun(where, range(5), workers=0) as run:
        assert [o.get() for o in run] == list(range(5))
    assert threads == {threading.current_thread().name}


def test_bad_arguments_are_parameter_errors() -> None:
    with pytest.raises(ParameterError, match="workers must be >= 0"):
        BoundedRun(lambda x: x, [], workers=-1)
    with pytest.raises(ParameterError, match="max_in_flight must be >= 1"):
        BoundedRun(lambda x: x, [], max_in_flight=0)


# --- progress --------------------------------------------------------------------------


def test_tracked_reports_start_progress_and_completion() -> None:
    rec = Recorder()
    with tracked(rec, "build", 5, unit="patch", done=1) as advance:
        advance(3)
        advance(1)
    assert rec.events == [
        ("start", "build", 5, "patch", 1),
        ("progress", 3),
        ("progress", 1),
        ("done", None),
    ]


def test_tracked_hands_the_error_to_on_done_and_reraises_it() -> None:
    rec = Recorder()
    err = ValueError("bad tile")
    with pytest.raises(ValueError, match="bad tile"), tracked(rec, "x", 2, unit="tile"):
        raise err
    assert rec.events[-1] == ("done", err)


def test_tracked_without_a_subscriber_does_nothing() -> None:
    with tracked(None, "x", 2, unit="tile") as advance:
        advance(1)


def test_as_subscriber_maps_the_progress_argument() -> None:
    rec = Recorder()
    assert isinstance(rec, ProgressSubscriber)
    assert as_subscriber(rec) is rec
    assert as_subscriber(False) is None
    assert as_subscriber(None) is None
    assert isinstance(as_subscriber(True), TqdmProgress)
    with pytest.raises(ParameterError, match="progress must be True, False or an object") as info:
        as_subscriber("yes")  # type: ignore[arg-type]
    assert isinstance(info.value, Wsi2RekError)


def test_tqdm_progress_draws_a_bar_on_the_given_stream() -> None:
    import io

    out = io.StringIO()
    bar = TqdmProgress(file=out)
    with tracked(bar, "upload", 4, unit="file") as advance:
        advance(4)
    assert "upload" in out.getvalue()
    assert "4/4" in out.getvalue()
