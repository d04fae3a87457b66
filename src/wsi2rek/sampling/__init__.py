"""Samplers that plan patches: object-centred, background and grid; split by slide.

Planning is pure: it decides which level-0 windows to cut from which slides, with which
labelled boxes, before any pixel is read (only a low-resolution tissue mask, when a
sampler needs one). :func:`plan_dataset` is the entry point; the samplers and the
window functions are public for custom planning and for testing.

Patches without boxes are not used by Rekognition training (``WARNING_NO_ANNOTATIONS``),
so empty patches are not negatives: map hard negatives (look-alikes) to a label of their
own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wsi2rek._lazy import lazy_exports

if TYPE_CHECKING:
    from wsi2rek.sampling._annotations import AnnotationObjects, annotation_objects
    from wsi2rek.sampling._background import BackgroundSampler
    from wsi2rek.sampling._common import (
        MAX_PATCH_SIZE,
        MIN_PATCH_SIZE,
        Roi,
        SlideInput,
        SlideResult,
    )
    from wsi2rek.sampling._grid import GridSampler
    from wsi2rek.sampling._object import ObjectSampler
    from wsi2rek.sampling._plan import (
        SPLITS,
        TIME_PARAMS,
        FilterReason,
        LabeledBox,
        PatchPlan,
        PatchSpec,
        RejectionReason,
        Skip,
        SkipReason,
        Split,
        read_jsonl,
        write_jsonl,
    )
    from wsi2rek.sampling._planner import find_slide_files, plan_dataset
    from wsi2rek.sampling._protocol import Sampler
    from wsi2rek.sampling._split import SlideSplit, SplitMode, split_slides
    from wsi2rek.sampling._window import (
        EDGE_POLICIES,
        REKOGNITION_MAX_BOXES,
        REKOGNITION_TRAINING_LONG_SIDE,
        BoxIndex,
        EdgePolicy,
        Placement,
        Verdict,
        apply_edge_policy,
        box_large_enough,
        classify,
        draw_window,
        inner_window,
        placement_starts,
    )

__all__ = [
    "EDGE_POLICIES",
    "MAX_PATCH_SIZE",
    "MIN_PATCH_SIZE",
    "REKOGNITION_MAX_BOXES",
    "REKOGNITION_TRAINING_LONG_SIDE",
    "SPLITS",
    "TIME_PARAMS",
    "AnnotationObjects",
    "BackgroundSampler",
    "BoxIndex",
    "EdgePolicy",
    "FilterReason",
    "GridSampler",
    "LabeledBox",
    "ObjectSampler",
    "PatchPlan",
    "PatchSpec",
    "Placement",
    "RejectionReason",
    "Roi",
    "Sampler",
    "Skip",
    "SkipReason",
    "SlideInput",
    "SlideResult",
    "SlideSplit",
    "Split",
    "SplitMode",
    "Verdict",
    "annotation_objects",
    "apply_edge_policy",
    "box_large_enough",
    "classify",
    "draw_window",
    "find_slide_files",
    "inner_window",
    "placement_starts",
    "plan_dataset",
    "read_jsonl",
    "split_slides",
    "write_jsonl",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "AnnotationObjects": "wsi2rek.sampling._annotations",
        "BackgroundSampler": "wsi2rek.sampling._background",
        "BoxIndex": "wsi2rek.sampling._window",
        "EDGE_POLICIES": "wsi2rek.sampling._window",
        "EdgePolicy": "wsi2rek.sampling._window",
        "FilterReason": "wsi2rek.sampling._plan",
        "GridSampler": "wsi2rek.sampling._grid",
        "LabeledBox": "wsi2rek.sampling._plan",
        "MAX_PATCH_SIZE": "wsi2rek.sampling._common",
        "MIN_PATCH_SIZE": "wsi2rek.sampling._common",
        "ObjectSampler": "wsi2rek.sampling._object",
        "PatchPlan": "wsi2rek.sampling._plan",
        "PatchSpec": "wsi2rek.sampling._plan",
        "Placement": "wsi2rek.sampling._window",
        "REKOGNITION_MAX_BOXES": "wsi2rek.sampling._window",
        "REKOGNITION_TRAINING_LONG_SIDE": "wsi2rek.sampling._window",
        "RejectionReason": "wsi2rek.sampling._plan",
        "Roi": "wsi2rek.sampling._common",
        "SPLITS": "wsi2rek.sampling._plan",
        "Sampler": "wsi2rek.sampling._protocol",
        "TIME_PARAMS": "wsi2rek.sampling._plan",
        "Skip": "wsi2rek.sampling._plan",
        "SkipReason": "wsi2rek.sampling._plan",
        "SlideInput": "wsi2rek.sampling._common",
        "SlideResult": "wsi2rek.sampling._common",
        "SlideSplit": "wsi2rek.sampling._split",
        "SplitMode": "wsi2rek.sampling._split",
        "Split": "wsi2rek.sampling._plan",
        "Verdict": "wsi2rek.sampling._window",
        "annotation_objects": "wsi2rek.sampling._annotations",
        "apply_edge_policy": "wsi2rek.sampling._window",
        "box_large_enough": "wsi2rek.sampling._window",
        "classify": "wsi2rek.sampling._window",
        "draw_window": "wsi2rek.sampling._window",
        "find_slide_files": "wsi2rek.sampling._planner",
        "inner_window": "wsi2rek.sampling._window",
        "placement_starts": "wsi2rek.sampling._window",
        "plan_dataset": "wsi2rek.sampling._planner",
        "read_jsonl": "wsi2rek.sampling._plan",
        "split_slides": "wsi2rek.sampling._split",
        "write_jsonl": "wsi2rek.sampling._plan",
    },
)
