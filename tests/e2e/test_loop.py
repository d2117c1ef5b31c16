"""The whole loop on loopback, every part real: reference data and profile in S3 (a moto server), the exporter and the
webhook as `driftline` subprocesses, Prometheus 2.42 with the generated rules, Alertmanager 0.25 with the generated
routing, Knative-style serving metrics, and Slack and GitHub as recording HTTP servers.

One test, in the order an incident happens: quiet traffic raises nothing; a drift fires DriftlineDatasetDrift, Slack
hears it and GitHub gets exactly one repository_dispatch naming the drifted features, also through Alertmanager's
repeats; every dashboard query returns data; the exporter dies and its drift alert is inhibited behind
DriftlineExporterDown. Every wait is bounded; every process is stopped even when an assertion fails.
"""

from __future__ import annotations

import base64
import io
import json
import re
import signal
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import requests
import yaml

from alerts.loader import load_deployment
from driftline.demo import kserve, loop
from driftline.demo.data import FEATURES, LABEL, NO_DRIFT, Drift, customers, predict, training_set
from driftline.generate import generate, write_files
from tests.support import (
    TOKEN,
    ExporterProcess,
    FakeGitHub,
    FakeServingMetrics,
    PrometheusProcess,
    Sink,
    WebhookProcess,
    alerting_stack,
    free_port,
    run_cli,
    wait,
)
from tests.support.promql import check_dashboards

BUCKET = "churn-loop"
LOGS = f"s3://{BUCKET}/kserve-logs"
DRIFT_ALERTS = (
    "DriftlineDatasetDrift",
    "DriftlineFeatureDrift",
    "DriftlinePredictionDrift",
    "DriftlinePerformanceDrop",
    "DriftlineConceptDrift",
)


class Traffic:
    """Inference calls of the trained model, sent as KServe's logger sends them, counted by the serving metrics."""

    def __init__(self, exporter_url: str, model: Any, serving: FakeServingMetrics) -> None:
        self.url = exporter_url
        self.model = model
        self.serving = serving
        self.rng = np.random.default_rng(11)
        self.calls = 0
        self.unlabelled: list[tuple[str, list[int]]] = []

    def send(self, rows: int, drift: Drift = NO_DRIFT, batch: int = 50) -> None:
        for _ in range(rows // batch):
            frame = customers(batch, self.rng, drift)
            predictions = predict(self.model, frame).tolist()
            protocol = "v1" if self.calls % 2 == 0 else "v2"
            sent = kserve.events(frame[FEATURES], predictions, loop.MODEL, loop.NAMESPACE, protocol)
            for headers, body in sent:
                answer = requests.post(self.url, data=body, headers=headers, timeout=10)
                assert answer.status_code == 202, answer.text
            self.unlabelled.append((sent[0][0]["Ce-Id"], frame[LABEL].tolist()))
            self.serving.served(1, latency_ms=float(self.rng.uniform(20, 80)))
            self.calls += 1

    def send_labels(self) -> int:
        """The churn labels of every call so far, newest first (late and out of order), as feedback CloudEvents."""
        joined = 0
        for event_id, labels in reversed(self.unlabelled):
            headers, body = kserve.feedback(loop.MODEL, loop.NAMESPACE, event_id, labels)
            answer = requests.post(self.url + "/feedback", data=body, headers=headers, timeout=10)
            assert answer.status_code == 202, answer.text
            joined += answer.json()["joined"]
        self.unlabelled.clear()
        return joined


def archive_record(frame: Any, record_id: str) -> dict[str, Any]:
    """One payload as the logger archives it in S3 (logger.url: s3://…)."""
    payload = json.dumps({"instances": frame[FEATURES].to_dict(orient="records")}).encode()
    return {
        "bytes": base64.b64encode(payload).decode(),
        "contentType": "application/json",
        "reqType": "org.kubeflow.serving.inference.request",
        "id": record_id,
        "inferenceService": loop.MODEL,
        "namespace": loop.NAMESPACE,
        "component": "predictor",
        "endpoint": "",
        "metadata": "{}",
        "annotations": "{}",
    }


def firing(prometheus: PrometheusProcess, *names: str) -> list[dict[str, Any]]:
    return [a for a in prometheus.alerts() if a["labels"]["alertname"] in names and a["state"] == "firing"]


def test_the_loop(tmp_path: Path, s3: Any, s3_endpoint: str) -> None:
    # --- the training side: data and profile in S3
    s3.create_bucket(Bucket=BUCKET)
    train, model = training_set(4000, seed=1)
    buffer = io.StringIO()
    train.to_csv(buffer, index=False)
    s3.put_object(Bucket=BUCKET, Key="data/train.csv", Body=buffer.getvalue().encode())
    (tmp_path / "slack_url").write_text("")
    (tmp_path / "webhook_token").write_text(TOKEN)
    webhook_port, exporter_port = free_port(), free_port()

    with ExitStack() as stack:
        slack = stack.enter_context(Sink(200))
        github = stack.enter_context(FakeGitHub())
        serving = stack.enter_context(FakeServingMetrics(f"{loop.MODEL}-predictor", loop.NAMESPACE))
        (tmp_path / "slack_url").write_text(slack.url + "/slack")
        content = loop.monitor_config(
            data=f"s3://{BUCKET}/data/train.csv",
            profile=f"s3://{BUCKET}/monitoring/profile.json",
            webhook_url=f"http://127.0.0.1:{webhook_port}/alertmanager",
            slack_url_file=str(tmp_path / "slack_url"),
            webhook_token_file=str(tmp_path / "webhook_token"),
            github_url=github.url,
            state=str(tmp_path / "webhook.sqlite"),
            s3_endpoint=s3_endpoint,
            s3_logs=LOGS,
            exporter_url=f"http://127.0.0.1:{exporter_port}",
        )
        config_path = tmp_path / "monitor.yaml"
        config_path.write_text(yaml.safe_dump(content, sort_keys=False))
        profiled = run_cli("profile", "--config", str(config_path))
        assert profiled.returncode == 0, profiled.stderr
        out = tmp_path / "generated"
        write_files(generate(load_deployment(config_path)), out)

        exporter = stack.enter_context(ExporterProcess(config_path, tmp_path / "exporter.log", port=exporter_port))
        webhook = WebhookProcess(config_path, tmp_path / "webhook.log", port=webhook_port)
        stack.callback(webhook.stop)
        targets = {loop.EXPORTER_JOB: exporter.url, loop.WEBHOOK_JOB: webhook.url, "knative-queue-proxy": serving.url}
        alertmanager, prometheus = alerting_stack(stack, tmp_path, out, targets)
        exporter.wait_until("/readyz")
        webhook.wait_ready()
        traffic = Traffic(exporter.url, model, serving)

        def value(expr: str) -> float | None:
            result = prometheus.query(expr).get("data", {}).get("result", [])
            return float(result[0]["value"][1]) if result else None

        # --- 1. quiet traffic (push, and one archived object read in pull mode): several evaluations, no alert
        s3.put_object(
            Bucket=BUCKET,
            Key=f"kserve-logs/{loop.NAMESPACE}/{loop.MODEL}/predictor/quiet-request.json",
            Body=json.dumps([archive_record(customers(20, np.random.default_rng(3)), "quiet")]),
        )
        traffic.send(600)
        # 600 rows through a 500-row window of 60 buckets: the oldest bucket left whole when the newest opened
        wait(lambda: (value("driftline_window_samples") or 0) >= 500 - 9, 120, "a full window in Prometheus")
        wait(
            lambda: (value('driftline_log_objects_total{outcome="processed"}') or 0) >= 1,
            30,
            "the archived object read",
        )
        first_evaluation = value("driftline_last_evaluation_timestamp_seconds") or 0.0
        wait(
            lambda: (value("driftline_last_evaluation_timestamp_seconds") or 0) >= first_evaluation + 5,
            30,
            "five more evaluation cycles",
        )
        assert value("driftline_dataset_drifted") == 0
        assert value("max(driftline_feature_drifted)") == 0
        # the churn labels of the quiet traffic arrive: the model is as good as on its training data
        assert traffic.send_labels() == 600
        wait(lambda: value("driftline_labelled_window_samples") == 600, 120, "the labelled window in Prometheus")
        accuracy = value('driftline_performance{metric="accuracy"}') or 0.0
        assert abs(accuracy - (value('driftline_reference_performance{metric="accuracy"}') or 0.0)) < 0.08
        assert value("driftline_performance_dropped") == 0 and value("driftline_concept_drift_detected") == 0
        assert not [a for a in prometheus.alerts() if a["labels"]["alertname"] in DRIFT_ALERTS]
        assert slack.requests() == [] and github.calls == []

        # --- 2. the data moves: prices up 20%, the two-year contract withdrawn, a wave of new customers
        traffic.send(600, Drift(1.0))
        dataset = wait(lambda: firing(prometheus, "DriftlineDatasetDrift"), 60, "DriftlineDatasetDrift to fire")
        assert dataset[0]["labels"]["action"] == "retrain" and dataset[0]["labels"]["model"] == loop.MODEL
        dispatch = wait(github.delivered, 60, "the repository_dispatch")[0]
        payload = dispatch.body["client_payload"]
        assert payload["model"] == loop.MODEL and payload["alerts"] == ["DriftlineDatasetDrift"]
        assert {"monthly_charges", "contract", "tenure"} <= set(payload["drifted_features"])
        assert all(psi >= 0.1 for psi in payload["drifted_features"].values())
        # the alert's reference annotations, rendered by Prometheus from driftline_reference_info: a file, no registry
        reference = payload["reference"]
        assert reference["source"].endswith("profile.json") and reference["registry_version"] == ""
        assert reference["registered"] == "" and re.fullmatch(r"[0-9a-f]{16}", reference["profile_version"])
        messages = wait(
            lambda: [m for m in slack.requests() if "DriftlineDatasetDrift" in json.dumps(m.body)],
            60,
            "Slack to hear about the dataset drift",
        )
        assert messages[0].body["attachments"][0]["color"] == "danger"
        # the message links the exporter's live drift report, and the link works
        report_url = f"{exporter.url}/report/{loop.NAMESPACE}/{loop.MODEL}"
        assert f"<{report_url}|Drift report>" in messages[0].body["attachments"][0]["text"]
        report = requests.get(report_url, timeout=120)
        assert report.status_code == 200 and "driftline live drift report" in report.text
        # Alertmanager keeps re-sending the firing group (repeat_interval 4s): still one retraining
        duplicates = 'driftline_retrain_notifications_total{"outcome": "duplicate"}'
        wait(lambda: webhook.metrics().get(duplicates, 0) >= 2, 60, "two repeats of the notification")
        assert len(github.delivered()) == 1 and len(github.calls) == 1

        # --- 3. every dashboard query has data in Prometheus (a panel empty in Grafana fails here)
        check_dashboards(prometheus, out, load_deployment(config_path), targets, allow_empty=None)

        # --- 4. the exporter dies: DriftlineExporterDown fires, the drift alert it left behind is inhibited
        exporter.process.send_signal(signal.SIGKILL)
        exporter.process.wait(timeout=10)
        wait(lambda: firing(prometheus, "DriftlineExporterDown"), 60, "DriftlineExporterDown to fire")

        def inhibited() -> bool:
            alerts = alertmanager.alerts(alertname="DriftlineDatasetDrift")
            return bool(alerts) and all(a["status"]["inhibitedBy"] for a in alerts)

        wait(inhibited, 60, "the dataset drift alert to be inhibited")
        wait(
            lambda: [m for m in slack.requests() if "DriftlineExporterDown" in json.dumps(m.body)],
            60,
            "Slack to hear about the exporter",
        )
        assert len(github.delivered()) == 1
