"""Prometheus recording and alerting rules, generated from the monitor config (monitoring-mixin conventions).

``rule_groups(config)`` returns plain data (the ``groups:`` list of a rules file); rendering to YAML and wrapping
into a ``PrometheusRule`` happen at the edge. The alerts are those of :mod:`alerts.catalogue`: CamelCase names with
a ``Driftline`` prefix, each with ``severity``, a static ``summary``, a templated ``description`` and a
``runbook_url``.
"""

from __future__ import annotations

from typing import Any

from drift import catalogue as m

from . import pooling
from . import promql as q
from .catalogue import GROUPS, AlertDefinition
from .catalogue.serving import SERVING_LATENCY
from .config import DeploymentConfig


def recording_rules(config: DeploymentConfig) -> list[dict[str, Any]]:
    rejected = f"sum by (job) (rate({m.EVENTS_REJECTED.series}[5m]))"
    kept = f'sum by (job) (rate({m.EVENTS.series}{{outcome!="rejected"}}[5m]))'
    return [
        {
            "record": q.FEATURES_DRIFTED,
            "expr": f"sum by ({q.MODEL_LABELS}, model_version) ({m.FEATURE_DRIFTED.series})",
        },
        {"record": q.EVENTS_RATE, "expr": f"sum by ({q.MODEL_LABELS}, type, outcome) (rate({m.EVENTS.series}[5m]))"},
        {"record": q.REJECTED_RATE, "expr": f"sum by (job, reason) (rate({m.EVENTS_REJECTED.series}[5m]))"},
        # every event is either rejected or kept; "or ... * 0" keeps the ratio defined when nothing was kept
        {"record": q.REJECTED_RATIO, "expr": f"{rejected} / ({rejected} + ({kept} or {rejected} * 0))"},
    ]


def serving_recording_rules(config: DeploymentConfig) -> list[dict[str, Any]]:
    serving = config.alerting.serving
    rules: list[dict[str, Any]] = [
        {"record": q.SERVING_REQUESTS, "expr": q.serving_requests(serving)},
        {"record": q.SERVING_ERRORS, "expr": q.serving_requests(serving, errors_only=True)},
        {
            "record": q.SERVING_ERROR_RATIO,
            "expr": f"({q.SERVING_ERRORS} or {q.SERVING_REQUESTS} * 0) / {q.SERVING_REQUESTS}",
        },
        {"record": q.SERVING_LATENCY_BUCKETS, "expr": q.serving_latency_buckets(serving)},
    ]
    rules += [
        {
            "record": q.SERVING_LATENCY,
            "expr": q.serving_latency_quantile(serving, quantile),
            "labels": {"quantile": q.quantile_label(quantile)},
        }
        for quantile in q.latency_quantiles(SERVING_LATENCY.settings(config).quantile)
    ]
    return rules


def alerting_rules(config: DeploymentConfig, alerts: tuple[AlertDefinition, ...]) -> list[dict[str, Any]]:
    return [alert.rule(config) for alert in alerts if alert.settings(config).enabled]


def rule_groups(config: DeploymentConfig) -> list[dict[str, Any]]:
    """The ``groups`` of the rules file. Groups evaluate independently; an alert reading a recording rule of another
    group sees it at most one evaluation interval late."""
    groups = [
        {"name": "driftline.rules", "rules": recording_rules(config)},
        {"name": "driftline-serving.rules", "rules": serving_recording_rules(config)},
        *pooling.rule_groups(config),
        *({"name": name, "rules": alerting_rules(config, alerts)} for name, alerts in GROUPS),
    ]
    return [group for group in groups if group["rules"]]
