"""Never leave a model RUNNING: the exit path of ``CustomLabelsModel.running()``.

A running Custom Labels model is billed per inference-unit hour until it is stopped, so
once ``running()`` has been entered a ``StopProjectVersion`` is sent on every way out:

- the ``with`` body returns, raises, or is interrupted by Ctrl-C (``KeyboardInterrupt``);
- the start itself fails half-way (Ctrl-C while ``StartProjectVersion`` is in flight, or
  its response lost after the service applied it): the stop is sent anyway, and a "cannot
  stop" answer is checked against the model's actual status;
- ``SIGTERM`` or ``SIGHUP`` arrives (a killed notebook kernel, a CI timeout, ``kill``):
  while inside ``running()`` in the main thread, these raise ``SystemExit(128 + signal)``
  so the stop runs, then the process exits as the signal asked;
- the stop is throttled, answered with 5xx or its connection drops: it is retried with
  exponential backoff until the deadline, and a signal arriving meanwhile is held until
  the stop has been accepted.

If the stop still cannot be sent, :class:`~wsi2rek.errors.ModelNotStoppedError` is raised
(and logged at ERROR) with the ARN and the exact commands that stop the model.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

import botocore.exceptions

from wsi2rek.aws._clients import error_code, region_from_arn
from wsi2rek.errors import ModelNotStoppedError

if TYPE_CHECKING:
    from wsi2rek.aws._model import CustomLabelsModel

__all__ = ["ensure_stopped", "signals_raise_system_exit", "stop_commands"]

_log = logging.getLogger("wsi2rek.aws")

#: Signals that end a process by default and that Python can catch: inside ``running()``
#: they become ``SystemExit`` so that the model is stopped first (SIGHUP is POSIX only).
_TERMINATING = tuple(
    sig for sig in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if sig
)
#: Signals held (not acted on) while the stop request is being sent.
_HELD = (signal.SIGINT, *_TERMINATING)

#: Errors after which retrying the stop cannot help.
_FATAL = frozenset(
    {"AccessDeniedException", "InvalidParameterException", "ValidationException", "NoCredentials"}
)
_BILLED = frozenset({"RUNNING", "STARTING"})

_Handler = Callable[[int, FrameType | None], object] | int | None


def stop_commands(arn: str) -> str:
    """The two commands that stop the model, for error messages and logs."""
    region = region_from_arn(arn)
    where = f" --region {region}" if region else ""
    return (
        f"`aws rekognition stop-project-version --project-version-arn {arn}{where}` "
        f"or `wsi2rek model stop {arn}`"
    )


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _install(signals: tuple[int, ...], handler: _Handler) -> dict[int, _Handler]:
    """Install ``handler`` for each signal not currently ignored; return what it replaced."""
    previous: dict[int, _Handler] = {}
    for sig in signals:
        current = signal.getsignal(sig)
        if current == signal.SIG_IGN:  # e.g. SIGHUP under nohup: the user asked to ignore it
            continue
        previous[sig] = current
        signal.signal(sig, handler)
    return previous


def _restore(previous: dict[int, _Handler]) -> None:
    for sig, old in previous.items():
        # None: a handler not installed from Python; the default is the closest we can do.
        signal.signal(sig, signal.SIG_DFL if old is None else old)


def _exit_for(signum: int, frame: FrameType | None) -> None:
    del frame
    name = signal.Signals(signum).name
    _log.warning("received %s inside running(): stopping the model before exiting", name)
    raise SystemExit(128 + signum)


@contextmanager
def signals_raise_system_exit() -> Iterator[None]:
    """While inside: SIGTERM and SIGHUP raise ``SystemExit(128 + signal)``.

    Only in the main thread (Python delivers signals there and only there may handlers be
    set); elsewhere this does nothing. Signals the process ignores (``SIG_IGN``, e.g.
    SIGHUP under ``nohup``) stay ignored. The previous handlers are restored on exit.
    """
    if not _in_main_thread():
        yield
        return
    previous = _install(_TERMINATING, _exit_for)
    try:
        yield
    finally:
        _restore(previous)


@contextmanager
def _signals_held(arn: str) -> Iterator[list[int]]:
    """Record SIGINT/SIGTERM/SIGHUP instead of acting on them (main thread only)."""
    received: list[int] = []
    if not _in_main_thread():
        yield received
        return

    def hold(signum: int, frame: FrameType | None) -> None:
        del frame
        received.append(signum)
        _log.warning(
            "received %s while stopping model %s: it is stopped first",
            signal.Signals(signum).name,
            arn,
        )

    previous = _install(_HELD, hold)
    try:
        yield received
    finally:
        _restore(previous)


def _act_on(received: list[int]) -> None:
    """Do now what the first held signal asked for."""
    if not received:
        return
    signum = received[0]
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)


def _status(model: CustomLabelsModel) -> str | None:
    """The model's status, or None when it cannot be read right now."""
    try:
        return model.fetch_status()
    except Exception as exc:  # noqa: BLE001 - any failure only means "unknown, retry"
        _log.warning("could not read the status of model %s: %s", model.arn, exc)
        return None


def _send_stop(
    model: CustomLabelsModel,
    deadline: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> bool:
    """Send ``StopProjectVersion`` until it is accepted or nothing is left to stop.

    Returns:
        True when a stop was accepted (the model is ``STOPPING``), False when the model
        was not billed (never started, already stopped, deleted).

    Raises:
        ModelNotStoppedError: The deadline passed, or an error retrying cannot fix.
    """
    delay = min(1.0, model.poll_interval)
    cap = max(delay, min(30.0, 10 * model.poll_interval))
    attempt = 0
    while True:
        attempt += 1
        reason: str
        try:
            model.client.stop_project_version(ProjectVersionArn=model.arn)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            code = error_code(exc)
            reason = f"{code}: {exc}"
            if code == "ResourceNotFoundException":
                _log.info("model %s does not exist: nothing to stop", model.arn)
                return False
            if code == "ResourceInUseException":
                # Not stoppable now: find out whether it is billed at all.
                status = _status(model)
                if status == "STOPPING":
                    return True
                if status is not None and status not in _BILLED:
                    _log.info("model %s is %s: nothing to stop", model.arn, status)
                    return False
                reason = f"{code} while the model is {status or 'in an unknown status'}"
            elif code in _FATAL:
                raise _not_stopped(model, attempt, reason) from exc
        else:
            return True
        if clock() + delay > deadline:
            raise _not_stopped(model, attempt, reason)
        _log.warning(
            "stopping model %s failed (attempt %d: %s); retrying in %.1f s",
            model.arn,
            attempt,
            reason,
            delay,
        )
        sleep(delay)
        delay = min(cap, delay * 2)


def _not_stopped(model: CustomLabelsModel, attempts: int, reason: str) -> ModelNotStoppedError:
    message = (
        f"could not stop model {model.arn} after {attempts} attempt(s) (last: {reason}): it "
        f"may still be RUNNING and billed per hour; stop it now with {stop_commands(model.arn)}"
    )
    _log.error("%s", message)
    return ModelNotStoppedError(message, resource=model.arn)


def ensure_stopped(
    model: CustomLabelsModel,
    *,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Stop ``model`` and wait for ``STOPPED``, robustly (see the module docs).

    The stop request is sent first, without reading the status (a status lookup that
    fails must not prevent the stop). SIGINT, SIGTERM and SIGHUP are held until the stop
    is accepted, then acted on (without waiting for ``STOPPED``). A failure while waiting
    for ``STOPPED`` after an accepted stop is logged, not raised: the model is stopping.

    Args:
        model: The model to stop.
        timeout: Seconds to keep retrying the stop, then to wait for ``STOPPED``.
        clock: Monotonic clock (injectable for tests).
        sleep: Sleep function (injectable for tests).

    Raises:
        ModelNotStoppedError: The stop could not be sent before the deadline.
    """
    deadline = clock() + timeout
    with _signals_held(model.arn) as received:
        stopping = _send_stop(model, deadline, clock, sleep)
    _act_on(received)
    if not stopping:
        return
    _log.info("stopping model %s", model.arn)
    while clock() < deadline:
        status = _status(model)
        if status == "STOPPED":
            _log.info("model %s stopped", model.arn)
            return
        if status in _BILLED:
            # A start applied after our stop (a late, lost StartProjectVersion): stop again.
            stopping = _send_stop(model, deadline, clock, sleep)
            if not stopping:
                return
        elif status is not None and status != "STOPPING":
            _log.info("model %s is %s", model.arn, status)
            return
        sleep(min(model.poll_interval, max(0.0, deadline - clock())))
    _log.warning(
        "model %s was asked to stop but is not STOPPED yet after %.0f s; check it with "
        "`wsi2rek model status %s`",
        model.arn,
        timeout,
        model.arn,
    )
