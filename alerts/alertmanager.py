"""The Alertmanager 0.25 configuration: who hears about which driftline alert, and what is held back.

Routing: a critical alert labelled ``action="retrain"`` goes to the retraining webhook (never on resolve, rarely
repeated) and — ``continue: true`` — also to Slack; everything else goes to Slack only. Drift alerts are inhibited
while the exporter that measures them is down or the model itself fails, and a model's per-feature warnings are
inhibited while its dataset-drift alert fires. Secrets appear only as ``*_file`` paths.
"""

from __future__ import annotations

from typing import Any

from .catalogue import DRIFT_ALERTS, drift, exporter, quality, serving
from .config import AlertingConfig, DeploymentConfig

SLACK = "slack"
RETRAIN = "retrain-webhook"
NOBODY = "null"
GROUP_BY = ["alertname", "model", "model_namespace", "model_version"]  # a rollout's versions notify apart

SLACK_TITLE = (
    '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] '
    "{{ .CommonLabels.alertname }}{{ if .CommonLabels.model }} - "
    "{{ .CommonLabels.model_namespace }}/{{ .CommonLabels.model }}{{ end }}"
)
SLACK_TEXT = (
    "{{ range .Alerts }}*{{ .Annotations.summary }}* ({{ .Labels.severity }})\n"
    "{{ .Annotations.description }}\n"
    "{{ if .Annotations.report_url }}<{{ .Annotations.report_url }}|Drift report>\n{{ end }}{{ end }}"
)
SLACK_COLOR = (
    '{{ if eq .Status "firing" }}{{ if eq .CommonLabels.severity "critical" }}danger{{ else }}warning{{ end }}'
    "{{ else }}good{{ end }}"
)


def _slack_receiver(alerting: AlertingConfig) -> dict[str, Any]:
    assert alerting.slack is not None
    actions = [{"type": "button", "text": "Runbook", "url": "{{ (index .Alerts 0).Annotations.runbook_url }}"}]
    if alerting.grafana_url is not None:
        actions.append(
            {"type": "button", "text": "Dashboard", "url": "{{ (index .Alerts 0).Annotations.dashboard_url }}"}
        )
    return {
        "name": SLACK,
        "slack_configs": [
            {
                "api_url_file": alerting.slack.api_url_file,
                "channel": alerting.slack.channel,
                "send_resolved": True,
                "title": SLACK_TITLE,
                "text": SLACK_TEXT,
                "color": SLACK_COLOR,
                "actions": actions,
            }
        ],
    }


def _retrain_receiver(alerting: AlertingConfig) -> dict[str, Any]:
    assert alerting.retrain_webhook is not None
    return {
        "name": RETRAIN,
        "webhook_configs": [
            {
                "url": alerting.retrain_webhook.url,
                # a resolved drift must never start a retraining
                "send_resolved": False,
                "http_config": {
                    "authorization": {"type": "Bearer", "credentials_file": alerting.retrain_webhook.credentials_file}
                },
            }
        ],
    }


def _inhibit_rules() -> list[dict[str, Any]]:
    drifted = "|".join(alert.name for alert in DRIFT_ALERTS)
    measured = "|".join(alert.name for alert in (*DRIFT_ALERTS, *exporter.MEASURED))
    return [
        {
            # the exporter is down: what it last said about drift is not news. Only its own alerts: a pooled drift
            # alert (no instance) still stands on the replicas that are up and the rows the lost one had counted
            "source_matchers": [f'alertname="{exporter.EXPORTER_DOWN.name}"'],
            "target_matchers": [f'alertname=~"{measured}"'],
            "equal": ["job", "instance"],
        },
        {
            # the model is failing: that is the incident, not the drift of the few requests that got through
            "source_matchers": [f'alertname="{serving.SERVING_ERRORS.name}"'],
            "target_matchers": [f'alertname=~"{drifted}|{exporter.NO_TRAFFIC.name}"'],
            "equal": ["model", "model_namespace"],
        },
        {
            # the whole dataset drifted: the per-feature warnings are in its description already
            "source_matchers": [f'alertname="{drift.DATASET_DRIFT.name}"'],
            "target_matchers": [f'alertname="{drift.FEATURE_DRIFT.name}"'],
            "equal": ["model", "model_namespace"],
        },
        {
            # the model is measurably worse and a retraining is requested: the change point and the estimate that
            # foresaw it are the same story
            "source_matchers": [f'alertname="{quality.PERFORMANCE_DROP.name}"'],
            "target_matchers": [f'alertname=~"{quality.CONCEPT_DRIFT.name}|{quality.ESTIMATED_PERFORMANCE_DROP.name}"'],
            "equal": ["model", "model_namespace"],
        },
    ]


def alertmanager_config(config: DeploymentConfig) -> dict[str, Any]:
    alerting = config.alerting
    routing = alerting.routing
    receivers: list[dict[str, Any]] = []
    routes: list[dict[str, Any]] = []
    default = NOBODY
    if alerting.retrain_webhook is not None:
        receivers.append(_retrain_receiver(alerting))
        routes.append(
            {
                "receiver": RETRAIN,
                "matchers": ['severity="critical"', 'action="retrain"'],
                "group_by": GROUP_BY,
                "repeat_interval": str(alerting.retrain_webhook.repeat_interval),
                "continue": True,
            }
        )
    if alerting.slack is not None:
        receivers.append(_slack_receiver(alerting))
        # after a `continue` match Alertmanager does not fall back to the parent: Slack needs its own route
        routes.append({"receiver": SLACK, "matchers": ['alertname=~"Driftline.+"']})
        default = SLACK
    else:
        receivers.append({"name": NOBODY})  # routes nowhere until Slack is configured
    route: dict[str, Any] = {
        "receiver": default,
        "group_by": GROUP_BY,
        "group_wait": str(routing.group_wait),
        "group_interval": str(routing.group_interval),
        "repeat_interval": str(routing.repeat_interval),
    }
    if routes:
        route["routes"] = routes
    return {"route": route, "receivers": receivers, "inhibit_rules": _inhibit_rules()}
