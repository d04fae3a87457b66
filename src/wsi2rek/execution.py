"""One way to run many things: a bounded in-flight run and a progress protocol.

:func:`build_dataset <wsi2rek.dataset.build_dataset>`,
:func:`detect_slide <wsi2rek.inference.detect_slide>` and
:class:`S3Uploader <wsi2rek.aws.S3Uploader>` all run one function over many items on an
executor. They share :class:`BoundedRun`, which keeps at most ``max_in_flight`` items
submitted at a time (as s3transfer's ``BoundedExecutor`` bounds its queue, so a slide of a
million tiles never queues a million futures), hands back each :class:`Outcome` as it
completes (or in input order), and on an error, a ``break`` or Ctrl-C cancels what is
queued and waits for what is running before it returns: no task outlives the call.

They also share one progress protocol, :class:`ProgressSubscriber` (s3transfer's
subscribers are the model): ``progress=True`` means "a :class:`TqdmProgress` bar on
stderr", and any object with the three ``on_*`` methods observes the same events, e.g. a
Streamlit progress bar or a notebook widget (see the how-to in the user guide).

This module is part of the core layer: it imports nothing of wsi2rek but the errors.
"""

from __future__ import annotations

import concurrent.futures as cf
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar, runtime_checkable

from wsi2rek.errors import ParameterError

__all__ = [
    "BoundedRun",
    "Outcome",
    "ProgressSubscriber",
    "TqdmProgress",
    "as_subscriber",
    "bounded_map",
    "tracked",
]

T = TypeVar("T")
R = TypeVar("R")


# --- progress ------------------------------------------------------------------------------


@runtime_checkable
class ProgressSubscriber(Protocol):
    """Observes a job that runs ``total`` units of work (patches, tiles, files).

    The library calls ``on_start`` once, ``on_progress`` as units finish, and ``on_done``
    exactly once, also when the job fails (then with the exception). Methods are called
    from the thread that started the job, never from worker threads or processes, so a
    subscriber needs no locking. One subscriber may observe several jobs in a row.
    """

    def on_start(self, desc: str, total: int, *, unit: str, done: int) -> None:
        """A job starts.

        Args:
            desc: What runs (``"build"``, ``"upload"``, or the slide's file name).
            total: Units of work in the job, including those already ``done``.
            unit: Name of one unit (``"patch"``, ``"tile"``, ``"file"``).
            done: Units already done before the job started (cached tiles).
        """

    def on_progress(self, n: int) -> None:
        """``n`` more units are done."""

    def on_done(self, error: BaseException | None) -> None:
        """The job ended: ``error`` is None when it completed, else what stopped it."""


class TqdmProgress:
    """A :class:`ProgressSubscriber` drawing a ``tqdm.auto`` bar (on stderr by default).

    ``progress=True`` in the library means ``TqdmProgress()``. tqdm is imported when a
    job starts, not before.

    Args:
        leave: Keep the finished bar on screen.
        file: Stream to draw on (default: ``sys.stderr`` at the time the job starts).
    """

    def __init__(self, *, leave: bool = True, file: Any = None) -> None:
        self.leave = leave
        self.file = file
        self._bar: Any = None

    def __repr__(self) -> str:
        return f"TqdmProgress(leave={self.leave})"

    def on_start(self, desc: str, total: int, *, unit: str, done: int) -> None:
        """Open a bar of ``total`` units, ``done`` of them already filled."""
        from tqdm.auto import tqdm  # noqa: PLC0415 (only imported when a bar is drawn)

        self._bar = tqdm(
            total=total,
            initial=done,
            desc=desc,
            unit=unit,
            leave=self.leave,
            file=self.file if self.file is not None else sys.stderr,
        )

    def on_progress(self, n: int) -> None:
        """Advance the bar."""
        if self._bar is not None:
            self._bar.update(n)

    def on_done(self, error: BaseException | None) -> None:  # noqa: ARG002 (bar closes either way)
        """Close the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def as_subscriber(
    progress: bool | ProgressSubscriber | None, *, leave: bool = True
) -> ProgressSubscriber | None:
    """The subscriber meant by a ``progress`` argument of the library.

    ``True`` is a :class:`TqdmProgress`, ``False`` or ``None`` none, and a
    :class:`ProgressSubscriber` is used as it is.

    Raises:
        ParameterError: ``progress`` is neither a bool nor a subscriber.
    """
    if progress is None or progress is False:
        return None
    if progress is True:
        return TqdmProgress(leave=leave)
    if isinstance(progress, ProgressSubscriber):
        return progress
    raise ParameterError(
        f"progress must be True, False or an object with on_start, on_progress and "
        f"on_done methods (wsi2rek.execution.ProgressSubscriber), got "
        f"{type(progress).__name__}",
        parameter="progress",
    )


class tracked:  # noqa: N801 (used like a function: `with tracked(...) as advance:`)
    """Report one job to a subscriber: ``on_start`` on entry, ``on_done`` on exit.

    ``with tracked(sub, "build", 10, unit="patch") as advance: advance(1)``; ``advance``
    does nothing when ``sub`` is None. An exception leaving the block reaches
    ``on_done`` and then propagates.
    """

    def __init__(
        self,
        subscriber: ProgressSubscriber | None,
        desc: str,
        total: int,
        *,
        unit: str,
        done: int = 0,
    ) -> None:
        self._sub = subscriber
        self._start = (desc, total, unit, done)

    def __enter__(self) -> Callable[[int], None]:
        if self._sub is None:
            return _ignore
        desc, total, unit, done = self._start
        self._sub.on_start(desc, total, unit=unit, done=done)
        return self._sub.on_progress

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._sub is not None:
            self._sub.on_done(exc)


def _ignore(n: int) -> None:  # noqa: ARG001 (the no-op `advance`)
    return


# --- the bounded run -----------------------------------------------------------------------


class Outcome(Generic[T, R]):
    """One finished item: its input and its result, or the exception it raised.

    Attributes:
        item: The input the function was called with.
        error: The exception the call raised (None when it returned).
    """

    __slots__ = ("_result", "error", "item")

    def __init__(self, item: T, result: R | None, error: BaseException | None) -> None:
        self.item = item
        self._result = result
        self.error = error

    def __repr__(self) -> str:
        state = f"error={self.error!r}" if self.error is not None else "ok"
        return f"Outcome({self.item!r}, {state})"

    def get(self) -> R:
        """The result; raises the call's exception when it failed."""
        if self.error is not None:
            raise self.error
        return self._result  # type: ignore[return-value]  # R may itself be None


class BoundedRun(Generic[T, R]):
    """Run ``fn`` over ``items`` with at most ``max_in_flight`` calls submitted at a time.

    Use it as a context manager and iterate it: each :class:`Outcome` comes back as soon
    as its call ends (``ordered=False``) or in the order of ``items`` (``ordered=True``).
    Items are drawn from the iterable lazily, only when there is room. A failing call
    does not stop the run: its outcome carries the exception, and the caller decides
    (``outcome.get()`` re-raises it). Leaving the ``with`` block early, by an exception,
    a ``break`` or Ctrl-C, cancels the calls not started yet and waits for the running
    ones to end, so nothing runs on after the block.

    The bound is the one s3transfer's ``BoundedExecutor`` enforces with a semaphore on
    ``submit``; here the one thread that submits also collects, so topping up after each
    completion is enough.

    Args:
        fn: Called once per item, on the executor.
        items: The inputs; consumed lazily.
        executor: Where to run the calls. None with ``workers=0`` runs each call in the
            calling thread, in order, when the iterator asks for it; None with
            ``workers >= 1`` uses a thread pool of that size, owned by the run. A given
            executor is not shut down.
        workers: Threads of the owned pool (only without ``executor``).
        max_in_flight: Calls submitted and not yet handed back, at most (default: twice
            ``workers``, at least 1).
        ordered: Hand outcomes back in the order of ``items`` instead of completion.

    Raises:
        ParameterError: ``workers`` < 0 or ``max_in_flight`` < 1.
    """

    def __init__(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        executor: cf.Executor | None = None,
        workers: int = 1,
        max_in_flight: int | None = None,
        ordered: bool = False,
    ) -> None:
        if workers < 0:
            raise ParameterError(f"workers must be >= 0, got {workers}", parameter="workers")
        bound = max(1, 2 * workers) if max_in_flight is None else max_in_flight
        if bound < 1:
            raise ParameterError(f"max_in_flight must be >= 1, got {bound}")
        self._fn = fn
        self._items = iter(items)
        self._given = executor
        self._workers = workers
        self.max_in_flight = bound
        self._ordered = ordered
        self._pool: cf.ThreadPoolExecutor | None = None
        self._inflight: dict[cf.Future[R], T] = {}
        self._order: deque[cf.Future[R]] = deque()

    def __repr__(self) -> str:
        return f"BoundedRun(max_in_flight={self.max_in_flight}, in_flight={len(self._inflight)})"

    def __enter__(self) -> Self:
        if self._given is None and self._workers > 0:
            self._pool = cf.ThreadPoolExecutor(self._workers, thread_name_prefix="wsi2rek")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cancel()

    @property
    def in_flight(self) -> int:
        """Calls submitted and not yet handed back."""
        return len(self._inflight)

    def cancel(self) -> None:
        """Cancel the calls not started yet and wait for the running ones to end."""
        for fut in self._inflight:
            fut.cancel()
        cf.wait(list(self._inflight))
        self._inflight.clear()
        self._order.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __iter__(self) -> Iterator[Outcome[T, R]]:
        executor = self._given if self._given is not None else self._pool
        if executor is None:
            if self._workers > 0:
                raise ParameterError("iterate a BoundedRun inside its `with` block")
            yield from self._inline()
            return
        self._top_up(executor)
        while self._inflight:
            if self._ordered:
                fut = self._order[0]
                cf.wait([fut])
                done: Iterable[cf.Future[R]] = [fut]
            else:
                done, _ = cf.wait(list(self._inflight), return_when=cf.FIRST_COMPLETED)
            for fut in done:
                item = self._inflight.pop(fut)
                if self._ordered:
                    self._order.popleft()
                yield _outcome(item, fut)
            self._top_up(executor)

    def _inline(self) -> Iterator[Outcome[T, R]]:
        for item in self._items:
            try:
                result = self._fn(item)
            except Exception as exc:  # noqa: BLE001 (handed to the caller in the outcome)
                yield Outcome(item, None, exc)
            else:
                yield Outcome(item, result, None)

    def _top_up(self, executor: cf.Executor) -> None:
        while len(self._inflight) < self.max_in_flight:
            try:
                item = next(self._items)
            except StopIteration:
                return
            fut = executor.submit(self._fn, item)
            self._inflight[fut] = item
            self._order.append(fut)


def _outcome(item: T, fut: cf.Future[R]) -> Outcome[T, R]:
    error = fut.exception()
    if error is not None:
        return Outcome(item, None, error)
    return Outcome(item, fut.result(), None)


def bounded_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int,
    executor: cf.Executor | None = None,
    max_in_flight: int | None = None,
) -> list[R]:
    """``[fn(x) for x in items]`` on ``workers`` threads, at most ``max_in_flight`` queued.

    The first failing call (in input order) raises its exception; the calls not started
    yet are cancelled and the running ones awaited before it propagates.

    Raises:
        ParameterError: ``workers`` < 0 or ``max_in_flight`` < 1.
    """
    run: BoundedRun[T, R] = BoundedRun(
        fn, items, executor=executor, workers=workers, max_in_flight=max_in_flight, ordered=True
    )
    with run:
        return [outcome.get() for outcome in run]
