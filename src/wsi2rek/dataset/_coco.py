"""Export a built dataset as COCO detection JSON (and optionally YOLO labels).

For training somewhere other than Rekognition. The built dataset's manifests are the
source of truth: every image and box is read back through :class:`Manifest`, so the
export holds exactly what Rekognition would train on.

COCO (the ``instances_*.json`` layout pycocotools reads): ``images`` (``id``,
``file_name`` relative to the dataset folder, ``width``, ``height``), ``annotations``
(``id``, ``image_id``, ``category_id``, ``bbox`` as ``[x, y, width, height]`` in pixels,
``area``, ``iscrowd: 0``) and ``categories`` (the labels, sorted by name, ids from 1,
the same ids in every split).

YOLO: one ``<image stem>.txt`` per image under ``yolo/labels/<split>/``, a line
``class x_center y_center width height`` per box, normalised to the image size, with
``class`` = COCO category id - 1; ``yolo/classes.txt`` lists the labels in that order.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from wsi2rek._atomic import atomic_write_text
from wsi2rek._json import dumps
from wsi2rek.dataset._manifest import Manifest
from wsi2rek.errors import DatasetError

__all__ = ["export_coco"]

SPLITS: Final = ("train", "test")


def _manifest(dataset: Path, split: str) -> Manifest | None:
    path = dataset / f"{split}.manifest"
    if not path.is_file():
        return None
    manifest = Manifest.read(path)
    texts = [t for t in manifest.source_lines or () if t.strip()]
    if len(texts) != len(manifest.lines):
        raise DatasetError(
            f"{path}: {len(texts) - len(manifest.lines)} of {len(texts)} lines are not "
            f"object-detection lines; run 'wsi2rek validate {path}' to see them, then "
            "rebuild the dataset",
            path=path,
        )
    return manifest


def _coco(manifest: Manifest, categories: Mapping[str, int]) -> dict[str, Any]:
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image_id, line in enumerate(manifest.lines, start=1):
        images.append(
            {
                "id": image_id,
                "file_name": line.source_ref,
                "width": line.width,
                "height": line.height,
            }
        )
        for label, (_, left, top, width, height) in zip(line.labels, line.boxes, strict=True):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": categories[label],
                    "bbox": [left, top, width, height],
                    "area": width * height,
                    "iscrowd": 0,
                }
            )
    return {
        "info": {"description": "exported by wsi2rek from a Rekognition dataset"},
        "images": images,
        "annotations": annotations,
        "categories": [
            {"id": cid, "name": name, "supercategory": "object"} for name, cid in categories.items()
        ],
    }


def _yolo_lines(manifest: Manifest, categories: Mapping[str, int]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in manifest.lines:
        rows = []
        for label, (_, left, top, width, height) in zip(line.labels, line.boxes, strict=True):
            cx = (left + width / 2) / line.width
            cy = (top + height / 2) / line.height
            rows.append(
                f"{categories[label] - 1} {cx:.6f} {cy:.6f} "
                f"{width / line.width:.6f} {height / line.height:.6f}"
            )
        stem = Path(line.source_ref.rsplit("/", 1)[-1]).stem
        out[f"{stem}.txt"] = "".join(row + "\n" for row in rows)
    return out


def export_coco(
    dataset_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    yolo: bool = False,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write a built dataset as COCO detection JSON, one file per split.

    Example:
        >>> export_coco("demo/dataset", "demo/coco", yolo=True)  # doctest: +SKIP
        {'train': PosixPath('demo/coco/train.json'), 'test': ...}

    Args:
        dataset_dir: A folder written by ``wsi2rek build`` (its ``train.manifest`` and
            ``test.manifest`` are read; a split without a manifest is left out).
        out_dir: Where to write ``<split>.json`` (created if needed). Image paths in it
            are relative to ``dataset_dir``, so use ``dataset_dir`` as the image root.
        yolo: Also write YOLO text labels under ``out_dir/yolo/``.
        overwrite: Replace files a previous export wrote (otherwise existing output
            files are an error).

    Returns:
        Split -> the COCO file written.

    Raises:
        DatasetError: when ``dataset_dir`` holds no manifest, a manifest has lines that
            do not parse, or an output file exists without ``overwrite``.
    """
    dataset = Path(dataset_dir)
    out = Path(out_dir)
    manifests = {s: m for s in SPLITS if (m := _manifest(dataset, s)) is not None}
    if not manifests:
        raise DatasetError(
            f"{dataset} holds no train.manifest or test.manifest; pass a folder written "
            "by 'wsi2rek build'",
            path=dataset,
        )
    names = sorted({label for m in manifests.values() for line in m.lines for label in line.labels})
    categories = {name: cid for cid, name in enumerate(names, start=1)}
    planned: dict[Path, str] = {
        out / f"{split}.json": dumps(_coco(m, categories), what="COCO JSON", indent=1) + "\n"
        for split, m in manifests.items()
    }
    if yolo:
        planned[out / "yolo" / "classes.txt"] = "".join(f"{n}\n" for n in names)
        for split, m in manifests.items():
            for name, text in _yolo_lines(m, categories).items():
                planned[out / "yolo" / "labels" / split / name] = text
    existing = [p for p in planned if p.exists()]
    if existing and not overwrite:
        raise DatasetError(
            f"{existing[0]} already exists ({len(existing)} output files do); choose another "
            "out_dir or pass overwrite=True to replace them",
            path=existing[0],
            parameter=("out_dir", "overwrite"),
        )
    for path, text in planned.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)
    return {split: out / f"{split}.json" for split in manifests}
