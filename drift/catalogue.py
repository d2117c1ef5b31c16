"""The metric catalogue: every Prometheus metric driftline exports, defined once.

The exporter's collector and instruments, the webhook's, the generated rules, promtool tests and dashboards, and
``docs/metrics.md`` all read names, types, labels and help from here; a test fails when the exporter serves a
metric that is not in the catalogue or a rule or dashboard queries one that is not.

Names follow Prometheus' conventions: the base unit in the name (``_seconds``), ``_total`` on counters (added by
the client library; :attr:`Metric.series` is the name PromQL reads), ``_info`` on info metrics. ``model`` and
``model_namespace`` name the InferenceService (``namespace`` is avoided: Kubernetes service discovery attaches its
own).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

GAUGE, COUNTER, HISTOGRAM, INFO = "gauge", "counter", "histogram", "info"
EXPORTER, WEBHOOK = "exporter", "webhook"
MODEL = ("model", "model_namespace")

# Label values known in advance: counters are created with every combination at start, so they export zeros and
# rate() or an alert has a series to read before the first event.
EVENT_TYPES = ("request", "response")
EVENT_OUTCOMES = ("accepted", "sampled_out", "rejected")
EVENT_REJECT_REASONS = (
    "bad_json",
    "binary_payload",
    "missing_attributes",
    "shape_mismatch",
    "too_large",
    "unknown_model",
    "unsupported_payload",
    "unsupported_type",
)
LABEL_OUTCOMES = ("joined", "duplicate", "unmatched", "sampled_out")
FEEDBACK_REJECT_REASONS = (
    "bad_json",
    "binary_payload",
    "invalid_label",
    "missing_attributes",
    "no_target",
    "too_large",
    "unknown_model",
    "unsupported_type",
)
EVICTION_REASONS = ("size", "ttl")
OBJECT_OUTCOMES = ("processed", "corrupt")
NOTIFICATION_OUTCOMES = (
    "dispatched",
    "duplicate",
    "cooldown",
    "resolved_ignored",
    "not_retrain",
    "failed",
    "unauthorized",
    "invalid",
    "unknown_model",
)
WINDOW_RESET_REASONS = ("new_profile", "unreadable_checkpoint")
# Refused before or outside an endpoint's own counters: the connection, routing, and GET /report.
HTTP_REFUSAL_REASONS = ("header_timeout", "headers_too_large", "body_timeout", "not_found", "method_not_allowed",
                        "unknown_model", "empty_window", "busy")  # fmt: skip
ATTEMPT_RESULTS = ("delivered", "retry", "rate_limited", "failed")
OUTBOX_STATES = ("pending", "sending", "delivered", "failed")

# Histogram buckets (seconds).
EVALUATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Ground truth arrives from seconds (clicks) to months (churn).
LABEL_DELAY_BUCKETS = (60.0, 600.0, 3600.0, 6 * 3600.0, 86400.0, 3 * 86400.0, 7 * 86400.0, 14 * 86400.0,
                       30 * 86400.0, 90 * 86400.0)  # fmt: skip
DISPATCH_LATENCY_BUCKETS = (0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 6 * 3600.0, 86400.0)


@dataclass(frozen=True)
class Metric:
    """One metric: how it is declared to the client library and documented."""

    name: str  # as declared: a counter without ``_total``, an info metric without ``_info``
    type: str
    help: str
    labels: tuple[str, ...]
    component: str
    section: str  # the heading it is documented under
    buckets: tuple[float, ...] = ()
    label_values: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def series(self) -> str:
        """The name a PromQL query reads (``driftline_events_total``; a histogram's base name)."""
        if self.type == COUNTER:
            return f"{self.name}_total"
        if self.type == INFO:
            return f"{self.name}_info"
        return self.name

    @property
    def samples(self) -> tuple[str, ...]:
        """Every sample name the exposition carries for this metric."""
        if self.type == HISTOGRAM:
            return tuple(f"{self.name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
        return (self.series,)

    @property
    def bucket(self) -> str:
        assert self.type == HISTOGRAM, self.name
        return f"{self.name}_bucket"


CATALOGUE: list[Metric] = []


def _metric(
    name: str,
    type_: str,
    help_: str,
    labels: tuple[str, ...] = MODEL,
    *,
    component: str = EXPORTER,
    section: str,
    buckets: tuple[float, ...] = (),
    **label_values: tuple[str, ...],
) -> Metric:
    metric = Metric(name, type_, help_, labels, component, section, buckets, MappingProxyType(label_values))
    assert all(label in labels for label in label_values), name
    CATALOGUE.append(metric)
    return metric


_DRIFT = "Drift"
FEATURE_PSI = _metric(
    "driftline_feature_psi",
    GAUGE,
    "Population Stability Index of the feature, current window vs reference.",
    (*MODEL, "feature"),
    section=_DRIFT,
)
FEATURE_PSI_PVALUE = _metric(
    "driftline_feature_psi_pvalue",
    GAUGE,
    "Sample-size-aware p-value of the feature's PSI.",
    (*MODEL, "feature"),
    section=_DRIFT,
)
FEATURE_KS_STATISTIC = _metric(
    "driftline_feature_ks_statistic",
    GAUGE,
    "Two-sample Kolmogorov-Smirnov statistic (numeric features).",
    (*MODEL, "feature"),
    section=_DRIFT,
)
FEATURE_KS_PVALUE = _metric(
    "driftline_feature_ks_pvalue",
    GAUGE,
    "Kolmogorov-Smirnov p-value (numeric features).",
    (*MODEL, "feature"),
    section=_DRIFT,
)
FEATURE_CHI2_PVALUE = _metric(
    "driftline_feature_chi2_pvalue",
    GAUGE,
    "Chi-square test p-value (categorical features).",
    (*MODEL, "feature"),
    section=_DRIFT,
)
FEATURE_JS_DISTANCE = _metric(
    "driftline_feature_js_distance",
    GAUGE,
    "Jensen-Shannon distance (base 2) of the binned distributions.",
    (*MODEL, "feature"),
    section=_DRIFT,
)
FEATURE_DRIFTED = _metric(
    "driftline_feature_drifted",
    GAUGE,
    "1 when the feature drifted: corrected p-value < alpha and PSI >= threshold.",
    (*MODEL, "feature"),
    section=_DRIFT,
)
FEATURE_MISSING_RATIO = _metric(
    "driftline_feature_missing_ratio",
    GAUGE,
    "Share of missing or invalid values of the feature in the window.",
    (*MODEL, "feature"),
    section=_DRIFT,
)
PREDICTION_PSI = _metric(
    "driftline_prediction_psi",
    GAUGE,
    "Population Stability Index of the model output, current window vs reference.",
    (*MODEL, "output"),
    section=_DRIFT,
)
PREDICTION_PSI_PVALUE = _metric(
    "driftline_prediction_psi_pvalue",
    GAUGE,
    "Sample-size-aware p-value of the output's PSI.",
    (*MODEL, "output"),
    section=_DRIFT,
)
PREDICTION_DRIFTED = _metric(
    "driftline_prediction_drifted", GAUGE, "1 when the output drifted.", (*MODEL, "output"), section=_DRIFT
)
DATASET_DRIFT_SHARE = _metric(
    "driftline_dataset_drift_share", GAUGE, "Share of the model's features that drifted.", section=_DRIFT
)
DATASET_DRIFTED = _metric(
    "driftline_dataset_drifted", GAUGE, "1 when the drift share reached drift_share.", section=_DRIFT
)
WINDOW_SAMPLES = _metric("driftline_window_samples", GAUGE, "Rows in the current feature window.", section=_DRIFT)
OUTPUT_WINDOW_SAMPLES = _metric(
    "driftline_output_window_samples", GAUGE, "Rows in the current output (prediction) window.", section=_DRIFT
)
LAST_EVALUATION = _metric(
    "driftline_last_evaluation_timestamp_seconds", GAUGE, "Unix time of the model's last evaluation.", section=_DRIFT
)

_SETTINGS = "Settings (so dashboards draw the lines alerts use)"
PSI_THRESHOLD = _metric(
    "driftline_psi_threshold",
    GAUGE,
    "The model's drift.psi_threshold: a feature drifts only with a PSI at least this.",
    section=_SETTINGS,
)
SIGNIFICANCE_LEVEL = _metric(
    "driftline_significance_level",
    GAUGE,
    "The model's drift.alpha: corrected p-values below it are significant.",
    section=_SETTINGS,
)
DRIFT_SHARE_THRESHOLD = _metric(
    "driftline_drift_share_threshold",
    GAUGE,
    "The model's drift.drift_share: the dataset drifts at this share.",
    section=_SETTINGS,
)
WINDOW_MAX_SAMPLES = _metric(
    "driftline_window_max_samples", GAUGE, "The model's window.size: the most rows a window holds.", section=_SETTINGS
)
WINDOW_MIN_SAMPLES = _metric(
    "driftline_window_min_samples",
    GAUGE,
    "The model's window.min_rows: with fewer rows, statistics but no drift decision.",
    section=_SETTINGS,
)
PERFORMANCE_DEGRADATION_THRESHOLD = _metric(
    "driftline_performance_degradation_threshold", GAUGE, "The model's target.max_degradation.", section=_SETTINGS
)

_REFERENCE = "Reference profile"
REFERENCE_SAMPLES = _metric(
    "driftline_reference_samples", GAUGE, "Rows the reference profile was built from.", section=_REFERENCE
)
REFERENCE_INFO = _metric(
    "driftline_reference_info",
    GAUGE,
    "The loaded reference profile (always 1).",
    (*MODEL, "version", "source"),
    section=_REFERENCE,
)
REFERENCE_LOADED = _metric(
    "driftline_reference_loaded", GAUGE, "1 when the model's reference profile is loaded.", section=_REFERENCE
)
REFERENCE_CREATED = _metric(
    "driftline_reference_created_timestamp_seconds",
    GAUGE,
    "Unix time the loaded reference profile was built.",
    section=_REFERENCE,
)

_BINS = "Bin counts (pooled across replicas by Prometheus)"
_BIN_LABEL = " bin: a numeric column's bin index (00 lowest), a category, __other__, or __missing__ (missing values)."
FEATURE_BIN_ROWS = _metric(
    "driftline_feature_bin_rows",
    COUNTER,
    "Rows this exporter counted in each PSI bin of the feature since it loaded the reference profile." + _BIN_LABEL,
    (*MODEL, "feature", "bin"),
    section=_BINS,
)
OUTPUT_BIN_ROWS = _metric(
    "driftline_output_bin_rows",
    COUNTER,
    "Rows this exporter counted in each PSI bin of the model output since it loaded the reference profile."
    + _BIN_LABEL,
    (*MODEL, "output", "bin"),
    section=_BINS,
)
REFERENCE_FEATURE_BIN_ROWS = _metric(
    "driftline_reference_feature_bin_rows",
    GAUGE,
    "Reference rows in each PSI bin of the feature (their sum is the feature's valid reference rows).",
    (*MODEL, "feature", "bin"),
    section=_BINS,
)
REFERENCE_OUTPUT_BIN_ROWS = _metric(
    "driftline_reference_output_bin_rows",
    GAUGE,
    "Reference rows in each PSI bin of the model output.",
    (*MODEL, "output", "bin"),
    section=_BINS,
)

_QUALITY = "Model quality (models with a target)"
PERFORMANCE = _metric(
    "driftline_performance",
    GAUGE,
    "Model quality on the window of labelled predictions.",
    (*MODEL, "metric"),
    section=_QUALITY,
)
REFERENCE_PERFORMANCE = _metric(
    "driftline_reference_performance",
    GAUGE,
    "Model quality on the labelled reference data (from the profile).",
    (*MODEL, "metric"),
    section=_QUALITY,
)
LABELLED_WINDOW_SAMPLES = _metric(
    "driftline_labelled_window_samples",
    GAUGE,
    "Labelled predictions in the model's performance window.",
    section=_QUALITY,
)
PERFORMANCE_DEGRADATION = _metric(
    "driftline_performance_degradation",
    GAUGE,
    "Relative loss of target.metric against the reference (positive = worse).",
    section=_QUALITY,
)
PERFORMANCE_ERROR_RATE = _metric(
    "driftline_performance_error_rate",
    GAUGE,
    "Share of wrong predictions (regression: error above the reference's p90).",
    section=_QUALITY,
)
REFERENCE_ERROR_RATE = _metric(
    "driftline_reference_error_rate", GAUGE, "The same share on the reference data.", section=_QUALITY
)
PERFORMANCE_PVALUE = _metric(
    "driftline_performance_pvalue",
    GAUGE,
    "One-sided binomial p-value that the error rate exceeds the reference's.",
    section=_QUALITY,
)
PERFORMANCE_DROPPED = _metric(
    "driftline_performance_dropped",
    GAUGE,
    "1 when target.metric lost max_degradation and the error rise is significant.",
    section=_QUALITY,
)
CONCEPT_DRIFT = _metric(
    "driftline_concept_drift_detected",
    GAUGE,
    "1 when ADWIN finds a rise of the error rate within the labelled window.",
    section=_QUALITY,
)
LABEL_PSI = _metric(
    "driftline_label_psi",
    GAUGE,
    "PSI of the label distribution, labelled window vs reference target.",
    section=_QUALITY,
)
LABEL_PSI_PVALUE = _metric(
    "driftline_label_psi_pvalue", GAUGE, "Sample-size-aware p-value of the label PSI.", section=_QUALITY
)
LABEL_DRIFTED = _metric(
    "driftline_label_drifted", GAUGE, "1 when the label distribution drifted (as for a feature).", section=_QUALITY
)

_INGEST = "Ingestion"
EVENTS = _metric(
    "driftline_events",
    COUNTER,
    "Inference logger events by outcome.",
    (*MODEL, "type", "outcome"),
    section=_INGEST,
    type=EVENT_TYPES,
    outcome=EVENT_OUTCOMES,
)
EVENTS_REJECTED = _metric(
    "driftline_events_rejected",
    COUNTER,
    "Events rejected, by reason.",
    ("reason",),
    section=_INGEST,
    reason=EVENT_REJECT_REASONS,
)
LONG_VALUES = _metric(
    "driftline_long_values",
    COUNTER,
    "Category values longer than 256 characters, binned as __other__ without being kept.",
    section=_INGEST,
)
EVALUATION_DURATION = _metric(
    "driftline_evaluation_duration_seconds",
    HISTOGRAM,
    "Duration of one drift evaluation of one model.",
    section=_INGEST,
    buckets=EVALUATION_BUCKETS,
)
LOG_OBJECTS = _metric(
    "driftline_log_objects",
    COUNTER,
    "Archived payload objects read from S3 in pull mode, by outcome.",
    (*MODEL, "outcome"),
    section=_INGEST,
    outcome=OBJECT_OUTCOMES,
)

_STATE = "Window state"
WINDOW_RESETS = _metric(
    "driftline_window_resets",
    COUNTER,
    "Windows that started empty: the profile changed (its bins are new) or the checkpoint was unreadable.",
    (*MODEL, "reason"),
    section=_STATE,
    reason=WINDOW_RESET_REASONS,
)
WINDOW_RESTORES = _metric(
    "driftline_window_restores",
    COUNTER,
    "Windows restored from their checkpoint when the profile loaded.",
    section=_STATE,
)
CHECKPOINT_TIMESTAMP = _metric(
    "driftline_checkpoint_last_success_timestamp_seconds",
    GAUGE,
    "Unix time the windows were last checkpointed to exporter.state_dir.",
    (),
    section=_STATE,
)
CHECKPOINT_ERRORS = _metric(
    "driftline_checkpoint_errors",
    COUNTER,
    "Checkpoints that could not be written (the previous one stays).",
    (),
    section=_STATE,
)

_FEEDBACK = "Ground truth"
LABELS = _metric(
    "driftline_labels",
    COUNTER,
    "Labels received, by outcome of joining them to stored predictions.",
    (*MODEL, "outcome"),
    section=_FEEDBACK,
    outcome=LABEL_OUTCOMES,
)
FEEDBACK_REJECTED = _metric(
    "driftline_feedback_rejected",
    COUNTER,
    "Feedback documents or label rows rejected, by reason.",
    ("reason",),
    section=_FEEDBACK,
    reason=FEEDBACK_REJECT_REASONS,
)
LABEL_DELAY = _metric(
    "driftline_label_delay_seconds",
    HISTOGRAM,
    "Time from a prediction to its label becoming known.",
    section=_FEEDBACK,
    buckets=LABEL_DELAY_BUCKETS,
)
PREDICTION_STORE_ROWS = _metric(
    "driftline_prediction_store_rows", GAUGE, "Predictions held for joining with labels.", section=_FEEDBACK
)
PREDICTION_STORE_CAPACITY = _metric(
    "driftline_prediction_store_capacity_rows", GAUGE, "The model's feedback.store_size.", section=_FEEDBACK
)
PREDICTION_STORE_EVICTIONS = _metric(
    "driftline_prediction_store_evictions",
    COUNTER,
    "Predictions dropped unlabelled: by size (overwritten) or ttl (older than feedback.ttl).",
    (*MODEL, "reason"),
    section=_FEEDBACK,
    reason=EVICTION_REASONS,
)
LABEL_OBJECTS = _metric(
    "driftline_label_objects",
    COUNTER,
    "Label files read from feedback.s3_labels in pull mode, by outcome.",
    (*MODEL, "outcome"),
    section=_FEEDBACK,
    outcome=OBJECT_OUTCOMES,
)

_WEBHOOK = "Retraining webhook"
RETRAIN_NOTIFICATIONS = _metric(
    "driftline_retrain_notifications",
    COUNTER,
    "Alerts and requests the retraining webhook handled, by outcome.",
    ("outcome",),
    component=WEBHOOK,
    section=_WEBHOOK,
    outcome=NOTIFICATION_OUTCOMES,
)
RETRAIN_ATTEMPTS = _metric(
    "driftline_retrain_dispatch_attempts",
    COUNTER,
    "Delivery attempts to the retraining target, by result (delivered, retry, rate_limited, failed).",
    ("target", "result"),
    component=WEBHOOK,
    section=_WEBHOOK,
    result=ATTEMPT_RESULTS,
)
RETRAIN_LATENCY = _metric(
    "driftline_retrain_dispatch_latency_seconds",
    HISTOGRAM,
    "Time from accepting a retraining to its successful delivery.",
    (),
    component=WEBHOOK,
    section=_WEBHOOK,
    buckets=DISPATCH_LATENCY_BUCKETS,
)
OUTBOX_DISPATCHES = _metric(
    "driftline_retrain_outbox_dispatches",
    GAUGE,
    "Dispatches in the outbox, by state.",
    ("state",),
    component=WEBHOOK,
    section=_WEBHOOK,
    state=OUTBOX_STATES,
)

OUTBOX_ERRORS = _metric(
    "driftline_retrain_outbox_errors",
    COUNTER,
    "Failed reads or writes of the outbox database (a full disk, a locked file); delivery retries every second.",
    (),
    component=WEBHOOK,
    section=_WEBHOOK,
)

_BUILD = "Build"
HTTP_REFUSED = _metric(
    "driftline_http_refused",
    COUNTER,
    "Requests refused outside an endpoint's own counters: slow or large headers, a slow body, no such endpoint or "
    "method, a report that cannot be built now.",
    ("reason",),
    component=f"{EXPORTER} and {WEBHOOK}",
    section=_BUILD,
    reason=HTTP_REFUSAL_REASONS,
)
BUILD_INFO = _metric(
    "driftline_build",
    INFO,
    "The driftline version and the Python it runs on (always 1).",
    ("version", "python_version"),
    component=f"{EXPORTER} and {WEBHOOK}",
    section=_BUILD,
)


def by_series() -> dict[str, Metric]:
    """Every sample name any catalogued metric exports (``_total``, ``_bucket``, …) → its metric."""
    return {sample: metric for metric in CATALOGUE for sample in metric.samples}
