"""The state of an output folder: refuse to mix datasets, find finished images."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

import attrs

from wsi2rek._atomic import is_temporary_name
from wsi2rek.dataset._encode import ImageOptions
from wsi2rek.dataset._manifest import DEFAULT_CREATION_DATE
from wsi2rek.errors import DatasetError, DatasetMismatchError, SamplingError
from wsi2rek.rekognition import creation_date
from wsi2rek.sampling import TIME_PARAMS

if TYPE_CHECKING:
    from wsi2rek.sampling import PatchPlan

__all__ = ["build_key", "existing_images", "prepare_folder", "resumed_params", "stamp_build"]

#: Files at the top of a dataset folder that a build writes (``plan.json`` and
#: ``dataset.json`` too, removed last), and the ``*.s3.manifest`` files the AWS uploader
#: derives from them. ``overwrite=True`` removes these, and under ``images/`` and
#: ``preview/`` only the images and previews of the old plan.
_FIXED = (
    "train.manifest",
    "test.manifest",
    "patches.jsonl",
    "train.s3.manifest",
    "test.s3.manifest",
)
#: Folders holding only files a build names from its plan.
_PLANNED = ("images", "preview")
#: Every image extension :class:`ImageOptions` can write.
_IMAGE_EXTENSIONS = ("png", "jpg")
#: The ``format`` of ``dataset.json`` files wsi2rek writes, up to the version number.
_FORMAT_PREFIX = "wsi2rek-dataset/"
#: How many foreign files an error message names.
_LISTED = 5


def build_key(fingerprint: str, options: ImageOptions, meta: Mapping[str, Any]) -> dict[str, Any]:
    """What must match for a rebuild to resume a folder: plan fingerprint and options.

    ``meta`` adds the manifest fields and ``slide_identities`` (slide name ->
    :func:`~wsi2rek.slides.slide_identity`), so that a slide file replaced by another
    between two runs is refused instead of mixing the pixels of both files.
    """
    return {"fingerprint": fingerprint, **options.to_dict(), **meta}


def _read_info(out: Path) -> dict[str, Any] | None:
    """The ``dataset.json`` of ``out``, None when absent.

    Raises:
        DatasetMismatchError: The file exists but is not a wsi2rek ``dataset.json``.
    """
    info = out / "dataset.json"
    if not info.exists() and not info.is_symlink():
        return None
    try:
        data = json.loads(info.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        data, detail = None, f"it cannot be read as JSON: {exc}"
    else:
        detail = "it has no wsi2rek-dataset format field"
    if not isinstance(data, dict) or not str(data.get("format", "")).startswith(_FORMAT_PREFIX):
        raise DatasetMismatchError(
            f"{info} is not a wsi2rek dataset.json ({detail}), so wsi2rek neither resumes nor "
            "replaces this folder; build into another folder",
            path=out,
        )
    return data


def _planned_files(out: Path) -> set[str]:
    """Paths (relative, POSIX) of the images and previews the folder's plan names."""
    from wsi2rek.sampling import PatchPlan  # noqa: PLC0415  (only when overwriting)

    plan_file = out / "plan.json"
    if not plan_file.is_file():
        return set()  # killed before the plan was saved: no image was written yet
    try:
        plan = PatchPlan.load(plan_file)
    except SamplingError as exc:
        raise DatasetMismatchError(
            f"cannot tell which files of {out} the previous build wrote: {exc.message}. "
            "Nothing was deleted; build into another folder",
            path=out,
        ) from exc
    owned = {f"images/{p.split}/{p.name}.{ext}" for p in plan.patches for ext in _IMAGE_EXTENSIONS}
    slides = {p.slide for p in plan.patches} | set(plan.objects)
    owned.update(f"preview/{PurePath(name).stem}.png" for name in slides)
    return owned


def _foreign_files(out: Path, owned: set[str]) -> list[str]:
    """Files under ``images/`` and ``preview/`` that are neither owned nor temporary."""
    foreign: list[str] = []
    for folder in _PLANNED:
        top = out / folder
        if top.is_symlink() or (top.exists() and not top.is_dir()):
            foreign.append(folder)
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            base = Path(dirpath).relative_to(out).as_posix()
            # a symlink to a folder is listed in dirnames and never followed: foreign
            names = filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]
            for name in names:
                rel = f"{base}/{name}"
                if rel not in owned and not is_temporary_name(name):
                    foreign.append(rel)
    return sorted(foreign)


def _remove_dataset(out: Path) -> None:
    """Remove what the dataset in ``out`` wrote, or refuse if anything else is there.

    Removal order keeps the folder recognisable until the end: images and previews
    first, ``dataset.json`` last, so an interrupted overwrite can be run again.
    """
    owned = _planned_files(out)
    foreign = _foreign_files(out, owned)
    if foreign:
        listing = ", ".join(foreign[:_LISTED])
        more = f" and {len(foreign) - _LISTED} more" if len(foreign) > _LISTED else ""
        raise DatasetMismatchError(
            f"{out} holds files the previous build did not write: {listing}{more}. "
            "overwrite removes only a dataset's own files, so nothing was deleted; move "
            "those files out of images/ and preview/, or build into another folder",
            path=out,
        )
    for folder in _PLANNED:
        top = out / folder
        for dirpath, _dirnames, filenames in os.walk(top, topdown=False):
            for name in filenames:
                (Path(dirpath) / name).unlink()  # owned or temporary: checked above
            if Path(dirpath) != top:
                with contextlib.suppress(OSError):  # not empty: a foreign empty folder
                    Path(dirpath).rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()
    for name in (*_FIXED, "plan.json", "dataset.json"):
        (out / name).unlink(missing_ok=True)


def _difference(name: str, old: Any, new: Any) -> str:
    """One changed entry of the build key, readable (slides by name, not by hash)."""
    if name == "slide_identities" and isinstance(old, dict) and isinstance(new, dict):
        changed = sorted(s for s in set(old) | set(new) if old.get(s) != new.get(s))
        return (
            f"slide_identities: the files of slides {changed} are not the ones the dataset "
            "was built from (other content under the same name)"
        )
    return f"{name}: {old!r} -> {new!r}"


def prepare_folder(
    out: Path,
    key: Mapping[str, Any],
    *,
    overwrite: bool,
    params: Mapping[str, Any] | None = None,
) -> None:
    """Check that ``out`` can take this dataset; with ``overwrite``, remove an older one.

    ``overwrite`` removes only files a previous build in ``out`` wrote (the images and
    previews its ``plan.json`` names, its manifests, ``patches.jsonl``, ``plan.json``,
    ``dataset.json`` and the uploader's ``*.s3.manifest``), and refuses, deleting
    nothing, when ``images/`` or ``preview/`` hold anything else. A folder without a
    wsi2rek ``dataset.json`` is never cleaned.

    Raises:
        DatasetMismatchError: ``out`` holds another dataset (without ``overwrite``), files
            the previous build did not write, images of unknown origin, or a
            ``dataset.json`` that is not wsi2rek's.
        DatasetError: ``out`` exists and is not a folder.

    ``params`` (the new plan's parameters) lets a refusal say which planning parameter
    changed when the plan fingerprints differ.
    """
    if out.exists() and not out.is_dir():
        raise DatasetError(f"output {out} exists and is not a folder", path=out)
    info = _read_info(out)
    if info is not None:
        if overwrite:
            _remove_dataset(out)
            return
        old = info.get("build", {})
        old = old if isinstance(old, dict) else {}
        diff = sorted(k for k in set(key) | set(old) if key.get(k) != old.get(k))
        if diff:
            details = ", ".join(_difference(k, old.get(k), key.get(k)) for k in diff)
            if "fingerprint" in diff and params is not None:
                details += "; " + _params_change(info.get("params"), params)
            raise DatasetMismatchError(
                f"{out} holds a dataset built with different parameters ({details}); it is "
                "not mixed. Use another folder or pass overwrite=True to replace it",
                path=out,
                parameter="overwrite",
            )
    elif (out / "images").exists() and any((out / "images").iterdir()):
        # Not ours to resume, and never ours to delete: --overwrite would not help either.
        raise DatasetMismatchError(
            f"{out} has an images/ folder but no dataset.json, so it is not a wsi2rek "
            "dataset and its files are not ours to mix with or delete; build into another "
            "folder (or move images/ away)",
            path=out,
        )


def resumed_params(
    out: Path, key: Mapping[str, Any], params: Mapping[str, Any]
) -> dict[str, Any] | None:
    """``params`` with the time of the plan ``out`` was built from, to resume that build.

    A plan's ``creation_date`` is the time it was made, so the command line, which plans
    again on every run, would otherwise never resume its own interrupted build. When
    ``out`` holds a dataset whose build ``key`` differs from this one only in
    ``creation_date``, the stored ``plan.json``'s time fields replace those of ``params``
    (none for a plan saved before plans were stamped, which then keeps the old fixed
    date), so the resumed dataset is byte-identical to an uninterrupted build of the first
    plan. None when there is nothing to resume or the dates differ for another reason
    (a ``creation_date`` given to that build): :func:`prepare_folder` then refuses.
    """
    try:
        info = _read_info(out) if out.is_dir() else None
    except DatasetMismatchError:
        return None  # prepare_folder says why
    old = info.get("build") if info is not None else None
    if not isinstance(old, dict) or "creation_date" not in old:
        return None
    if old["creation_date"] == key.get("creation_date"):
        return None
    if any(old.get(k) != key.get(k) for k in set(old) | set(key) if k != "creation_date"):
        return None
    try:
        stored = json.loads((out / "plan.json").read_text(encoding="utf-8"))["params"]
        stamp = {k: stored[k] for k in TIME_PARAMS if k in stored}
    except (OSError, ValueError, KeyError, TypeError):
        # killed between dataset.json and plan.json: the key's date is all there is
        stamp = {"creation_date": old["creation_date"], "creation_date_source": "clock"}
    resumed = {k: v for k, v in params.items() if k not in TIME_PARAMS} | stamp
    # the date build_dataset derives from these params (the fixed one for unstamped plans)
    date = resumed.get("creation_date", DEFAULT_CREATION_DATE)
    return resumed if date == old["creation_date"] else None


def _params_change(old: Any, new: Mapping[str, Any]) -> str:
    """Which planning parameters differ between a stored dataset.json and a new plan."""
    if not isinstance(old, dict):  # an interrupted build records its parameters only at the end
        return "the previous build did not finish, so its planning parameters are not recorded"
    changed = sorted(
        k for k in set(old) | set(new) if old.get(k) != new.get(k) and k not in TIME_PARAMS
    )
    if not changed:
        return (
            "the planning parameters are the same, so the patches differ: another database, "
            "other slides or a changed sampler"
        )
    return "planning parameters changed: " + ", ".join(
        f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in changed
    )


def existing_images(out: Path, splits: Iterable[str]) -> set[str]:
    """Relative paths of finished images; stale temporary files are removed."""
    found: set[str] = set()
    for split in splits:
        folder = out / "images" / split
        folder.mkdir(parents=True, exist_ok=True)
        with os.scandir(folder) as entries:
            for entry in entries:
                if is_temporary_name(entry.name):
                    Path(entry.path).unlink(missing_ok=True)
                elif entry.is_file():
                    found.add(f"images/{split}/{entry.name}")
    return found


def _creation_date(plan: PatchPlan, given: str | datetime | None) -> str:
    if isinstance(given, datetime):
        return creation_date(given)
    if given is not None:
        return given
    value = plan.params.get("creation_date")
    return str(value) if value is not None else DEFAULT_CREATION_DATE


def stamp_build(
    plan: PatchPlan,
    root: Path,
    given: str | datetime | None,
    *,
    overwrite: bool,
    fingerprint: str,
    options: ImageOptions,
    meta: Mapping[str, Any],
) -> tuple[PatchPlan, str, dict[str, Any]]:
    """The plan, ``creation-date`` and build key to build with.

    A plan stamped by the clock that only differs in its time from the one ``root`` was
    built from takes that plan's time (see :func:`resumed_params`).
    """
    date = _creation_date(plan, given)
    key = build_key(fingerprint, options, {**meta, "creation_date": date})
    if given is None and not overwrite and plan.params.get("creation_date_source") == "clock":
        resumed = resumed_params(root, key, plan.params)
        if resumed is not None:
            plan = attrs.evolve(plan, params=resumed)
            date = _creation_date(plan, None)
            key = build_key(fingerprint, options, {**meta, "creation_date": date})
    return plan, date, key
