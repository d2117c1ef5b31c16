"""A window's count vectors against a reference profile: every registered statistic per column and the drift
decision (:func:`evaluate_counts`), and the results' types. The complete evaluation — with multivariate drift and
CBPE, from a DataFrame, columns or the exporter's windows — is :class:`drift.detector.Detector`'s.

Decision: each feature's test p-value (KS for numeric, chi-square for categorical) is corrected across the model's
features (``fdr``, ``bonferroni`` or ``none``); a feature drifted when its corrected p-value < α **and** its
PSI ≥ ``psi_threshold``. The model drifted when the share of drifted features ≥ ``drift_share``. Outputs are
decided the same way, corrected across the outputs; they do not count towards the dataset drift share.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from . import stats
from .config import DriftSettings
from .layout import Layout, layouts
from .multivariate import ReconstructionDrift
from .quality.estimation import EstimatedPerformance
from .reference.columns import ColumnProfile
from .reference.profile import ReferenceProfile
from .statistics import column_statistics
from .stats import IntArray

if TYPE_CHECKING:
    import pandas as pd


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
    min_rows: int = 0  # the rows a decision needs (window.min_rows): below it, statistics but no decision

    @property
    def decided(self) -> bool:
        """Whether the window had the rows for a drift decision; when not, no column and not the model drifted."""
        return self.window_samples >= self.min_rows

    @property
    def not_decided(self) -> str | None:
        """Why nothing was decided (None when the window was decided)."""
        if self.decided:
            return None
        return f"{self.window_samples:,} rows in the window; a drift decision needs {self.min_rows:,} (window.min_rows)"

    def with_outputs(self, names: frozenset[str]) -> DriftResult:
        """The result reporting only the outputs ``names`` (the ones a window or a file had values for)."""
        kept = {name: column for name, column in self.outputs.items() if name in names}
        return replace(self, outputs=MappingProxyType(kept))

    @property
    def drifted_features(self) -> tuple[str, ...]:
        return tuple(name for name, f in self.features.items() if f.drifted)

    def to_dict(self) -> dict[str, Any]:
        """The whole result as plain values (JSON-ready): the decision, each column, multivariate drift and CBPE."""
        return {
            "model": self.model,
            "namespace": self.namespace,
            "profile_version": self.profile_version,
            "window_samples": self.window_samples,
            "output_samples": self.output_samples,
            "drift_share": self.drift_share,
            "drifted": self.drifted,
            "decided": self.decided,
            "min_rows": self.min_rows,
            "not_decided": self.not_decided,
            "features": {name: column.to_dict() for name, column in self.features.items()},
            "outputs": {name: column.to_dict() for name, column in self.outputs.items()},
            "multivariate": _plain(self.multivariate),
            "estimated": _plain(self.estimated),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per feature and output (``kind``), with every statistic and the decision: for a notebook."""
        import pandas as pd

        rows = [{"kind": kind, **column.to_dict()} for kind, columns in (("feature", self.features),
                ("output", self.outputs)) for column in columns.values()]  # fmt: skip
        return pd.DataFrame(rows).set_index(["kind", "name"]) if rows else pd.DataFrame()

    def _repr_html_(self) -> str:
        if self.drift_share is None:
            headline = f"not decided: {self.not_decided or 'no feature could be tested'}"
        else:
            headline = f"{'DRIFTED' if self.drifted else 'no dataset drift'} (drift share {self.drift_share:.0%})"
        title = html.escape(f"{self.namespace}/{self.model}: {headline}; {self.window_samples:,} rows against "
                            f"profile {self.profile_version}")  # fmt: skip
        return f"<p><b>{title}</b></p>{self.to_frame().to_html()}"


def _plain(value: Any) -> dict[str, Any] | None:
    return None if value is None else {k: dict(v) if isinstance(v, Mapping) else v for k, v in vars(value).items()}


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
    """Evaluate a window held as count vectors (over :func:`drift.layout.layouts` of ``profile``) — what the
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
        min_rows=min_rows,
    )


__all__ = [
    "ColumnDrift",
    "DriftResult",
    "column_drifts",
    "decide",
    "evaluate_column",
    "evaluate_counts",
]
