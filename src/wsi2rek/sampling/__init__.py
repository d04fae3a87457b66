"""Samplers that plan patches: object-centred, background and grid; split by slide.

Planning is pure: it decides which level-0 windows to cut from which slides, with which
labelled boxes, before any pixel is read (only a low-resolution tissue mask, when a
sampler needs one). :func:`plan_dataset` is the entry point; the samplers and the
window functions are public for custom planning and for testing.

Patches without boxes are not used by Rekognition training (``WARNING_NO_ANNOTATIONS``),
so empty patches are not negatives: map hard negatives (look-alikes) to a label of their
own.
"""

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
    LabeledBox,
    PatchPlan,
    PatchSpec,
    Skip,
    Split,
    read_jsonl,
    write_jsonl,
)
from wsi2rek.sampling._planner import find_slide_files, plan_dataset
from wsi2rek.sampling._split import SlideSplit, split_slides
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
    "AnnotationObjects",
    "BackgroundSampler",
    "BoxIndex",
    "EdgePolicy",
    "GridSampler",
    "LabeledBox",
    "ObjectSampler",
    "PatchPlan",
    "PatchSpec",
    "Placement",
    "Roi",
    "Skip",
    "SlideInput",
    "SlideResult",
    "SlideSplit",
    "Split",
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
