"""Alerts on the InferenceService's own request metrics (Knative queue-proxy or KServe's model server), restricted to
the configured models: a failing or slow model is an incident of its own, and drift measured meanwhile says little."""

from __future__ import annotations

import math
import re

from drift import catalogue as m

from .. import promql as q
from ..config import DeploymentConfig
from ..scenarios import BAD, NEAR, OK, Scenario, ScenarioContext, Series, counter, matching_value, number, selector
from ..settings import DURATION, RATIO, Knob, minutes
from .definition import SERVING_DASHBOARD, AlertDefinition, fixed
from .text import Constant, Text


def _monitored(ctx: ScenarioContext, states: list[str]) -> tuple[str, list[float]]:
    """The exporter's settings of the scenario's model: what tells the serving alerts it is monitored."""
    model = {"model": ctx.model.name, "model_namespace": ctx.model.namespace}  # "*" as the exporter publishes it
    return selector(m.PSI_THRESHOLD.series, {**ctx.target, **model}), [ctx.model.drift.psi_threshold for _ in states]


def _serving_errors(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
    serving = ctx.alerting.serving
    limit = alert.settings(ctx.config).limit
    error_code = matching_value(serving.error_codes, ["5xx", "500", "503", "error"], "alerting.serving.error_codes")
    ok_code = next(c for c in ("2xx", "200", "ok") if not re.fullmatch(serving.error_codes, c))
    total = 1000
    errors = {OK: 0, BAD: min(total, math.floor(limit * total) + 1), NEAR: max(0, math.ceil(limit * total) - 1)}
    # an InferenceService in the same namespace that nobody monitors fails all along: it must never alert
    unmonitored = next(f"unmonitored{i}" for i in range(100) if f"unmonitored{i}" not in ctx.model_names)

    def series(states: list[str]) -> Series:
        requests = serving.requests_metric
        return [
            (selector(requests, ctx.serving_labels(ok_code)), counter([total - errors[s] for s in states])),
            (selector(requests, ctx.serving_labels(error_code)), counter([errors[s] for s in states])),
            (selector(requests, ctx.serving_labels(error_code, unmonitored)), counter([float(total) for _ in states])),
            _monitored(ctx, states),
        ]

    return ctx.scenario(
        alert,
        series=series,
        labels={**ctx.model_labels, **alert.labels},
        values=lambda t: {"value": errors[BAD] / total},
        rate_based=True,
    )


SERVING_ERRORS: AlertDefinition = AlertDefinition(
    name="DriftlineServingErrors",
    settings_key="serving_errors",
    for_=minutes(10),
    keep_firing_for=minutes(10),
    knobs=(
        Knob(
            "threshold",
            RATIO,
            0.05,
            "the share of the InferenceService's requests answered with an error code over 5 minutes",
        ),
    ),
    severity="critical",
    summary="A monitored model answers many requests with server errors.",
    description=fixed(
        Text(
            "{value:percent} of the requests to {model} fail with a server error. Drift alerts of the model are "
            "inhibited while it fails."
        )
    ),
    expr=lambda config: f"{q.monitored(q.SERVING_ERROR_RATIO)} > {number(SERVING_ERRORS.settings(config).limit)}",
    scenario=_serving_errors,
    dashboard=SERVING_DASHBOARD,
    runbook="""
**Meaning.** More than the threshold (`alerting.alerts.serving_errors.threshold`: {threshold}) of the model's
requests fail with a server error (from the configured serving metrics; Knative's queue-proxy by default).
Severity `critical`: users are affected. The model's drift and no-traffic alerts are inhibited meanwhile — KServe's
logger only records successful responses, so drift measured now would describe the few requests that got through.

**Check.** *Serving health* dashboard; `kubectl get inferenceservice`; the predictor pod's logs and events (OOMKilled,
image pull, model download from storage).

**Act.** Roll back to the previous revision (`canaryTrafficPercent`, or the previous image tag in git for ArgoCD) if a
deployment caused it.
""",
)


def _quantile(config: DeploymentConfig) -> float:
    return SERVING_LATENCY.settings(config).at_quantile


def _serving_latency(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
    serving = ctx.alerting.serving
    limit = alert.settings(ctx.config).limit
    quantile = _quantile(ctx.config)
    scale = 1000.0 if serving.latency_unit == "milliseconds" else 1.0
    bounds = [limit / 2, limit, limit * 2, limit * 4]
    # all requests in one bucket: OK and NEAR in (T/2, T], BAD in (2T, 4T]
    bucket_of = {OK: 1, NEAR: 1, BAD: 3}
    base = ctx.serving_labels("")

    def series(states: list[str]) -> Series:
        out: Series = []
        for i, bound in enumerate([*bounds, math.inf]):
            le = "+Inf" if bound == math.inf else number(bound * scale)
            counts = [100.0 if i >= bucket_of[s] else 0.0 for s in states]
            out.append((selector(f"{serving.latency_metric}_bucket", {**base, "le": le}), counter(counts)))
        return [*out, _monitored(ctx, states)]

    low, high = bounds[2] * scale, bounds[3] * scale
    value = (low + (high - low) * quantile) / scale
    return ctx.scenario(
        alert,
        series=series,
        labels={**ctx.model_labels, "quantile": q.quantile_label(quantile), **alert.labels},
        values=lambda t: {"value": value},
        rate_based=True,
    )


SERVING_LATENCY: AlertDefinition = AlertDefinition(
    name="DriftlineServingLatency",
    settings_key="serving_latency",
    for_=minutes(10),
    keep_firing_for=minutes(10),
    knobs=(
        Knob("threshold", DURATION, 1.0, "the request latency at `quantile` above which the alert fires"),
        Knob("quantile", RATIO, 0.99, "the latency quantile compared with the threshold", field="quantile"),
    ),
    severity="warning",
    summary="A monitored model answers slowly.",
    description=lambda config: Text(
        "The {percentile}th percentile latency of {model} is {value:duration}.",
        percentile=Constant(q.quantile_label(_quantile(config) * 100)),
    ),
    expr=lambda config: (
        q.monitored(f'{q.SERVING_LATENCY}{{quantile="{q.quantile_label(_quantile(config))}"}}')
        + f" > {number(SERVING_LATENCY.settings(config).limit)}"
    ),
    scenario=_serving_latency,
    dashboard=SERVING_DASHBOARD,
    runbook="""
**Meaning.** The model's latency at the configured quantile (`alerting.alerts.serving_latency.quantile`:
{quantile}) is above the threshold (`alerting.alerts.serving_latency.threshold`: {threshold}).

**Check.** *Serving health*: did request rate rise (scale-out lagging: check the autoscaler's `minReplicas`, the
concurrency target) or did latency rise at constant load (a new model version, a slow feature store, CPU throttling
— check the pod's CPU limits)?

**Act.** Scale out, raise resources, or roll back a slow model version.
""",
)

ALERTS = (SERVING_ERRORS, SERVING_LATENCY)
