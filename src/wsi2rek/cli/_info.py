"""``wsi2rek info PATH [--json]``: what wsi2rek sees in a slide or in annotations."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wsi2rek.annotations import (
    GEOJSON_SUFFIXES,
    QuPathGeoJSON,
    SlideRunnerDB,
    is_sqlite_file,
    summarise_annotations,
)
from wsi2rek.cli._common import add_backend_flag, add_json_flag, print_json
from wsi2rek.errors import SkippedAnnotationWarning
from wsi2rek.slides import SlideSource, open_slide

__all__ = ["register", "render", "slide_info"]

#: A missing file with one of these suffixes is reported as a missing database.
_DB_SUFFIXES = frozenset({".sqlite", ".sqlite3", ".db"})


def register(subparsers: Any) -> None:
    """Add the ``info`` subcommand."""
    p = subparsers.add_parser(
        "info",
        help="describe a slide or a SlideRunner database",
        description="For a slide (any file open_slide reads): backend, vendor, size, pyramid "
        "levels and microns per pixel. For a SlideRunner database (recognised by its SQLite "
        "header): schema version, slides, classes, persons and annotation counts by kind "
        "and by class (deleted annotations are counted apart), and how many annotations "
        "have a vote that differs from their agreed class. The database is opened "
        "read-only and left unchanged. For QuPath GeoJSON (.geojson): slides, classes and "
        "annotation counts by kind and by class.",
    )
    p.add_argument(
        "path",
        type=Path,
        metavar="PATH",
        help="a slide file, a .sqlite database or a QuPath .geojson file",
    )
    add_json_flag(p)
    add_backend_flag(p)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    path: Path = args.path
    named_like_db = path.suffix.lower() in _DB_SUFFIXES
    geojson = path.suffix.lower() in GEOJSON_SUFFIXES
    if geojson or is_sqlite_file(path) or (named_like_db and not path.exists()):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SkippedAnnotationWarning)
            if geojson:
                with QuPathGeoJSON(path) as source:
                    info = summarise_annotations(source).to_dict()
            else:
                with SlideRunnerDB(path) as db:
                    info = summarise_annotations(db).to_dict()
        for warning in caught:
            if issubclass(warning.category, SkippedAnnotationWarning):
                print(f"wsi2rek info: warning: {warning.message}", file=sys.stderr)
            else:  # pragma: no cover - not expected; re-emit anything else unchanged
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
    else:
        with open_slide(path, backend=args.backend) as slide:
            info = slide_info(slide)
    if args.json:
        print_json(info)
    else:
        print(render(info))
    return 0


def slide_info(slide: SlideSource) -> dict[str, Any]:
    """The ``info`` summary of an open slide (JSON-ready)."""
    return {
        "kind": "slide",
        "path": str(slide.path),
        "backend": slide.backend,
        "vendor": slide.vendor,
        "dimensions": list(slide.dimensions),
        "level_count": slide.level_count,
        "level_dimensions": [list(d) for d in slide.level_dimensions],
        "mpp": None if slide.mpp is None else list(slide.mpp),
    }


def _table(rows: Sequence[tuple[str, str]]) -> list[str]:
    width = max((len(key) for key, _ in rows), default=0)
    return [f"{key.ljust(width)}  {value}".rstrip() for key, value in rows]


#: Slide file names listed by the text output (``--json`` lists every one).
_NAMES_SHOWN = 20


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_NAMES_SHOWN]) or "-"
    more = len(names) - _NAMES_SHOWN
    return f"{shown}, ... and {more} more (--json lists all)" if more > 0 else shown


def _named(ids: Mapping[str, str]) -> str:
    return ", ".join(f"{uid} {name}" for uid, name in ids.items()) or "-"


def render(info: Mapping[str, Any]) -> str:
    """A readable, aligned text table of an ``info`` summary (slide or annotations).

    ``info`` is :func:`slide_info` or ``AnnotationSummary.to_dict()``.
    """
    if info["kind"] == "slide":
        w, h = info["dimensions"]
        mpp = info["mpp"]
        levels = ", ".join(f"{lw} x {lh}" for lw, lh in info["level_dimensions"])
        return "\n".join(
            [
                f"{info['path']}  (slide)",
                *_table(
                    [
                        ("backend", str(info["backend"])),
                        ("vendor", str(info["vendor"] or "-")),
                        ("dimensions", f"{w} x {h} px"),
                        ("levels", f"{info['level_count']}: {levels}"),
                        ("mpp", "-" if mpp is None else f"{mpp[0]:.4g} x {mpp[1]:.4g} um/px"),
                    ]
                ),
            ]
        )
    annos = info["annotations"]
    classes: Mapping[str, str] = info["classes"]
    counted = f"not counted: {annos['deleted']} deleted, {annos['skipped']} skipped"
    qupath = "schema_version" not in info  # QuPath GeoJSON, or another source
    rows: list[tuple[str, str]] = [
        ("slides", str(info["slides"])),
        ("slide files", _names(info.get("slide_names", []))),
        ("classes", _named(classes)),
        ("annotations", f"{annos['total']} ({counted})"),
    ]
    if not qupath:
        rows.insert(0, ("schema version", str(info["schema_version"])))
        rows.insert(4, ("persons", _named(info["persons"])))
    kind_rows = [(f"  {kind}", str(n)) for kind, n in annos["by_kind"].items() if n]
    class_rows = [
        (
            f"  {key} {classes.get(key, '(not a class)')}" if key != "unknown" else "  unknown",
            str(n),
        )
        for key, n in annos["by_class"].items()
    ]
    rows += [("by kind", ""), *kind_rows, ("by class", ""), *class_rows]
    if qupath:
        return "\n".join([f"{info['path']}  (QuPath GeoJSON)", *_table(rows)])
    rows.append(("vote disagreements", str(info["vote_disagreements"])))
    return "\n".join([f"{info['path']}  (SlideRunner database)", *_table(rows)])
