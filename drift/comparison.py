"""Window against window: does a new model version answer the same traffic differently from the stable one?

During a canary rollout both versions serve the same (randomly split) traffic, so their inputs match and only their
outputs can differ. :func:`compare_outputs` treats the stable version's window as the reference and the canary's as
the current window, and applies the statistics a window gets against a reference profile — PSI on the baseline's
quantile bins with its two-sample p-value ``PSI / (1/N + 1/M) ≈ χ²(k − 1)``, KS or chi-square, the
multiple-testing correction across the outputs and the size-and-significance decision (see
:mod:`drift.evaluation`). Both sides are samples, so N is the baseline's rows, not a training set's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config import ColumnConfig, DriftSettings, ModelConfig, ReferenceConfig
from .detector import evaluate_window
from .evaluation import ColumnDrift
from .reference.builder import ProfileBuilder


def compare_outputs(
    baseline: Mapping[str, Any],
    candidate: Mapping[str, Any],
    columns: tuple[ColumnConfig, ...],
    settings: DriftSettings,
    min_rows: int = 0,
) -> dict[str, ColumnDrift] | None:
    """Each output of ``candidate`` (columns of equal length, keyed by name) against the same output of
    ``baseline``; None when either side has fewer than ``max(min_rows, 1)`` rows. Below ``min_rows`` nothing would be
    decided, so nothing is compared."""
    baseline_rows = _rows(baseline, columns)
    candidate_rows = _rows(candidate, columns)
    if min(baseline_rows, candidate_rows) < max(min_rows, 1):
        return None
    # The outputs as the "features" of a model of their own: its profile is the baseline window.
    model = ModelConfig(name="baseline", namespace="", reference=ReferenceConfig("", ""), features=columns)
    builder = ProfileBuilder(model)
    builder.add_columns({c.name: baseline[c.name] for c in columns}, baseline_rows)
    profile = builder.build({"uri": None}, origin="baseline window")
    result = evaluate_window(profile, settings, {c.name: candidate[c.name] for c in columns}, rows=candidate_rows)
    return dict(result.features)


def _rows(sample: Mapping[str, Any], columns: tuple[ColumnConfig, ...]) -> int:
    return min((len(sample[c.name]) for c in columns if c.name in sample), default=0)
