"""The drift alerts' promtool scenarios when they read the pooled decision (``exporter.replicas`` > 1): the input is
what two replicas publish — each column's bin counters and the reference's bin counts — and the expected values are
computed here from the same counts with the PSI formula of :mod:`drift.stats`, independently of the rules' PromQL."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from drift import catalogue as m
from drift.config import ColumnConfig, ModelConfig
from drift.stats import chi2_critical, psi

from .. import pooling
from ..scenarios import BAD, NEAR, ScenarioContext, Series, counter, selector

REPLICAS = ("driftline-exporter-0:8080", "driftline-exporter-1:8080")
PROCESS_STARTED = 1.7e9  # each replica's process_start_time_seconds
REFERENCE_ROWS_PER_BIN = 100
ROWS_PER_BIN_PER_STEP = 10  # each replica, each step, in every bin of a quiet column
SKEW = {BAD: 40, NEAR: 14}  # a drifted column's first bin instead: PSI ≈ 0.3 (drift) or ≈ 0.01 (below threshold)


def bin_labels(column: ColumnConfig, bins: int) -> list[str]:
    """Bin labels as an exporter writes them: zero-padded indices, or categories then ``__other__``."""
    if column.is_numeric:
        return [str(b).zfill(len(str(bins - 1))) for b in range(bins)]
    return ["a", "b", "c", "__other__"]


def columns(model: ModelConfig, kind: pooling.Kind) -> tuple[ColumnConfig, ...]:
    """The model's features or outputs, as ``kind`` says."""
    return model.features if kind.column == "feature" else model.outputs


def critical(model: ModelConfig, kind: pooling.Kind, bins: int) -> float:
    """The critical value an exporter publishes for a column of ``bins`` bins (Bonferroni over the model's columns of
    ``kind``)."""
    tests = 1 if model.drift.correction == "none" else len(columns(model, kind))
    return chi2_critical(model.drift.alpha, tests, bins)


Skew = Callable[[str], str | None]  # the step's state -> which skew a column's rows have then (None: quiet)


def increments(bins: int, skew: str | None) -> list[int]:
    """One replica's rows in each bin during one step."""
    rows = [ROWS_PER_BIN_PER_STEP] * bins
    if skew is not None:
        rows[0] = SKEW[skew]
    return rows


def as_state(state: str) -> str | None:
    """A column that follows the scenario: skewed while BAD or NEAR."""
    return state if state in SKEW else None


def only_bad(state: str) -> str | None:
    """A column that drifts whenever anything does (NEAR included)."""
    return BAD if state in SKEW else None


def column_series(
    ctx: ScenarioContext, kind: pooling.Kind, column: ColumnConfig, skew: Skew, states: list[str]
) -> Series:
    """Both replicas' counters for one column (a missing count included), the reference's gauges and the column's
    critical value."""
    labels = bin_labels(column, ctx.model.drift.bins)
    per_step = [increments(len(labels), skew(s)) for s in states]
    out: Series = []
    for instance in REPLICAS:
        base = {"job": ctx.alerting.exporter_job, "instance": instance, **ctx.model_labels, kind.column: column.name}
        out.append((selector(kind.critical_value.series, base),
                    [critical(ctx.model, kind, len(labels))] * len(states)))  # fmt: skip
        for b, label in enumerate(labels):
            out.append((selector(kind.counted.series, {**base, "bin": label}), counter([r[b] for r in per_step])))
            out.append((selector(kind.reference.series, {**base, "bin": label}),
                        [float(REFERENCE_ROWS_PER_BIN)] * len(states)))  # fmt: skip
        out.append((selector(kind.counted.series, {**base, "bin": "__missing__"}), counter([1.0] * len(states))))
    return out


def window_psi(ctx: ScenarioContext, column: ColumnConfig, skew: str | None) -> float:
    """The pooled PSI of a column whose whole window had rows of one ``skew``: both replicas' rows over the window's
    steps (a Prometheus 2 range ``[w]`` holds the samples at both ends: w/step + 1 of them)."""
    bins = len(bin_labels(column, ctx.model.drift.bins))
    steps = math.ceil(pooling.alert_window(ctx.config).seconds / ctx.step) + 1
    current = np.array(increments(bins, skew)) * steps * len(REPLICAS)
    return psi(np.full(bins, REFERENCE_ROWS_PER_BIN), current)


def settings_series(ctx: ScenarioContext, states: list[str]) -> Series:
    """The model's thresholds, as each replica publishes them (the pooled rules read them there)."""
    drift = ctx.model.drift
    settings = ((m.PSI_THRESHOLD, drift.psi_threshold), (m.DRIFT_SHARE_THRESHOLD, drift.drift_share),
                (m.WINDOW_MIN_SAMPLES, float(ctx.model.window.min_rows)))  # fmt: skip
    out: Series = []
    for instance in REPLICAS:
        labels = {"job": ctx.alerting.exporter_job, "instance": instance, **ctx.model_labels}
        out += [(selector(metric.series, labels), [value] * len(states)) for metric, value in settings]
    return out


def columns_series(
    ctx: ScenarioContext, kind: pooling.Kind, columns: Sequence[ColumnConfig], skews: dict[str, Skew], states: list[str]
) -> Series:
    """Every column's series (those not in ``skews`` stay quiet) and the model's settings."""
    out: Series = settings_series(ctx, states)
    for instance in REPLICAS:  # no replica restarts
        labels = {"job": ctx.alerting.exporter_job, "instance": instance}
        out.append((selector(pooling.PROCESS_START, labels), [PROCESS_STARTED] * len(states)))
    for column in columns:
        out += column_series(ctx, kind, column, skews.get(column.name, lambda state: None), states)
    return out


def drifted_count(ctx: ScenarioContext) -> int:
    """How many features must drift for the dataset decision: ``drift_share`` of them, rounded up."""
    return max(1, math.ceil(ctx.model.drift.drift_share * len(ctx.model.features) - 1e-9))
