"""The local side of an upload: which files of a dataset folder are sent, read safely.

Only regular files are uploaded: a symbolic link anywhere under ``images/`` is refused
(it could point outside the dataset, at data never meant for S3), manifests must be
UTF-8, and a file that disappears while an upload runs is reported by name.
"""

from __future__ import annotations

import os
from pathlib import Path

from wsi2rek.errors import DatasetError, ManifestError

__all__ = ["read_manifest", "regular_files", "unreadable"]


def unreadable(path: Path, exc: OSError) -> DatasetError:
    """The error for a dataset file that vanished or became unreadable during an upload."""
    return DatasetError(
        f"{path} could not be read during the upload ({exc.strerror or exc}): was it "
        "deleted, moved or changed meanwhile? Rebuild or restore the dataset folder and "
        "upload again (only missing or changed objects are sent)",
        path=path,
    )


def read_manifest(path: Path) -> str:
    """A manifest's text; a file that is not UTF-8 is a one-line ``ManifestError``."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(
            f"{path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}): manifests are UTF-8 JSON Lines; rebuild the dataset with "
            "`wsi2rek build` or re-save the file as UTF-8",
            path=path,
            code="NotUtf8",
        ) from exc


def regular_files(images_dir: Path) -> list[Path]:
    """Every regular file under ``images_dir``; symbolic links are refused, not followed."""
    found: list[Path] = []
    links: list[Path] = []
    for folder, dirs, files in os.walk(images_dir, followlinks=False):
        base = Path(folder)
        links.extend(base / name for name in dirs + files if (base / name).is_symlink())
        found.extend(base / f for f in files if (base / f).is_file())
    if links:
        shown = ", ".join(str(p.relative_to(images_dir.parent)) for p in sorted(links)[:3])
        more = f" and {len(links) - 3} more" if len(links) > 3 else ""
        raise DatasetError(
            f"{images_dir} holds {len(links)} symbolic link(s) ({shown}{more}); wsi2rek "
            "uploads only regular files inside the dataset folder, never what a link points "
            "to: replace each link with a copy of the file, or remove it",
            path=links[0],
        )
    return sorted(p for p in found if not p.is_symlink())
