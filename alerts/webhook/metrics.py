"""The retraining webhook's metrics, declared in driftline's metric catalogue (:mod:`drift.catalogue`) like every
other: the webhook fills them, the webhook's alerts and the *Exporter* dashboard read them, ``docs/metrics.md`` lists
them. They live with the webhook: a notebook never needs them."""

from __future__ import annotations

from drift.catalogue import COUNTER, GAUGE, HISTOGRAM, WEBHOOK, declare

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
ATTEMPT_RESULTS = ("delivered", "retry", "rate_limited", "failed")
OUTBOX_STATES = ("pending", "sending", "delivered", "failed")
# seconds
DISPATCH_LATENCY_BUCKETS = (0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 6 * 3600.0, 86400.0)

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
