"""Concept drift: the model's quality on a window of labelled predictions against the reference's.

:func:`evaluate_performance` is what the exporter runs on each evaluation of a model with a ``target``:

* the metrics of :mod:`drift.quality.metrics` on the window, and their degradation relative to the profile's
  reference metrics (``target.metric`` decides);
* **a drop** — the window has ≥ ``target.min_samples`` labelled predictions, ``target.metric`` degraded by
  ≥ ``target.max_degradation``, **and** the error rate is significantly above the reference's (one-sided exact
  binomial test, p < ``drift.alpha``): large enough to matter and not a small-window fluke, the same two-part rule
  as feature drift;
* **concept drift** — ADWIN's change test on the window's error indicators ordered by *prediction* time (labels
  arrive late and out of order; their arrival order says nothing about when the model started to fail);
* **label drift** — the label distribution against the reference target's (PSI, chi-square or KS).

A profile built without this target (before it was configured) gives metrics and the change test, but no reference
to compare with: no loss, no drop, no label drift until the profile is rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from ..coercion import category_values, numeric_values
from ..config import REGRESSION, DriftSettings, TargetConfig
from ..evaluation import ColumnDrift, decide, evaluate_column
from ..reference.profile import ReferenceProfile
from .adwin import ChangeTest, adwin_change
from .metrics import degradation, error_rate_pvalue, labelled_pairs, score


@dataclass(frozen=True)
class PerformanceResult:
    samples: int  # complete labelled predictions in the window
    metrics: MappingProxyType[str, float]
    reference: MappingProxyType[str, float]
    metric: str  # the configured target.metric
    degradation: float | None  # of `metric`, relative to the reference; positive = worse
    error_rate: float | None
    reference_error_rate: float | None
    pvalue: float | None  # the error rate is above the reference's
    dropped: bool
    change: ChangeTest
    concept_drift: bool
    label_drift: ColumnDrift | None


def coerce_pairs(task: str, labels: Any, predictions: Any) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Labels and predictions as the statistics read them: class strings (None where missing; the spelling of
    :func:`drift.coercion.category_of`) or float64 scores and values (NaN where missing)."""
    if task == REGRESSION:
        return numeric_values(labels), numeric_values(predictions)
    array = np.asarray(predictions)
    scores = array if array.dtype == np.float64 else None  # a score of the positive class
    return category_values(labels), scores if scores is not None else category_values(predictions)


def evaluate_performance(
    profile: ReferenceProfile,
    target: TargetConfig,
    settings: DriftSettings,
    labels: Any,
    predictions: Any,
    predicted_at: Any,
) -> PerformanceResult:
    """Evaluate a window of labelled predictions; the three arrays are row-aligned (labels, predictions, prediction
    Unix times). Labels are read as ``POST /feedback`` reads them: a classifier's class labels may be strings,
    integers, floats or booleans (``1``, ``1.0`` and ``"1"`` are the same class), a regression's labels numbers; a
    classifier's predictions are classes of any of those types, or float64 scores of ``target.positive``."""
    labels, predictions = coerce_pairs(target.task, labels, predictions)
    keep = labelled_pairs(labels, predictions)
    order = np.argsort(np.asarray(predicted_at, dtype=np.float64)[keep], kind="stable")
    y, yhat = labels[keep][order], predictions[keep][order]
    n = int(y.size)
    matches = profile.target is not None and (profile.target.name, profile.target.type) == (
        target.name,
        target.column.type,
    )
    reference = profile.performance if matches else None
    reference_metrics = MappingProxyType(dict(reference.metrics) if reference is not None else {})
    label_drift = None
    if matches and profile.target is not None and labels.size:
        column = evaluate_column(profile.target, labels, int(labels.size))
        label_drift = decide({column.name: column}, settings)[column.name]
    if n == 0:
        no_change = ChangeTest(False, None, None, None)
        return PerformanceResult(
            0, MappingProxyType({}), reference_metrics, target.metric, None, None,
            reference.error_rate if reference is not None else None, None, False, no_change, False, label_drift,
        )  # fmt: skip
    scored = score(
        target.task,
        y,
        yhat,
        positive=target.positive,
        threshold=target.threshold,
        error_limit=reference.error_limit if reference is not None else None,
    )
    current = scored.metrics.get(target.metric)
    baseline = reference_metrics.get(target.metric)
    worse = degradation(target.metric, current, baseline) if current is not None and baseline is not None else None
    errors = int(scored.errors.sum())
    pvalue = error_rate_pvalue(errors, n, reference.error_rate) if reference is not None else None
    enough = n >= target.min_samples
    dropped = bool(
        enough
        and worse is not None
        and worse >= target.max_degradation
        and pvalue is not None
        and pvalue < settings.alpha
    )
    change = adwin_change(scored.errors, delta=target.detector_delta)
    return PerformanceResult(
        samples=n,
        metrics=MappingProxyType(scored.metrics),
        reference=reference_metrics,
        metric=target.metric,
        degradation=worse,
        error_rate=errors / n,
        reference_error_rate=reference.error_rate if reference is not None else None,
        pvalue=pvalue,
        dropped=dropped,
        change=change,
        concept_drift=bool(enough and change.detected),
        label_drift=label_drift,
    )


__all__ = ["PerformanceResult", "evaluate_performance"]
