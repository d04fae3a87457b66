"""``plan_dataset``: from a SlideRunner database and slides to a :class:`PatchPlan`.

This is the I/O edge of sampling: it reads the database, opens each slide for its size
and MPP (and its thumbnail, when a tissue mask is needed), turns annotations into
labelled level-0 boxes, splits slides, seeds one generator per slide and runs the
samplers. Everything it leaves out is a counted :class:`Skip`.
"""

from __future__ import annotations

import math
import os
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from wsi2rek._reproducible import plan_time
from wsi2rek.annotations import (
    DEFAULT_SPOT_RADIUS_PX,
    Annotation,
    AnnotationSource,
    SlideRecord,
    open_annotations,
)
from wsi2rek.errors import SamplingError, SkippedAnnotationWarning, Wsi2RekError
from wsi2rek.labels import LabelMap
from wsi2rek.rekognition import QUOTA, creation_date
from wsi2rek.sampling._annotations import annotation_objects
from wsi2rek.sampling._background import BackgroundSampler
from wsi2rek.sampling._common import SlideInput, SlideResult
from wsi2rek.sampling._object import ObjectSampler
from wsi2rek.sampling._plan import SPLITS, LabeledBox, PatchPlan, PatchSpec, Skip
from wsi2rek.sampling._protocol import Sampler, check_result
from wsi2rek.sampling._split import SlideSplit, split_slides
from wsi2rek.sampling._testcap import TestCap, cap_test_images, check_test_cap
from wsi2rek.slides import open_slide
from wsi2rek.tissue import TissueMask, tissue_mask

__all__ = ["find_slide_files", "plan_dataset"]


def find_slide_files(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """Files directly in ``folder``, keyed by case-folded file name.

    Raises:
        SamplingError: when ``folder`` is not a folder, or two files differ only in case.
    """
    root = Path(folder)
    if not root.is_dir():
        raise SamplingError(
            f"slides folder {root} does not exist or is not a folder; pass the folder that "
            "holds the slide files, or a mapping of slide name -> path"
        )
    found: dict[str, Path] = {}
    for path in sorted(root.iterdir()):
        if not path.is_file():
            continue
        key = path.name.casefold()
        if key in found:
            raise SamplingError(
                f"slides folder {root} holds {found[key].name!r} and {path.name!r}, which "
                "differ only in case; rename one, or pass a mapping of slide name -> path"
            )
        found[key] = path
    return found


@attrs.frozen
class _SlideInfo:
    record: SlideRecord
    path: Path
    size: tuple[int, int]
    mpp: tuple[float, float] | None
    tissue: TissueMask | None


def _records(
    db: AnnotationSource,
    slides: str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]],
    slides_in: Sequence[str] | None,
) -> tuple[list[tuple[SlideRecord, Path | None]], set[int]]:
    """DB slides to plan with their files (None when missing); uids asked for by name."""
    explicit: set[int] = set()
    chosen: list[tuple[SlideRecord, Path | None]] = []
    if isinstance(slides, Mapping):
        for name, path in slides.items():
            record = db.slide(name)
            explicit.add(record.uid)
            chosen.append((record, Path(path)))
    else:
        files = find_slide_files(slides)
        chosen = [(r, files.get(r.name.casefold())) for r in db.slides()]
    if slides_in is not None:
        wanted = {db.slide(name).uid for name in slides_in}
        explicit |= wanted
        chosen = [(r, p) for r, p in chosen if r.uid in wanted]
        missing = wanted - {r.uid for r, _ in chosen}
        if missing:
            names = sorted(db.slide(uid).name for uid in missing)
            raise SamplingError(
                f"slides_in names {names}, which the slides mapping does not give a path for"
            )
    return chosen, explicit


def _duplicates(records: Iterable[SlideRecord]) -> None:
    seen: dict[str, SlideRecord] = {}
    for record in records:
        other = seen.setdefault(record.name.casefold(), record)
        if other is not record:
            raise SamplingError(
                f"two database slides share the file name {record.name!r} "
                f"({other.describe()} and {record.describe()}), and patches name slides by "
                "file name; plan one of them per run with a mapping whose key names the "
                f"folder too, e.g. {{'<folder>/{record.name}': path}}"
            )


def _open_slides(
    chosen: Sequence[tuple[SlideRecord, Path | None]],
    explicit: set[int],
    *,
    need_tissue: bool,
    skipped: list[Skip],
) -> list[_SlideInfo]:
    infos: list[_SlideInfo] = []
    for record, path in chosen:
        if path is None or not path.is_file():
            where = f"{path}" if path is not None else "the slides folder"
            message = f"slide {record.name!r} ({record.describe()}) was not found in {where}"
            if record.uid in explicit:
                raise SamplingError(message + "; check the name or the folder", slide=record.name)
            skipped.append(Skip(reason="slide_missing", slide=record.name, detail=message))
            continue
        try:
            with open_slide(path) as source:
                size = source.dimensions
                mpp = source.mpp
                tissue = tissue_mask(source) if need_tissue else None
        except (Wsi2RekError, OSError) as exc:
            message = f"slide {record.name!r} at {path} could not be read: {exc}"
            if record.uid in explicit:
                raise SamplingError(message, slide=record.name) from exc
            skipped.append(Skip(reason="slide_unreadable", slide=record.name, detail=message))
            continue
        infos.append(_SlideInfo(record=record, path=path, size=size, mpp=mpp, tissue=tissue))
    return infos


def _test_names(db: AnnotationSource, test_slides: Sequence[str] | None) -> list[str] | None:
    if test_slides is None:
        return None
    if isinstance(test_slides, str):
        test_slides = [s for s in test_slides.split(",") if s.strip()]
    return [db.slide(name.strip()).name for name in test_slides]


def _check_options(
    labels: LabelMap,
    *,
    db_classes: Mapping[int, str],
    sampler: Sampler,
    spot_radius_px: float | None,
    spot_radius_um: float | None,
    source: str,
) -> None:
    labels.check(db_classes, source=source)
    if spot_radius_px is not None and spot_radius_um is not None:
        raise SamplingError(
            "give either spot_radius_px or spot_radius_um, not both",
            parameter=("spot_radius_px", "spot_radius_um"),
        )
    for name, value in (("spot_radius_px", spot_radius_px), ("spot_radius_um", spot_radius_um)):
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise SamplingError(
                f"{name} must be a positive, finite number, got {value}", parameter=name
            )
    if isinstance(sampler, ObjectSampler) and sampler.targets is not None:
        unknown = [t for t in sampler.targets if t not in labels]
        if unknown:
            raise SamplingError(
                f"ObjectSampler targets {unknown} are not labels of the label map "
                f"{list(labels.labels)}"
            )
    if sampler.roi_class is not None:
        if sampler.roi_class not in db_classes:
            listing = ", ".join(f"{k} ({v})" for k, v in sorted(db_classes.items()))
            raise SamplingError(
                f"roi_class {sampler.roi_class} is not a class of {source}; its classes are: "
                f"{listing}"
            )
        if labels.label_for(sampler.roi_class) is not None:
            raise SamplingError(
                f"roi_class {sampler.roi_class} is also mapped to label "
                f"{labels.label_for(sampler.roi_class)!r}; a ROI class cannot be a label too"
            )


def _load_annotations(
    db: AnnotationSource, record: SlideRecord
) -> tuple[list[Annotation], list[Skip]]:
    with warnings.catch_warnings():
        # The reader's skips are turned into counted plan skips below instead.
        warnings.simplefilter("ignore", SkippedAnnotationWarning)
        read = db.read_annotations(record.uid)
    skips = [
        Skip(
            reason="annotation_unreadable",
            slide=record.name,
            annotation=s.uid,
            detail=f"annotation {s.uid} on {record.name}: {s.reason}",
        )
        for s in read.skipped
    ]
    return list(read.annotations), skips


def _sort_key(patch: PatchSpec) -> tuple[Any, ...]:
    return (
        SPLITS.index(patch.split),
        patch.slide,
        patch.window.top,
        patch.window.left,
        patch.sampler,
        -1 if patch.target is None else patch.target,
    )


def _merge_counts(target: Counter[str], source: Mapping[str, int]) -> None:
    for key, value in source.items():
        target[key] += value


def plan_dataset(
    db: AnnotationSource | str | os.PathLike[str],
    slides: str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]],
    labels: LabelMap | Mapping[str, Sequence[int]],
    *,
    sampler: Sampler | None = None,
    background: BackgroundSampler | None = None,
    test_slides: Sequence[str] | None = None,
    test_fraction: float | None = None,
    spot_radius_px: float | None = None,
    spot_radius_um: float | None = None,
    seed: int = 0,
    slides_in: Sequence[str] | None = None,
    max_test_images_per_label: int | None = QUOTA.max_test_images_per_label,
) -> PatchPlan:
    """Plan a Rekognition object-detection dataset from a SlideRunner database.

    Planning never reads pixels, except each slide's thumbnail when a tissue mask is
    needed (``GridSampler``/``BackgroundSampler`` with ``min_tissue > 0``). The same
    inputs and ``seed`` give the same plan, whatever the order of the slides or mapping,
    except for the time it was made: ``params["creation_date"]`` is the UTC time of the
    call (or ``SOURCE_DATE_EPOCH`` when that environment variable is set, for
    reproducible builds), the ``creation-date`` every manifest line of the dataset gets.
    It is fixed in the plan, so resuming a build or changing the number of workers keeps
    the dataset byte-identical; :meth:`~wsi2rek.sampling.PatchPlan.fingerprint` leaves it
    out.

    Example:
        >>> plan = plan_dataset(  # doctest: +SKIP
        ...     "MITOS_WSI_CMC_MEL.sqlite", "slides/",
        ...     {"mitotic figure": [2], "look-alike": [1]},
        ...     test_slides=["2d56d1902ca533a5b509.svs"], seed=0,
        ... )

    Args:
        db: The annotations: a :class:`~wsi2rek.annotations.SlideRunnerDB`, a
            :class:`~wsi2rek.annotations.QuPathGeoJSON`, or the path of either (a
            ``.sqlite`` file, a ``.geojson`` file or a folder of them).
        slides: A folder holding the slide files (matched to the database's file names,
            base name, case-insensitive; database slides without a file are skipped with
            reason ``"slide_missing"``), or a mapping of database slide name -> file
            (only those slides are planned).
        labels: Label name -> database class ids (a :class:`~wsi2rek.labels.LabelMap` or
            a mapping). Classes not in it are ignored and counted. Hard negatives
            (look-alikes) must be a label: patches without boxes do not train Rekognition.
        sampler: How windows are placed: :class:`ObjectSampler` (default),
            :class:`GridSampler`, or any :class:`Sampler` (what it returns is checked:
            patches on the slide given, in its split).
        background: Also draw tissue windows without any labelled object (they do not
            train Rekognition; useful in a test set or for inspection).
        test_slides: Slide file names for the test split (each must be in the database:
            a :class:`~wsi2rek.errors.SlideLookupError` lists near names otherwise).
        test_fraction: Or: a seeded fraction of slides for the test split (at least one
            slide each side when there are two or more). With neither, every slide is
            train; with both, an error.
        spot_radius_px: Half-side of the box of a spot annotation, in pixels (default 25).
        spot_radius_um: Or: in micrometres (needs each slide's MPP).
        seed: Seeds every random choice: slides sorted by file name each get a child of
            ``numpy.random.SeedSequence(seed)`` (the split gets its own).
        slides_in: Plan only these slides (database file names).
        max_test_images_per_label: Most test images any label may be on (default: the
            service's test quota, 1,000); None for no cap. When a label is on more test
            patches, a seeded subsample of test patches is left out (reason
            ``"test_cap"``): the test patches are shuffled with their own child of
            ``SeedSequence(seed)`` and each is kept only if none of its labels is already
            on this many kept test images (a patch counts for each of its labels; patches
            without boxes are kept). ``params["test_cap"]`` records how many were left
            out, per label.

    Returns:
        The plan: patches ordered by split (train, test), slide name, then window top and
        left; ``params`` with every option, the split, counts (patches and boxes per
        split and label, ignored classes, dropped objects, skips by reason), and
        ``creation_date`` (``"2018-10-18T22:18:13.527256"``) with
        ``creation_date_source`` (``"clock"`` or ``"SOURCE_DATE_EPOCH"``);
        ``skipped``; and ``objects`` (every labelled object of each planned slide).

    Raises:
        LabelMapError: for an empty label map, or class ids the database does not have.
        SlideLookupError: for a test slide or ``slides_in`` name not in the database.
        SamplingError: for inconsistent options (both radii, both split options, targets
            outside the label map, ...), a slide without MPP with ``spot_radius_um``, or
            an explicitly named slide whose file is missing or unreadable.
        ParameterError: for a ``max_test_images_per_label`` that is not a positive int
            or None, or a ``SOURCE_DATE_EPOCH`` that is not whole seconds since 1970.
    """
    max_test_images_per_label = check_test_cap(max_test_images_per_label)
    moment, source = plan_time()  # before any work: a bad SOURCE_DATE_EPOCH fails first
    stamp = {"creation_date": creation_date(moment), "creation_date_source": source}
    if not isinstance(db, str | os.PathLike):
        return _plan(
            db, slides, labels, sampler=sampler, background=background,
            test_slides=test_slides, test_fraction=test_fraction,
            spot_radius_px=spot_radius_px, spot_radius_um=spot_radius_um,
            seed=seed, slides_in=slides_in, test_cap=max_test_images_per_label, stamp=stamp,
        )  # fmt: skip
    with open_annotations(db) as opened:
        return _plan(
            opened, slides, labels, sampler=sampler, background=background,
            test_slides=test_slides, test_fraction=test_fraction,
            spot_radius_px=spot_radius_px, spot_radius_um=spot_radius_um,
            seed=seed, slides_in=slides_in, test_cap=max_test_images_per_label, stamp=stamp,
        )  # fmt: skip


def _plan(
    db: AnnotationSource,
    slides: str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]],
    labels: LabelMap | Mapping[str, Sequence[int]],
    *,
    sampler: Sampler | None,
    background: BackgroundSampler | None,
    test_slides: Sequence[str] | None,
    test_fraction: float | None,
    spot_radius_px: float | None,
    spot_radius_um: float | None,
    seed: int,
    slides_in: Sequence[str] | None,
    test_cap: int | None,
    stamp: Mapping[str, str],
) -> PatchPlan:
    request = _request(
        db,
        labels,
        sampler,
        background,
        spot_radius_px=spot_radius_px,
        spot_radius_um=spot_radius_um,
        seed=seed,
    )
    chosen = _choose_slides(
        db,
        slides,
        request,
        slides_in=slides_in,
        test_slides=test_slides,
        test_fraction=test_fraction,
    )
    tally = _Tally(skipped=list(chosen.skipped))
    for info, stream in zip(chosen.infos, chosen.streams, strict=True):
        _sample_slide(db, info, stream, request, split=chosen.split, tally=tally)
    capped = cap_test_images(
        sorted(tally.patches, key=_sort_key), test_cap, seed=seed, labels=request.labels.labels
    )
    skipped = (*tally.skipped, *capped.dropped)
    params = _params(
        db=db,
        request=request,
        chosen=chosen,
        tally=tally,
        test_fraction=test_fraction,
        patches=capped.kept,
        skipped=skipped,
        test_cap=(test_cap, capped),
    )
    return PatchPlan(
        patches=capped.kept,
        slide_paths={i.record.name: str(i.path) for i in chosen.infos},
        labels=request.labels.labels,
        params={**params, **stamp},
        skipped=skipped,
        objects=tally.objects,
    )


@attrs.frozen
class _Request:
    """The checked options of one :func:`plan_dataset` call."""

    labels: LabelMap
    sampler: Sampler
    background: BackgroundSampler | None
    spot_radius_px: float | None
    spot_radius_um: float | None
    seed: int

    @property
    def needs_tissue(self) -> bool:
        """Whether any sampler of the plan needs each slide's tissue mask."""
        background = self.background
        return self.sampler.needs_tissue or (background is not None and background.needs_tissue)


def _request(
    db: AnnotationSource,
    labels: LabelMap | Mapping[str, Sequence[int]],
    sampler: Sampler | None,
    background: BackgroundSampler | None,
    *,
    spot_radius_px: float | None,
    spot_radius_um: float | None,
    seed: int,
) -> _Request:
    """Check the options against each other and the database; the sampler defaults here."""
    label_map = LabelMap.coerce(labels)
    main = sampler if sampler is not None else ObjectSampler()
    if isinstance(main, BackgroundSampler) or not isinstance(main, Sampler):
        raise SamplingError(
            f"sampler must be an ObjectSampler, a GridSampler or another Sampler (kind, "
            f"patch_size, roi_class, needs_tissue, sample, to_dict), got "
            f"{type(main).__name__} (pass a BackgroundSampler as background=...)",
            parameter="sampler",
        )
    _check_options(
        label_map,
        db_classes=db.classes(),
        sampler=main,
        spot_radius_px=spot_radius_px,
        spot_radius_um=spot_radius_um,
        source=db.path.name,
    )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SamplingError(f"seed must be a non-negative int, got {seed!r}")
    return _Request(label_map, main, background, spot_radius_px, spot_radius_um, seed)


@attrs.frozen
class _Chosen:
    """The slides a plan covers (by file name), their split, and the slides left out."""

    infos: tuple[_SlideInfo, ...]
    streams: tuple[np.random.SeedSequence, ...]  # one per slide, in the order of infos
    split: SlideSplit
    test_slides: list[str] | None  # test_slides as database names
    slides_in: list[str] | None  # slides_in as database names, sorted
    skipped: tuple[Skip, ...]


def _choose_slides(
    db: AnnotationSource,
    slides: str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]],
    request: _Request,
    *,
    slides_in: Sequence[str] | None,
    test_slides: Sequence[str] | None,
    test_fraction: float | None,
) -> _Chosen:
    """Find, open and split the slides; seed one stream per slide (the split gets its own)."""
    split_requested = _test_names(db, test_slides)
    if isinstance(slides_in, str):
        slides_in = [slides_in]
    # resolved to database names, so params do not depend on case
    names_in = None if slides_in is None else sorted({db.slide(n).name for n in slides_in})
    chosen, explicit = _records(db, slides, names_in)
    explicit |= {db.slide(n).uid for n in split_requested or ()}
    skipped: list[Skip] = []
    infos = sorted(
        _open_slides(chosen, explicit, need_tissue=request.needs_tissue, skipped=skipped),
        key=lambda i: i.record.name,
    )
    _duplicates(i.record for i in infos)
    streams = np.random.SeedSequence(request.seed).spawn(len(infos) + 1)
    split: SlideSplit = split_slides(
        [i.record.name for i in infos],
        test_slides=split_requested,
        test_fraction=test_fraction,
        rng=np.random.default_rng(streams[0]),
    )
    return _Chosen(
        infos=tuple(infos),
        streams=tuple(streams[1:]),
        split=split,
        test_slides=split_requested,
        slides_in=names_in,
        skipped=tuple(skipped),
    )


@attrs.define
class _Tally:
    """What sampling gives, added up slide by slide (mutable: one plan_dataset call owns it)."""

    skipped: list[Skip]
    patches: list[PatchSpec] = attrs.field(factory=list)
    objects: dict[str, tuple[LabeledBox, ...]] = attrs.field(factory=dict)
    ignored: Counter[str] = attrs.field(factory=Counter)
    dropped: Counter[str] = attrs.field(factory=Counter)
    # sampler kind -> reason -> count
    rejections: dict[str, Counter[str]] = attrs.field(factory=dict)
    filtered: dict[str, Counter[str]] = attrs.field(factory=dict)

    def add(self, kind: str, result: SlideResult) -> None:
        """Count one sampler's result on one slide."""
        self.patches.extend(result.patches)
        self.skipped.extend(result.skipped)
        _merge_counts(self.dropped, result.dropped)
        _merge_counts(self.rejections.setdefault(kind, Counter()), result.rejections)
        _merge_counts(self.filtered.setdefault(kind, Counter()), result.filtered)


def _sample_slide(
    db: AnnotationSource,
    info: _SlideInfo,
    stream: np.random.SeedSequence,
    request: _Request,
    *,
    split: SlideSplit,
    tally: _Tally,
) -> None:
    """Read one slide's annotations, turn them into objects and run the samplers on it."""
    name = info.record.name
    main, background = request.sampler, request.background
    annotations, unreadable = _load_annotations(db, info.record)
    tally.skipped.extend(unreadable)
    converted = annotation_objects(
        annotations,
        request.labels,
        slide=name,
        slide_size=info.size,
        mpp=info.mpp,
        spot_radius_px=request.spot_radius_px,
        spot_radius_um=request.spot_radius_um,
        roi_class=main.roi_class,
        patch_size=main.patch_size,
    )
    tally.skipped.extend(converted.skipped)
    _merge_counts(tally.ignored, converted.ignored)
    tally.objects[name] = converted.objects
    slide_input = SlideInput(
        name=name,
        size=info.size,
        split=split.of(name),
        objects=converted.objects,
        rois=converted.rois,
        tissue=info.tissue,
    )
    main_seq, background_seq = stream.spawn(2)
    first = check_result(
        main, slide_input, main.sample(slide_input, np.random.default_rng(main_seq))
    )
    tally.add(main.kind, first)
    if background is not None:
        taken = [p.window for p in first.patches]
        unrestricted = attrs.evolve(slide_input, rois=None)
        rng = np.random.default_rng(background_seq)
        tally.add(background.kind, background.sample(unrestricted, rng, taken))


def _params(
    *,
    db: AnnotationSource,
    request: _Request,
    chosen: _Chosen,
    tally: _Tally,
    test_fraction: float | None,
    patches: Sequence[PatchSpec],
    skipped: Sequence[Skip],
    test_cap: tuple[int | None, TestCap],
) -> dict[str, Any]:
    """``PatchPlan.params``: every option as given (checked) and the plan's counts."""
    labels, spot_radius_um = request.labels, request.spot_radius_um
    boxes: dict[str, Counter[str]] = {s: Counter() for s in SPLITS}
    per_split: Counter[str] = Counter()
    per_sampler: Counter[str] = Counter()
    for patch in patches:
        per_split[patch.split] += 1
        per_sampler[patch.sampler] += 1
        for box in patch.boxes:
            boxes[patch.split][box.label] += 1
    object_counts = Counter(o.label for objs in tally.objects.values() for o in objs)
    radius_px = (
        None if spot_radius_um is not None else request.spot_radius_px or DEFAULT_SPOT_RADIUS_PX
    )
    counts = {"ignored_classes": tally.ignored, "dropped_objects": tally.dropped}
    by_sampler = {"rejected_windows": tally.rejections, "filtered_windows": tally.filtered}
    return {
        "database": db.path.name,
        "seed": request.seed,
        "label_map": labels.to_dict(),
        "spot_radius_px": radius_px,
        "spot_radius_um": spot_radius_um,
        "sampler": request.sampler.to_dict(),
        "background": None if request.background is None else request.background.to_dict(),
        "slides_in": None if chosen.slides_in is None else list(chosen.slides_in),
        "split": {
            **chosen.split.to_dict(),
            "test_slides": None if chosen.test_slides is None else sorted(chosen.test_slides),
            "test_fraction": test_fraction,
        },
        "slides": {
            i.record.name: {
                "width": i.size[0],
                "height": i.size[1],
                "mpp": None if i.mpp is None else list(i.mpp),
            }
            for i in chosen.infos
        },
        "patches": {s: per_split[s] for s in SPLITS},
        "patches_by_sampler": dict(sorted(per_sampler.items())),
        "boxes": {s: {lb: boxes[s][lb] for lb in labels.labels} for s in SPLITS},
        "objects": {lb: object_counts[lb] for lb in labels.labels},
        "skipped": dict(sorted(Counter(s.reason for s in skipped).items())),
        "max_test_images_per_label": test_cap[0],
        "test_cap": {
            "dropped_patches": len(test_cap[1].dropped),
            "dropped_by_label": test_cap[1].dropped_by_label,
        },
        **{key: dict(sorted(value.items())) for key, value in counts.items()},
        **{
            key: {kind: dict(sorted(c.items())) for kind, c in sorted(value.items())}
            for key, value in by_sampler.items()
        },
    }
