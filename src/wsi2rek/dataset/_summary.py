"""What a build did: :class:`DatasetSummary`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from wsi2rek.dataset._validate import ValidationReport
from wsi2rek.sampling import Skip

__all__ = ["DatasetSummary"]


@attrs.frozen
class DatasetSummary:
    """What :func:`build_dataset` did.

    Attributes:
        out: The dataset folder.
        fingerprint: :meth:`PatchPlan.fingerprint` of the plan built.
        images: Images in the dataset.
        written: Images written by this run.
        reused: Images already present from an interrupted earlier run.
        splits: Per split: ``images``, ``boxes``, ``background`` and ``labels`` counts.
        skipped: Inputs left out (by planning or as duplicate patches), with reasons.
        validation: Per split, the validator's report on the manifest written.
        previews: Preview images written.
        seconds: Wall-clock time of the build.
        workers: Worker processes used (0: in the calling process; -1: caller's executor).
        test_cap: The plan's test cap: ``max_test_images_per_label`` (None: no cap),
            ``dropped_patches`` and ``dropped_by_label`` (test patches left out so that no
            label is on more test images than the service's quota); empty for a plan
            made before the cap existed.
    """

    out: Path
    fingerprint: str
    images: int
    written: int
    reused: int
    splits: Mapping[str, Mapping[str, Any]]
    skipped: tuple[Skip, ...]
    validation: Mapping[str, ValidationReport]
    previews: tuple[Path, ...] = ()
    seconds: float = 0.0
    workers: int = 0
    test_cap: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def ok(self) -> bool:
        """True when every manifest validated without errors."""
        return all(r.ok for r in self.validation.values())

    @property
    def patches_per_second(self) -> float:
        """Images written per second of wall-clock time."""
        return self.written / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "out": str(self.out),
            "ok": self.ok,
            "fingerprint": self.fingerprint,
            "images": self.images,
            "written": self.written,
            "reused": self.reused,
            "splits": {k: dict(v) for k, v in self.splits.items()},
            "skipped": [s.to_dict() for s in self.skipped],
            "validation": {k: v.to_dict() for k, v in self.validation.items()},
            "previews": [str(p) for p in self.previews],
            "seconds": round(self.seconds, 3),
            "workers": self.workers,
            "test_cap": dict(self.test_cap),
        }
