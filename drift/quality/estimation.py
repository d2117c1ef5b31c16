"""Performance estimated before the labels arrive: confidence-based performance estimation (CBPE).

A binary classifier's score ``s`` becomes a probability ``p = g(s)`` through an isotonic calibration ``g`` fitted
on the labelled reference (:mod:`drift.quality.calibration`, stored in the profile). If ``g`` still holds — the
inputs moved but ``P(y | x)`` did not (covariate shift) — each unlabelled prediction is right with a known
probability, so the window's confusion matrix has a known expectation. With ``ŷᵢ = [sᵢ ≥ t]`` and ``qᵢ = 1 − pᵢ``:

    E[TP] = Σ_{ŷ=1} pᵢ    E[FP] = Σ_{ŷ=1} qᵢ    E[FN] = Σ_{ŷ=0} pᵢ    E[TN] = Σ_{ŷ=0} qᵢ

and accuracy, precision, recall and F1 follow from them as from a realised matrix; ROC AUC from the expected ROC
curve; log-loss as its expectation. The band (:func:`realised_band`) is where the realised metric of these rows falls
once labelled, with probability ``1 − α``: labels drawn as ``yᵢ ~ Bernoulli(pᵢ)``.

Reference: Kivimäki et al., *Confidence-based performance estimation* (NannyML's CBPE); isotonic calibration:
Zadrozny & Elkan (2002), solved by pool-adjacent-violators (``scipy.optimize.isotonic_regression``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import scipy.stats

from ..config import CLASSIFICATION, REGRESSION, ModelConfig
from ..reference.profile import ReferenceProfile
from ..stats import FloatArray
from .metrics import (
    BoolArray,
    ReferencePerformance,
    central_intervals,
    degradation,
    log_scores,
    weighted_roc_auc,
)
from .multiclass import estimated_multiclass_metrics, multiclass_band

#: Label draws behind the band: its quantiles move by well under 1% of its width between two sets of draws.
BAND_DRAWS = 400


def expected_confusion(p: FloatArray, predicted: BoolArray) -> tuple[float, float, float, float]:
    """``(E[TP], E[FP], E[FN], E[TN])`` of predictions ``ŷ`` whose positive class has probability ``p``."""
    tp, fn = float(p[predicted].sum()), float(p[~predicted].sum())
    fp, tn = float(predicted.sum()) - tp, float((~predicted).sum()) - fn
    return tp, fp, fn, tn


def estimated_roc_auc(p: FloatArray, scores: FloatArray) -> float | None:
    """The area under the expected ROC curve: each row is a positive of weight ``pᵢ`` and a negative of weight ``qᵢ``
    (:func:`~drift.quality.metrics.weighted_roc_auc`, the Mann–Whitney form; ties count one half). Equal to
    ``sklearn.metrics.roc_auc_score`` on the rows doubled with those weights. None without both classes' weight."""
    return weighted_roc_auc(p, scores)


def estimated_metrics(p: FloatArray, scores: FloatArray, threshold: float) -> dict[str, float]:
    """Accuracy ``(E[TP] + E[TN])/n``, precision ``E[TP]/(E[TP] + E[FP])``, recall ``E[TP]/(E[TP] + E[FN])``,
    F1 ``2E[TP]/(2E[TP] + E[FP] + E[FN])``, ROC AUC (:func:`estimated_roc_auc`) and the expected log-loss of the
    scores ``−(1/n) Σ [pᵢ ln sᵢ + qᵢ ln(1 − sᵢ)]``; a metric whose denominator is zero is left out."""
    n = p.size
    if n == 0:
        return {}
    tp, fp, fn, tn = expected_confusion(p, scores >= threshold)
    log_s, log_not_s = log_scores(scores)
    out: dict[str, float | None] = {
        "accuracy": (tp + tn) / n,
        "precision": tp / (tp + fp) if tp + fp > 0 else None,
        "recall": tp / (tp + fn) if tp + fn > 0 else None,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else None,
        "roc_auc": estimated_roc_auc(p, scores),
        "log_loss": float(-np.mean(p * log_s + (1.0 - p) * log_not_s)),
    }
    return {name: value for name, value in out.items() if value is not None}


def realised_band(
    p: FloatArray, scores: FloatArray, threshold: float, alpha: float, draws: int = BAND_DRAWS, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """The central ``1 − α`` interval of each metric over ``draws`` labellings ``yᵢ ~ Bernoulli(pᵢ)`` of these rows:
    where the realised metric lands once their labels arrive, if the calibration holds. Vectorised over the draws
    (an AUC from the scores' average ranks); seeded, so the same rows give the same band."""
    n = p.size
    if n == 0:
        return {}
    labels = np.random.default_rng(seed).random((draws, n)) < p
    predicted = scores >= threshold
    positives = labels.sum(axis=1).astype(np.float64)
    tp = labels @ predicted.astype(np.float64)
    fp, fn = float(predicted.sum()) - tp, positives - tp
    ranks = scipy.stats.rankdata(scores)
    negatives = n - positives
    log_s, log_not_s = log_scores(scores)
    with np.errstate(divide="ignore", invalid="ignore"):
        realised = {
            "accuracy": (n - fp - fn) / n,
            "precision": tp / (tp + fp),
            "recall": tp / positives,
            "f1": 2 * tp / (2 * tp + fp + fn),
            "roc_auc": (labels @ ranks - positives * (positives + 1) / 2) / (positives * negatives),
            "log_loss": -(labels @ (log_s - log_not_s) + log_not_s.sum()) / n,
        }
    return central_intervals(realised, alpha)


@dataclass(frozen=True)
class EstimatedPerformance:
    """CBPE on a window of unlabelled predictions, and the estimated-drop decision."""

    samples: int  # predictions with a score the estimate is from
    metrics: Mapping[str, float]
    lower: Mapping[str, float]  # the band of the realised metric (see realised_band)
    upper: Mapping[str, float]
    metric: str  # the configured target.metric
    degradation: float | None  # of `metric` against the reference's realised value; positive = worse
    error_rate: float | None  # the expected share of wrong predictions (a classifier's; None for a regression)
    pvalue: float  # the expected error rate is above the reference's
    dropped: bool

    @classmethod
    def of(
        cls,
        samples: int,
        estimated: Mapping[str, float],
        band: Mapping[str, tuple[float, float]],
        metric: str,
        worse: float | None,
        error_rate: float | None,
        pvalue: float,
        dropped: bool,
    ) -> EstimatedPerformance:
        """From the metrics and their bands as ``{metric: (low, high)}``."""
        return cls(
            samples, MappingProxyType(dict(estimated)), MappingProxyType({k: low for k, (low, _) in band.items()}),
            MappingProxyType({k: high for k, (_, high) in band.items()}), metric, worse, error_rate, pvalue, dropped,
        )  # fmt: skip


def estimate_performance(
    reference: ReferencePerformance,
    scores: Any,
    *,
    threshold: float,
    metric: str,
    max_degradation: float,
    min_samples: int,
    alpha: float,
) -> EstimatedPerformance:
    """Estimate the window's quality from its scores (NaN = no score; at least one score) through the reference's
    calibration, and decide an estimated drop with the rule of the realised one: at least ``min_samples`` scored
    predictions, ``metric`` at least ``max_degradation`` worse than the reference's (relative), **and** the expected
    error rate ``ē = (1/n) Σ P(ŷᵢ wrong)`` significantly above the reference's ``e₀`` — one-sided z-test,
    ``z = (ē − e₀)/√(Var(P(ŷ wrong))/n + e₀(1 − e₀)/N)``, both rates' sampling errors (``N`` labelled reference
    rows)."""
    if reference.calibration is None:
        raise ValueError("the reference has no calibration (its predictions were not scores)")
    s = np.asarray(scores, dtype=np.float64)
    s = s[np.isfinite(s)]
    if s.size == 0:
        raise ValueError("no score to estimate the performance from")
    p = reference.calibration(s)
    wrong = np.where(s >= threshold, 1.0 - p, p)
    return _decided(
        reference, estimated_metrics(p, s, threshold), realised_band(p, s, threshold, alpha), wrong,
        metric=metric, max_degradation=max_degradation, min_samples=min_samples, alpha=alpha,
    )  # fmt: skip


def estimate_multiclass_performance(
    reference: ReferencePerformance,
    scores: Any,
    *,
    metric: str,
    max_degradation: float,
    min_samples: int,
    alpha: float,
) -> EstimatedPerformance:
    """CBPE for a multiclass classifier: ``scores[row, k]`` the score of class ``k`` (in the calibration's class
    order; a row missing any score is left out), the predicted class the highest score. The metrics, band and
    decision of :func:`estimate_performance`, over the expected confusion matrix (:mod:`drift.quality.multiclass`);
    ``P(ŷᵢ wrong) = 1 − P[i, ŷᵢ]``."""
    calibration = reference.class_calibration
    if calibration is None:
        raise ValueError("the reference has no class calibration (its predictions were not class scores)")
    matrix = np.asarray(scores, dtype=np.float64).reshape(-1, len(calibration.classes))
    matrix = matrix[np.all(np.isfinite(matrix), axis=1)]
    if matrix.shape[0] == 0:
        raise ValueError("no row with every class score to estimate the performance from")
    probabilities = calibration(matrix)
    predicted = np.argmax(matrix, axis=1)
    wrong = 1.0 - probabilities[np.arange(predicted.size), predicted]
    return _decided(
        reference,
        estimated_multiclass_metrics(probabilities, matrix),
        multiclass_band(probabilities, matrix, alpha, BAND_DRAWS),
        wrong,
        metric=metric, max_degradation=max_degradation, min_samples=min_samples, alpha=alpha,
    )  # fmt: skip


def _decided(
    reference: ReferencePerformance,
    estimated: dict[str, float],
    band: dict[str, tuple[float, float]],
    wrong: FloatArray,
    *,
    metric: str,
    max_degradation: float,
    min_samples: int,
    alpha: float,
) -> EstimatedPerformance:
    """The estimate and its drop decision: at least ``min_samples`` rows, ``metric`` at least ``max_degradation``
    worse than the reference's, **and** the expected error rate ``mean(wrong)`` significantly above the reference's
    (the one-sided z-test of :func:`estimate_performance`)."""
    n = int(wrong.size)
    error_rate = float(wrong.mean())
    e0 = min(max(reference.error_rate, 0.0), 1.0)
    se = math.sqrt(float(wrong.var()) / n + e0 * (1 - e0) / max(reference.samples, 1))
    worse, pvalue, dropped = _drop(reference, estimated, metric, error_rate - e0, se, n, min_samples, max_degradation,
                                   alpha)  # fmt: skip
    return EstimatedPerformance.of(n, estimated, band, metric, worse, error_rate, pvalue, dropped)


def _drop(
    reference: ReferencePerformance,
    estimated: Mapping[str, float],
    metric: str,
    gap: float | None,
    se: float,
    n: int,
    min_samples: int,
    max_degradation: float,
    alpha: float,
) -> tuple[float | None, float, bool]:
    """``(degradation, p-value, dropped)``: how much worse ``metric`` is than the reference's, the one-sided z-test
    of an error ``gap`` above the reference's with standard error ``se`` (p = 1 without a gap), and the drop rule —
    at least ``min_samples`` rows, ``max_degradation`` lost, p < ``alpha``."""
    current, baseline = estimated.get(metric), reference.metrics.get(metric)
    worse = degradation(metric, current, baseline) if current is not None and baseline is not None else None
    pvalue = 1.0
    if gap is not None:
        pvalue = float(scipy.stats.norm.sf(gap / se)) if se > 0 else (0.0 if gap > 0 else 1.0)
    dropped = bool(n >= min_samples and worse is not None and worse >= max_degradation and pvalue < alpha)
    return worse, pvalue, dropped


def estimate_regression_performance(
    reference: ReferencePerformance,
    columns: Mapping[str, Any],
    rows: int,
    *,
    metric: str,
    max_degradation: float,
    min_samples: int,
    alpha: float,
) -> EstimatedPerformance:
    """Direct loss estimation for a regression: each loss model (:mod:`drift.quality.loss_model`) predicts every
    row's loss from its features; MAE and MAPE are the means of the predicted absolute and absolute percentage
    errors, RMSE the root of the mean predicted squared error.

    Band: ``estimate ± z_{1−α/2} · σ/√n`` (for RMSE on the squared scale, then rooted), ``σ`` the spread of the loss
    around its prediction on reference rows held out of the fit — the labels' noise given the features; an error of
    the loss model itself is not in it. Drop: at least ``min_samples`` rows, ``metric`` at least ``max_degradation``
    worse than the reference's, **and** its loss significantly above the reference's: one-sided z-test
    ``z = (L̂ − L₀)/√(σ²/n + s₀²/N)``, ``L`` the mean loss behind the metric, ``s₀`` the spread of the reference's
    loss over its ``N`` labelled rows."""
    models = reference.loss_models
    if models is None:
        raise ValueError("the reference has no loss models (a regression profile built with scikit-learn has them)")
    if rows == 0:
        raise ValueError("no row to estimate the performance from")
    predicted = models.predict(columns, rows)
    z = float(scipy.stats.norm.ppf(1 - alpha / 2))
    estimated, band, loss_of = {}, {}, {}
    for name, loss in predicted.items():
        mean = float(loss.mean())
        half = z * models.spread[name] / math.sqrt(rows)
        low, high = max(mean - half, 0.0), mean + half
        if name == "rmse":
            mean, low, high = math.sqrt(mean), math.sqrt(low), math.sqrt(high)
        estimated[name], band[name], loss_of[name] = mean, (low, high), loss
    baseline = reference.metrics.get(metric)
    gap, se = None, 0.0
    if metric in loss_of and baseline is not None:
        gap = float(loss_of[metric].mean()) - (baseline**2 if metric == "rmse" else baseline)
        se = math.sqrt(models.spread[metric] ** 2 / rows + models.scale[metric] ** 2 / max(reference.samples, 1))
    worse, pvalue, dropped = _drop(reference, estimated, metric, gap, se, rows, min_samples, max_degradation, alpha)
    return EstimatedPerformance.of(rows, estimated, band, metric, worse, None, pvalue, dropped)


def estimate_regression_window(
    profile: ReferenceProfile, model: ModelConfig, features: Mapping[str, Any] | None, rows: int
) -> EstimatedPerformance | None:
    """DLE for ``model``'s window of feature rows, when it applies: a regression target and a profile of it holding
    the loss models. None otherwise or without rows."""
    target, performance = model.target, profile.performance
    if (
        target is None
        or target.task != REGRESSION
        or features is None
        or rows == 0
        or not profile.serves_target(model)
        or performance is None
        or performance.loss_models is None
    ):
        return None
    return estimate_regression_performance(
        performance, features, rows, metric=target.metric, max_degradation=target.max_degradation,
        min_samples=target.min_samples, alpha=model.drift.alpha,
    )  # fmt: skip


def estimate_window(profile: ReferenceProfile, model: ModelConfig, scores: Any) -> EstimatedPerformance | None:
    """CBPE for ``model``'s window of prediction scores when it applies: a classification target whose prediction
    is a numeric score (``scores`` 1-D, NaN = none) or whose ``target.scores`` name its class scores (``scores``
    ``[rows, classes]`` in that order), and a profile of that target holding the calibration. None otherwise or
    without a score."""
    target, performance = model.target, profile.performance
    if (
        target is None
        or target.task != CLASSIFICATION
        or not profile.serves_target(model)
        or performance is None
        or not np.isfinite(np.asarray(scores, dtype=np.float64)).any()
    ):
        return None
    decision = {
        "metric": target.metric,
        "max_degradation": target.max_degradation,
        "min_samples": target.min_samples,
        "alpha": model.drift.alpha,
    }
    if target.scores:
        calibration = performance.class_calibration
        if calibration is None or calibration.classes != tuple(label for label, _ in target.scores):
            return None
        return estimate_multiclass_performance(performance, scores, **decision)  # type: ignore[arg-type]
    if performance.calibration is None or not any(c.name == target.prediction and c.is_numeric for c in model.outputs):
        return None
    return estimate_performance(performance, scores, threshold=target.threshold, **decision)  # type: ignore[arg-type]


__all__ = [
    "BAND_DRAWS",
    "EstimatedPerformance",
    "estimate_multiclass_performance",
    "estimate_performance",
    "estimate_regression_performance",
    "estimate_regression_window",
    "estimate_window",
    "estimated_metrics",
    "estimated_roc_auc",
    "expected_confusion",
    "realised_band",
]
