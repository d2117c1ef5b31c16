"""The retraining webhook's metrics, and those both services export."""

from __future__ import annotations

from .definition import (
    ATTEMPT_RESULTS,
    COUNTER,
    DISPATCH_LATENCY_BUCKETS,
    EXPORTER,
    GAUGE,
    HISTOGRAM,
    HTTP_REFUSAL_REASONS,
    INFO,
    NOTIFICATION_OUTCOMES,
    OUTBOX_STATES,
    WEBHOOK,
    declare,
)

_WEBHOOK = "Retraining webhook"
RETRAIN_NOTIFICATIONS = declare(
    "driftline_retrain_notifications",
    COUNTER,
    "Alerts and requests the retraining webhook handled, by outcome.",
    ("outcome",),
    served_by=WEBHOOK,
    section=_WEBHOOK,
    outcome=NOTIFICATION_OUTCOMES,
)
RETRAIN_ATTEMPTS = declare(
    "driftline_retrain_dispatch_attempts",
    COUNTER,
    "Delivery attempts to the retraining target, by result (delivered, retry, rate_limited, failed).",
    ("target", "result"),
    served_by=WEBHOOK,
    section=_WEBHOOK,
    result=ATTEMPT_RESULTS,
)
RETRAIN_LATENCY = declare(
    "driftline_retrain_dispatch_latency_seconds",
    HISTOGRAM,
    "Time from accepting a retraining to its successful delivery.",
    (),
    served_by=WEBHOOK,
    section=_WEBHOOK,
    buckets=DISPATCH_LATENCY_BUCKETS,
)
OUTBOX_DISPATCHES = declare(
    "driftline_retrain_outbox_dispatches",
    GAUGE,
    "Dispatches in the outbox, by state.",
    ("state",),
    served_by=WEBHOOK,
    section=_WEBHOOK,
    state=OUTBOX_STATES,
)

OUTBOX_ERRORS = declare(
    "driftline_retrain_outbox_errors",
    COUNTER,
    "Failed reads or writes of the outbox database (a full disk, a locked file); delivery retries every second.",
    (),
    served_by=WEBHOOK,
    section=_WEBHOOK,
)

_BUILD = "Build"
HTTP_REFUSED = declare(
    "driftline_http_refused",
    COUNTER,
    "Requests refused outside an endpoint's own counters: slow or large headers, a slow body, no such endpoint or "
    "method, a report that cannot be built now.",
    ("reason",),
    served_by=f"{EXPORTER} and {WEBHOOK}",
    section=_BUILD,
    reason=HTTP_REFUSAL_REASONS,
)
BUILD_INFO = declare(
    "driftline_build",
    INFO,
    "The driftline version and the Python it runs on (always 1).",
    ("version", "python_version"),
    served_by=f"{EXPORTER} and {WEBHOOK}",
    section=_BUILD,
)
