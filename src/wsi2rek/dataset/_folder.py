"""The state of an output folder: refuse to mix datasets, find finished images."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from wsi2rek.dataset._encode import ImageOptions
from wsi2rek.errors import DatasetError, DatasetMismatchError

__all__ = ["build_key", "existing_images", "prepare_folder"]

#: What ``overwrite=True`` removes (besides ``dataset.json``): everything a build writes,
#: and the ``*.s3.manifest`` files the AWS uploader derives from it.
_OWNED = (
    "images",
    "preview",
    "train.manifest",
    "test.manifest",
    "patches.jsonl",
    "plan.json",
    "train.s3.manifest",
    "test.s3.manifest",
)


def build_key(fingerprint: str, options: ImageOptions, meta: Mapping[str, str]) -> dict[str, Any]:
    """What must match for a rebuild to resume a folder: plan fingerprint and options."""
    return {"fingerprint": fingerprint, **options.to_dict(), **meta}


def prepare_folder(out: Path, key: Mapping[str, Any], *, overwrite: bool) -> None:
    """Empty ``out`` of a previous dataset (``overwrite``) or check that it is this one.

    Raises:
        DatasetMismatchError: ``out`` holds another dataset, or images of unknown origin.
        DatasetError: ``out`` exists and is not a folder.
    """
    info = out / "dataset.json"
    if out.exists() and not out.is_dir():
        raise DatasetError(f"output {out} exists and is not a folder", path=out)
    if overwrite:
        for name in (*_OWNED, "dataset.json"):
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        return
    if info.is_file():
        try:
            old = json.loads(info.read_text(encoding="utf-8")).get("build", {})
        except ValueError as exc:
            raise DatasetMismatchError(
                f"{info} is not valid JSON ({exc}); pass overwrite=True (--overwrite) to "
                "replace this folder",
                path=out,
            ) from exc
        diff = sorted(k for k in set(key) | set(old) if key.get(k) != old.get(k))
        if diff:
            details = ", ".join(f"{k}: {old.get(k)!r} -> {key.get(k)!r}" for k in diff)
            raise DatasetMismatchError(
                f"{out} holds a dataset built with different parameters ({details}); it is "
                "not mixed. Use another folder or pass overwrite=True (--overwrite) to replace "
                "it",
                path=out,
            )
    elif (out / "images").exists() and any((out / "images").iterdir()):
        raise DatasetMismatchError(
            f"{out} has an images/ folder but no dataset.json, so its origin is unknown; use "
            "another folder or pass overwrite=True (--overwrite) to replace it",
            path=out,
        )


def existing_images(out: Path, splits: Iterable[str]) -> set[str]:
    """Relative paths of finished images; stale temporary files are removed."""
    found: set[str] = set()
    for split in splits:
        folder = out / "images" / split
        folder.mkdir(parents=True, exist_ok=True)
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(".") and entry.name.endswith(".tmp"):
                    Path(entry.path).unlink(missing_ok=True)
                elif entry.is_file():
                    found.add(f"images/{split}/{entry.name}")
    return found
