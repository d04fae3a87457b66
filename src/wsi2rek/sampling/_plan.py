"""Patch plans: what to cut from which slide, decided before any pixel is read.

A :class:`PatchSpec` names a slide, a level-0 window, the split it belongs to and the
labelled boxes inside it. Plans are pure data: they can be saved as JSON lines,
inspected, and executed again to give the same dataset byte for byte.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path, PurePath
from typing import Any, Literal

import attrs

from wsi2rek._atomic import atomic_open, atomic_write_text
from wsi2rek._json import dumps
from wsi2rek.errors import SamplingError
from wsi2rek.geometry import Box

#: Key in a saved plan saying what its relative slide paths are relative to.
_PATHS_KEY = "slide_paths_relative_to"

__all__ = [
    "SPLITS",
    "TIME_PARAMS",
    "FilterReason",
    "LabeledBox",
    "PatchPlan",
    "PatchSpec",
    "RejectionReason",
    "Skip",
    "SkipReason",
    "Split",
    "read_jsonl",
    "write_jsonl",
]

Split = Literal["train", "test"]
SPLITS: tuple[Split, ...] = ("train", "test")
#: The keys of ``PatchPlan.params`` that say when the plan was made (the manifests'
#: ``creation-date``) rather than what it samples; :meth:`PatchPlan.fingerprint` leaves
#: them out. Plans saved before wsi2rek stamped plans have neither key.
TIME_PARAMS = ("creation_date", "creation_date_source")


def _split(value: str) -> Split:
    if value not in SPLITS:
        raise SamplingError(f"split must be 'train' or 'test', got {value!r}")
    return value  # narrowed by the membership test above


def _integral_window(_instance: object, _attribute: object, value: Box) -> None:
    coords = (value.left, value.top, value.right, value.bottom)
    if any(c != int(c) for c in coords) or value.is_empty:
        raise SamplingError(f"a patch window must have whole-pixel, non-empty bounds, got {value}")


def _box_tuple(boxes: Iterable[LabeledBox]) -> tuple[LabeledBox, ...]:
    return tuple(boxes)


@attrs.frozen
class LabeledBox:
    """A labelled object in level-0 pixels.

    Attributes:
        label: Rekognition label name.
        box: Level-0 box (already clipped to the window when ``clipped``).
        annotation: uid of the source annotation, when it came from one.
        clipped: True when only the visible part of the object is kept (``clip`` policy).
    """

    label: str
    box: Box
    annotation: int | None = None
    clipped: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        b = self.box
        return {
            "label": self.label,
            "box": [b.left, b.top, b.right, b.bottom],
            "annotation": self.annotation,
            "clipped": self.clipped,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabeledBox:
        """Inverse of :meth:`to_dict`."""
        return cls(
            label=str(data["label"]),
            box=Box(*data["box"]),
            annotation=data.get("annotation"),
            clipped=bool(data.get("clipped", False)),
        )


@attrs.frozen
class PatchSpec:
    """One patch to cut: ``slide`` file name, level-0 ``window``, ``split`` and ``boxes``.

    ``boxes`` are in level-0 pixels and lie inside ``window``; :meth:`patch_boxes` gives
    them in the patch frame. ``sampler`` says which sampler made it and ``target`` the
    annotation uid an object-centred window was placed around.
    """

    slide: str
    window: Box = attrs.field(validator=_integral_window)
    split: Split = attrs.field(converter=_split)
    boxes: tuple[LabeledBox, ...] = attrs.field(default=(), converter=_box_tuple)
    sampler: str = "object"
    target: int | None = None

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the patch in pixels."""
        return int(self.window.width), int(self.window.height)

    @property
    def name(self) -> str:
        """A stable file stem, unique per slide and window.

        Its form is ``<slide stem>_x<left>_y<top>_<w>x<h>``.
        """
        stem = PurePath(self.slide).stem.replace(" ", "_")
        w, h = self.size
        return f"{stem}_x{int(self.window.left)}_y{int(self.window.top)}_{w}x{h}"

    def patch_boxes(self) -> list[tuple[str, Box]]:
        """``(label, box)`` pairs in the patch frame (origin at the window's top-left)."""
        dx, dy = -self.window.left, -self.window.top
        return [(b.label, b.box.translate(dx, dy)) for b in self.boxes]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        w = self.window
        return {
            "slide": self.slide,
            "window": [int(w.left), int(w.top), int(w.right), int(w.bottom)],
            "split": self.split,
            "boxes": [b.to_dict() for b in self.boxes],
            "sampler": self.sampler,
            "target": self.target,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PatchSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(
            slide=str(data["slide"]),
            window=Box(*data["window"]),
            split=data["split"],
            boxes=tuple(LabeledBox.from_dict(b) for b in data.get("boxes", ())),
            sampler=str(data.get("sampler", "object")),
            target=data.get("target"),
        )


class SkipReason(enum.StrEnum):
    """Why an input was left out of a plan: the one list of :attr:`Skip.reason` values.

    ``docs/troubleshooting.md`` explains each (a test checks it covers this list).
    """

    SLIDE_MISSING = "slide_missing"
    SLIDE_UNREADABLE = "slide_unreadable"
    SLIDE_TOO_SMALL = "slide_too_small"
    ANNOTATION_UNREADABLE = "annotation_unreadable"
    DEGENERATE_ANNOTATION = "degenerate_annotation"
    OUTSIDE_SLIDE = "outside_slide"
    BOX_TOO_SMALL = "box_too_small"
    NO_TARGETS = "no_targets"
    TARGET_TOO_LARGE = "target_too_large"
    NO_ROOM = "no_room"
    WINDOW_REJECTED = "window_rejected"
    NO_ROI = "no_roi"
    NO_TISSUE = "no_tissue"
    BACKGROUND_SHORTFALL = "background_shortfall"
    TEST_CAP = "test_cap"
    DUPLICATE_PATCH = "duplicate_patch"


class RejectionReason(enum.StrEnum):
    """Why a built-in sampler refused a window it drew: the keys of ``SlideResult.rejections``.

    A plan counts them by sampler kind in ``params["rejected_windows"]``; the object and
    background samplers draw again after a refusal, the grid sampler skips the window
    (``SkipReason.WINDOW_REJECTED``). The first four are the edge policy's
    (:attr:`Verdict.reason <wsi2rek.sampling.Verdict.reason>`). A custom
    :class:`~wsi2rek.sampling.Sampler` may count refusals under reasons of its own.
    ``docs/guide/sampling.md`` explains each (a test checks it covers this list).
    """

    #: An object crosses the window edge or its margin band (``edge_policy="reject"``).
    CROSSING = "crossing"
    #: Less than ``min_visible`` of an object is in the window (``edge_policy="clip"``).
    LOW_VISIBILITY = "low_visibility"
    #: A clipped object would not survive Rekognition's training rescale.
    TOO_SMALL = "too_small"
    #: More boxes than ``max_boxes`` (Rekognition's 50 per image).
    TOO_MANY_BOXES = "too_many_boxes"
    #: A refused :class:`~wsi2rek.sampling.Verdict` without a reason (never one of
    #: :func:`~wsi2rek.sampling.apply_edge_policy`).
    REJECTED = "rejected"
    #: The object sampler drew a window it had already sampled.
    DUPLICATE = "duplicate"
    #: The background sampler drew a window overlapping one already taken.
    OVERLAP = "overlap"
    #: The background sampler drew a window with an object within ``margin``.
    LABELLED = "labelled"
    #: The background sampler drew a window with less than ``min_tissue`` tissue.
    LOW_TISSUE = "low_tissue"


class FilterReason(enum.StrEnum):
    """Why a built-in sampler did not make a window: the keys of ``SlideResult.filtered``.

    Unlike a rejection, nothing is redrawn: the window (or target) is left out on purpose,
    by an option. A plan counts them by sampler kind in ``params["filtered_windows"]``. A
    custom :class:`~wsi2rek.sampling.Sampler` may count under reasons of its own.
    ``docs/guide/sampling.md`` explains each (a test checks it covers this list).
    """

    #: A grid window in ``taken``, already made on the slide.
    DUPLICATE = "duplicate"
    #: A grid window with less than ``min_tissue`` tissue.
    LOW_TISSUE = "low_tissue"
    #: A grid window without any box (``skip_empty=True``).
    EMPTY = "empty"
    #: An object-sampler target whose centre is in no ROI (``roi_class``).
    OUTSIDE_ROI = "outside_roi"
    #: An object-sampler target after the slide had ``max_per_slide`` patches.
    CAPPED = "capped"


def _skip_reason(value: str) -> SkipReason:
    try:
        return SkipReason(value)
    except ValueError:
        known = ", ".join(r.value for r in SkipReason)
        raise SamplingError(
            f"unknown skip reason {value!r}; a Skip's reason is one of: {known}"
        ) from None


@attrs.frozen
class Skip:
    """An input left out of a plan, and why (every skip is counted and reported).

    Attributes:
        reason: Why, a :class:`SkipReason` (a ``str``: ``skip.reason == "no_room"``
            holds); a string that is not one is refused.
        slide: Slide file name, when the skip concerns one slide.
        annotation: Annotation uid, when it concerns one annotation.
        detail: A human-readable sentence.
    """

    reason: SkipReason = attrs.field(converter=_skip_reason)
    slide: str | None = None
    annotation: int | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return attrs.asdict(self)


def write_jsonl(patches: Iterable[PatchSpec], path: str | Path) -> None:
    """Write patch specs as JSON lines (one per patch) to ``path``."""
    with atomic_open(path, "w") as f:
        f.writelines(dumps(p.to_dict(), what=str(path), sort_keys=True) + "\n" for p in patches)


def read_jsonl(path: str | Path) -> Iterator[PatchSpec]:
    """Read patch specs written by :func:`write_jsonl`."""
    with Path(path).open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield PatchSpec.from_dict(json.loads(line))


def _spec_tuple(patches: Iterable[PatchSpec]) -> tuple[PatchSpec, ...]:
    return tuple(patches)


def _skip_tuple(skips: Iterable[Skip]) -> tuple[Skip, ...]:
    return tuple(skips)


@attrs.frozen
class PatchPlan:
    """A whole dataset plan: every patch, where each slide is, and what was left out.

    Attributes:
        patches: The patches, in the order their manifest lines are written.
        slide_paths: Slide file name (as in ``PatchSpec.slide``) -> path on disk.
        labels: Rekognition label names; a label's manifest ``class_id`` is its index.
        params: JSON-ready parameters that produced the plan (seed, label map, sampler
            options...). Two plans with the same params and patches build the same dataset.
        skipped: Every input left out, with its reason.
        objects: Slide file name -> every labelled object on that slide (level-0), for
            previews and evaluation.
    """

    patches: tuple[PatchSpec, ...] = attrs.field(converter=_spec_tuple)
    slide_paths: Mapping[str, str]
    labels: tuple[str, ...]
    params: Mapping[str, Any] = attrs.field(factory=dict)
    skipped: tuple[Skip, ...] = attrs.field(default=(), converter=_skip_tuple)
    objects: Mapping[str, tuple[LabeledBox, ...]] = attrs.field(factory=dict)

    @property
    def class_ids(self) -> dict[str, int]:
        """Label name -> manifest ``class_id``."""
        return {name: i for i, name in enumerate(self.labels)}

    def split(self, split: Split) -> tuple[PatchSpec, ...]:
        """The patches of one split, in plan order."""
        return tuple(p for p in self.patches if p.split == split)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (round-trips through :meth:`from_dict`)."""
        return {
            "labels": list(self.labels),
            "params": dict(self.params),
            "slide_paths": dict(self.slide_paths),
            "patches": [p.to_dict() for p in self.patches],
            "skipped": [s.to_dict() for s in self.skipped],
            "objects": {k: [b.to_dict() for b in v] for k, v in self.objects.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PatchPlan:
        """Inverse of :meth:`to_dict`."""
        return cls(
            patches=(PatchSpec.from_dict(p) for p in data["patches"]),
            slide_paths={str(k): str(v) for k, v in data["slide_paths"].items()},
            labels=tuple(data["labels"]),
            params=dict(data.get("params", {})),
            skipped=(Skip(**s) for s in data.get("skipped", ())),
            objects={
                str(k): tuple(LabeledBox.from_dict(b) for b in v)
                for k, v in data.get("objects", {}).items()
            },
        )

    def fingerprint(self) -> str:
        """SHA-256 of the parameters, labels and patches (not of slide locations).

        The time the plan was made (``params["creation_date"]`` and
        ``params["creation_date_source"]``) is left out: two plans of the same inputs
        made at different times sample the same patches. A build records the
        ``creation-date`` it writes next to the fingerprint instead.
        """
        canonical = dumps(
            {
                "labels": list(self.labels),
                "params": {k: v for k, v in self.params.items() if k not in TIME_PARAMS},
                "patches": [p.to_dict() for p in self.patches],
            },
            what="the plan fingerprint",
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    def save(self, path: str | Path) -> None:
        """Write the plan as JSON (atomically: temporary name, then rename).

        Slide paths are stored relative to the plan file's folder (absolute only where no
        relative path exists, e.g. another drive), so a dataset folder can be moved or
        copied together with its slides, and read from any working directory;
        :meth:`load` resolves them again.
        """
        target = Path(path)
        data = self.to_dict()
        data["slide_paths"] = self.slide_paths_relative_to(target.parent)
        data[_PATHS_KEY] = "plan folder"
        atomic_write_text(target, dumps(data, what=str(target), sort_keys=True))

    def slide_paths_relative_to(self, folder: str | Path) -> dict[str, str]:
        """The slide paths, relative to ``folder`` where possible (sorted by slide name)."""
        base = Path(folder).absolute()
        out: dict[str, str] = {}
        for name, slide in sorted(self.slide_paths.items()):
            absolute = Path(slide).absolute()
            try:
                out[name] = os.path.relpath(absolute, base)
            except ValueError:  # another drive (Windows): no relative path exists
                out[name] = str(absolute)
        return out

    def with_slides_in(self, folder: str | Path) -> PatchPlan:
        """The same plan with every slide looked up in ``folder`` by file name.

        For a dataset moved or copied without its slides (to another machine, say): the
        plan, and so its fingerprint, is unchanged; only where the slides are changes.

        Raises:
            SamplingError: A slide of the plan is not in ``folder``.
        """
        base = Path(folder)
        paths: dict[str, str] = {}
        missing: list[str] = []
        for name, old in sorted(self.slide_paths.items()):
            candidates = (base / PurePath(old).name, base / name)
            found = next((c for c in candidates if c.is_file()), None)
            if found is None:
                missing.append(PurePath(old).name)
            else:
                paths[name] = str(found)
        if missing:
            raise SamplingError(
                f"{len(missing)} slide(s) of the plan are not in {base}: "
                f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}; "
                "give the folder that holds the plan's slides"
            )
        return attrs.evolve(self, slide_paths=paths)

    @classmethod
    def load(cls, path: str | Path, *, slides: str | Path | None = None) -> PatchPlan:
        """Read a plan written by :meth:`save`.

        Args:
            path: The plan file (a dataset folder's ``plan.json``).
            slides: A folder holding the plan's slides, when they are no longer where the
                plan says (see :meth:`with_slides_in`).

        Raises:
            SamplingError: The file is not a plan (not UTF-8 JSON, or fields missing or of
                the wrong type), e.g. damaged or edited by hand; or a slide is not in
                ``slides``.
        """
        source = Path(path)
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                plan = cls.from_dict(data)
                if data.get(_PATHS_KEY) == "plan folder":
                    # Relative to the plan's folder, wherever it is now (see save()).
                    plan = attrs.evolve(
                        plan,
                        slide_paths={
                            k: os.path.normpath(source.parent / v)
                            for k, v in plan.slide_paths.items()
                        },
                    )
                return plan if slides is None else plan.with_slides_in(slides)
            detail = f"expected a JSON object, found {type(data).__name__}"
        except SamplingError as exc:
            raise SamplingError(f"{source} is not a valid plan: {exc}") from exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise SamplingError(
            f"{source} is not a wsi2rek plan ({detail}); it is damaged or was edited. "
            "Rebuild the dataset to write it again"
        )
