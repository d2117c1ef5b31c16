"""How a metric is declared: its type, labels and the label values known in advance."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

GAUGE, COUNTER, HISTOGRAM, INFO = "gauge", "counter", "histogram", "info"
EXPORTER, WEBHOOK = "exporter", "webhook"
MODEL = ("model", "model_namespace")
# A model's drift is per serving version: "" (no label in Prometheus) for a model whose versions are not told apart.
VERSIONED = (*MODEL, "model_version")

# Label values known in advance: counters are created with every combination at start, so they export zeros and
# rate() or an alert has a series to read before the first event.
EVENT_TYPES = ("request", "response")
EVENT_OUTCOMES = ("accepted", "sampled_out", "rejected")
EVENT_REJECT_REASONS = (
    "bad_json",
    "bad_version",
    "binary_payload",
    "missing_attributes",
    "over_limit",
    "shape_mismatch",
    "too_large",
    "unknown_model",
    "unsupported_payload",
    "unsupported_type",
)
# A canary's outputs against the stable version's: the version compared and the one it is compared with.
COMPARED = (*MODEL, "model_version", "baseline_version", "output")
UNVERSIONED_REASONS = ("no_version", "too_many_versions", "no_response", "no_reference")
# KServe's components (Ce-Component) other than exporter.component, whose events are counted and not windowed
OTHER_COMPONENTS = ("predictor", "transformer", "explainer", "other")
# Data quality (drift.data_quality): what each value of a feature was, and the payload errors that made one missing
VALUE_QUALITIES = ("valid", "missing", "out_of_range", "unseen_category")
PAYLOAD_ERRORS = ("type", "absent")
LABEL_OUTCOMES = ("joined", "duplicate", "unmatched", "sampled_out")
FEEDBACK_REJECT_REASONS = (
    "bad_json",
    "binary_payload",
    "invalid_label",
    "missing_attributes",
    "no_target",
    "over_limit",
    "too_large",
    "unknown_model",
    "unsupported_type",
)
EVICTION_REASONS = ("size", "ttl")
OBJECT_OUTCOMES = ("processed", "quarantined")
MODEL_FILE_STATES = ("loaded", "refused")
MODEL_FILE_OUTCOMES = ("applied", "refused")
WINDOW_RESET_REASONS = ("new_profile", "unreadable_checkpoint", "layout_changed")
# Refused before or outside an endpoint's own counters: the connection, routing, and GET /report.
HTTP_REFUSAL_REASONS = ("header_timeout", "headers_too_large", "body_timeout", "not_found", "method_not_allowed",
                        "unknown_model", "empty_window", "busy")  # fmt: skip

# Histogram buckets (seconds).
EVALUATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Ground truth arrives from seconds (clicks) to months (churn).
LABEL_DELAY_BUCKETS = (60.0, 600.0, 3600.0, 6 * 3600.0, 86400.0, 3 * 86400.0, 7 * 86400.0, 14 * 86400.0,
                       30 * 86400.0, 90 * 86400.0)  # fmt: skip


@dataclass(frozen=True)
class Metric:
    """One metric: how it is declared to the client library and documented."""

    name: str  # as declared: a counter without ``_total``, an info metric without ``_info``
    type: str
    help: str
    labels: tuple[str, ...]
    served_by: str  # the service that serves it: exporter, webhook, or both
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


def declare(
    name: str,
    type_: str,
    help_: str,
    labels: tuple[str, ...] = MODEL,
    *,
    served_by: str = EXPORTER,
    section: str,
    buckets: tuple[float, ...] = (),
    **label_values: tuple[str, ...],
) -> Metric:
    metric = Metric(name, type_, help_, labels, served_by, section, buckets, MappingProxyType(label_values))
    assert all(label in labels for label in label_values), name
    CATALOGUE.append(metric)
    return metric
