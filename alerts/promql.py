"""Names and expressions shared by the rules and the dashboards, so a recording rule and its readers never disagree.

Recording rules follow Prometheus' ``level:metric:operations`` naming. Serving metrics come from the
InferenceService (Knative queue-proxy or KServe's model server); they are relabelled to driftline's ``model`` and
``model_namespace`` once, here, so dashboards and alerts select them exactly like driftline's own metrics.
"""

from __future__ import annotations

from drift.config import MonitorConfig, ServingMetrics

MODEL_LABELS = "model, model_namespace"

# driftline's own metrics (design.md)
FEATURE_PSI = "driftline_feature_psi"
FEATURE_PSI_PVALUE = "driftline_feature_psi_pvalue"
FEATURE_KS_PVALUE = "driftline_feature_ks_pvalue"
FEATURE_KS_STATISTIC = "driftline_feature_ks_statistic"
FEATURE_CHI2_PVALUE = "driftline_feature_chi2_pvalue"
FEATURE_JS = "driftline_feature_js_distance"
FEATURE_DRIFTED = "driftline_feature_drifted"
FEATURE_MISSING = "driftline_feature_missing_ratio"
PREDICTION_PSI = "driftline_prediction_psi"
PREDICTION_PSI_PVALUE = "driftline_prediction_psi_pvalue"
PREDICTION_DRIFTED = "driftline_prediction_drifted"
DRIFT_SHARE = "driftline_dataset_drift_share"
DATASET_DRIFTED = "driftline_dataset_drifted"
WINDOW_SAMPLES = "driftline_window_samples"
OUTPUT_WINDOW_SAMPLES = "driftline_output_window_samples"
REFERENCE_SAMPLES = "driftline_reference_samples"
REFERENCE_INFO = "driftline_reference_info"
REFERENCE_LOADED = "driftline_reference_loaded"
REFERENCE_CREATED = "driftline_reference_created_timestamp_seconds"
LAST_EVALUATION = "driftline_last_evaluation_timestamp_seconds"
PSI_THRESHOLD = "driftline_psi_threshold"
SIGNIFICANCE_LEVEL = "driftline_significance_level"
DRIFT_SHARE_THRESHOLD = "driftline_drift_share_threshold"
WINDOW_MAX_SAMPLES = "driftline_window_max_samples"
PERFORMANCE = "driftline_performance"
REFERENCE_PERFORMANCE = "driftline_reference_performance"
PERFORMANCE_DEGRADATION = "driftline_performance_degradation"
PERFORMANCE_DEGRADATION_THRESHOLD = "driftline_performance_degradation_threshold"
PERFORMANCE_DROPPED = "driftline_performance_dropped"
PERFORMANCE_ERROR_RATE = "driftline_performance_error_rate"
REFERENCE_ERROR_RATE = "driftline_reference_error_rate"
CONCEPT_DRIFT = "driftline_concept_drift_detected"
LABELLED_SAMPLES = "driftline_labelled_window_samples"
LABEL_PSI = "driftline_label_psi"
LABELS = "driftline_labels_total"
LABEL_DELAY = "driftline_label_delay_seconds"
PREDICTION_STORE_ROWS = "driftline_prediction_store_rows"
PREDICTION_STORE_CAPACITY = "driftline_prediction_store_capacity_rows"
FEEDBACK_REJECTED = "driftline_feedback_rejected_total"
EVENTS = "driftline_events_total"
EVENTS_REJECTED = "driftline_events_rejected_total"
EVALUATION_DURATION = "driftline_evaluation_duration_seconds"
LOG_OBJECTS = "driftline_log_objects_total"
RETRAIN_NOTIFICATIONS = "driftline_retrain_notifications_total"
RETRAIN_ATTEMPTS = "driftline_retrain_dispatch_attempts_total"
OUTBOX_DISPATCHES = "driftline_retrain_outbox_dispatches"
FAILED_WINDOW = "15m"

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

DRIFT_ALERTS = (
    "DriftlineFeatureDrift",
    "DriftlineDatasetDrift",
    "DriftlinePredictionDrift",
    "DriftlinePerformanceDrop",
    "DriftlineConceptDrift",
)


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


def latency_quantiles(config: MonitorConfig) -> tuple[float, ...]:
    """The quantiles recorded for dashboards, plus the one the latency alert watches."""
    quantiles = list(LATENCY_QUANTILES)
    alert_q = config.alerting.alerts.serving_latency.quantile
    if alert_q is not None and alert_q not in quantiles:
        quantiles.append(alert_q)
    return tuple(sorted(quantiles))


def configured_models(config: MonitorConfig, metric: str, extra: str = "") -> str:
    """``metric`` restricted to the configured models, each by its own name and namespace (a namespace of ``*``
    matches any): ``(m{model="a", model_namespace="x"} or m{model="b"})``."""
    selectors = []
    for pair in sorted({(m.name, m.namespace) for m in config.models}):
        matchers = [f"model={string(pair[0])}"]
        if pair[1] != "*":
            matchers.append(f"model_namespace={string(pair[1])}")
        if extra:
            matchers.append(extra)
        selectors.append(f"{metric}{{{', '.join(matchers)}}}")
    return selectors[0] if len(selectors) == 1 else "(" + " or ".join(selectors) + ")"
