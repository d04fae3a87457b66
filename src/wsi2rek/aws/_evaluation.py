"""What the service says about a model or dataset: evaluation metrics and entry errors.

Pure parsing, no AWS calls: :func:`parse_evaluation_summary` reads the evaluation summary
JSON a training run writes to S3; :func:`extract_entry_errors` collects per-line errors
from validation manifests and ``ListDatasetEntries`` output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from wsi2rek._jsonl import parse_line, split_lines
from wsi2rek.errors import EntryError, ParameterError, TrainingFailedError

__all__ = [
    "EntryError",
    "LabelMetrics",
    "ModelEvaluation",
    "TrainingFailedError",
    "extract_entry_errors",
    "format_errors",
    "parse_evaluation_summary",
]


@attrs.frozen
class LabelMetrics:
    """Test-set metrics of one label, from the evaluation summary file.

    ``threshold`` is the service's "assumed threshold" (0-1): the F1-optimal confidence
    on the test set. Pass :attr:`min_confidence` (percent) to :meth:`CustomLabelsModel.detect`.
    """

    label: str
    precision: float | None
    recall: float | None
    f1: float | None
    threshold: float | None
    testing_images: int | None = None

    @property
    def min_confidence(self) -> float | None:
        """The assumed threshold in percent, the unit ``MinConfidence`` uses."""
        return None if self.threshold is None else self.threshold * 100.0


@attrs.frozen
class ModelEvaluation:
    """A model's evaluation: the F1 score plus, when readable, per-label metrics."""

    f1: float | None
    precision: float | None = None
    recall: float | None = None
    labels: tuple[LabelMetrics, ...] = ()
    training_images: int | None = None
    testing_images: int | None = None
    summary_uri: str | None = None

    def label(self, name: str) -> LabelMetrics:
        """The metrics of label ``name``.

        Raises:
            ParameterError: No such label in the summary (the message lists the known ones).
        """
        for metrics in self.labels:
            if metrics.label == name:
                return metrics
        known = ", ".join(m.label for m in self.labels) or "none"
        raise ParameterError(
            f"label {name!r} not in the evaluation (labels: {known}); pass one of those names"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return attrs.asdict(self)


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def parse_evaluation_summary(summary: Mapping[str, Any], *, f1: float | None) -> ModelEvaluation:
    """Parse an ``EvaluationSummary-<project>-<version>.json`` document.

    Args:
        summary: The decoded JSON.
        f1: ``EvaluationResult.F1Score`` from ``DescribeProjectVersions`` (used when the
            summary has no aggregated F1).

    Returns:
        The typed evaluation.
    """
    aggregated = (summary.get("AggregatedEvaluationResults") or {}).get("Metrics") or {}
    details = summary.get("EvaluationDetails") or {}
    labels = []
    for entry in summary.get("LabelEvaluationResults") or []:
        metrics = entry.get("Metrics") or {}
        threshold = _num(metrics.get("Threshold"))
        if threshold is not None and threshold > 1.0:  # some tools write percent
            threshold /= 100.0
        testing = entry.get("NumberOfTestingImages")
        labels.append(
            LabelMetrics(
                label=str(entry.get("Label", "")),
                precision=_num(metrics.get("Precision")),
                recall=_num(metrics.get("Recall")),
                f1=_num(metrics.get("F1Score")),
                threshold=threshold,
                testing_images=int(testing) if isinstance(testing, int) else None,
            )
        )
    agg_f1 = _num(aggregated.get("F1Score"))
    training = details.get("NumberOfTrainingImages")
    testing = details.get("NumberOfTestingImages")
    return ModelEvaluation(
        f1=f1 if f1 is not None else agg_f1,
        precision=_num(aggregated.get("Precision")),
        recall=_num(aggregated.get("Recall")),
        labels=tuple(labels),
        training_images=int(training) if isinstance(training, int) else None,
        testing_images=int(testing) if isinstance(testing, int) else None,
    )


def _walk_errors(node: object, source_ref: str | None, out: list[EntryError]) -> None:
    if isinstance(node, dict):
        ref = node.get("source-ref")
        ref = ref if isinstance(ref, str) else source_ref
        for key, value in node.items():
            if key == "errors" and isinstance(value, list):
                out.extend(
                    EntryError(str(err["code"]), str(err.get("message", "")), ref)
                    for err in value
                    if isinstance(err, dict) and "code" in err
                )
            else:
                _walk_errors(value, ref, out)
    elif isinstance(node, list):
        for item in node:
            _walk_errors(item, source_ref, out)


def extract_entry_errors(text: str, *, limit: int = 10) -> list[EntryError]:
    """Collect ``{"code", "message"}`` errors from a validation manifest or dataset entries.

    Accepts a JSON document (validation summary) or JSON lines (validation manifest,
    ``ListDatasetEntries`` output); errors may sit at the top level or inside a label
    attribute's metadata. Unparseable lines are ignored: this is best-effort diagnostics.

    Args:
        text: The document.
        limit: Keep at most this many errors.

    Returns:
        The first ``limit`` errors, in document order.
    """
    out: list[EntryError] = []
    document, problem = parse_line(text)
    if problem is None:
        _walk_errors(document, None, out)
    else:
        # JSON lines, split on "\n" only: a label holding U+2028 stays on its line
        for line in split_lines(text):
            value, problem = parse_line(line)
            if problem is None:
                _walk_errors(value, None, out)
    return out[:limit]


def format_errors(errors: Sequence[EntryError]) -> str:
    if not errors:
        return ""
    parts = []
    for e in errors[:5]:
        where = f" ({e.source_ref})" if e.source_ref else ""
        what = f": {e.message}" if e.message else ""
        parts.append(f"{e.code}{where}{what}")
    shown = "; ".join(parts)
    return f"; first errors: {shown}"
