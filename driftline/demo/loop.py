"""The monitor config and Prometheus config of the whole loop on one machine, with intervals short enough to watch:
the exporter evaluates every second, a drift alert fires after a few seconds, Alertmanager groups and repeats in
seconds. Used by ``driftline demo`` and the end-to-end tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .data import CATEGORICAL, LABEL, NUMERIC, OUTPUT

MODEL = "churn-model"
NAMESPACE = "default"
EXPORTER_JOB = "driftline-exporter"
WEBHOOK_JOB = "driftline-webhook"


def monitor_config(
    *,
    data: str,
    profile: str,
    webhook_url: str,
    slack_url_file: str,
    webhook_token_file: str,
    github_url: str,
    state: str,
    s3_endpoint: str | None = None,
    s3_logs: str | None = None,
    window: int = 500,
    exporter_url: str | None = None,
) -> dict[str, Any]:
    model: dict[str, Any] = {
        "name": MODEL,
        "namespace": NAMESPACE,
        "reference": {"data": data, "profile": profile},
        "features": [{"name": n, "type": "numeric"} for n in NUMERIC]
        + [{"name": n, "type": "categorical"} for n in CATEGORICAL],
        "outputs": [{"name": OUTPUT, "type": "numeric"}],
        "window": {"size": window, "max_age": "1h"},
        "drift": {"psi_threshold": 0.1, "alpha": 0.05, "drift_share": 0.5},
        # the churn label comes back a little later (in real life: weeks) on POST /feedback
        "target": {
            "name": LABEL,
            "task": "classification",
            "prediction": OUTPUT,
            "positive": 1,
            "min_samples": 200,
            "window": {"size": 2000, "max_age": "1h"},
        },
        "feedback": {"store_size": 20000, "ttl": "1h"},
    }
    if s3_logs:
        model["source"] = {"s3_logs": s3_logs, "poll": "1s"}
    return {
        "version": 1,
        "s3": {"endpoint_url": s3_endpoint, "region": "us-east-1"},
        "exporter": {"evaluate_every": "1s", "reference_check_every": "10s"},
        "models": [model],
        "alerting": {
            "runbook_url": "https://github.com/driftline/driftline/blob/main/docs/runbooks.md#{alertname_lower}",
            "grafana_url": "http://localhost:3000",
            **({"exporter_url": exporter_url} if exporter_url else {}),
            "exporter_job": EXPORTER_JOB,
            "slack": {"channel": "#ml-alerts", "api_url_file": slack_url_file},
            "retrain_webhook": {"url": webhook_url, "credentials_file": webhook_token_file, "repeat_interval": "4s"},
            # Slack hears once an hour about a still-firing alert; the retraining webhook every 4 s (it dedupes)
            "routing": {"group_wait": "1s", "group_interval": "2s", "repeat_interval": "1h"},
            "alerts": {
                "feature_drift": {"for": "3s", "keep_firing_for": "2m"},
                "dataset_drift": {"for": "3s", "keep_firing_for": "2m"},
                "prediction_drift": {"for": "3s", "keep_firing_for": "2m"},
                "performance_drop": {"for": "3s", "keep_firing_for": "2m"},
                "concept_drift": {"for": "3s", "keep_firing_for": "2m"},
                "exporter_down": {"for": "10s"},  # longer than Prometheus' first scrape after a start
                "no_traffic": {"for": "1h"},
                "reference_not_loaded": {"for": "5s"},
            },
        },
        "webhook": {
            "token": "env:DRIFTLINE_WEBHOOK_TOKEN",
            "cooldown": "1h",
            "state": state,
            "retry": {"initial_backoff": "200ms", "max_backoff": "2s"},
            "github": {
                "repository": "my-org/churn-model",
                "token": "env:GITHUB_TOKEN",
                "api_url": github_url,
                "timeout": "2s",
            },
        },
    }


def prometheus_config(
    rules: str, targets: Mapping[str, str | Sequence[str]], alertmanager_url: str | None
) -> dict[str, Any]:
    """Scrape every target (a job's URL, or its replicas' URLs) each second, evaluate the generated rules each second,
    alert to Alertmanager."""
    config: dict[str, Any] = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [rules],
        "scrape_configs": [
            {
                "job_name": job,
                "static_configs": [
                    {"targets": [url.removeprefix("http://") for url in ([urls] if isinstance(urls, str) else urls)]}
                ],
            }
            for job, urls in targets.items()
        ],
    }
    if alertmanager_url:
        config["alerting"] = {
            "alertmanagers": [{"static_configs": [{"targets": [alertmanager_url.removeprefix("http://")]}]}]
        }
    return config
