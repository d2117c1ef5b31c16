"""Model quality from ground truth: classification and regression metrics, a one-sided test of the error rate, and
the error indicators ADWIN's change test (:mod:`drift.quality.adwin`) reads.

Small pure functions over numpy arrays, each the textbook formula (the unit tests check them against
scikit-learn and scipy). Notation: ``y`` the true labels, ``ŷ`` the predicted ones, ``s`` scores (the predicted
probability of the positive class), ``n`` the number of labelled predictions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats

from ..config import CLASSIFICATION_METRICS, REGRESSION, REGRESSION_METRICS
from ..stats import FloatArray
from .calibration import Calibration, ClassCalibration, fit_class_calibration, fit_isotonic
from .loss_model import LossModels, losses

ObjectArray = np.ndarray[Any, np.dtype[np.object_]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]

#: Metrics where a smaller value is a better model; for the others larger is better.
LOWER_IS_BETTER = frozenset({"log_loss", "mae", "rmse", "mape"})


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


def weighted_roc_auc(weights: FloatArray, scores: FloatArray) -> float | None:
    """The expected ROC AUC of one class: each row a positive of weight ``wᵢ`` and a negative of weight ``1 − wᵢ``,
    ranked by ``scores`` (ties count one half): ``Σ_g W_g (V_{<g} + V_g/2) / (W·V)`` over the groups of tied scores.
    None without both weights."""
    rest = 1.0 - weights
    total_w, total_v = float(weights.sum()), float(rest.sum())
    if total_w <= 0 or total_v <= 0:
        return None
    unique, group = np.unique(scores, return_inverse=True)
    w_g = np.bincount(group, weights=weights, minlength=unique.size)
    v_g = np.bincount(group, weights=rest, minlength=unique.size)
    below = np.cumsum(v_g) - v_g
    return float(np.sum(w_g * (below + 0.5 * v_g)) / (total_w * total_v))


def central_intervals(draws: Mapping[str, FloatArray], alpha: float) -> dict[str, tuple[float, float]]:
    """Each metric's central ``1 − α`` interval over its values in many label draws (draws where it is undefined —
    NaN or infinite — left out; a metric undefined in every draw has none)."""
    band = {}
    for name, values in draws.items():
        finite = values[np.isfinite(values)]
        if finite.size:
            low, high = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
            band[name] = (float(low), float(high))
    return band


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
    """MAE, RMSE and MAPE: the means of the per-row losses (:func:`~drift.quality.loss_model.losses`, the ones the
    loss models estimate), RMSE rooted; MAPE as ``sklearn.metrics.mean_absolute_percentage_error`` (a fraction)."""
    if y.size == 0:
        return {}
    per_row = {name: float(loss.mean()) for name, loss in losses(y, predicted).items()}
    return {**per_row, "rmse": math.sqrt(per_row["rmse"])}


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
    class_calibration: ClassCalibration | None = None  # the same for a multiclass classifier's class scores
    loss_models: LossModels | None = None  # a regression's expected losses from its features (DLE)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "metrics": dict(sorted(self.metrics.items())),
            "samples": self.samples,
            "error_rate": self.error_rate,
            "error_limit": self.error_limit,
        }
        if self.calibration is not None:  # absent, not null: profiles without one keep their version
            out["calibration"] = self.calibration.to_dict()
        if self.class_calibration is not None:
            out["class_calibration"] = self.class_calibration.to_dict()
        if self.loss_models is not None:
            out["loss_models"] = self.loss_models.to_dict()
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
            class_calibration=(
                ClassCalibration.from_dict(d["class_calibration"]) if d.get("class_calibration") is not None else None
            ),
            loss_models=LossModels.from_dict(d["loss_models"]) if d.get("loss_models") is not None else None,
        )


#: The regression error indicator: an absolute error above this quantile of the reference's absolute errors.
ERROR_QUANTILE = 0.9


@dataclass(frozen=True)
class ClassScores:
    """A multiclass classifier's scores: ``matrix[row, k]`` the score of ``classes[k]``."""

    classes: tuple[str, ...]
    matrix: FloatArray


def ovr_roc_auc(labels: ObjectArray, classes: tuple[str, ...], scores: FloatArray) -> float | None:
    """One-vs-rest ROC AUC, macro-averaged: ``(1/K) Σ_k AUC([y = k], s_k)`` (as ``sklearn.metrics.roc_auc_score(
    multi_class="ovr", average="macro")`` on normalised scores); None unless every class is present."""
    areas = [roc_auc(np.asarray(labels == label, dtype=bool), scores[:, k]) for k, label in enumerate(classes)]
    return float(np.mean(areas)) if all(a is not None for a in areas) else None  # type: ignore[arg-type]


def reference_performance(
    task: str,
    labels: Any,
    predictions: Any,
    *,
    positive: str | None = None,
    threshold: float = 0.5,
    class_scores: ClassScores | None = None,
) -> ReferencePerformance | None:
    """The quality of the reference's own predictions; None when no row has both a label and a prediction. With a
    multiclass classifier's ``class_scores``: their calibration for CBPE, and the one-vs-rest ROC AUC."""
    keep = labelled_pairs(labels, predictions)
    if not keep.any():
        return None
    class_calibration = None
    extra: dict[str, float] = {}
    if class_scores is not None and task != REGRESSION:
        class_calibration = fit_class_calibration(class_scores.classes, class_scores.matrix, labels)
        scored = keep & np.all(np.isfinite(class_scores.matrix), axis=1)
        area = ovr_roc_auc(np.asarray(labels, dtype=object)[scored], class_scores.classes,
                           class_scores.matrix[scored])  # fmt: skip
        if area is not None:
            extra["roc_auc"] = area
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
    return ReferencePerformance(
        {**scored.metrics, **extra}, int(keep.sum()), float(np.mean(scored.errors)), limit, calibration,
        class_calibration,
    )  # fmt: skip


__all__ = [
    "CLASSIFICATION_METRICS",
    "LOWER_IS_BETTER",
    "REGRESSION_METRICS",
    "ClassScores",
    "ReferencePerformance",
    "Scored",
    "accuracy",
    "central_intervals",
    "classification_metrics",
    "degradation",
    "error_rate_pvalue",
    "log_loss",
    "log_scores",
    "mae",
    "ovr_roc_auc",
    "precision_recall_f1",
    "reference_performance",
    "regression_metrics",
    "rmse",
    "roc_auc",
    "score",
    "weighted_roc_auc",
]
