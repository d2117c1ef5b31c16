"""The feedback documents clients send: ground truth for earlier predictions, read into :class:`Label` s (which
:mod:`exporters.ground_truth` joins to the stored predictions).

A label names the prediction by the KServe ``Ce-Id`` of the inference request (request and response share it) and
the row of a batched request.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from drift.coercion import category_of
from drift.config import CLASSIFICATION, TargetConfig

FEEDBACK_TYPE = "org.kubeflow.serving.inference.feedback"
MAX_LABEL_LENGTH = 256  # a class is a short label; the labelled window keeps each one


class FeedbackError(ValueError):
    """A feedback document the client must fix. ``reason`` is the ``driftline_feedback_rejected_total`` label
    (one of ``drift.catalogue.FEEDBACK_REJECT_REASONS``)."""

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.reason, self.status = reason, status


class Label(NamedTuple):
    event_id: str
    row: int
    value: Any  # a class string (classification) or a float (regression)
    known_at: float | None  # when the ground truth became known (Unix time), if the client said


def label_value(target: TargetConfig, value: Any, where: str) -> Any:
    """A label as the window holds it: a class string, or a finite float; FeedbackError for the wrong type."""
    if target.task == CLASSIFICATION:
        finite = not isinstance(value, float) or math.isfinite(value)  # JSON's Infinity is not a class
        category = category_of(value) if isinstance(value, str | int | float | bool) and finite else None
        if category is not None and isinstance(value, str) and len(value) > MAX_LABEL_LENGTH:
            raise FeedbackError("invalid_label", f"{where}: a class label is at most {MAX_LABEL_LENGTH} characters")
        if category is None:
            raise FeedbackError("invalid_label", f"{where}: a class label must be a non-empty string, number or bool")
        return category
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FeedbackError("invalid_label", f"{where}: a regression label must be a finite number")
    return float(value)


def parse_feedback(
    document: Any, model: str | None = None, namespace: str | None = None
) -> tuple[str, str, list[dict[str, Any]]]:
    """``(model, namespace, raw label entries)`` of a feedback body: ``{"model", "namespace", "labels": [...]}``,
    one entry ``{"model", "namespace", "id", "row", "label"}``, or — inside a CloudEvent, whose attributes name the
    model — ``{"labels": [...]}``, a list of entries or one entry."""
    if isinstance(document, list):
        entries: Any = document
    elif isinstance(document, dict):
        model = model or document.get("model")
        namespace = namespace or document.get("namespace")
        entries = document.get("labels", [document])
    else:
        raise FeedbackError("bad_json", "feedback must be a JSON object or a list of labels")
    if not isinstance(model, str) or not model:
        raise FeedbackError(
            "missing_attributes", 'feedback must name the InferenceService: "model" (or Ce-Inferenceservicename)'
        )
    if not isinstance(entries, list) or not entries:
        raise FeedbackError("invalid_label", '"labels" must be a non-empty list of {"id", "row", "label"}')
    ns = namespace if isinstance(namespace, str) and namespace else "default"
    return model, ns, entries


def read_labels(target: TargetConfig, entries: list[Any]) -> tuple[Label, ...]:
    """Validate every entry before any is used, so a bad batch changes nothing."""
    labels = []
    for i, entry in enumerate(entries):
        where = f"labels[{i}]"
        if not isinstance(entry, Mapping):
            raise FeedbackError("invalid_label", f'{where}: must be an object {{"id", "row", "label"}}')
        event_id = entry.get("id")
        if not isinstance(event_id, str | int) or isinstance(event_id, bool) or event_id == "":
            raise FeedbackError("invalid_label", f"{where}.id: the request's Ce-Id (a string) is required")
        row = entry.get("row", 0)
        if isinstance(row, bool) or not isinstance(row, int) or row < 0:
            raise FeedbackError("invalid_label", f"{where}.row: must be a row index ≥ 0")
        if "label" not in entry:
            raise FeedbackError("invalid_label", f"{where}.label: missing")
        value = label_value(target, entry["label"], f"{where}.label")
        labels.append(Label(str(event_id), row, value, timestamp(entry.get("timestamp"), f"{where}.timestamp")))
    return tuple(labels)


# A label is known between 1970 and 3000: anything else is a unit mistake (milliseconds) or garbage, and one 1e308
# would make the label-delay histogram's sum infinite for good.
LATEST_TIMESTAMP = 32503680000.0


def timestamp(value: Any, where: str) -> float | None:
    """Unix seconds from a number or an RFC 3339 string, between 1970 and 3000; None when absent."""
    if value is None:
        return None
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError):  # an integer beyond float range (a Python API caller's)
            seconds = float(value) if math.isfinite(value) else None
    elif isinstance(value, datetime):
        seconds = value.timestamp()
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            seconds = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    if seconds is None or not 0.0 <= seconds <= LATEST_TIMESTAMP:
        raise FeedbackError("invalid_label", f"{where}: must be Unix seconds or an RFC 3339 time between 1970 and 3000")
    return seconds
