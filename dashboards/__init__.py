"""Grafana dashboards built with grafanalib from the monitor config: model drift, serving health, the exporter.

``build_dashboards(config)`` returns ``{file name: dashboard JSON}``; nothing here writes files.
"""

from __future__ import annotations

from typing import Any

from alerts.config import DeploymentConfig


def build_dashboards(config: DeploymentConfig) -> dict[str, dict[str, Any]]:
    from . import exporter, model_drift, serving
    from .clusters import for_clusters

    built = {
        "driftline-model-drift.json": model_drift.build(config),
        "driftline-serving.json": serving.build(config),
        "driftline-exporter.json": exporter.build(config),
    }
    label = config.dashboards.cluster_label
    return {name: for_clusters(dashboard, label) for name, dashboard in built.items()} if label else built
