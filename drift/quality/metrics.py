"""Model quality from ground truth: classification and regression metrics, a one-sided test of the error rate, and
the error indicators ADWIN's change test (:mod:`drift.quality.adwin`) reads.

Small pure functions over numpy arrays, each the textbook formula (the unit tests check them against
scikit-learn and scipy). Notation: ``y`` the true labels, ``ŷ`` the predicted ones, ``s`` scores (the predicted
probability of the positive class), ``n`` the number of labelled predictions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats

from ..config import CLASSIFICATION_METRICS, REGRESSION, REGRESSION_METRICS
from ..stats import FloatArray
from .calibration import Calibration, fit_isotonic

ObjectArray = np.ndarray[Any, np.dtype[np.object_]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]

#: Metrics where a smaller value is a better model; for the others larger is better.
LOWER_IS_BETTER = frozenset({"log_loss", "mae", "rmse"})


def accuracy(y: ObjectArray, predicted: ObjectArray) -> float:
    """``accuracy = (1/n) Σ [yᵢ = ŷᵢ]``."""
    return float(np.mean(y == predicted))


def precision_recall_f1(
    y: ObjectArray, predicted: ObjectArray, positive: str | None
) -> tuple[float | None, float | None, float | None]:
    """Precision ``tp/(tp+fp)``, recall ``tp/(tp+fn)`` and F1 ``2·P·R/(P+R)``.

    With a ``positive`` class: the binary scores of that class. Without: the macro average over every class seen
    in ``y`` or ``ŷ`` (as ``sklearn.metrics.precision_recall_fscore_support(average="macro")``). A score whose
    denominator is zero counts as 0 inside a macro average and is None on its own (undefined, not exported).
    """
    classes = [positive] if positive is not None else sorted(set(y.tolist()) | set(predicted.tolist()))
    scores = []
    for label in classes:
        truth, guess = y == label, predicted == label
        tp = int(np.count_nonzero(truth & guess))
        fp = int(np.count_nonzero(~truth & guess))
        fn = int(np.count_nonzero(truth & ~guess))
        p = tp / (tp + fp) if tp + fp else None
        r = tp / (tp + fn) if tp + fn else None
        f = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
        scores.append((p, r, f))
    if positive is not None:
        return scores[0]
    if not scores:
        return None, None, None

    def macro(i: int) -> float:
        return float(np.mean([s[i] if s[i] is not None else 0.0 for s in scores]))

    return macro(0), macro(1), macro(2)


def roc_auc(is_positive: BoolArray, scores: FloatArray) -> float | None:
    """Area under the ROC curve by the Mann–Whitney identity (ties count one half):

    ``AUC = (R₊ − n₊(n₊ + 1)/2) / (n₊ · n₋)`` with ``R₊`` the sum of the positives' ranks among all scores
    (average ranks for ties). None when only one class is present.
    """
    n_pos = int(np.count_nonzero(is_positive))
    n_neg = is_positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = scipy.stats.rankdata(scores)
    return float((ranks[is_positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def log_scores(scores: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``(ln s, ln(1 − s))`` with ``s`` clipped to ``[ε, 1 − ε]``, ``ε`` the float64 machine epsilon (as scikit-learn
    ≥ 1.5 does): the two terms of the log-loss."""
    eps = np.finfo(np.float64).eps
    s = np.clip(scores, eps, 1 - eps)
    return np.log(s), np.log1p(-s)


def log_loss(is_positive: BoolArray, scores: FloatArray) -> float:
    """Binary cross-entropy ``−(1/n) Σ [yᵢ ln sᵢ + (1 − yᵢ) ln(1 − sᵢ)]`` (:func:`log_scores`)."""
    log_s, log_not_s = log_scores(scores)
    return float(-np.mean(np.where(is_positive, log_s, log_not_s)))


def mae(y: FloatArray, predicted: FloatArray) -> float:
    """Mean absolute error ``(1/n) Σ |yᵢ − ŷᵢ|``."""
    return float(np.mean(np.abs(y - predicted)))


def rmse(y: FloatArray, predicted: FloatArray) -> float:
    """Root mean squared error ``√((1/n) Σ (yᵢ − ŷᵢ)²)``."""
    return float(math.sqrt(np.mean((y - predicted) ** 2)))


def classification_metrics(
    y: ObjectArray, predicted: ObjectArray, scores: FloatArray | None = None, positive: str | None = None
) -> dict[str, float]:
    """Every classification metric defined for these labels: accuracy, precision, recall, F1, and — when
    ``scores`` (probabilities of ``positive``) are given — ROC AUC and log-loss. Undefined metrics are left out."""
    if y.size == 0:
        return {}
    out: dict[str, float | None] = {"accuracy": accuracy(y, predicted)}
    out["precision"], out["recall"], out["f1"] = precision_recall_f1(y, predicted, positive)
    if scores is not None and positive is not None:
        is_positive = np.asarray(y == positive, dtype=bool)
        out["roc_auc"] = roc_auc(is_positive, scores)
        out["log_loss"] = log_loss(is_positive, scores)
    return {name: value for name, value in out.items() if value is not None}


def regression_metrics(y: FloatArray, predicted: FloatArray) -> dict[str, float]:
    """MAE and RMSE."""
    if y.size == 0:
        return {}
    return {"mae": mae(y, predicted), "rmse": rmse(y, predicted)}


def degradation(metric: str, current: float, reference: float) -> float:
    """How much worse ``current`` is than ``reference``, relative to the reference (positive = worse):
    ``(ref − cur)/|ref|`` for metrics where larger is better, ``(cur − ref)/|ref|`` for errors and losses; the
    absolute difference when the reference is 0."""
    worse = current - reference if metric in LOWER_IS_BETTER else reference - current
    return worse / abs(reference) if reference != 0 else worse


def error_rate_pvalue(errors: int, n: int, reference_rate: float) -> float:
    """One-sided exact binomial test that the window's error rate exceeds the reference's:
    ``P(X ≥ errors)`` for ``X ~ Binomial(n, reference_rate)``
    (``scipy.stats.binomtest(errors, n, reference_rate, alternative="greater")``)."""
    if n == 0:
        return 1.0
    rate = min(max(reference_rate, 0.0), 1.0)
    return float(scipy.stats.binom.sf(errors - 1, n, rate))


NEGATIVE = "\x00not-positive"  # the class a score below the threshold predicts: "not the positive class"


@dataclass(frozen=True)
class Scored:
    """Labelled predictions, scored: the metrics and the error indicator of each prediction (1 = wrong for a
    classifier; the absolute error above ``error_limit`` for a regression), which the change test and the binomial
    test read."""

    metrics: dict[str, float]
    errors: FloatArray


def labelled_pairs(labels: Any, predictions: Any) -> BoolArray:
    """Where both a label and a prediction are present (not None, not NaN)."""

    def present(values: Any) -> BoolArray:
        array = np.asarray(values)
        if array.dtype == np.float64:
            return np.asarray(np.isfinite(array), dtype=bool)
        return np.asarray([v is not None for v in array.tolist()], dtype=bool)

    return present(labels) & present(predictions)


def score(
    task: str,
    labels: Any,
    predictions: Any,
    *,
    positive: str | None = None,
    threshold: float = 0.5,
    error_limit: float | None = None,
) -> Scored:
    """Score complete pairs (see :func:`labelled_pairs`). Classification: ``labels`` are class strings, and
    ``predictions`` classes or — float64 — scores of ``positive`` (class = ``positive`` when score ≥ ``threshold``,
    one-vs-rest). Regression: both float64."""
    if task == REGRESSION:
        truth, yhat = np.asarray(labels, dtype=np.float64), np.asarray(predictions, dtype=np.float64)
        absolute = np.abs(truth - yhat)
        limit = error_limit if error_limit is not None else math.inf
        return Scored(regression_metrics(truth, yhat), np.asarray(absolute > limit, dtype=np.float64))
    y: ObjectArray = np.asarray(labels, dtype=object)
    scores: FloatArray | None = None
    if isinstance(predictions, np.ndarray) and predictions.dtype == np.float64:
        scores = predictions
        name = positive if positive is not None else "1"
        y = np.where(y == name, name, NEGATIVE).astype(object)
        predicted: ObjectArray = np.where(scores >= threshold, name, NEGATIVE).astype(object)
    else:
        predicted = np.asarray(predictions, dtype=object)
    metrics = classification_metrics(y, predicted, scores, positive)
    return Scored(metrics, np.asarray(y != predicted, dtype=np.float64))


@dataclass(frozen=True)
class ReferencePerformance:
    """The model's quality on the labelled reference data, recorded in the profile."""

    metrics: dict[str, float]
    samples: int
    error_rate: float  # share of error indicators set: misclassified, or absolute error above error_limit
    error_limit: float | None = None  # regression: the reference's 90th percentile absolute error
    # A binary classifier's score → P(positive), for estimating performance before labels (drift.quality.estimation)
    calibration: Calibration | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "metrics": dict(sorted(self.metrics.items())),
            "samples": self.samples,
            "error_rate": self.error_rate,
            "error_limit": self.error_limit,
        }
        if self.calibration is not None:  # absent, not null: profiles without one keep their version
            out["calibration"] = self.calibration.to_dict()
        return out

    @classmethod
    def from_dict(cls, d: Any) -> ReferencePerformance:
        limit = d.get("error_limit")
        return cls(
            metrics={str(k): float(v) for k, v in d["metrics"].items()},
            samples=int(d["samples"]),
            error_rate=float(d["error_rate"]),
            error_limit=float(limit) if limit is not None else None,
            calibration=Calibration.from_dict(d["calibration"]) if d.get("calibration") is not None else None,
        )


#: The regression error indicator: an absolute error above this quantile of the reference's absolute errors.
ERROR_QUANTILE = 0.9


def reference_performance(
    task: str, labels: Any, predictions: Any, *, positive: str | None = None, threshold: float = 0.5
) -> ReferencePerformance | None:
    """The quality of the reference's own predictions; None when no row has both a label and a prediction."""
    keep = labelled_pairs(labels, predictions)
    if not keep.any():
        return None
    y, yhat = np.asarray(labels)[keep], np.asarray(predictions)[keep]
    limit = None
    if task == REGRESSION:
        limit = float(np.quantile(np.abs(y.astype(np.float64) - yhat.astype(np.float64)), ERROR_QUANTILE))
    scored = score(task, y, yhat, positive=positive, threshold=threshold, error_limit=limit)
    calibration = None
    if task != REGRESSION and yhat.dtype == np.float64:  # a binary classifier's score: calibrate it for CBPE
        is_positive = np.asarray(y == (positive if positive is not None else "1"), dtype=bool)
        if 0 < int(is_positive.sum()) < is_positive.size:
            calibration = fit_isotonic(yhat, is_positive)
    return ReferencePerformance(scored.metrics, int(keep.sum()), float(np.mean(scored.errors)), limit, calibration)


__all__ = [
    "CLASSIFICATION_METRICS",
    "LOWER_IS_BETTER",
    "REGRESSION_METRICS",
    "ReferencePerformance",
    "Scored",
    "accuracy",
    "classification_metrics",
    "degradation",
    "error_rate_pvalue",
    "log_loss",
    "log_scores",
    "mae",
    "precision_recall_f1",
    "reference_performance",
    "regression_metrics",
    "rmse",
    "roc_auc",
    "score",
]
