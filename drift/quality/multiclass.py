"""Confidence-based performance estimation for a multiclass classifier: the expected confusion matrix of unlabelled
predictions whose class probabilities are known, the metrics it implies, and the band where the realised metrics fall.

With ``P[i, k]`` the calibrated probability that row ``i`` is of class ``k`` (:class:`~drift.quality.calibration.
ClassCalibration`) and ``ŷᵢ = argmax_k s[i, k]`` the predicted class, the expected confusion matrix is

    E[C[t, p]] = Σ_{i : ŷᵢ = p} P[i, t]

and, per class ``k`` one-vs-rest, ``TP_k = C[k, k]``, ``FP_k = Σ_t C[t, k] − TP_k``, ``FN_k = Σ_p C[k, p] − TP_k``:

    accuracy = Σ_k TP_k / n      precision_k = TP_k / (TP_k + FP_k)      recall_k = TP_k / (TP_k + FN_k)
    F1_k = 2 TP_k / (2 TP_k + FP_k + FN_k)

macro-averaged over the classes (a class whose denominator is 0 counts 0, as in scikit-learn's and NannyML's macro
averages); ROC AUC one-vs-rest is the mean over classes of the binary expected AUC with weights ``P[:, k]`` and
ranking scores ``s[:, k]``. The same formulas turn a realised confusion matrix into the realised metrics, which is how
:func:`multiclass_band` scores its label draws.

Reference: NannyML's multiclass CBPE (``nannyml.performance_estimation.confidence_based``, 0.13); the one-vs-rest
macro averages as ``sklearn.metrics.precision_recall_fscore_support(average="macro")`` and ``roc_auc_score(
multi_class="ovr")``.
"""

from __future__ import annotations

import numpy as np
import scipy.stats
from numpy.typing import NDArray

from ..stats import FloatArray, IntArray
from .metrics import central_intervals, weighted_roc_auc

MULTICLASS_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


def expected_class_confusion(probabilities: FloatArray, predicted: IntArray) -> FloatArray:
    """``E[C]``, ``C[t, p]`` the rows of true class ``t`` predicted ``p``: ``Σ_{i: ŷᵢ = p} P[i, t]``."""
    classes = probabilities.shape[1]
    return np.stack(
        [np.bincount(predicted, weights=probabilities[:, t], minlength=classes) for t in range(classes)]
    ).astype(np.float64)


def confusion_metrics(confusion: FloatArray) -> dict[str, FloatArray]:
    """Accuracy and the macro precision, recall and F1 of confusion matrices ``[..., true, predicted]`` (any leading
    dimensions: one matrix, or one per label draw)."""
    tp = np.diagonal(confusion, axis1=-2, axis2=-1)
    predicted, actual = confusion.sum(axis=-2), confusion.sum(axis=-1)
    n = actual.sum(axis=-1)

    def ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
        out = np.zeros_like(numerator)
        return np.divide(numerator, denominator, out=out, where=denominator > 0)

    return {
        "accuracy": ratio(tp.sum(axis=-1), n),
        "precision": ratio(tp, predicted).mean(axis=-1),
        "recall": ratio(tp, actual).mean(axis=-1),
        "f1": ratio(2 * tp, predicted + actual).mean(axis=-1),
    }


def estimated_multiclass_metrics(probabilities: FloatArray, scores: FloatArray) -> dict[str, float]:
    """The expected accuracy, macro precision/recall/F1 and one-vs-rest ROC AUC of rows with class probabilities
    ``P`` and raw scores ``s`` (both ``[rows, classes]``); the prediction is each row's highest score."""
    if probabilities.shape[0] == 0:
        return {}
    predicted = np.argmax(scores, axis=1)
    out = {name: float(value) for name, value in confusion_metrics(
        expected_class_confusion(probabilities, predicted)).items()}  # fmt: skip
    areas = [weighted_roc_auc(probabilities[:, k], scores[:, k]) for k in range(scores.shape[1])]
    if all(a is not None for a in areas):
        out["roc_auc"] = float(np.mean(areas))  # type: ignore[arg-type]
    return out


def draw_classes(probabilities: FloatArray, draws: int, seed: int) -> IntArray:
    """``[draws, rows]`` labels, row ``i``'s drawn from ``Categorical(P[i])``: a uniform against the cumulative
    probabilities."""
    cumulative = np.cumsum(probabilities, axis=1)[:, :-1]
    uniform = np.random.default_rng(seed).random((draws, probabilities.shape[0]))
    drawn: IntArray = (uniform[:, :, None] >= cumulative[None, :, :]).sum(axis=2)
    return drawn


def multiclass_band(
    probabilities: FloatArray, scores: FloatArray, alpha: float, draws: int, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """The central ``1 − α`` interval of each metric over ``draws`` labellings drawn from ``P``: where the realised
    metric of these rows lands once labelled, if the calibration holds. Vectorised over the draws; seeded."""
    rows, classes = probabilities.shape
    if rows == 0:
        return {}
    labels = draw_classes(probabilities, draws, seed)
    predicted = np.argmax(scores, axis=1)
    cells = (np.arange(draws)[:, None] * classes + labels) * classes + predicted[None, :]
    confusion = np.bincount(cells.ravel(), minlength=draws * classes * classes).reshape(draws, classes, classes)
    realised = confusion_metrics(confusion.astype(np.float64))
    realised["roc_auc"] = _ovr_auc_draws(labels, scores)
    return central_intervals(realised, alpha)


def _ovr_auc_draws(labels: IntArray, scores: FloatArray) -> FloatArray:
    """Each draw's one-vs-rest macro ROC AUC (NaN for a draw missing a class), by the Mann–Whitney rank identity."""
    rows = labels.shape[1]
    areas = []
    for k in range(scores.shape[1]):
        ranks = scipy.stats.rankdata(scores[:, k])
        positive: NDArray[np.bool_] = labels == k
        n_pos = positive.sum(axis=1).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            areas.append((positive @ ranks - n_pos * (n_pos + 1) / 2) / (n_pos * (rows - n_pos)))
    return np.mean(np.stack(areas), axis=0)  # type: ignore[no-any-return]


__all__ = [
    "MULTICLASS_METRICS",
    "confusion_metrics",
    "draw_classes",
    "estimated_multiclass_metrics",
    "expected_class_confusion",
    "multiclass_band",
]
