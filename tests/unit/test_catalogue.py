"""The metric catalogue is the one source of metric names: the exporter and the webhook export exactly what it
declares (names, types, help, labels), every declared metric is exported by someone, and the generated rules and
dashboards query no name that is not in it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

import drift
from alerts.loader import load_deployment, parse_deployment
from alerts.webhook.app import WebhookApp
from alerts.webhook.service import WebhookService
from drift import catalogue
from driftline.generate import generate
from exporters.app import ExporterApp
from exporters.events import InferenceEvent
from exporters.service import ExporterService
from tests.support import ENV, REPO, webhook_config

TYPES = {"counter": catalogue.COUNTER, "gauge": catalogue.GAUGE, "histogram": catalogue.HISTOGRAM}


def labelled_model_config(
    tmp_path: Path, target: bool = True, pull: bool = False, bin_counts: bool = True, multivariate: bool = False
) -> drift.MonitorConfig:
    """20 numeric features and one output, a target when asked, pull mode for payloads and labels when asked,
    multivariate drift when asked."""
    rng = np.random.default_rng(0)
    n = 2000
    frame = pd.DataFrame({f"f{i:02d}": rng.normal(size=n) for i in range(20)})
    frame["score"] = rng.random(n)
    frame["churned"] = (rng.random(n) < frame["score"]).astype(int)
    frame.to_csv(tmp_path / "train.csv", index=False)
    model: dict[str, Any] = {
        "name": "churn-model",
        "reference": {"data": str(tmp_path / "train.csv"), "profile": str(tmp_path / f"profile-{target}.json")},
        "features": [{"name": f"f{i:02d}", "type": "numeric"} for i in range(20)],
        "outputs": [{"name": "score", "type": "numeric"}],
    }
    if target:
        model["target"] = {"name": "churned", "task": "classification", "positive": 1, "min_samples": 10}
    if multivariate:
        model["multivariate"] = {"reference_rows": 1000}
    if pull:
        model["source"] = {"s3_logs": "s3://bucket/logs"}
        model["feedback"] = {"s3_labels": "s3://bucket/labels"}
    config = parse_deployment({"version": 1, "models": [model], "exporter": {"bin_counts": bin_counts}})
    drift.profile_from_source(config.models[0]).save(config.models[0].reference.profile)
    return config


def evaluated_exporter(config: drift.MonitorConfig) -> ExporterApp:
    """An exporter whose every per-model family has samples: traffic, labels, one evaluation."""
    service = ExporterService(config)
    app = ExporterApp(service)
    service.refresh_references()
    rng = np.random.default_rng(1)
    for i in range(300):
        row = rng.normal(size=20).tolist()
        service.intake.event(InferenceEvent("request", "churn-model", "default", f"id-{i}", {"instances": [row]}))
        prediction = {"predictions": [float(rng.random())]}
        service.intake.event(InferenceEvent("response", "churn-model", "default", f"id-{i}", prediction))
    if config.models[0].target is not None:
        labels = [{"id": f"id-{i}", "label": int(rng.random() < 0.3)} for i in range(300)]
        body = json.dumps({"model": "churn-model", "labels": labels}).encode()
        assert service.feedback({}, body)[0] == 202
    service.evaluate_all()
    return app


def exported(registry: Any) -> dict[str, Any]:
    """The ``driftline_*`` families of one exposition, by name."""
    text = generate_latest(registry).decode()
    return {f.name: f for f in text_string_to_metric_families(text) if f.name.startswith("driftline_")}


def check_against_catalogue(families: dict[str, Any]) -> set[str]:
    """Every exported family is declared as exported; returns the declared names seen."""
    declared = {metric.name: metric for metric in catalogue.CATALOGUE}
    seen = set()
    for name, family in families.items():
        metric = declared.get(name) or declared.get(name.removesuffix("_info"))
        assert metric is not None, f"{name} is exported but not in drift/catalogue/"
        seen.add(metric.name)
        expected_type = "gauge" if metric.type == catalogue.INFO else metric.type
        assert TYPES.get(family.type, family.type) == expected_type, name
        assert family.documentation == metric.help, name
        for sample in family.samples:
            extra = {"le"} if metric.type == catalogue.HISTOGRAM else set()
            assert set(sample.labels) - extra == set(metric.labels), (name, sample.labels)
            for label, values in metric.label_values.items():
                assert sample.labels[label] in values, (name, label, sample.labels[label])
    return seen


@pytest.fixture(scope="module")
def exporter_families(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    config = labelled_model_config(tmp_path_factory.mktemp("catalogue"), pull=True, multivariate=True)
    return exported(evaluated_exporter(config).registry)


def test_the_exporter_exports_only_catalogued_metrics_as_declared(exporter_families: dict[str, Any]) -> None:
    seen = check_against_catalogue(exporter_families)
    exporter_metrics = {m.name for m in catalogue.CATALOGUE if m.served_by != catalogue.WEBHOOK}
    assert seen == exporter_metrics, f"declared but never exported: {exporter_metrics - seen}"


def test_the_webhook_exports_only_catalogued_metrics_as_declared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    service = WebhookService(load_deployment(webhook_config(tmp_path, "http://127.0.0.1:9")))
    app = WebhookApp(service)
    seen = check_against_catalogue(exported(app.registry))
    webhook_metrics = {m.name for m in catalogue.CATALOGUE if m.served_by != catalogue.EXPORTER}
    assert seen == webhook_metrics


def test_a_metric_outside_the_catalogue_is_caught(exporter_families: dict[str, Any]) -> None:
    from prometheus_client.core import GaugeMetricFamily

    rogue = GaugeMetricFamily("driftline_rogue_metric", "Not declared anywhere.", labels=["model"])
    with pytest.raises(AssertionError, match=r"not in drift/catalogue/"):
        check_against_catalogue({**exporter_families, "driftline_rogue_metric": rogue})


def test_series_per_model_match_the_documented_cardinality(tmp_path: Path) -> None:
    """docs/metrics.md's series for 20 numeric features and one output — with and without a target and the bin
    counts — are what a real exporter serves (the figures follow the registered statistics)."""
    text = " ".join((REPO / "docs" / "metrics.md").read_text().split())
    found = re.search(
        r"exports (\d+) `driftline_\*` series, (\d+) with a target; (\d+) and (\d+) with `exporter.bin_counts`",
        text,
    )
    assert found is not None
    documented = [int(n) for n in found.groups()]
    for (target, bins), expected in zip(
        ((False, False), (True, False), (False, True), (True, True)), documented, strict=True
    ):
        config = labelled_model_config(tmp_path, target=target, bin_counts=bins)
        families = exported(evaluated_exporter(config).registry)
        assert sum(len(f.samples) for f in families.values()) == expected, (target, bins)


NAME = re.compile(r"(?<![\w:-])driftline_[a-z0-9_]+")


def unknown_names(text: str, recorded: set[str]) -> set[str]:
    """Metric names in ``text`` (PromQL, Go templates, dashboard JSON) that neither the catalogue nor a recording
    rule defines."""
    known = set(catalogue.by_series()) | recorded
    return {name for name in NAME.findall(text) if name not in known}


@pytest.mark.parametrize("config_path", ["examples/monitor.yaml", *sorted(
    str(p.relative_to(REPO)) for p in (REPO / "tests" / "fixtures" / "configs").glob("*.yaml"))])  # fmt: skip
def test_rules_and_dashboards_query_only_catalogued_names(config_path: str) -> None:
    files = generate(load_deployment(REPO / config_path))
    rules = next(text for name, text in files.items() if name.endswith("prometheus/rules.yml"))
    recorded = set(re.findall(r"record: (\S+)", rules))
    queried = set()
    for name, text in files.items():
        if name.endswith((".yml", ".yaml", ".json")) and "alertmanager" not in name:
            assert unknown_names(text, recorded) == set(), name
            queried |= set(NAME.findall(text))
    assert {"driftline_feature_psi", "driftline_events_total", "driftline_retrain_outbox_dispatches"} <= queried


def test_an_unknown_name_in_a_query_is_caught() -> None:
    expr = 'sum(rate(driftline_events_total[5m])) / driftline_evnts_rejected_total{job="driftline-exporter"}'
    assert unknown_names(expr, set()) == {"driftline_evnts_rejected_total"}
    assert unknown_names("model:driftline_feature_drifted:sum", set()) == set()
