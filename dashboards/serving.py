"""The *Serving health* dashboard: is the InferenceService answering, and does the logger see its traffic?

Its queries read the ``model:serving_*`` recording rules, which relabel the configured serving metrics (Knative
queue-proxy by default) to driftline's ``model`` / ``model_namespace`` labels.
"""

from __future__ import annotations

from typing import Any

from alerts import promql as q
from alerts.catalogue import SERVING_DASHBOARD
from alerts.catalogue.serving import SERVING_ERRORS, SERVING_LATENCY
from alerts.config import DeploymentConfig

from .common import MODEL_SELECTOR, Layout, dashboard, datasource_variable, model_variables, steps, target, timeseries


def build(config: DeploymentConfig) -> dict[str, Any]:
    alerting = config.alerting
    errors = SERVING_ERRORS.settings(config).limit
    latency = SERVING_LATENCY.settings(config)
    quantiles = "|".join(q.quantile_label(x) for x in q.latency_quantiles(latency.quantile))
    layout = Layout()
    layout.add(
        timeseries(
            "Request rate",
            f"Requests per second answered by the InferenceService ({alerting.serving.requests_metric}), and the "
            "request events the driftline exporter received from its logger. A gap between the two means the "
            "logger drops events or is sampled.",
            [
                target(f"{q.SERVING_REQUESTS}{{{MODEL_SELECTOR}}}", "served", "A"),
                target(
                    f'sum by ({q.MODEL_LABELS}) ({q.EVENTS_RATE}{{{MODEL_SELECTOR}, type="request"}})',
                    "logged to driftline",
                    "B",
                ),
            ],
            "reqps",
        ),
        24,
        8,
    )
    layout.add(
        timeseries(
            "Error rate",
            f"Share of requests answered with {alerting.serving.code_label}=~{alerting.serving.error_codes!r}. The "
            "line is the DriftlineServingErrors threshold. KServe's logger records only successful responses.",
            [target(f"{q.SERVING_ERROR_RATIO}{{{MODEL_SELECTOR}}}", "errors")],
            "percentunit",
            thresholds=steps(("green", None), ("red", errors)),
        ),
        12,
        8,
    )
    layout.add(
        timeseries(
            "Latency",
            f"Request latency percentiles from {alerting.serving.latency_metric}. The line is the "
            f"DriftlineServingLatency threshold on p{q.quantile_label(latency.at_quantile * 100)}.",
            [target(f'{q.SERVING_LATENCY}{{{MODEL_SELECTOR}, quantile=~"{quantiles}"}}', "q{{quantile}}")],
            "s",
            thresholds=steps(("green", None), ("red", latency.limit)),
        ),
        12,
        8,
    )
    return dashboard(
        SERVING_DASHBOARD,
        "driftline / Serving health",
        "Request rate, errors and latency of the monitored InferenceServices.",
        [datasource_variable(), *model_variables()],
        layout,
    )
