"""Rewrite a dataset's manifests for S3: relative ``source-ref`` values become S3 URIs."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from wsi2rek._jsonl import dumps_line, parse_line, split_lines
from wsi2rek.errors import ManifestError
from wsi2rek.rekognition import Code

__all__ = ["rewrite_manifest", "s3_manifest_name"]


def s3_manifest_name(split: str) -> str:
    """The name of a split's rewritten manifest: ``train`` -> ``train.s3.manifest``.

    ``S3Uploader`` writes it beside the local manifest and under the upload prefix;
    :func:`wsi2rek.aws.find_manifests` looks for it there.
    """
    return f"{split}.s3.manifest"


def rewrite_manifest(
    text: str,
    *,
    base_uri: str,
    path: str | Path = "<manifest>",
    known: Collection[str] | None = None,
) -> str:
    """Rewrite every relative ``source-ref`` of a manifest to ``base_uri + "/" + ref``.

    Lines are split on newline characters only (the manifest writer's rule): a label or
    slide name holding U+2028, U+2029 or U+0085 stays on its line, and is written escaped.

    Args:
        text: The manifest (JSON lines).
        base_uri: ``s3://bucket/prefix`` (no trailing slash needed).
        path: The manifest's path, for error messages.
        known: When given, the relative paths that will be uploaded; a ``source-ref``
            outside it is an error (the manifest would point at a missing object).

    Returns:
        The rewritten manifest, one compact JSON object per line; blank lines dropped.

    Raises:
        ManifestError: A line is not a JSON object, has no ``source-ref``, or its
            ``source-ref`` is absolute, leaves the dataset folder or is not in ``known``.
    """
    base = base_uri.rstrip("/")
    out: list[str] = []
    for number, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            continue
        record, reason = parse_line(line)
        if reason is not None:
            raise ManifestError(
                f"{path}:{number}: {reason}; rebuild the dataset or run `wsi2rek validate`",
                path=path,
                line=number,
                code=Code.ERROR_INVALID_JSON_LINE,
            )
        ref = record.get("source-ref") if isinstance(record, dict) else None
        if not isinstance(ref, str):
            raise ManifestError(
                f"{path}:{number}: expected a JSON object with a string 'source-ref', found "
                f"{line[:80]!r}",
                path=path,
                line=number,
                code=Code.ERROR_MISSING_SOURCE_REF,
            )
        if not ref.startswith("s3://"):
            parts = Path(ref).parts
            if Path(ref).is_absolute() or ".." in parts or not parts:
                raise ManifestError(
                    f"{path}:{number}: source-ref {ref!r} must be relative to the dataset "
                    "folder (like images/train/x.png) to be uploaded",
                    path=path,
                    line=number,
                    code=Code.ERROR_INVALID_SOURCE_REF_FORMAT,
                )
            relative = Path(ref).as_posix()
            if known is not None and relative not in known:
                raise ManifestError(
                    f"{path}:{number}: source-ref {ref!r} names no file of the dataset "
                    "folder; rebuild the dataset or restore the image",
                    path=path,
                    line=number,
                    code=Code.ERROR_INVALID_SOURCE_REF_FORMAT,
                )
            record["source-ref"] = f"{base}/{relative}"
        out.append(dumps_line(record, what=f"{path}:{number}"))
    return "".join(f"{line}\n" for line in out)
