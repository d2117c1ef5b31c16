"""Streams for performance estimation beyond binary classifiers, shared by the unit and integration tests: labelled
rows whose ``P(y | x)`` never changes (covariate shift only), from models that err in one region of the inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

CLASSES = ("a", "b", "c")
MULTICLASS_SPEC: dict[str, Any] = {
    "name": "species",
    "namespace": "default",
    "reference": {"data": "train.csv", "profile": "profile.json"},
    "features": [{"name": "x1", "type": "numeric"}, {"name": "x2", "type": "numeric"}],
    "outputs": [{"name": "y_pred", "type": "categorical"}] + [{"name": f"p_{c}", "type": "numeric"} for c in CLASSES],
    "target": {"name": "y", "task": "classification", "prediction": "y_pred", "scores": {c: f"p_{c}" for c in CLASSES}},
}


def softmax(logits: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def multiclass_rows(rng: np.random.Generator, n: int, spread: float = 2.0, centre: float = 0.0) -> pd.DataFrame:
    """``P(y | x) = softmax(1.2·x₁, 0.8·x₂, 0.3 − 0.6·x₁ − 0.5·x₂)``; the model's scores a tempered softmax biased
    towards "a", so it errs where the classes overlap (a smaller ``spread``, a negative ``centre``)."""
    x1, x2 = rng.normal(centre, spread, n), rng.normal(0.0, spread, n)
    truth = softmax(np.column_stack([1.2 * x1, 0.8 * x2, 0.3 - 0.6 * x1 - 0.5 * x2]))
    y = (rng.random(n)[:, None] >= np.cumsum(truth, axis=1)[:, :-1]).sum(axis=1)
    scores = softmax(0.7 * np.column_stack([1.2 * x1 + 0.9, 0.8 * x2, 0.3 - 0.6 * x1 - 0.5 * x2]))
    frame = pd.DataFrame({"x1": x1, "x2": x2, "y": np.array(CLASSES)[y], "y_pred": np.array(CLASSES)[scores.argmax(1)]})
    for k, label in enumerate(CLASSES):
        frame[f"p_{label}"] = scores[:, k]
    return frame


REGRESSION_SPEC: dict[str, Any] = {
    "name": "price",
    "namespace": "default",
    "reference": {"data": "train.csv", "profile": "profile.json"},
    "features": [{"name": "x1", "type": "numeric"}, {"name": "x2", "type": "numeric"},
                 {"name": "region", "type": "categorical"}],
    "outputs": [{"name": "y_pred", "type": "numeric"}],
    "target": {"name": "y", "task": "regression", "prediction": "y_pred", "metric": "mae"},
}  # fmt: skip


def regression_rows(rng: np.random.Generator, n: int, spread: float = 1.0, centre: float = 0.0) -> pd.DataFrame:
    """``y = 3 sin(x₁) + x₂ + ε``, ``ε ~ N(0, (0.5 + 0.5|x₂|)²)`` (+1 in region "north"); the model is nearly a straight
    line in ``x₁``: good near the origin, wrong further out (a larger ``spread``, a positive ``centre``)."""
    x1, x2 = rng.normal(centre, spread, n), rng.normal(0.0, 1.0, n)
    region = rng.choice(["north", "south"], n)
    y = 3 * np.sin(x1) + x2 + (region == "north") + rng.normal(0.0, 1.0, n) * (0.5 + 0.5 * np.abs(x2))
    prediction = 2.4 * x1 * np.exp(-0.02 * x1**2) + x2 + 0.5
    return pd.DataFrame({"x1": x1, "x2": x2, "region": region, "y": y, "y_pred": prediction})
