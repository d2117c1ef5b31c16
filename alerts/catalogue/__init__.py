"""The alert catalogue: every alert driftline generates, each defined once — its rule, the promtool test scenario
generated with it and its runbook section (``docs/runbooks.md`` is generated from them).

``GROUPS`` is the order of the rule groups in the generated rules file.
"""

from __future__ import annotations

from . import data_quality, drift, exporter, quality, serving, webhook
from .definition import MODEL_DRIFT_DASHBOARD, SELF_DASHBOARD, SERVING_DASHBOARD, AlertDefinition, report_link

GROUPS: tuple[tuple[str, tuple[AlertDefinition, ...]], ...] = (
    ("driftline.alerts", (*drift.ALERTS, *quality.ALERTS, *data_quality.ALERTS)),
    ("driftline-exporter.alerts", exporter.ALERTS),
    ("driftline-serving.alerts", serving.ALERTS),
    ("driftline-webhook.alerts", webhook.ALERTS),
)
ALERTS: tuple[AlertDefinition, ...] = tuple(alert for _, alerts in GROUPS for alert in alerts)
# Alerts about the model's data and quality, as opposed to driftline's or the model server's health.
DRIFT_ALERTS = (*drift.ALERTS, *quality.ALERTS, *data_quality.ALERTS)

__all__ = [
    "ALERTS",
    "DRIFT_ALERTS",
    "GROUPS",
    "MODEL_DRIFT_DASHBOARD",
    "SELF_DASHBOARD",
    "SERVING_DASHBOARD",
    "AlertDefinition",
    "report_link",
]
