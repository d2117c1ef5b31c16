"""The demo's live terminal view (rich): what the exporter measures, what Prometheus fires, what Slack and GitHub
received. Built from the same endpoints a user would look at — the exporter's ``/metrics`` and Prometheus' API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text


@dataclass
class Snapshot:
    """One look at the loop."""

    phase: str = ""
    elapsed: float = 0.0
    features: dict[str, dict[str, float]] = field(default_factory=dict)
    outputs: dict[str, dict[str, float]] = field(default_factory=dict)
    drift_share: float | None = None
    dataset_drifted: bool = False
    window: float = 0.0
    alerts: list[tuple[str, str, str]] = field(default_factory=list)  # (alertname, state, detail)
    slack: list[str] = field(default_factory=list)
    dispatches: list[str] = field(default_factory=list)
    quality: dict[str, float] = field(default_factory=dict)  # accuracy, reference, labelled, dropped, concept


def read_exporter(url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    text = requests.get(url + "/metrics", timeout=5).text
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            # an empty label value is no label, as Prometheus stores it (model_version of an unversioned model)
            key = tuple(sorted((k, v) for k, v in sample.labels.items() if v))
            samples.setdefault(sample.name, {})[key] = sample.value
    return samples


def fill_from_exporter(snapshot: Snapshot, metrics: dict[str, dict[tuple[tuple[str, str], ...], float]]) -> None:
    for name, key in (
        ("psi", "driftline_feature_psi"),
        ("ks", "driftline_feature_ks_pvalue"),
        ("chi2", "driftline_feature_chi2_pvalue"),
        ("drifted", "driftline_feature_drifted"),
    ):
        for labels, value in metrics.get(key, {}).items():
            snapshot.features.setdefault(dict(labels)["feature"], {})[name] = value
    for name, key in (
        ("psi", "driftline_prediction_psi"),
        ("pvalue", "driftline_prediction_psi_pvalue"),
        ("drifted", "driftline_prediction_drifted"),
    ):
        for labels, value in metrics.get(key, {}).items():
            snapshot.outputs.setdefault(dict(labels)["output"], {})[name] = value
    share = list(metrics.get("driftline_dataset_drift_share", {}).values())
    snapshot.drift_share = share[0] if share else None
    snapshot.dataset_drifted = any(v == 1 for v in metrics.get("driftline_dataset_drifted", {}).values())
    snapshot.window = sum(metrics.get("driftline_window_samples", {}).values())
    for name, key, metric in (
        ("accuracy", "driftline_performance", "accuracy"),
        ("reference", "driftline_reference_performance", "accuracy"),
        ("labelled", "driftline_labelled_window_samples", None),
        ("dropped", "driftline_performance_dropped", None),
        ("concept", "driftline_concept_drift_detected", None),
    ):
        for labels, value in metrics.get(key, {}).items():
            if metric is None or dict(labels).get("metric") == metric:
                snapshot.quality[name] = value


def read_alerts(prometheus_url: str) -> list[tuple[str, str, str]]:
    answer: dict[str, Any] = requests.get(prometheus_url + "/api/v1/alerts", timeout=5).json()
    alerts = []
    for alert in answer["data"]["alerts"]:
        labels = alert["labels"]
        detail = labels.get("feature") or labels.get("output") or labels.get("model", "")
        alerts.append((labels["alertname"], alert["state"], detail))
    return sorted(alerts)


def _p(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1e}" if value < 0.001 else f"{value:.3f}"


def render(snapshot: Snapshot) -> Group:
    header = Text.assemble(
        ("driftline demo", "bold"),
        f"  ·  {snapshot.elapsed:5.0f} s  ·  traffic: ",
        (snapshot.phase, "bold yellow" if "drift" in snapshot.phase else "bold green"),
        f"  ·  window {snapshot.window:,.0f} rows",
    )
    table = Table(expand=True, title="drift per feature (exporter /metrics)", title_justify="left")
    for column in ("feature", "PSI", "KS p-value", "chi² p-value", "drifted"):
        table.add_column(column, justify="left" if column == "feature" else "right")
    for name, stats in sorted(snapshot.features.items(), key=lambda kv: -kv[1].get("psi", 0.0)):
        drifted = stats.get("drifted") == 1
        table.add_row(
            name,
            _p(stats.get("psi")),
            _p(stats.get("ks")),
            _p(stats.get("chi2")),
            Text("DRIFT", style="bold red") if drifted else Text("ok", style="green"),
        )
    for name, stats in snapshot.outputs.items():
        drifted = stats.get("drifted") == 1
        table.add_row(
            f"[i]{name}[/i] (output)",
            _p(stats.get("psi")),
            f"PSI p {_p(stats.get('pvalue'))}",
            "",
            Text("DRIFT", style="bold red") if drifted else Text("ok", style="green"),
        )
    share = "—" if snapshot.drift_share is None else f"{snapshot.drift_share:.0%}"
    verdict = (
        Text("DATASET DRIFTED", style="bold white on red")
        if snapshot.dataset_drifted
        else Text("no dataset drift", style="green")
    )
    summary = Text.assemble("drift share ", (share, "bold"), "  ·  ", verdict)
    quality = snapshot.quality
    if "accuracy" in quality:
        dropped = quality.get("dropped") == 1
        summary.append_text(
            Text.assemble(
                "  ·  accuracy on late labels ",
                (f"{quality['accuracy']:.3f}", "bold"),
                f" (reference {quality.get('reference', 0.0):.3f}, {quality.get('labelled', 0.0):,.0f} labelled)  ",
                Text("PERFORMANCE DROP", style="bold white on red") if dropped else Text("no drop", style="green"),
            )
        )
    alerts = Table(expand=True, title="alerts (Prometheus)", title_justify="left")
    alerts.add_column("alert")
    alerts.add_column("state")
    alerts.add_column("about")
    for name, state, detail in snapshot.alerts or [("(none)", "", "")]:
        style = "bold red" if state == "firing" else "yellow" if state == "pending" else ""
        alerts.add_row(name, Text(state, style=style), detail)
    slack = Panel("\n".join(snapshot.slack[-5:]) or "(nothing yet)", title="Slack #ml-alerts", title_align="left")
    github = Panel(
        "\n".join(snapshot.dispatches) or "(nothing yet)", title="GitHub repository_dispatch", title_align="left"
    )
    return Group(header, table, summary, alerts, slack, github)
