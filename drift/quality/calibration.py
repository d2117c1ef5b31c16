"""Isotonic calibration of a classifier's scores: the map from a binary classifier's score to ``P(positive)`` (or a
multiclass classifier's class scores to class probabilities) that CBPE (:mod:`drift.quality.estimation`) reads,
fitted on the labelled reference and stored in its profile.

Reference: Zadrozny & Elkan, *Transforming classifier scores into accurate multiclass probability estimates* (2002);
solved by pool-adjacent-violators (``scipy.optimize.isotonic_regression``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import isotonic_regression

from ..stats import FloatArray


@dataclass(frozen=True, eq=False)
class Calibration:
    """An increasing, piecewise-linear map from score to ``P(positive)``: ``np.interp`` over the knots, constant
    beyond the first and last (as scikit-learn's ``IsotonicRegression(out_of_bounds="clip")``)."""

    scores: FloatArray
    probabilities: FloatArray

    def __eq__(self, other: object) -> bool:  # the knots are arrays: equal when every knot is
        return (
            isinstance(other, Calibration)
            and np.array_equal(self.scores, other.scores)
            and np.array_equal(self.probabilities, other.probabilities)
        )

    __hash__ = None  # type: ignore[assignment]

    def __call__(self, scores: FloatArray) -> FloatArray:
        return np.interp(scores, self.scores, self.probabilities)

    def to_dict(self) -> dict[str, Any]:
        return {"method": "isotonic", "scores": self.scores.tolist(), "probabilities": self.probabilities.tolist()}

    @classmethod
    def from_dict(cls, d: Any) -> Calibration:
        if d.get("method") != "isotonic":
            raise ValueError(f"calibration method {d.get('method')!r} is not isotonic")
        scores = np.asarray(d["scores"], dtype=np.float64)
        probabilities = np.asarray(d["probabilities"], dtype=np.float64)
        if (
            scores.ndim != 1
            or scores.size == 0
            or scores.shape != probabilities.shape
            or not np.all(np.isfinite(scores))
            or np.any(np.diff(scores) < 0)
            or np.any(np.diff(probabilities) < 0)
            or not np.all((probabilities >= 0) & (probabilities <= 1))
        ):
            raise ValueError("calibration knots are not an increasing map into [0, 1]")
        scores.flags.writeable = probabilities.flags.writeable = False
        return cls(scores, probabilities)


def fit_isotonic(scores: FloatArray, is_positive: NDArray[np.bool_]) -> Calibration:
    """The isotonic regression of ``[y = positive]`` on the score: ``argmin Σ (yᵢ − g(sᵢ))²`` over increasing ``g``.

    Tied scores are pooled first (their mean label, weighted by their count); the knots kept are each constant
    block's first and last score, so interpolating between them reproduces the fit at every reference score."""
    order = np.argsort(scores, kind="stable")
    unique, starts, counts = np.unique(scores[order], return_index=True, return_counts=True)
    positives = np.add.reduceat(is_positive[order].astype(np.float64), starts)
    fitted = np.clip(isotonic_regression(positives / counts, weights=counts).x, 0.0, 1.0)
    keep = np.ones(unique.size, dtype=bool)
    keep[1:-1] = (fitted[1:-1] != fitted[:-2]) | (fitted[1:-1] != fitted[2:])
    return Calibration(unique[keep].copy(), fitted[keep].copy())


@dataclass(frozen=True, eq=False)
class ClassCalibration:
    """A multiclass classifier's scores → class probabilities: each class's score calibrated one-vs-rest
    (:func:`fit_isotonic` of ``[y = k]`` on ``s_k``), the row then normalised to sum to 1 — uniform where every
    calibrated score is 0 (as NannyML's CBPE does)."""

    classes: tuple[str, ...]
    calibrations: tuple[Calibration, ...]

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ClassCalibration)
            and self.classes == other.classes
            and self.calibrations == other.calibrations
        )

    __hash__ = None  # type: ignore[assignment]

    def __call__(self, scores: FloatArray) -> FloatArray:
        """``[rows, classes]`` scores (in :attr:`classes` order) → ``[rows, classes]`` probabilities."""
        calibrated = np.column_stack([g(scores[:, k]) for k, g in enumerate(self.calibrations)])
        total = calibrated.sum(axis=1, keepdims=True)
        uniform = np.full_like(calibrated, 1.0 / len(self.classes))
        probabilities: FloatArray = np.divide(calibrated, total, out=uniform, where=total > 0)
        return probabilities

    def to_dict(self) -> dict[str, Any]:
        return {label: g.to_dict() for label, g in zip(self.classes, self.calibrations, strict=True)}

    @classmethod
    def from_dict(cls, d: Any) -> ClassCalibration:
        if not isinstance(d, dict) or len(d) < 2:
            raise ValueError("class calibration must map at least two classes to their calibration")
        return cls(tuple(str(k) for k in d), tuple(Calibration.from_dict(v) for v in d.values()))


def fit_class_calibration(classes: tuple[str, ...], scores: FloatArray, labels: Any) -> ClassCalibration | None:
    """One-vs-rest isotonic calibration of each class's score on the rows with a label and every score; None unless
    every class has both positive and negative rows."""
    y = np.asarray(labels, dtype=object)
    keep = np.all(np.isfinite(scores), axis=1) & np.asarray([v is not None for v in y.tolist()], dtype=bool)
    scores, y = scores[keep], y[keep]
    calibrations = []
    for k, label in enumerate(classes):
        is_class = np.asarray(y == label, dtype=bool)
        if not 0 < int(is_class.sum()) < is_class.size:
            return None
        calibrations.append(fit_isotonic(scores[:, k], is_class))
    return ClassCalibration(classes, tuple(calibrations))


__all__ = ["Calibration", "ClassCalibration", "fit_class_calibration", "fit_isotonic"]
