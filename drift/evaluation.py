"""Evaluating a window of current data against a reference profile: every statistic and the drift decision.

:func:`evaluate_window` works on plain column arrays and is what the exporter calls on each evaluation;
:func:`evaluate` is the same for a pandas DataFrame, for notebooks. Both return a :class:`DriftResult` holding
exactly the numbers the exporter serves.

Decision: each feature's test p-value (KS for numeric, chi-square for categorical) is corrected across the model's
features (``fdr``, ``bonferroni`` or ``none``); a feature drifted when its corrected p-value < α **and** its
PSI ≥ ``psi_threshold``. The model drifted when the share of drifted features ≥ ``drift_share``. Outputs are
decided the same way, corrected across the outputs; they do not count towards the dataset drift share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import pandas as pd

from . import stats
from .coercion import category_values, numeric_values
from .config import ColumnConfig, DriftSettings, ModelConfig
from .errors import DataError
from .multivariate import ReconstructionDrift, window_drift
from .quality.estimation import EstimatedPerformance, estimate_window
from .reference.columns import ColumnProfile
from .reference.profile import ReferenceProfile
from .sketch import Layout, layouts
from .statistics import column_statistics
from .stats import IntArray


@dataclass(frozen=True)
class ColumnDrift:
    """The drift of one feature or output: every registered statistic that has a value for it
    (:mod:`drift.statistics`; none when the window has no valid value for the column) and the decision."""

    name: str
    type: str
    samples: int
    missing_ratio: float | None
    statistics: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    adjusted_pvalue: float | None = None
    drifted: bool = False

    @property
    def pvalue(self) -> float | None:
        """The test p-value before correction: KS for numeric columns, chi-square for categorical ones."""
        return self.ks_pvalue if self.type == "numeric" else self.chi2_pvalue

    @property
    def psi(self) -> float | None:
        return self.statistics.get("psi")

    @property
    def psi_pvalue(self) -> float | None:
        return self.statistics.get("psi_pvalue")

    @property
    def js_distance(self) -> float | None:
        return self.statistics.get("js_distance")

    @property
    def ks_statistic(self) -> float | None:
        return self.statistics.get("ks_statistic")

    @property
    def ks_pvalue(self) -> float | None:
        return self.statistics.get("ks_pvalue")

    @property
    def chi2_statistic(self) -> float | None:
        return self.statistics.get("chi2_statistic")

    @property
    def chi2_pvalue(self) -> float | None:
        return self.statistics.get("chi2_pvalue")

    def to_dict(self) -> dict[str, Any]:
        """The column as plain values: its statistics beside its name, samples and decision."""
        return {
            "name": self.name,
            "type": self.type,
            "samples": self.samples,
            "missing_ratio": self.missing_ratio,
            **self.statistics,
            "adjusted_pvalue": self.adjusted_pvalue,
            "drifted": self.drifted,
        }


@dataclass(frozen=True)
class DriftResult:
    """One evaluation of a model's window. Immutable: the exporter swaps whole results, never edits one."""

    model: str
    namespace: str
    profile_version: str
    window_samples: int
    features: Mapping[str, ColumnDrift]
    outputs: Mapping[str, ColumnDrift]
    drift_share: float | None
    drifted: bool
    output_samples: int = 0
    multivariate: ReconstructionDrift | None = None  # with the config's multivariate: and a profile that has it
    estimated: EstimatedPerformance | None = None  # CBPE: a binary classifier's score and a calibrated profile

    @property
    def drifted_features(self) -> tuple[str, ...]:
        return tuple(name for name, f in self.features.items() if f.drifted)


def column_drifts(layout: Layout, counts: IntArray, rows: int) -> dict[str, ColumnDrift]:
    """Every statistic of each column of a window given as its count vector (before the multiple-testing decision)."""
    found = column_statistics(layout, counts)
    values = {name: array.tolist() for name, array in found.values.items()}
    out: dict[str, ColumnDrift] = {}
    for i, (profile, samples, missing) in enumerate(
        zip(layout.columns, found.samples.tolist(), found.missing.tolist(), strict=True)
    ):
        ratio = (missing / rows) if rows else None
        known = {name: value for name, column in values.items() if not math.isnan(value := column[i])}
        out[profile.name] = ColumnDrift(profile.name, profile.type, samples, ratio, MappingProxyType(known))
    return out


def evaluate_column(profile: ColumnProfile, values: Any, rows: int) -> ColumnDrift:
    """Every statistic of one column given as values (before the multiple-testing decision)."""
    layout = Layout((profile,))
    return column_drifts(layout, layout.count({profile.name: values}), rows)[profile.name]


def decide(columns: Mapping[str, ColumnDrift], settings: DriftSettings) -> dict[str, ColumnDrift]:
    """Correct the columns' test p-values together and apply the drift decision to each."""
    tested = {name: p for name, c in columns.items() if (p := c.pvalue) is not None}
    adjusted = stats.adjust_pvalues(list(tested.values()), settings.correction)
    out = dict(columns)
    for name, p in zip(tested, adjusted, strict=True):
        column = columns[name]
        drifted = bool(p < settings.alpha and column.psi is not None and column.psi >= settings.psi_threshold)
        out[name] = replace(column, adjusted_pvalue=float(p), drifted=drifted)
    return out


def evaluate_counts(
    profile: ReferenceProfile,
    settings: DriftSettings,
    feature_counts: IntArray,
    rows: int,
    output_counts: IntArray | None = None,
    output_rows: int = 0,
    *,
    min_rows: int = 0,
) -> DriftResult:
    """Evaluate a window held as count vectors (over :func:`drift.sketch.layouts` of ``profile``) — what the
    exporter does on each evaluation. Below ``min_rows`` rows the statistics are computed but nothing is decided:
    no column and not the model is drifted, and the drift share is None."""
    feature_layout, output_layout = layouts(profile)
    deciding = rows >= min_rows
    features = column_drifts(feature_layout, feature_counts, rows)
    decided = decide(features, settings) if deciding else features
    outputs: dict[str, ColumnDrift] = {}
    if output_counts is not None:
        outputs = column_drifts(output_layout, output_counts, output_rows)
        outputs = decide(outputs, settings) if output_rows >= min_rows else outputs
    tested = [c for c in decided.values() if c.pvalue is not None]
    share = (sum(c.drifted for c in tested) / len(tested)) if tested and deciding else None
    return DriftResult(
        model=profile.model,
        namespace=profile.namespace,
        profile_version=profile.version,
        window_samples=rows,
        features=MappingProxyType(decided),
        outputs=MappingProxyType(outputs),
        drift_share=share,
        drifted=bool(share is not None and share >= settings.drift_share),
        output_samples=output_rows,
    )


def evaluate_window(
    profile: ReferenceProfile,
    settings: DriftSettings,
    features: Mapping[str, Any],
    outputs: Mapping[str, Any] | None = None,
    *,
    rows: int | None = None,
    output_rows: int | None = None,
) -> DriftResult:
    """Evaluate a window given as columns (arrays or lists keyed by feature/output name) against ``profile``.

    The columns are counted in the profile's fine bins and evaluated by :func:`evaluate_counts`, the exporter's own
    path, so the numbers are the exporter's. Numeric columns may be float64 arrays (NaN = missing) and categorical
    ones object arrays (None = missing); anything else is normalised first. A feature of the profile absent from
    ``features`` raises DataError; outputs absent from ``outputs`` are left out of the result.
    """
    absent = [name for name in profile.features if name not in features]
    if absent:
        raise DataError(f"the window has no column {', '.join(map(repr, absent))}")
    rows = _rows(features, rows)
    feature_layout, output_layout = layouts(profile)
    present = {name: values for name, values in (outputs or {}).items() if name in profile.outputs}
    output_result: IntArray | None = None
    if present:
        output_rows = _rows(present, output_rows)
        output_result = output_layout.count(present)
    result = evaluate_counts(profile, settings, feature_layout.count(features), rows, output_result, output_rows or 0)
    if present and len(present) < len(profile.outputs):
        result = replace(result, outputs=MappingProxyType({n: c for n, c in result.outputs.items() if n in present}))
    return result


def _rows(columns: Mapping[str, Any], rows: int | None) -> int:
    if rows is not None:
        return rows
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise DataError(f"window columns have different lengths: {sorted(lengths)}")
    return lengths.pop() if lengths else 0


def evaluate(profile: ReferenceProfile, current: pd.DataFrame, model: ModelConfig) -> DriftResult:
    """Evaluate a DataFrame of current data (features, and outputs where present) against ``profile``.

    The same numbers the exporter serves for a window holding these rows.
    """
    profile.require_compatible(model)
    missing = [c.name for c in model.features if c.name not in current.columns]
    if missing:
        raise DataError(f"current data: no column {', '.join(map(repr, missing))} (a configured feature)")
    features = {c.name: column_values(current[c.name], c) for c in model.features}
    result = evaluate_window(
        profile,
        model.drift,
        features,
        {c.name: column_values(current[c.name], c) for c in model.outputs if c.name in current.columns},
        rows=len(current),
        output_rows=len(current),
    )
    if profile.multivariate is not None and len(current):
        multivariate = window_drift(profile.multivariate, features, len(current), model.drift.alpha)
        result = replace(result, multivariate=multivariate)
    target = model.target
    if target is not None and target.prediction in current.columns:
        result = replace(result, estimated=estimate_window(profile, model, numeric_values(current[target.prediction])))
    return result


def column_values(series: pd.Series, column: ColumnConfig) -> Any:
    """A DataFrame column as the window counts it: float64 with NaN for a numeric column, categories otherwise."""
    return numeric_values(series) if column.is_numeric else category_values(series)


__all__ = [
    "ColumnDrift",
    "DriftResult",
    "column_drifts",
    "column_values",
    "decide",
    "evaluate",
    "evaluate_column",
    "evaluate_counts",
    "evaluate_window",
]
