"""What runs in a worker process: read windows, encode, write atomically.

Tasks are small and picklable: a slide path, the output folder, the encoding options and
a batch of ``(relative image path, x, y, width, height)`` windows of that slide. Workers
return only ``(relative path, bytes written)`` pairs, never pixels, so inter-process
traffic stays tiny whatever the patch size.

Each worker keeps a few slides open between tasks (:class:`SlideCache`): a process pool
opens them in its initializer, any other executor (Dask, threads...) on the first task
each worker thread runs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

from wsi2rek._atomic import atomic_write_bytes
from wsi2rek.dataset._encode import ImageOptions, encode_patch
from wsi2rek.slides import SlideSource

__all__ = ["SlideCache", "Task", "Window", "init_worker", "run_batch", "run_task"]

#: ``(relative image path, x, y, width, height)``: one patch, in level-0 pixels.
Window = tuple[str, int, int, int, int]

#: ``(slide path, windows of that slide)``: one task.
Task = tuple[str, list[Window]]


class SlideCache:
    """Keeps at most ``size`` slides open, least recently used closed first."""

    def __init__(self, size: int = 4, opener: Callable[[str], SlideSource] | None = None) -> None:
        self.size = size
        self._opener = opener
        self._slides: OrderedDict[str, SlideSource] = OrderedDict()

    def get(self, path: str, backend: str = "auto") -> SlideSource:
        """The open slide at ``path`` (opened on first use with ``backend``).

        ``backend`` is passed to :func:`~wsi2rek.slides.open_slide`; a cache built with
        its own ``opener`` ignores it.
        """
        key = path if backend == "auto" else f"{backend}:{path}"
        slide = self._slides.get(key)
        if slide is not None:
            self._slides.move_to_end(key)
            return slide
        if self._opener is not None:
            slide = self._opener(path)
        else:
            from wsi2rek.slides import open_slide  # noqa: PLC0415  (keep worker import light)

            slide = open_slide(path, backend=backend)
        self._slides[key] = slide
        while len(self._slides) > self.size:
            _, old = self._slides.popitem(last=False)
            old.close()
        return slide

    def close(self) -> None:
        """Close every open slide."""
        while self._slides:
            _, slide = self._slides.popitem()
            slide.close()

    def __repr__(self) -> str:
        return f"SlideCache(size={self.size}, open={list(self._slides)})"


class _ProcessState:
    """Holder for the :class:`SlideCache` of each worker thread.

    This is the only process-global state in wsi2rek: a worker must keep its open slides
    between tasks, and executors give tasks no other place to keep them. It is
    thread-local so that thread-based executors never share a handle between threads. The
    parent process never uses it (in-process builds pass their own cache).
    """

    local = threading.local()


def _thread_cache() -> SlideCache:
    cache: SlideCache | None = getattr(_ProcessState.local, "cache", None)
    if cache is None:
        cache = SlideCache()
        _ProcessState.local.cache = cache
    return cache


def init_worker(slide_paths: Sequence[str] = (), backend: str = "auto") -> None:
    """Process-pool initializer: open the worker's slide handles once, up front."""
    cache = SlideCache(size=max(4, min(len(slide_paths), 8)))
    for path in slide_paths[: cache.size]:
        cache.get(path, backend)
    _ProcessState.local.cache = cache


def run_batch(
    slide_path: str,
    out: str,
    windows: Sequence[Window],
    options: ImageOptions,
    cache: SlideCache | None = None,
    *,
    backend: str = "auto",
) -> list[tuple[str, int]]:
    """Read, encode and atomically write each window of one slide.

    ``backend`` is the slide backend to open it with (see
    :func:`~wsi2rek.slides.open_slide`); every backend gives the same pixels.

    Returns:
        ``(relative image path, bytes written)`` for each window, in order.
    """
    if cache is None:
        cache = _thread_cache()
    slide = cache.get(slide_path, backend)
    root = Path(out)
    done: list[tuple[str, int]] = []
    for rel, x, y, w, h in windows:
        data = encode_patch(slide.read_region(x, y, w, h), options)
        # Not fsynced one by one (~5 ms each on ext4, more than encoding a patch): a
        # killed build still leaves only whole images, and the manifests and dataset.json,
        # written last, are fsynced.
        atomic_write_bytes(root / rel, data, durable=False)
        done.append((rel, len(data)))
    return done


def run_task(
    task: Task,
    *,
    out: str,
    options: ImageOptions,
    backend: str = "auto",
    cache: SlideCache | None = None,
) -> list[tuple[str, int]]:
    """:func:`run_batch` of one ``(slide path, windows)`` task (what the executor runs)."""
    slide_path, windows = task
    return run_batch(slide_path, out, windows, options, cache, backend=backend)
