"""Label maps: which database classes become which Rekognition label.

A :class:`LabelMap` maps Rekognition label names to one or more class ids of an
annotation database, e.g. ``{"mitotic figure": [2], "look-alike": [1]}``. Classes that
are not in the map are ignored by the samplers (and counted). The order of the labels is
the order they were given in; a label's manifest ``class_id`` is its index.

Hard negatives (cells that look like the target but are not) must be a label of their
own, like ``"look-alike"`` above: Amazon Rekognition Custom Labels does not train on
images without boxes (``WARNING_NO_ANNOTATIONS``), so empty patches teach it nothing.

Example:
    >>> lm = LabelMap.parse(["mitotic figure=2", "look-alike=1,7"])
    >>> lm.labels
    ('mitotic figure', 'look-alike')
    >>> lm.label_for(7)
    'look-alike'
    >>> lm.class_ids("mitotic figure")
    (2,)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from wsi2rek.errors import LabelMapError
from wsi2rek.rekognition import QUOTA

__all__ = ["MAX_LABELS", "MAX_LABEL_LENGTH", "LabelMap"]

#: Rekognition's limit on the length of a label name (see :mod:`wsi2rek.rekognition`).
MAX_LABEL_LENGTH = QUOTA.max_label_length
#: Rekognition's limit on the number of unique labels in a manifest.
MAX_LABELS = QUOTA.max_labels


def _class_id(value: object, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            number = int(str(value).strip())
        except ValueError:
            raise LabelMapError(
                f"label {label!r}: class ids must be whole numbers, got {value!r}"
            ) from None
    else:
        number = value
    if number <= 0:
        raise LabelMapError(
            f"label {label!r}: class ids are positive database class uids, got {number} "
            "(0 means 'no agreed class' in SlideRunner and cannot be mapped)"
        )
    return number


def _class_ref(text: str, label: str, classes: Mapping[int, str] | None) -> int:
    """A class id given as a number, or (with ``classes``) as a class name."""
    if classes is None or text.lstrip("+-").isdigit():
        return _class_id(text, label)
    by_name = {name.casefold(): cid for cid, name in classes.items()}
    found = by_name.get(text.casefold())
    if found is None:
        names = ", ".join(repr(n) for n in sorted(classes.values())) or "none"
        raise LabelMapError(f"label {label!r}: no class named {text!r}; the classes are {names}")
    return found


def _label_name(raw_label: object) -> str:
    label = str(raw_label).strip()
    if not label:
        raise LabelMapError(f"label names must not be empty, got {raw_label!r}")
    if len(label) > MAX_LABEL_LENGTH:
        raise LabelMapError(
            f"label {label[:40]!r}... is {len(label)} characters long; Rekognition allows "
            f"at most {MAX_LABEL_LENGTH}"
        )
    return label


def _label_ids(label: str, raw_ids: object, owner: dict[int, str]) -> tuple[int, ...]:
    if isinstance(raw_ids, str | int) or not isinstance(raw_ids, Iterable):
        raise LabelMapError(
            f"label {label!r}: give its class ids as a list, e.g. [{raw_ids}], got {raw_ids!r}"
        )
    ids: list[int] = []
    for raw in raw_ids:
        cid = _class_id(raw, label)
        if owner.setdefault(cid, label) != label:
            raise LabelMapError(
                f"class id {cid} is mapped to both {owner[cid]!r} and {label!r}; "
                "each database class can become only one label"
            )
        if cid not in ids:
            ids.append(cid)
    if not ids:
        raise LabelMapError(f"label {label!r} has no class ids; give at least one")
    return tuple(ids)


def _normalise(
    mapping: Mapping[str, Iterable[int]] | Iterable[tuple[str, Iterable[int]]],
) -> tuple[tuple[str, tuple[int, ...]], ...]:
    if isinstance(mapping, LabelMap):
        return mapping.entries
    if isinstance(mapping, tuple):  # already normalised entries (e.g. attrs.evolve)
        mapping = dict(mapping)
    if not isinstance(mapping, Mapping):
        raise LabelMapError(
            f"a label map is a mapping of label name -> class ids, got {type(mapping).__name__}"
        )
    out: dict[str, tuple[int, ...]] = {}
    owner: dict[int, str] = {}
    for raw_label, raw_ids in mapping.items():
        label = _label_name(raw_label)
        if label in out:
            raise LabelMapError(f"label {label!r} appears twice in the label map")
        out[label] = _label_ids(label, raw_ids, owner)
    if not out:
        raise LabelMapError(
            "the label map is empty: give at least one label, e.g. "
            '{"mitotic figure": [2]} or --label "mitotic figure=2"'
        )
    if len(out) > MAX_LABELS:
        raise LabelMapError(
            f"the label map has {len(out)} labels; Rekognition allows at most {MAX_LABELS}"
        )
    return tuple(out.items())


@attrs.frozen(repr=False)
class LabelMap:
    """Rekognition label name -> database class ids (frozen, ordered).

    Build it from a mapping, ``LabelMap({"mitotic figure": [2], "look-alike": [1]})``, or
    from CLI strings with :meth:`parse`. Label order is kept: it fixes the manifest
    ``class_id`` of each label.

    Hard negatives are just another label (e.g. ``"look-alike"``): patches without any
    box are not used by Rekognition training, so they cannot act as negatives.

    Attributes:
        entries: ``(label, class ids)`` pairs, in the order given (see :attr:`mapping`).

    Raises:
        LabelMapError: when the map is empty, a label is empty or longer than 256
            characters, a class id is not a positive integer, or one class id is mapped
            to two labels.
    """

    entries: tuple[tuple[str, tuple[int, ...]], ...] = attrs.field(converter=_normalise)

    @property
    def mapping(self) -> dict[str, tuple[int, ...]]:
        """Label name -> class ids, in order (a fresh dict)."""
        return dict(self.entries)

    @classmethod
    def parse(cls, specs: Sequence[str], *, classes: Mapping[int, str] | None = None) -> LabelMap:
        """Parse CLI label specs such as ``"mitotic figure=2"`` or ``"look-alike=1,7"``.

        The label is everything before the last ``=``; the class ids are a
        comma-separated list after it. A label given twice collects all its ids. With
        ``classes`` (id -> name, e.g. a QuPath source's classes), a class may also be
        given by its name (``"mitotic figure=Mitotic figure"``, case-insensitive).

        Raises:
            LabelMapError: for a spec without ``=``, without ids, with non-numeric ids
                (when ``classes`` is None), or with a class name ``classes`` lacks.
        """
        if isinstance(specs, str):
            specs = [specs]
        merged: dict[str, list[int]] = {}
        for spec in specs:
            label, sep, ids_text = spec.rpartition("=")
            if not sep or not label.strip():
                raise LabelMapError(
                    f"label spec {spec!r} is not of the form 'LABEL=ID[,ID...]', "
                    "e.g. 'mitotic figure=2'"
                )
            parts = [p.strip() for p in ids_text.split(",") if p.strip()]
            if not parts:
                raise LabelMapError(
                    f"label spec {spec!r} names no class id after '='; e.g. 'look-alike=1,7'"
                )
            ids = merged.setdefault(label.strip(), [])
            ids.extend(_class_ref(p, label.strip(), classes) for p in parts)
        return cls(merged)

    @classmethod
    def coerce(cls, labels: LabelMap | Mapping[str, Sequence[int]]) -> LabelMap:
        """Return ``labels`` as a :class:`LabelMap` (a mapping is converted)."""
        return labels if isinstance(labels, LabelMap) else cls(labels)

    @classmethod
    def from_classes(cls, db_classes: Mapping[int, str]) -> LabelMap:
        """One label per database class, named as the database names it.

        Raises:
            LabelMapError: when the database has no classes, or two classes share a name.
        """
        mapping: dict[str, list[int]] = {}
        for cid, name in sorted(db_classes.items()):
            mapping.setdefault(name.strip() or f"class {cid}", []).append(cid)
        return cls(mapping)

    @property
    def labels(self) -> tuple[str, ...]:
        """The label names, in order (index = manifest ``class_id``)."""
        return tuple(label for label, _ in self.entries)

    @property
    def all_class_ids(self) -> tuple[int, ...]:
        """Every mapped class id, sorted."""
        return tuple(sorted(cid for _, ids in self.entries for cid in ids))

    def label_for(self, class_id: int | None) -> str | None:
        """The label a database class becomes, or None when the class is not mapped."""
        if class_id is None:
            return None
        for label, ids in self.entries:
            if class_id in ids:
                return label
        return None

    def class_ids(self, label: str) -> tuple[int, ...]:
        """The class ids behind ``label``.

        Raises:
            LabelMapError: when ``label`` is not in the map (the message lists the labels).
        """
        try:
            return self.mapping[label]
        except KeyError:
            raise LabelMapError(
                f"label {label!r} is not in the label map; its labels are {list(self.labels)}"
            ) from None

    def check(self, db_classes: Mapping[int, str], *, source: str = "the database") -> None:
        """Check that every mapped class id exists in ``db_classes`` (id -> name).

        Args:
            db_classes: The database's classes, e.g. ``SlideRunnerDB.classes()``.
            source: Where the classes come from, for the message (e.g. a file name).

        Raises:
            LabelMapError: naming the unknown ids and listing the database's classes.
        """
        unknown = [cid for cid in self.all_class_ids if cid not in db_classes]
        if unknown:
            listing = ", ".join(f"{cid} ({name})" for cid, name in sorted(db_classes.items()))
            raise LabelMapError(
                f"class id(s) {unknown} in the label map are not classes of {source}; "
                f"its classes are: {listing or 'none'}. Fix the ids in the label map."
            )

    def to_dict(self) -> dict[str, list[int]]:
        """JSON-ready form (label -> list of class ids, in order)."""
        return {label: list(ids) for label, ids in self.entries}

    def __repr__(self) -> str:
        inner = ", ".join(f"{label!r}: {list(ids)}" for label, ids in self.entries)
        return f"LabelMap({{{inner}}})"

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, label: Any) -> bool:
        return label in self.labels
