"""A model of a regression's loss, for estimating its quality before the labels (NannyML's direct loss estimation,
DLE): gradient-boosted trees that predict, from a row's features, the expected absolute, squared or absolute
percentage error of the model's prediction for that row. Fitted on the labelled reference; the window's estimate is
the mean of the predicted losses over its rows.

Fitted with scikit-learn's ``HistGradientBoostingRegressor`` (squared-error loss, so a leaf is the mean loss of its
rows; NaN routed by the split as learnt): no new dependency, native missing values, deterministic without early
stopping. Stored in the profile as plain arrays — never a pickle, since a profile may come from anywhere — and
evaluated here in numpy, so the exporter needs no scikit-learn: every tree's nodes packed in one table, all trees of
all rows walked one level per step (``x ≤ threshold`` goes left; NaN goes where the split sent missing values).

Inputs: each numeric feature and the model's prediction as they are (NaN when missing), each categorical feature as
its index among the profile's categories (NaN when missing or unseen). The prediction is an input as in NannyML's DLE:
trees cannot extrapolate beyond the reference's inputs, and where the inputs leave it the prediction often still
tracks the loss (on bench_estimation.py's stream it cuts the MAE of the estimate by a sixth).

Reference: Grinsztajn, Kivimäki et al., NannyML's *Direct Loss Estimation* (``nannyml.performance_estimation.
direct_loss_estimation``, 0.13); Ke et al. (2017), *LightGBM* — the histogram gradient boosting scikit-learn follows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..coercion import category_values, numeric_values
from ..stats import FloatArray, IntArray

MAX_NODES = 200_000  # a profile's trees, all losses together: far above the fit's (3 × 100 trees × 61 nodes)
TREES = 100
LEAF_NODES = 31


@dataclass(frozen=True, eq=False)
class Inputs:
    """How a window's columns become the loss model's matrix: numeric features and the prediction as they are,
    categorical features as the index of their category (NaN when missing or not among ``categories``)."""

    numeric: tuple[str, ...]
    categorical: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.numeric, *(name for name, _ in self.categorical))

    def matrix(self, columns: Mapping[str, Any], rows: int) -> FloatArray:
        out = np.full((rows, len(self.names)), np.nan)
        for j, name in enumerate(self.numeric):
            if name in columns:
                out[:, j] = numeric_values(columns[name])
        for j, (name, categories) in enumerate(self.categorical, start=len(self.numeric)):
            if name in columns:
                index = {category: float(k) for k, category in enumerate(categories)}
                out[:, j] = [index.get(v, np.nan) if v is not None else np.nan for v in category_values(columns[name])]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"numeric": list(self.numeric), "categorical": {name: list(c) for name, c in self.categorical}}

    @classmethod
    def from_dict(cls, d: Any) -> Inputs:
        return cls(
            tuple(str(n) for n in d["numeric"]),
            tuple((str(name), tuple(str(c) for c in categories)) for name, categories in d["categorical"].items()),
        )


@dataclass(frozen=True, eq=False)
class Trees:
    """Boosted regression trees as one node table: ``prediction = baseline + Σ_trees leaf value``. Non-leaf node
    ``i`` sends a row to ``left[i]`` when ``x[feature[i]] ≤ threshold[i]`` (NaN: left when ``missing_left[i]``),
    else to ``right[i]``; children always come after their parent, so every walk ends."""

    baseline: float
    roots: IntArray
    feature: IntArray
    threshold: FloatArray
    missing_left: np.ndarray[Any, np.dtype[np.bool_]]
    left: IntArray
    right: IntArray
    leaf: np.ndarray[Any, np.dtype[np.bool_]]
    value: FloatArray

    def predict(self, x: FloatArray) -> FloatArray:
        rows, trees = x.shape[0], self.roots.size
        flat = np.ascontiguousarray(x, dtype=np.float64).ravel()
        node = np.tile(self.roots, rows)  # row-major: (row, tree)
        start = np.repeat(np.arange(rows, dtype=np.int64) * x.shape[1], trees)  # each walk's row in `flat`
        walking = np.flatnonzero(~self.leaf[node])  # only the walks not yet at a leaf advance
        while walking.size:
            at = node[walking]
            cell = flat[start[walking] + self.feature[at]]
            go_left = cell <= self.threshold[at]
            missing = np.isnan(cell)
            if missing.any():
                go_left[missing] = self.missing_left[at[missing]]
            at = np.where(go_left, self.left[at], self.right[at])
            node[walking] = at
            walking = walking[~self.leaf[at]]
        return self.baseline + self.value[node].reshape(rows, trees).sum(axis=1)  # type: ignore[no-any-return]

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "roots": self.roots.tolist(),
            "feature": self.feature.tolist(),
            "threshold": self.threshold.tolist(),
            "missing_left": self.missing_left.astype(int).tolist(),
            "left": self.left.tolist(),
            "right": self.right.tolist(),
            "leaf": self.leaf.astype(int).tolist(),
            "value": self.value.tolist(),
        }

    @classmethod
    def from_dict(cls, d: Any, inputs: int) -> Trees:
        arrays = {key: np.asarray(d[key]) for key in ("feature", "threshold", "missing_left", "left", "right", "leaf",
                                                      "value")}  # fmt: skip
        n = arrays["value"].size
        roots = np.asarray(d["roots"], dtype=np.int64)
        index = np.arange(n)
        inner = arrays["leaf"].astype(bool) == 0
        if (
            not 0 < n <= MAX_NODES
            or any(a.shape != (n,) for a in arrays.values())
            or roots.ndim != 1
            or roots.size == 0
            or np.any((roots < 0) | (roots >= n))
            or np.any(inner & ((arrays["feature"] < 0) | (arrays["feature"] >= inputs)))
            or np.any(inner & ((arrays["left"] <= index) | (arrays["left"] >= n)))
            or np.any(inner & ((arrays["right"] <= index) | (arrays["right"] >= n)))
            or not np.all(np.isfinite(arrays["value"].astype(np.float64)))
            or not np.isfinite(float(d["baseline"]))
        ):
            raise ValueError("loss model trees are not a valid node table")
        return cls(
            float(d["baseline"]),
            roots,
            np.where(inner, arrays["feature"], 0).astype(np.int64),
            arrays["threshold"].astype(np.float64),
            arrays["missing_left"].astype(bool),
            np.where(inner, arrays["left"], 0).astype(np.int64),
            np.where(inner, arrays["right"], 0).astype(np.int64),
            ~inner,
            arrays["value"].astype(np.float64),
        )


def fit_trees(x: FloatArray, y: FloatArray, seed: int = 0) -> Trees:
    """``HistGradientBoostingRegressor`` (squared error, 100 trees of at most 31 leaves, no early stopping) fitted
    to ``y`` on ``x``, as a node table (predicts what scikit-learn predicts, to rounding)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    fitted = HistGradientBoostingRegressor(
        max_iter=TREES, max_leaf_nodes=LEAF_NODES, early_stopping=False, random_state=seed
    ).fit(x, y)
    tables, roots, offset = [], [], 0
    for (predictor,) in fitted._predictors:
        nodes = predictor.nodes
        roots.append(offset)
        tables.append((nodes, offset))
        offset += nodes.size

    def column(field: str, shift: bool = False) -> np.ndarray[Any, Any]:
        return np.concatenate([nodes[field] + (offset if shift else 0) for nodes, offset in tables])

    leaf = column("is_leaf").astype(bool)
    return Trees(
        float(np.ravel(fitted._baseline_prediction)[0]),
        np.asarray(roots, dtype=np.int64),
        np.where(leaf, 0, column("feature_idx")).astype(np.int64),
        column("num_threshold").astype(np.float64),
        column("missing_go_to_left").astype(bool),
        np.where(leaf, 0, column("left", shift=True)).astype(np.int64),
        np.where(leaf, 0, column("right", shift=True)).astype(np.int64),
        leaf,
        np.where(leaf, column("value"), 0.0).astype(np.float64),
    )


LOSSES = ("mae", "rmse", "mape")  # what each loss model's mean estimates: |e|, e² (then √), |e| / |y|


def losses(labels: FloatArray, predictions: FloatArray) -> dict[str, FloatArray]:
    """Each row's loss behind each metric: absolute error, squared error, absolute percentage error (``|y|`` floored
    at machine epsilon, as ``sklearn.metrics.mean_absolute_percentage_error``)."""
    error = labels - predictions
    return {
        "mae": np.abs(error),
        "rmse": error**2,
        "mape": np.abs(error) / np.maximum(np.abs(labels), np.finfo(np.float64).eps),
    }


@dataclass(frozen=True, eq=False)
class LossModels:
    """The loss models of a regression, and what their bands need: per loss, the standard deviation of its
    prediction's residual on reference rows held out of the fit (``spread``) and of the loss itself (``scale``)."""

    inputs: Inputs
    trees: Mapping[str, Trees]
    spread: Mapping[str, float]
    scale: Mapping[str, float]

    def predict(self, columns: Mapping[str, Any], rows: int) -> dict[str, FloatArray]:
        """Each row's predicted loss (≥ 0) per metric."""
        x = self.inputs.matrix(columns, rows)
        return {name: np.maximum(trees.predict(x), 0.0) for name, trees in self.trees.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs.to_dict(),
            "trees": {name: trees.to_dict() for name, trees in self.trees.items()},
            "spread": dict(self.spread),
            "scale": dict(self.scale),
        }

    @classmethod
    def from_dict(cls, d: Any) -> LossModels:
        inputs = Inputs.from_dict(d["inputs"])
        names = set(d["trees"])
        if not names or not names <= set(LOSSES) or set(d["spread"]) != names or set(d["scale"]) != names:
            raise ValueError(f"loss models must be some of {', '.join(LOSSES)}, each with its spread and scale")
        return cls(
            inputs,
            {name: Trees.from_dict(d["trees"][name], len(inputs.names)) for name in LOSSES if name in names},
            {name: float(d["spread"][name]) for name in names},
            {name: float(d["scale"][name]) for name in names},
        )


def fit_loss_models(
    inputs: Inputs, columns: Mapping[str, Any], labels: FloatArray, predictions: FloatArray, seed: int = 0
) -> LossModels:
    """Fit each loss model on every labelled row. Its residual spread comes from a second fit on four fifths of the
    rows, measured on the fifth held out (residuals on the rows a model was fitted to are too small); the kept model
    is the one fitted on all rows, which on bench_estimation.py's stream estimates MAPE a fifth better."""
    keep = np.isfinite(labels) & np.isfinite(predictions)
    x = inputs.matrix(columns, labels.size)[keep]
    found = losses(labels[keep], predictions[keep])
    held_out = np.random.default_rng(seed).random(x.shape[0]) < 0.2
    trees, spread, scale = {}, {}, {}
    for name, loss in found.items():
        trees[name] = fit_trees(x, loss, seed)
        partial = fit_trees(x[~held_out], loss[~held_out], seed)
        residual = loss[held_out] - np.maximum(partial.predict(x[held_out]), 0.0)
        spread[name] = float(np.std(residual)) if residual.size > 1 else float(np.std(loss))
        scale[name] = float(np.std(loss))
    return LossModels(inputs, trees, spread, scale)


def loss_inputs(numeric: Sequence[str], categorical: Sequence[tuple[str, Sequence[str]]]) -> Inputs:
    return Inputs(tuple(numeric), tuple((name, tuple(categories)) for name, categories in categorical))


__all__ = ["LOSSES", "Inputs", "LossModels", "Trees", "fit_loss_models", "fit_trees", "loss_inputs", "losses"]
