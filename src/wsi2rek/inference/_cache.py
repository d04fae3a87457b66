"""A resumable cache of per-tile detector results, as JSON lines."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from wsi2rek._json import dumps
from wsi2rek.detection import Detection
from wsi2rek.errors import DetectionCacheError
from wsi2rek.geometry import Box

__all__ = ["TileCache"]

_FORMAT = "wsi2rek-detect-cache/1"

TileKey = tuple[int, int, int, int, int]


def _encode(det: Detection) -> list[Any]:
    b = det.box
    return [det.label, det.confidence, b.left, b.top, b.right, b.bottom]


def _decode(row: Sequence[Any]) -> Detection:
    label, conf, left, top, right, bottom = row
    return Detection(str(label), float(conf), Box(left, top, right, bottom))


class TileCache:
    """Per-tile detector results appended to a JSON-lines file, one flushed line per tile.

    The first line records the parameters the results depend on (slide, tile grid,
    detector); opening a cache written with other parameters raises
    :class:`~wsi2rek.errors.DetectionCacheError` instead of mixing results. A last line
    cut short by an interruption is dropped (that tile simply runs again).
    Detections are stored in the tile's own pixel frame, as the detector returned them.
    """

    def __init__(self, path: str | Path, params: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self.params = json.loads(dumps(dict(params), what="detection cache parameters"))
        self.results: dict[TileKey, list[Detection]] = {}
        self._lock = threading.Lock()
        self._handle: IO[str] | None = None
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        if not self.path.is_file():
            raise DetectionCacheError(
                f"{self.path} is not a regular file, so it cannot be a detection cache; give "
                "another cache=",
                path=self.path,
                parameter="cache",
            )
        data = self.path.read_bytes()
        # Keep only complete lines: an interrupted run may leave half a line at the end.
        complete = data[: data.rfind(b"\n") + 1]
        first = complete.split(b"\n", 1)[0]
        try:
            header = json.loads(first.decode("utf-8")) if first else None
        except ValueError:  # not UTF-8, or not JSON
            header = None
        if not isinstance(header, dict) or header.get("format") != _FORMAT:
            if not complete and self._header_line().startswith(data):
                # only the start of our own header: a run killed while creating the file
                self.path.write_bytes(b"")
                return
            # Never appended to or truncated: the file is not ours.
            raise DetectionCacheError(
                f"{self.path} is not a wsi2rek detection cache (its first line is not a "
                f"{_FORMAT} header); pass another cache= or delete the file",
                path=self.path,
                parameter="cache",
            )
        try:
            lines = complete.decode("utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise DetectionCacheError(
                f"{self.path} is damaged (not UTF-8 text at byte {exc.start}); delete the "
                "cache file to start over",
                path=self.path,
            ) from exc
        if header.get("params") != self.params:
            old = header.get("params") or {}
            diff = sorted(
                k for k in set(old) | set(self.params) if old.get(k) != self.params.get(k)
            )
            details = ", ".join(f"{k}: {old.get(k)!r} -> {self.params.get(k)!r}" for k in diff)
            raise DetectionCacheError(
                f"the detection cache {self.path} was written with other parameters "
                f"({details}); its results are not mixed with these. Use another cache "
                "file, or delete it to start over",
                path=self.path,
            )
        for number, line in enumerate(lines[1:], start=2):
            try:
                row = json.loads(line)
                key: TileKey = tuple(int(v) for v in row["tile"])  # type: ignore[assignment]
                self.results[key] = [_decode(d) for d in row["detections"]]
            except (ValueError, KeyError, TypeError) as exc:
                raise DetectionCacheError(
                    f"{self.path} line {number}: not a tile result ({exc}); delete the cache "
                    "file to start over",
                    path=self.path,
                ) from exc
        if len(complete) != len(data):
            with self.path.open("r+b") as fh:
                fh.truncate(len(complete))

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        self._handle = self.path.open("a", encoding="utf-8")
        if fresh:
            self._handle.write(self._header_line().decode("utf-8"))
            self._handle.flush()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _header_line(self) -> bytes:
        header = {"format": _FORMAT, "params": self.params}
        text = dumps(header, what=f"detection cache {self.path}", sort_keys=True)
        return (text + "\n").encode("utf-8")

    def close(self) -> None:
        """Flush to disk and close the file."""
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None

    def get(self, key: TileKey) -> list[Detection] | None:
        """The cached detections of a tile, or None when it has not run yet."""
        return self.results.get(key)

    def put(self, key: TileKey, detections: Sequence[Detection]) -> None:
        """Record a tile's detections: one line, written and flushed at once."""
        line = dumps(
            {"tile": list(key), "detections": [_encode(d) for d in detections]},
            what=f"detection cache {self.path}",
        )
        with self._lock:
            self.results[key] = list(detections)
            if self._handle is not None:
                self._handle.write(line + "\n")
                self._handle.flush()

    def __repr__(self) -> str:
        return f"TileCache({str(self.path)!r}, tiles={len(self.results)})"
