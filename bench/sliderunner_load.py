"""Loading every annotation of a SlideRunner database: wsi2rek versus one query per annotation.

Both variants load the same thing from the same read-only file in one run: every
non-deleted annotation with its coordinates (in ``orderIdx`` order) and its votes.

(a) ``naive``: the pattern SlideRunner's own helpers follow (``findAllAnnotations``,
    ``findAllAnnotationLabels``): one query for the annotation rows, then one query for
    the coordinates and one for the labels of every annotation;
(b) ``wsi2rek``: ``SlideRunnerDB(path).annotations()`` (three queries in total, grouped
    in Python, built into frozen ``Annotation`` values).

The database has no index on ``annoId``, so every naive query scans the whole table and
(a) takes tens of seconds; it runs ``--naive-repeat`` times (default 1), (b) ``--repeat``
times (default 5). It prints JSON with the best run of each, the ratio naive / wsi2rek,
and the counts loaded (which must agree). The default database is TUPAC_AL.sqlite
(12,482 annotations, 31,284 label rows) from the shared data folder.

Usage::

    python bench/sliderunner_load.py [DATABASE] [--repeat N] [--naive-repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from wsi2rek.annotations import SlideRunnerDB

REPO = Path(__file__).resolve().parents[1]
DEFAULT = (
    Path(os.environ.get("WSI2REK_SHARED_DATA", REPO.parent / "shared" / "data"))
    / "sliderunner"
    / "TUPAC_AL.sqlite"
)
TARGET_SECONDS = 1.0


def naive(path: Path) -> tuple[int, int]:
    """One query per annotation for coordinates and one for labels."""
    uri = "file:" + urllib.parse.quote(str(path.resolve())) + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    try:
        annos = conn.execute(
            "SELECT uid, slide, type, agreedClass FROM Annotations WHERE deleted = 0"
        ).fetchall()
        n_votes = 0
        loaded = []
        for uid, slide, kind, agreed in annos:
            coords = conn.execute(
                "SELECT coordinateX, coordinateY FROM Annotations_coordinates "
                "WHERE annoId = ? ORDER BY orderIdx, uid",
                (uid,),
            ).fetchall()
            votes = dict(
                conn.execute(
                    "SELECT person, class FROM Annotations_label WHERE annoId = ? ORDER BY uid",
                    (uid,),
                ).fetchall()
            )
            n_votes += len(votes)
            loaded.append((uid, slide, kind, agreed, coords, votes))
        return len(loaded), n_votes
    finally:
        conn.close()


def fast(path: Path) -> tuple[int, int]:
    """wsi2rek's reader."""
    with SlideRunnerDB(path) as db:
        annotations = db.annotations()
    return len(annotations), sum(len(a.votes) for a in annotations)


def best_of(
    fn: Callable[[Path], tuple[int, int]], path: Path, repeat: int
) -> tuple[float, tuple[int, int]]:
    times = []
    result = (0, 0)
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(path)
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--naive-repeat", type=int, default=1)
    args = parser.parse_args()
    path: Path = args.database
    fast(path)  # warm the OS file cache and imports for both variants
    t_naive, counts_naive = best_of(naive, path, args.naive_repeat)
    t_fast, counts_fast = best_of(fast, path, args.repeat)
    if counts_naive != counts_fast:
        raise SystemExit(f"variants disagree: naive {counts_naive}, wsi2rek {counts_fast}")
    print(
        json.dumps(
            {
                "database": path.name,
                "annotations": counts_fast[0],
                "votes": counts_fast[1],
                "repeat": {"naive": args.naive_repeat, "wsi2rek": args.repeat},
                "naive_s": round(t_naive, 4),
                "wsi2rek_s": round(t_fast, 4),
                "speedup_vs_naive": round(t_naive / t_fast, 2),
                "target_s": TARGET_SECONDS,
                "meets_target": t_fast < TARGET_SECONDS,
                "python": platform.python_version(),
                "sqlite": sqlite3.sqlite_version,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
