"""`driftline generate` output against the real tools: promtool, amtool, Alertmanager 0.25 and Prometheus 2.42.

* promtool lints the rules and runs the generated unit tests; amtool validates the Alertmanager config and walks its
  routing tree;
* a real Alertmanager, with Slack and the retraining webhook played by recording HTTP servers, proves inhibition
  and delivery;
* a real Prometheus scraping a real exporter, with the generated rules loaded, evaluates every dashboard query: each
  must parse, use only metric names that exist, and — on the model-drift dashboard — return data.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.loader import load_deployment
from driftline.generate import generate, write_files
from tests.support import (
    HANG_TIMEOUT,
    REPO,
    AlertmanagerProcess,
    ExporterProcess,
    PrometheusProcess,
    Sink,
    WebhookProcess,
    config_dict,
    label_entries,
    labelled_churn_frame,
    post_labels,
    run_cli,
    send_predictions,
    send_traffic,
    wait,
    webhook_config,
)
from tests.support.promql import VARIABLES, check_dashboards, dashboard_queries, metric_names, prometheus_config

CONFIGS = [
    REPO / "examples" / "monitor.yaml",
    REPO / "tests" / "fixtures" / "configs" / "multi-model.yaml",
    REPO / "tests" / "fixtures" / "configs" / "minimal.yaml",
    REPO / "tests" / "fixtures" / "configs" / "replicas.yaml",
]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=HANG_TIMEOUT)


def generated(config_path: Path, out: Path) -> Path:
    write_files(generate(load_deployment(config_path)), out)
    return out


@pytest.mark.parametrize("config_path", CONFIGS, ids=lambda p: p.stem)
def test_promtool_and_amtool_accept_the_output(config_path: Path, tmp_path: Path) -> None:
    out = generated(config_path, tmp_path / "out")
    lint = run("promtool", "check", "rules", "--lint=all", "--lint-fatal", str(out / "prometheus" / "rules.yml"))
    assert lint.returncode == 0, lint.stdout + lint.stderr
    unit = run("promtool", "test", "rules", "rules_test.yml", cwd=out / "prometheus")
    assert unit.returncode == 0, unit.stdout + unit.stderr
    assert "SUCCESS" in unit.stdout
    am = run("amtool", "check-config", str(out / "alertmanager" / "alertmanager.yml"))
    assert am.returncode == 0, am.stdout + am.stderr
    # the PrometheusRule wraps exactly the groups promtool checked
    wrapped = yaml.safe_load((out / "kubernetes" / "prometheusrule.yaml").read_text())
    plain = yaml.safe_load((out / "prometheus" / "rules.yml").read_text())
    assert wrapped["kind"] == "PrometheusRule" and wrapped["spec"]["groups"] == plain["groups"]
    for manifest in (out / "kubernetes").glob("grafana-dashboard-*.yaml"):
        configmap = yaml.safe_load(manifest.read_text())
        assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
        ((name, content),) = configmap["data"].items()
        assert json.loads(content) == json.loads((out / "dashboards" / name).read_text())


def test_generated_unit_tests_catch_a_broken_rule(tmp_path: Path) -> None:
    """The generated promtool tests are not vacuous: loosen one alert and they fail."""
    out = generated(CONFIGS[0], tmp_path / "out")
    rules = out / "prometheus" / "rules.yml"
    text = rules.read_text()
    assert "> 0.05" in text
    rules.write_text(
        text.replace(
            "job:driftline_events_rejected:ratio_rate5m > 0.05", "job:driftline_events_rejected:ratio_rate5m > 0.5"
        )
    )
    broken = run("promtool", "test", "rules", "rules_test.yml", cwd=out / "prometheus")
    assert broken.returncode != 0 and "DriftlineHighRejectRate" in broken.stdout + broken.stderr


def test_generated_unit_tests_catch_a_broken_pooling_rule(tmp_path: Path) -> None:
    """The pooled rules' generated tests are not vacuous either: ``increase()`` in place of the exact delta (it
    extrapolates, and counts a restarted replica's rows from the first scrape after its restart) fails them."""
    out = generated(REPO / "tests" / "fixtures" / "configs" / "replicas.yaml", tmp_path / "out")
    rules = out / "prometheus" / "rules.yml"
    document = yaml.safe_load(rules.read_text())
    (pooling,) = [g for g in document["groups"] if g["name"] == "driftline-pooling.rules"]
    (delta,) = [r for r in pooling["rules"] if r["record"] == "model_feature_bin:driftline_feature_bin_rows:delta"]
    grouping = delta["expr"].split(") (", 1)[0]  # sum by (job, model, …, bin
    delta["expr"] = grouping + ") (increase(driftline_feature_bin_rows_total[30s]))"
    rules.write_text(yaml.safe_dump(document, sort_keys=False))
    broken = run("promtool", "test", "rules", "rules_test.yml", cwd=out / "prometheus")
    assert broken.returncode != 0 and "driftline_feature_bin_rows:sum30m" in broken.stdout + broken.stderr


def test_pooled_windows_keep_every_row_when_evaluations_are_missed(tmp_path: Path) -> None:
    """Prometheus skips a rule group's evaluation when it overruns its interval (a loaded server, a slow query
    beside it) while scrapes go on. Here two of every three are skipped — promtool evaluates every 90 s a group whose
    step is 30 s, over counters scraped every 30 s — and the pooled window must still hold every row the replicas
    counted. (The delta against ``X offset step`` kept only the rows of the steps that were evaluated: a third.)"""
    out = generated(REPO / "tests" / "fixtures" / "configs" / "replicas.yaml", tmp_path / "out")
    steps, grows = 18, {"driftline-exporter-0:8080": 5, "driftline-exporter-1:8080": 7}
    labels = 'job="driftline-exporter", model="churn-model", model_namespace="retail", feature="tenure", bin="00"'
    document = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "90s",
        "tests": [
            {
                "interval": "30s",
                "input_series": [
                    {"series": f'driftline_feature_bin_rows_total{{{labels}, instance="{instance}"}}',
                     "values": f"0+{rows}x{steps}"}
                    for instance, rows in grows.items()
                ],
                "promql_expr_test": [
                    {"expr": 'model_feature_bin:driftline_feature_bin_rows:sum30m{feature="tenure"}',
                     "eval_time": f"{steps * 30}s",
                     "exp_samples": [{"labels": f"model_feature_bin:driftline_feature_bin_rows:sum30m{{{labels}}}",
                                      "value": steps * sum(grows.values())}]},
                ],
            }
        ],
    }  # fmt: skip
    (out / "prometheus" / "missed_test.yml").write_text(yaml.safe_dump(document, sort_keys=False))
    result = run("promtool", "test", "rules", "missed_test.yml", cwd=out / "prometheus")
    assert result.returncode == 0, result.stdout + result.stderr


def routes(config: Path, receivers: str, **labels: str) -> subprocess.CompletedProcess[str]:
    return run(
        "amtool",
        "config",
        "routes",
        "test",
        f"--config.file={config}",
        f"--verify.receivers={receivers}",
        *(f"{k}={v}" for k, v in labels.items()),
    )


def test_routing_tree(tmp_path: Path) -> None:
    am = generated(CONFIGS[0], tmp_path / "out") / "alertmanager" / "alertmanager.yml"
    model = {"model": "churn-model", "model_namespace": "default", "job": "driftline-exporter"}
    retrain = {"alertname": "DriftlineDatasetDrift", "severity": "critical", "action": "retrain", **model}
    critical = routes(am, "retrain-webhook,slack", **retrain)
    assert critical.returncode == 0, critical.stdout + critical.stderr
    warning = routes(am, "slack", alertname="DriftlineFeatureDrift", severity="warning", feature="tenure", **model)
    assert warning.returncode == 0, warning.stdout + warning.stderr
    down = routes(am, "slack", alertname="DriftlineExporterDown", severity="warning", job="driftline-exporter")
    assert down.returncode == 0, down.stdout + down.stderr
    # a critical alert without action=retrain never starts a retraining
    serving = routes(am, "slack", alertname="DriftlineServingErrors", severity="critical", **model)
    assert serving.returncode == 0, serving.stdout + serving.stderr
    # amtool really checks: the retrain alert does not route to Slack alone
    assert routes(am, "slack", **retrain).returncode != 0
    # a model that got worse on its labels routes like dataset drift, with the labels its generated rule sets
    rules = yaml.safe_load((am.parent.parent / "prometheus" / "rules.yml").read_text())["groups"]
    labels_of = {r["alert"]: r["labels"] for g in rules for r in g["rules"] if "alert" in r}
    drop = routes(am, "retrain-webhook,slack", alertname="DriftlinePerformanceDrop",
                  **labels_of["DriftlinePerformanceDrop"], **model)  # fmt: skip
    assert drop.returncode == 0, drop.stdout + drop.stderr
    concept = routes(am, "slack", alertname="DriftlineConceptDrift", **labels_of["DriftlineConceptDrift"], **model)
    assert concept.returncode == 0, concept.stdout + concept.stderr


# --- a real Alertmanager ---


def am_alert(alertname: str, labels: dict[str, str], **annotations: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "labels": {"alertname": alertname, **labels},
        "annotations": {"summary": f"{alertname} summary", "description": f"{alertname} details", **annotations},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=10)).isoformat(),
        "generatorURL": "http://prometheus.example/graph",
    }


def test_alertmanager_inhibits_and_delivers(tmp_path: Path) -> None:
    token = f"token-{uuid.uuid4().hex}"
    with Sink() as sink:
        (tmp_path / "slack_url").write_text(f"{sink.url}/slack\n")
        (tmp_path / "webhook_token").write_text(token)
        data = yaml.safe_load(CONFIGS[0].read_text())
        data["alerting"]["slack"]["api_url_file"] = str(tmp_path / "slack_url")
        data["alerting"]["retrain_webhook"] = {
            "url": f"{sink.url}/retrain",
            "credentials_file": str(tmp_path / "webhook_token"),
        }
        data["alerting"]["grafana_url"] = "https://grafana.example.org"
        data["alerting"]["routing"] = {"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"}
        config_path = tmp_path / "monitor.yaml"
        config_path.write_text(yaml.safe_dump(data))
        out = generated(config_path, tmp_path / "out")
        assert token not in (out / "alertmanager" / "alertmanager.yml").read_text()
        with AlertmanagerProcess(tmp_path, out / "alertmanager" / "alertmanager.yml") as am:
            am.wait_ready()
            exporter = {"job": "driftline-exporter", "instance": "10.0.0.7:8080"}
            churn = {**exporter, "model": "churn-model", "model_namespace": "default"}
            retrain = {"severity": "critical", "action": "retrain"}
            # 1. the exporter is down: its last word on drift is held back, on-call hears about the exporter
            am.post_alerts(
                [
                    am_alert("DriftlineExporterDown", {**exporter, "severity": "warning"}),
                    am_alert("DriftlineDatasetDrift", {**churn, **retrain}),
                ]
            )
            wait(lambda: sink.requests("/slack"), 120, "the Slack notification of the exporter being down")
            drifted = wait(lambda: am.alerts(alertname="DriftlineDatasetDrift"), 120, "the drift alert in Alertmanager")
            assert drifted[0]["status"]["state"] == "suppressed" and drifted[0]["status"]["inhibitedBy"]
            time.sleep(3)  # three group_intervals: nothing else may be sent
            slack = sink.requests("/slack")
            assert len(slack) == 1 and "DriftlineExporterDown" in json.dumps(slack[0].body)
            assert not sink.requests("/retrain"), "an inhibited drift alert started a retraining"

            # 2. another exporter's model drifts: retraining webhook (with the bearer token) and Slack, once each
            fraud = {
                "job": "driftline-exporter-b",
                "instance": "10.0.0.8:8080",
                "model": "fraud",
                "model_namespace": "risk",
            }
            am.post_alerts(
                [
                    am_alert(
                        "DriftlineDatasetDrift",
                        {**fraud, **retrain},
                        runbook_url="https://example.org/runbooks/DriftlineDatasetDrift",
                        dashboard_url="https://grafana.example.org/d/driftline-model-drift?var-model=fraud",
                    )
                ]
            )
            hook = wait(lambda: sink.requests("/retrain"), 120, "the retraining webhook call")
            wait(lambda: len(sink.requests("/slack")) == 2, 120, "the Slack notification of the drift")
            time.sleep(3)
            assert len(sink.requests("/retrain")) == 1
            assert hook[0].headers["Authorization"] == f"Bearer {token}"
            payload = hook[0].body
            assert payload["version"] == "4" and payload["status"] == "firing"
            assert payload["commonLabels"]["action"] == "retrain" and payload["commonLabels"]["model"] == "fraud"
            message = sink.requests("/slack")[1].body
            attachment = message["attachments"][0]
            assert message["channel"] == "#ml-alerts"
            assert attachment["title"] == "[FIRING:1] DriftlineDatasetDrift - risk/fraud"
            assert attachment["color"] == "danger"
            assert "DriftlineDatasetDrift details" in attachment["text"]
            buttons = {a["text"]: a["url"] for a in attachment["actions"]}
            assert buttons == {
                "Runbook": "https://example.org/runbooks/DriftlineDatasetDrift",
                "Dashboard": "https://grafana.example.org/d/driftline-model-drift?var-model=fraud",
            }


# --- dashboards against a real Prometheus scraping a real exporter ---


def test_metric_names_parser() -> None:
    assert metric_names('sum by (le) (rate(a_b{x="y"}[5m])) / on (m) group_left () c:d:e > 0.5') == {"a_b", "c:d:e"}
    assert metric_names('label_replace(x, "model", "$1", "service", "(.+)")') == {"x"}
    assert metric_names("time() - y and on (a) (z == 1)") == {"y", "z"}


@contextlib.contextmanager
def exporter_and_webhook(tmp_path: Path, config_path: Path) -> Iterator[dict[str, str]]:
    """A real exporter that has seen traffic and a real webhook: their URLs by scrape job."""
    (tmp_path / "webhook").mkdir()
    webhook = WebhookProcess(webhook_config(tmp_path / "webhook", "http://127.0.0.1:9"), tmp_path / "webhook.log")
    try:
        webhook.wait_ready()
        with ExporterProcess(config_path, tmp_path / "exporter.log") as exporter:
            exporter.wait_until("/readyz")
            send_traffic(exporter.url)
            labelled = labelled_churn_frame(400, seed=43)  # predictions whose labels arrive: realised quality
            ids = send_predictions(exporter.url, labelled)
            assert post_labels(exporter.url, label_entries(ids, labelled["churned"].to_numpy()))["joined"] == 400
            yield {"driftline-exporter": exporter.url, "driftline-webhook": webhook.url}
    finally:
        webhook.stop()


def test_every_dashboard_query_runs_on_prometheus(tmp_path: Path) -> None:
    config_path, out = dashboards_config(tmp_path)
    with contextlib.ExitStack() as stack:
        targets = stack.enter_context(exporter_and_webhook(tmp_path, config_path))
        prometheus = stack.enter_context(PrometheusProcess(tmp_path / "prometheus", prometheus_config(out, targets)))
        prometheus.wait_ready()
        check_dashboards(prometheus, out, load_deployment(config_path), targets)


def test_with_a_cluster_label_every_query_runs_on_a_federating_prometheus_and_selects_the_cluster(
    tmp_path: Path,
) -> None:
    """dashboards.cluster_label, as federation has it: a cluster's Prometheus scrapes driftline and evaluates the
    rules under the external label cluster="eu-west-1"; a global Prometheus federates every series from it (the
    label attached), and the dashboards run there — every query with the chosen cluster returns data, and none of
    the model's with another cluster."""
    config_path, out = dashboards_config(tmp_path, {"cluster_label": "cluster"})
    model_drift = json.loads((out / "dashboards" / "driftline-model-drift.json").read_text())
    names = [v["name"] for v in model_drift["templating"]["list"]]
    assert names[:4] == ["datasource", "cluster", "model_namespace", "model"]
    with exporter_and_webhook(tmp_path, config_path) as targets:
        in_cluster = prometheus_config(out, targets)
        in_cluster["global"]["external_labels"] = {"cluster": "eu-west-1"}
        with PrometheusProcess(tmp_path / "cluster-prometheus", in_cluster) as cluster:
            cluster.wait_ready()
            federate = {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "scrape_configs": [{
                    "job_name": "federate", "honor_labels": True, "metrics_path": "/federate",
                    "params": {"match[]": ['{__name__=~".+"}']},
                    "static_configs": [{"targets": [cluster.url.removeprefix("http://")]}],
                }],
            }  # fmt: skip
            with PrometheusProcess(tmp_path / "global-prometheus", federate) as central:
                central.wait_ready()
                check_dashboards(central, out, load_deployment(config_path), targets, cluster="eu-west-1")
                queries = dashboard_queries(model_drift, {**VARIABLES, "cluster": "us-1"})
                # the Cluster variable lists every cluster; every other query is the chosen cluster's
                elsewhere = [expr for where, expr in queries if not where.endswith("variable cluster")]
                assert len(elsewhere) == len(queries) - 1
                answered = [e for e in elsewhere if central.query(e)["data"]["result"] and "vector(" not in e]
                assert answered == [], answered


def dashboards_config(tmp_path: Path, dashboards: dict[str, str] | None = None) -> tuple[Path, Path]:
    """A profiled config and what `driftline generate` writes for it."""
    labelled_churn_frame(4000, seed=1).to_csv(tmp_path / "train.csv", index=False)
    content = config_dict()
    content["exporter"] = {"evaluate_every": "200ms"}
    content["alerting"] = {"exporter_job": "driftline-exporter"}
    # multivariate drift, the quality rows and the estimated performance have data to show too
    content["models"][0]["multivariate"] = {"reference_rows": 2000}
    content["models"][0]["target"] = {
        "name": "churned", "task": "classification", "prediction": "churn_probability", "positive": 1,
        "min_samples": 50,
    }  # fmt: skip
    if dashboards:
        content["dashboards"] = dashboards
    config_path = tmp_path / "monitor.yaml"
    config_path.write_text(yaml.safe_dump(content))
    assert run_cli("profile", "--config", str(config_path)).returncode == 0
    return config_path, generated(config_path, tmp_path / "out")


def test_every_query_of_the_golden_cluster_dashboards_parses_and_selects_the_cluster(tmp_path: Path) -> None:
    dashboards = sorted((REPO / "tests" / "golden" / "multi-model" / "dashboards").glob("*.json"))
    variables = {**VARIABLES, "cluster": "eu-west-1"}
    queries = [q for path in dashboards for q in dashboard_queries(json.loads(path.read_text()), variables)]
    queries = [(where, expr) for where, expr in queries if not where.endswith("variable cluster")]  # lists them all
    assert len(queries) > 50
    for where, expr in queries:
        for name in metric_names(expr):
            for at in re.finditer(rf"(?<![\w:]){re.escape(name)}(?![\w:])", expr):
                after = expr[at.end() :]
                assert after.startswith('{cluster=~"eu-west-1"'), f"{where}: {name} without the cluster in {expr}"
    rules = {"groups": [{"name": "q", "rules": [{"record": f"q:{i}", "expr": e} for i, (_, e) in enumerate(queries)]}]}
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    checked = subprocess.run(
        ["promtool", "check", "rules", str(tmp_path / "rules.yml")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
