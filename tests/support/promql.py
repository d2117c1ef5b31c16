"""Checking generated dashboards against a real Prometheus: every query parses, names only metrics something defines,
and returns data; waiting for a rule group's evaluations."""

from __future__ import annotations

import contextlib
import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

import drift
from alerts import promql as q
from alerts.webhook.metrics import RETRAIN_NOTIFICATIONS
from drift import catalogue as m

from .fakes import PrometheusProcess, wait

_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (strings, matchers, ranges and grouping clauses removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\boffset\s+[0-9][0-9a-z]*", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        if text[match.end() :].lstrip().startswith("(") or match.group(0).lower() in _KEYWORDS:
            continue  # a function or an aggregation
        names.add(match.group(0))
    return names


def dashboard_queries(dashboard: dict[str, Any], variables: dict[str, str]) -> list[tuple[str, str]]:
    """(where, expr) for every panel target, annotation and variable query, with Grafana variables filled in."""

    def fill(expr: str) -> str:
        for name, value in sorted(variables.items(), key=lambda kv: -len(kv[0])):
            expr = expr.replace(f"${name}", value)
        assert "$" not in expr.replace('"$1"', ""), f"unfilled variable in {expr}"
        return expr

    queries = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            queries.append((f"{dashboard['uid']}: {panel['title']} ({target['refId']})", fill(target["expr"])))
    for annotation in dashboard["annotations"]["list"]:
        if "expr" in annotation:
            queries.append((f"{dashboard['uid']}: annotation {annotation['name']}", fill(annotation["expr"])))
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            inner = re.fullmatch(r"label_values\((.*), *\w+\)", variable["query"])
            assert inner, variable["query"]
            queries.append((f"{dashboard['uid']}: variable {variable['name']}", fill(inner.group(1))))
    return queries


def exposed_names(exposition: str) -> set[str]:
    """Every sample name the exporter defines, including families that have no sample yet."""
    names = set()
    for family in text_string_to_metric_families(exposition):
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}.get(family.type, [""])
        names |= {family.name + suffix for suffix in suffixes}
        names |= {sample.name for sample in family.samples}
    return names


def prometheus_config(out: Path, targets: dict[str, str]) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(out / "prometheus" / "rules.yml")],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [url.removeprefix("http://")]}]}
            for job, url in targets.items()
        ],
    }


# model_version: Grafana's "All" (allValue .*), which also matches a model whose versions are not told apart
VARIABLES = {"model": "churn-model", "model_namespace": "default", "model_version": ".*", "feature": ".*",
             "metric": "accuracy", "__rate_interval": "1m", "__range": "1h", "window": "1h"}  # fmt: skip

# Empty without systems this test does not run: serving metrics (no InferenceService), S3 pull mode, firing alerts.
WITHOUT_SERVING = r"driftline-serving: (Request rate \(A\)|Error|Latency)|S3 log objects|annotation "


def check_dashboards(
    prometheus: PrometheusProcess,
    out: Path,
    config: drift.MonitorConfig,
    targets: dict[str, str],
    allow_empty: str | None = WITHOUT_SERVING,
    cluster: str | None = None,
) -> None:
    """Every dashboard query parses, uses only metric names that exist, and returns data — except the queries
    matching ``allow_empty`` (None: every query must return data). ``cluster``: the value of ``$cluster``."""
    dashboards = {p.name: json.loads(p.read_text()) for p in (out / "dashboards").glob("*.json")}
    groups = yaml.safe_load((out / "prometheus" / "rules.yml").read_text())["groups"]
    rule_names = {r["record"] for g in groups for r in g["rules"] if "record" in r}

    def has(expr: str) -> bool:
        return bool(prometheus.query(expr).get("data", {}).get("result"))

    wait(
        lambda: (
            has(m.FEATURE_PSI.series)
            and has(m.PREDICTION_PSI.series)
            and has(q.EVENTS_RATE)
            and has(q.FEATURES_DRIFTED)
        ),
        60,
        "drift metrics and recording rules in Prometheus",
    )
    wait(
        lambda: has(f"increase({RETRAIN_NOTIFICATIONS.series}[1m])"),
        120,
        "the webhook's counters in Prometheus",
    )
    known = {"up", "ALERTS"} | rule_names
    for url in targets.values():
        known |= exposed_names(requests.get(url + "/metrics", timeout=5).text)
    known |= {config.alerting.serving.requests_metric, config.alerting.serving.latency_metric + "_bucket"}
    variables = {**VARIABLES, "window": str(config.alerting.pooling.windows[0])}
    if cluster is not None:
        variables["cluster"] = cluster
    assert prometheus.query("sum(driftline_feature_psi")["status"] == "error"  # the check below is real
    queries = [(name, where, expr) for name, d in dashboards.items() for where, expr in dashboard_queries(d, variables)]
    assert len(queries) >= 50
    for _, where, expr in queries:
        answer = prometheus.query(expr)
        assert answer["status"] == "success", f"{where}: {expr}: {answer.get('error')}"
        unknown = metric_names(expr) - known
        assert not unknown, f"{where} uses metrics nothing defines: {unknown}"
    allowed = re.compile(allow_empty) if allow_empty else None

    def unanswered() -> list[tuple[str, str]]:
        empty = [(name, where) for name, where, expr in queries if not prometheus.query(expr)["data"]["result"]]
        return [e for e in empty if not (allowed and allowed.search(e[1]))]

    # A rate() answers from its second sample of a series: on a loaded machine some series are one scrape behind.
    with contextlib.suppress(TimeoutError):
        wait(lambda: not unanswered(), 60, "every dashboard query to return data")
    assert unanswered() == []


def last_group_evaluation(prometheus: PrometheusProcess, group: str) -> float:
    """When the last complete evaluation of rule group ``group`` started (Unix time; 0 before the first)."""
    groups = requests.get(prometheus.url + "/api/v1/rules", timeout=30).json()["data"]["groups"]
    (found,) = [g for g in groups if g["name"] == group]
    stamp = str(found["lastEvaluation"])[:26].rstrip("Z")  # RFC 3339 with nanoseconds; microseconds will do
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp() if not stamp.startswith("0001") else 0.0


def wait_for_evaluation(prometheus: PrometheusProcess, group: str, after: float | None = None) -> None:
    """Until rule group ``group`` has completed an evaluation that started after ``after`` (default: now)."""
    start = time.time() if after is None else after
    wait(lambda: last_group_evaluation(prometheus, group) > start, 60, f"an evaluation of {group}")
