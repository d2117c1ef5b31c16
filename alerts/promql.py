"""Recording-rule names and PromQL expressions shared by the rules and the dashboards, so a recording rule and its
readers never disagree. driftline's own metric names come from :mod:`drift.catalogue`.

Recording rules follow Prometheus' ``level:metric:operations`` naming. Serving metrics come from the
InferenceService (Knative queue-proxy or KServe's model server); they are relabelled to driftline's ``model`` and
``model_namespace`` once, here, so dashboards and alerts select them exactly like driftline's own metrics.
"""

from __future__ import annotations

from drift import catalogue as m

from .config import ServingMetrics

MODEL_LABELS = "model, model_namespace"

# recording rules
FEATURES_DRIFTED = "model:driftline_feature_drifted:sum"
EVENTS_RATE = "model:driftline_events:rate5m"
REJECTED_RATE = "job_reason:driftline_events_rejected:rate5m"
REJECTED_RATIO = "job:driftline_events_rejected:ratio_rate5m"
SERVING_REQUESTS = "model:serving_requests:rate5m"
SERVING_ERRORS = "model:serving_errors:rate5m"
SERVING_ERROR_RATIO = "model:serving_errors:ratio_rate5m"
SERVING_LATENCY_BUCKETS = "model_le:serving_latency_seconds_bucket:rate5m"
SERVING_LATENCY = "model_quantile:serving_latency_seconds:histogram_quantile"

LATENCY_QUANTILES = (0.5, 0.95, 0.99)


def quantile_label(q: float) -> str:
    """How a quantile is written in the ``quantile`` label: ``0.99``, ``0.5``."""
    return f"{q:g}"


def string(value: str) -> str:
    """``value`` as a double-quoted PromQL string literal (backslashes and quotes escaped)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _relabelled(expr: str, serving: ServingMetrics) -> str:
    """``expr`` with the serving metric's labels copied into ``model`` and ``model_namespace``."""
    inner = f'label_replace({expr}, "model", "$1", "{serving.model_label}", {string(serving.model_regex)})'
    return f'label_replace({inner}, "model_namespace", "$1", "{serving.namespace_label}", "(.*)")'


def serving_requests(serving: ServingMetrics, errors_only: bool = False) -> str:
    selector = f"{{{serving.code_label}=~{string(serving.error_codes)}}}" if errors_only else ""
    rate = _relabelled(f"rate({serving.requests_metric}{selector}[5m])", serving)
    return f"sum by ({MODEL_LABELS}) ({rate})"


def serving_latency_buckets(serving: ServingMetrics) -> str:
    rate = _relabelled(f"rate({serving.latency_metric}_bucket[5m])", serving)
    return f"sum by ({MODEL_LABELS}, le) ({rate})"


def serving_latency_quantile(serving: ServingMetrics, q: float) -> str:
    expr = f"histogram_quantile({q:g}, {SERVING_LATENCY_BUCKETS})"
    return f"{expr} / 1000" if serving.latency_unit == "milliseconds" else expr


def latency_quantiles(alert_q: float | None) -> tuple[float, ...]:
    """The quantiles recorded for dashboards, plus ``alert_q``, the one the latency alert watches."""
    quantiles = list(LATENCY_QUANTILES)
    if alert_q is not None and alert_q not in quantiles:
        quantiles.append(alert_q)
    return tuple(sorted(quantiles))


def monitored(series: str) -> str:
    """``series`` (a selector) of the models driftline monitors: those an exporter publishes settings for, matched by
    name and namespace, or by name alone for a model of namespace ``*``. The rules name no model, so a model a team
    adds later (``model_files``) is covered without regenerating them."""
    marker = m.PSI_THRESHOLD.series
    return (
        f"(({series} and on (model, model_namespace) {marker}) "
        f'or ({series} and on (model) {marker}{{model_namespace="*"}}))'
    )
