"""promtool unit tests for the generated alerts, generated with them (``promtool test rules rules_test.yml``).

Every alert of :mod:`alerts.catalogue` gets a timeline from its scenario: quiet, then the bad condition long enough
to fire, then quiet again. It must not fire while quiet, must not fire before its ``for`` has passed, must fire with
exactly the expected labels and rendered annotations, must keep firing through ``keep_firing_for``, and must
resolve. Alerts with a threshold also get a run just below it, where they must stay silent. The expected
annotations are rendered in Python (:mod:`alerts.catalogue.text`) from the scenario's inputs: an independent check of
the Go templates in the rules.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from drift.config import Duration
from drift.stats import psi

from . import pooling
from .catalogue import ALERTS, pooled
from .catalogue.exporter import EXPORTER_DOWN
from .config import DeploymentConfig
from .scenarios import BAD, NEAR, OK, Scenario, ScenarioContext, counter, selector, series_notation


def _steps(seconds: float, step: int) -> int:
    return math.ceil(seconds / step)


def _at(step_index: int, step: int) -> str:
    return str(Duration(float(step_index * step)))


def _test_group(
    ctx: ScenarioContext, scenario: Scenario, states: list[str], checks: list[tuple[int, bool]], name: str
) -> dict[str, Any]:
    step = ctx.step
    alert = scenario.alert

    def expected(t: int) -> dict[str, Any]:
        annotations = alert.expected_annotations(ctx.config, scenario, t)
        return {"exp_labels": dict(scenario.labels), "exp_annotations": annotations}

    return {
        "name": name,
        "interval": str(Duration(float(step))),
        "input_series": [{"series": sel, "values": series_notation(values)} for sel, values in scenario.series(states)],
        "alert_rule_test": [
            {"eval_time": _at(t, step), "alertname": alert.name, "exp_alerts": [expected(t * step)] if firing else []}
            for t, firing in checks
        ],
    }


def scenario_tests(ctx: ScenarioContext, scenario: Scenario) -> list[dict[str, Any]]:
    step = ctx.step
    settings = scenario.settings
    lag = _steps(scenario.window, step) if scenario.rate_based else 0
    hold = _steps(settings.for_.seconds, step)
    keep = _steps(settings.keep_firing_for.seconds, step) if settings.keep_firing_for else 0
    quiet, active, after = 3, lag + hold + 3, lag + keep + 4
    states = [OK] * quiet + [BAD] * active + [OK] * after
    end = quiet + active  # first step back to normal
    fire = quiet + lag + hold + 1
    checks = [(quiet - 1, False)]
    if hold > 0:
        checks.append((quiet + hold - 1, False))  # condition true, but not for long enough
    checks.append((fire, True))
    if keep >= 2 and not scenario.rate_based:
        checks.append((end + keep // 2, True))  # back to normal, kept firing by keep_firing_for
    checks.append((end + lag + keep + 2, False))
    name = scenario.alert.name
    groups = [_test_group(ctx, scenario, states, checks, f"{name}: fires after for, resolves after keep_firing_for")]
    if scenario.has_near:
        near = [OK] * quiet + [NEAR] * (active + after)
        groups.append(_test_group(ctx, scenario, near, [(fire, False)], f"{name}: just below the threshold"))
    return groups


def _exporter_absent(ctx: ScenarioContext) -> dict[str, Any]:
    """The exporter's job has no target at all (not deployed, ServiceMonitor not matching)."""
    hold = _steps(EXPORTER_DOWN.settings(ctx.config).for_.seconds, ctx.step)
    scenario = ctx.scenario(
        EXPORTER_DOWN,
        series=lambda states: [
            (selector("up", {"job": "some-other-job", "instance": "x:9090"}), [1.0 for _ in states])
        ],
        labels={"job": ctx.alerting.exporter_job, **EXPORTER_DOWN.labels},
    )
    return _test_group(ctx, scenario, [OK] * (hold + 4), [(hold + 2, True)], "DriftlineExporterDown: no target")


def _pooled_counts(ctx: ScenarioContext) -> dict[str, Any]:
    """The pooling rules' arithmetic on four replicas of the first feature: one steady; one restarted half-way (its
    counter starts again from 0: the rows it counted before stay, nothing is counted twice); one restarted so quickly,
    with a burst of rows, that its new counter is already past its old reading at the group's next evaluation (only
    its start time tells the restart); one gone for good (its rows stay in the window). The window's counts must be
    exactly the rows counted, and the PSI that of those counts (computed here with :func:`drift.stats.psi`)."""
    kind, column = pooling.FEATURES, ctx.model.features[0]
    bins = pooled.bin_labels(column, ctx.model.drift.bins)
    steps, restart, gone = 20, 8, 12
    rows = {  # each replica's rows per bin per step; None: not scraped
        "driftline-exporter-0:8080": [[10 + b for b in range(len(bins))]] * steps,
        "driftline-exporter-1:8080": [[5] * len(bins)] * steps,
        "driftline-exporter-2:8080": [[20 if b == 0 else 3 for b in range(len(bins))]] * gone,
        "driftline-exporter-3:8080": [[1] * len(bins)] * restart + [[30] * len(bins)] * (steps - restart),
    }
    series = [
        {"series": sel, "values": series_notation(values)} for sel, values in pooled.settings_series(ctx, [OK] * steps)
    ]
    totals = np.zeros(len(bins))
    for instance, per_step in rows.items():
        labels = {"job": ctx.alerting.exporter_job, "instance": instance, **ctx.model_labels, kind.column: column.name}
        restarts = instance.startswith(("driftline-exporter-1", "driftline-exporter-3"))
        started = [pooled.PROCESS_STARTED + (60.0 if restarts and i >= restart else 0.0) for i in range(len(per_step))]
        start_labels = {"job": ctx.alerting.exporter_job, "instance": instance}
        series.append({"series": selector(pooling.PROCESS_START, start_labels), "values": series_notation(started)})
        for b, label in enumerate(bins):
            values = counter([r[b] for r in per_step])
            if restarts:  # counting starts again from zero
                values = values[:restart] + counter([r[b] for r in per_step[restart:]])
            totals[b] += sum(r[b] for r in per_step)
            notation = series_notation(values) + (f" _x{steps - len(values)}" if len(values) < steps else "")
            series.append({"series": selector(kind.counted.series, {**labels, "bin": label}), "values": notation})
            reference = series_notation([float(pooled.REFERENCE_ROWS_PER_BIN)] * steps)
            series.append({"series": selector(kind.reference.series, {**labels, "bin": label}), "values": reference})
    window = pooling.alert_window(ctx.config)
    at = _at(steps - 1, ctx.step)
    key = {"job": ctx.alerting.exporter_job, **ctx.model_labels, kind.column: column.name}
    counts = [
        {"labels": selector(kind.rows_in_bins(window), {**key, "bin": label}), "value": float(totals[b])}
        for b, label in enumerate(bins)
    ]
    value = psi(np.full(len(bins), pooled.REFERENCE_ROWS_PER_BIN), totals)
    return {
        "name": "pooling: replicas restart, slowly and quickly, another disappears — every row counted, once",
        "interval": str(Duration(float(ctx.step))),
        "input_series": series,
        "promql_expr_test": [
            {"expr": f'{kind.rows_in_bins(window)}{{{kind.column}="{column.name}"}}', "eval_time": at,
             "exp_samples": counts},
            # the PromQL and numpy sums round differently in the last bits: equal to 1e-12, relatively
            {"expr": f'abs({kind.psi(window)}{{{kind.column}="{column.name}"}} / {value!r} - 1) < bool 1e-12',
             "eval_time": at, "exp_samples": [{"labels": selector("", key), "value": 1}]},
        ],
    }  # fmt: skip


def rule_tests(config: DeploymentConfig, rule_file: str = "rules.yml") -> dict[str, Any]:
    """The ``promtool test rules`` document for ``rule_groups(config)`` written to ``rule_file`` beside it."""
    ctx = ScenarioContext(config, ALERTS)
    tests: list[dict[str, Any]] = []
    for alert in ALERTS:
        if alert.settings(config).enabled:
            tests += scenario_tests(ctx, alert.scenario(alert, ctx))
    if EXPORTER_DOWN.settings(config).enabled:
        tests.append(_exporter_absent(ctx))
    if pooling.pooled(config):
        tests.append(_pooled_counts(ctx))
    return {"rule_files": [rule_file], "evaluation_interval": str(Duration(float(ctx.step))), "tests": tests}
