"""Isotonic calibration of a binary classifier's score: the map from score to ``P(positive)`` that CBPE
(:mod:`drift.quality.estimation`) reads, fitted on the labelled reference and stored in its profile.

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


__all__ = ["Calibration", "fit_isotonic"]
