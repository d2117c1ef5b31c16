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

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from . import stats
from .coercion import category_values, numeric_values
from .config import ColumnConfig, DriftSettings, ModelConfig
from .errors import DataError
from .reference.profile import ColumnProfile, NumericProfile, ReferenceProfile
from .stats import FloatArray


@dataclass(frozen=True)
class ColumnDrift:
    """The drift of one feature or output. Statistics are None when the window has no valid value for it."""

    name: str
    type: str
    samples: int
    missing_ratio: float | None
    psi: float | None = None
    psi_pvalue: float | None = None
    js_distance: float | None = None
    ks_statistic: float | None = None
    ks_pvalue: float | None = None
    chi2_statistic: float | None = None
    chi2_pvalue: float | None = None
    adjusted_pvalue: float | None = None
    drifted: bool = False

    @property
    def pvalue(self) -> float | None:
        """The test p-value before correction: KS for numeric columns, chi-square for categorical ones."""
        return self.ks_pvalue if self.type == "numeric" else self.chi2_pvalue


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

    @property
    def drifted_features(self) -> tuple[str, ...]:
        return tuple(name for name, f in self.features.items() if f.drifted)


def evaluate_column(profile: ColumnProfile, values: Any, rows: int) -> ColumnDrift:
    """Every statistic of one column of the window (before the multiple-testing decision)."""
    finite: FloatArray | None = None
    if isinstance(profile, NumericProfile):
        numeric = values if isinstance(values, np.ndarray) and values.dtype == np.float64 else numeric_values(values)
        counts, finite, missing = profile.window_counts(numeric)
    else:
        categories = values if isinstance(values, np.ndarray) and values.dtype == object else category_values(values)
        counts, missing = profile.window_counts(categories)
    samples = int(counts.sum())
    base = ColumnDrift(
        name=profile.name,
        type=profile.type,
        samples=samples,
        missing_ratio=(missing / rows) if rows else None,
    )
    if samples == 0:
        return base
    psi = stats.psi(profile.counts, counts)
    fields: dict[str, Any] = {
        "psi": psi,
        "psi_pvalue": stats.psi_pvalue(psi, profile.count, samples, profile.nbins),
        "js_distance": stats.js_distance(profile.counts, counts),
    }
    if isinstance(profile, NumericProfile) and finite is not None:
        fields["ks_statistic"], fields["ks_pvalue"] = profile.ks_2samp(finite)
    else:
        fields["chi2_statistic"], fields["chi2_pvalue"] = stats.chi2_test(profile.counts, counts)
    return replace(base, **fields)


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


def evaluate_window(
    profile: ReferenceProfile,
    settings: DriftSettings,
    features: Mapping[str, Any],
    outputs: Mapping[str, Any] | None = None,
    *,
    rows: int | None = None,
    output_rows: int | None = None,
) -> DriftResult:
    """Evaluate a window given as columns (arrays keyed by feature/output name) against ``profile``.

    Numeric columns may be float64 arrays (NaN = missing) and categorical ones object arrays (None = missing), as
    the exporter's windows hold them; anything else is normalised first. A feature of the profile absent from
    ``features`` raises DataError; outputs absent from ``outputs`` are left out of the result.
    """
    absent = [name for name in profile.features if name not in features]
    if absent:
        raise DataError(f"the window has no column {', '.join(map(repr, absent))}")
    rows = _rows(features, rows)
    evaluated = {name: evaluate_column(p, features[name], rows) for name, p in profile.features.items()}
    decided = decide(evaluated, settings)
    outputs = outputs or {}
    output_rows = _rows(outputs, output_rows)
    output_results = decide(
        {
            name: evaluate_column(p, outputs[name], output_rows)
            for name, p in profile.outputs.items()
            if name in outputs
        },
        settings,
    )
    tested = [c for c in decided.values() if c.pvalue is not None]
    share = (sum(c.drifted for c in tested) / len(tested)) if tested else None
    return DriftResult(
        model=profile.model,
        namespace=profile.namespace,
        profile_version=profile.version,
        window_samples=rows,
        features=MappingProxyType(decided),
        outputs=MappingProxyType(output_results),
        drift_share=share,
        drifted=bool(share is not None and share >= settings.drift_share),
        output_samples=output_rows,
    )


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
    return evaluate_window(
        profile,
        model.drift,
        {c.name: _column(current[c.name], c) for c in model.features},
        {c.name: _column(current[c.name], c) for c in model.outputs if c.name in current.columns},
        rows=len(current),
        output_rows=len(current),
    )


def _column(series: pd.Series, column: ColumnConfig) -> Any:
    return numeric_values(series) if column.is_numeric else category_values(series)


__all__ = ["ColumnDrift", "DriftResult", "decide", "evaluate", "evaluate_column", "evaluate_window"]
