"""The loop closes: a drifted model is retrained, the new version rolls out with its own reference, and monitoring
carries on against it — on loopback, every part real (S3 on a moto server, the exporter and the webhook as `driftline`
subprocesses, Prometheus 2.42 with the generated rules, Alertmanager 0.25 with the generated routing, GitHub as a
recording server).

Version 1 serves; its traffic drifts: DriftlineDatasetDrift fires for version 1 and GitHub gets one
repository_dispatch naming it. The retraining pipeline's profile component builds version 2's reference from the
shifted data and publishes it beside the model (``runs/2/``). Version 2 rolls out: both versions serve the same
shifted traffic for a while — each compared with its own reference, both on the dashboard — then only version 2.
The dashboard also compares version 2's outputs with version 1's on the same traffic.
Version 2 raises no drift alert and no second dispatch; ``driftline_reference_info`` shows its profile; version 1 is
retired once its rows have aged out, and its alert resolves.
"""

from __future__ import annotations

import io
import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import requests
import yaml
from kfp.dsl import Artifact, Dataset

from alerts.loader import load_deployment
from driftline.demo import kserve, loop
from driftline.demo.data import FEATURES, OUTPUT, Drift, customers, predict, train, training_set
from driftline.generate import generate, write_files
from tests.support import (
    TOKEN,
    ExporterProcess,
    FakeGitHub,
    Sink,
    WebhookProcess,
    alerting_stack,
    free_port,
    run_cli,
    wait,
)
from tests.support.kfp import kfp_module

BUCKET = "churn-rollout"
ANNOTATION = "driftline.io/model-version"
PROFILES = f"s3://{BUCKET}/models/runs/{{version}}/driftline-profile.json"
SHIFT = Drift(1.0)


class Serving:
    """Inference calls of one model version, sent as its logger sends them: the version in the annotations the
    logger copies from the InferenceService (``logger.metadataAnnotations``)."""

    def __init__(self, exporter_url: str, version: str, model: Any, seed: int) -> None:
        self.url, self.version, self.model = exporter_url, version, model
        self.rng = np.random.default_rng(seed)

    def send(self, rows: int, shift: Drift, batch: int = 50) -> None:
        for i in range(rows // batch):
            frame = customers(batch, self.rng, shift)
            sent = kserve.events(frame[FEATURES], predict(self.model, frame).tolist(), loop.MODEL, loop.NAMESPACE,
                                 "v1" if i % 2 == 0 else "v2")  # fmt: skip
            for headers, body in sent:
                headers = {**headers, "Ce-Annotations": json.dumps({ANNOTATION: self.version})}
                answer = requests.post(self.url, data=body, headers=headers, timeout=10)
                assert answer.status_code == 202, answer.text


def _config(tmp: Path, content: dict[str, Any]) -> Path:
    model = content["models"][0]
    model["reference"]["profile"] = PROFILES
    model["versions"] = {"source": "annotation", "name": ANNOTATION}
    model["window"] = {"size": 500, "max_age": "40s"}  # version 1 retires 40 s after its last event
    alerts = content["alerting"]["alerts"]
    for name in ("feature_drift", "dataset_drift", "prediction_drift"):
        alerts[name] = {"for": "3s", "keep_firing_for": "5s"}
    path = tmp / "monitor.yaml"
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def test_a_retrained_version_rolls_out_with_its_own_reference(tmp_path: Path, s3: Any, s3_endpoint: str) -> None:
    s3.create_bucket(Bucket=BUCKET)
    training, model_1 = training_set(4000, seed=1)
    buffer = io.StringIO()
    training.to_csv(buffer, index=False)
    s3.put_object(Bucket=BUCKET, Key="data/train.csv", Body=buffer.getvalue().encode())
    (tmp_path / "webhook_token").write_text(TOKEN)
    webhook_port, exporter_port = free_port(), free_port()

    with ExitStack() as stack:
        slack = stack.enter_context(Sink(200))
        github = stack.enter_context(FakeGitHub())
        (tmp_path / "slack_url").write_text(slack.url + "/slack")
        content = loop.monitor_config(
            data=f"s3://{BUCKET}/data/train.csv",
            profile=PROFILES,
            webhook_url=f"http://127.0.0.1:{webhook_port}/alertmanager",
            slack_url_file=str(tmp_path / "slack_url"),
            webhook_token_file=str(tmp_path / "webhook_token"),
            github_url=github.url,
            state=str(tmp_path / "webhook.sqlite"),
            s3_endpoint=s3_endpoint,
            exporter_url=f"http://127.0.0.1:{exporter_port}",
        )
        config_path = _config(tmp_path, content)
        # version 1's reference, as `driftline profile` builds it from reference.data: at runs/1/
        built = run_cli("profile", "--config", str(config_path), "--model-version", "1")
        assert built.returncode == 0, built.stderr
        assert "runs/1/driftline-profile.json" in built.stdout
        out = tmp_path / "generated"
        write_files(generate(load_deployment(config_path)), out)

        exporter = stack.enter_context(ExporterProcess(config_path, tmp_path / "exporter.log", port=exporter_port))
        webhook = WebhookProcess(config_path, tmp_path / "webhook.log", port=webhook_port)
        stack.callback(webhook.stop)
        targets = {loop.EXPORTER_JOB: exporter.url, loop.WEBHOOK_JOB: webhook.url}
        _, prometheus = alerting_stack(stack, tmp_path, out, targets)
        exporter.wait_until("/readyz")
        webhook.wait_ready()

        def series(expr: str) -> dict[str, float]:
            """``expr``'s value per model_version."""
            result = prometheus.query(expr).get("data", {}).get("result", [])
            return {r["metric"].get("model_version", ""): float(r["value"][1]) for r in result}

        def alerting(version: str) -> list[dict[str, Any]]:
            return [
                a for a in prometheus.alerts()
                if a["labels"].get("model_version") == version and a["labels"]["alertname"].startswith("Driftline")
                and a["labels"]["alertname"] not in ("DriftlineNoTraffic",)
                # firing: a data-quality alert (15m `for`) on the shifted values stays pending through this test
                and a["state"] == "firing"
            ]  # fmt: skip

        # --- 1. version 1 serves; its traffic drifts: one alert, one retraining
        version_1 = Serving(exporter.url, "1", model_1, seed=11)
        version_1.send(600, Drift(0.0))
        wait(lambda: series("driftline_window_samples").get("1", 0) >= 450, 120, "version 1's window in Prometheus")
        # the decision is published from min_rows on: a scrape may show the window before it is decided
        wait(lambda: series("driftline_dataset_drifted"), 120, "version 1's drift decision in Prometheus")
        assert series("driftline_dataset_drifted") == {"1": 0.0}
        version_1.send(600, SHIFT)
        fired = wait(
            lambda: [a for a in alerting("1") if a["labels"]["alertname"] == "DriftlineDatasetDrift"
                     and a["state"] == "firing"], 60, "DriftlineDatasetDrift for version 1",
        )  # fmt: skip
        assert fired[0]["labels"]["model"] == loop.MODEL
        dispatch = wait(github.delivered, 60, "the repository_dispatch")[0]
        assert dispatch.body["client_payload"]["model_version"] == "1"
        assert "version 1" in dispatch.body["client_payload"]["description"]

        # --- 2. the pipeline retrains on the shifted data; its profile component publishes version 2's reference
        shifted = customers(4000, np.random.default_rng(2), SHIFT)
        model_2 = train(shifted)
        shifted[OUTPUT] = predict(model_2, shifted)
        shifted.to_parquet(tmp_path / "reference-2.parquet", index=False)
        profile = Artifact(uri=str(tmp_path / "profile-2.json"))
        published = PROFILES.replace("{version}", "2")
        profile_version = kfp_module("components").reference_profile.python_func(
            monitor_config=config_path.read_text(),
            model_name=loop.MODEL,
            model_version="2",
            reference=Dataset(uri=str(tmp_path / "reference-2.parquet")),
            profile=profile,
            publish_uri=published,
        )

        # --- 3. the rollout: both versions serve the shifted traffic, each against its own reference
        version_2 = Serving(exporter.url, "2", model_2, seed=12)
        for _ in range(6):
            version_1.send(100, SHIFT)
            version_2.send(100, SHIFT)
        wait(lambda: set(series("driftline_dataset_drift_share")) == {"1", "2"}, 120, "both versions evaluated")
        info = prometheus.query('driftline_reference_info{model_version="2"}')["data"]["result"]
        assert [(r["metric"]["source"], r["metric"]["version"]) for r in info] == [(published, profile_version)]
        dashboard = json.loads((out / "dashboards" / "driftline-model-drift.json").read_text())
        panels = {p["title"]: p for p in dashboard["panels"]}
        variables = {"model_namespace": loop.NAMESPACE, "model": loop.MODEL, "model_version": ".*", "feature": ".*"}
        wait(lambda: series('driftline_version_output_psi{baseline_version="1"}'), 120, "the canary comparison")
        for title in ("PSI per feature", "Dataset drift", "Prediction drift (PSI per output)", "Window samples"):
            expr = panels[title]["targets"][0]["expr"]
            for name, value in sorted(variables.items(), key=lambda kv: -len(kv[0])):  # $model_version before $model
                expr = expr.replace(f"${name}", value)
            assert set(series(expr)) == {"1", "2"}, f"{title}: both versions side by side"
        canary = panels["Outputs against the stable version (PSI)"]["targets"][0]["expr"]
        canary = canary.replace("$model_version", ".*").replace("$model_namespace", loop.NAMESPACE)
        assert set(series(canary.replace("$model", loop.MODEL))) == {"2"}, "version 2's outputs against version 1's"
        drifted = series("driftline_dataset_drifted")
        assert drifted == {"1": 1.0, "2": 0.0}, "version 2 is what it was trained on; version 1 still is not"

        # --- 4. only version 2 serves; version 1 retires when its rows have aged out, its alert resolves
        def serving_only_version_2() -> bool:
            version_2.send(100, SHIFT)
            assert not alerting("2"), "no drift alert for the new version"
            return set(series("driftline_window_samples")) == {"2"} and not alerting("1")

        wait(serving_only_version_2, 120, "version 1 retired and its alerts resolved, version 2 serving")
        history = prometheus.query('max_over_time(ALERTS{model_version="2", alertname=~"Driftline.*Drift"}[10m])')
        assert history["data"]["result"] == [], "version 2 was never even pending"
        assert series("driftline_dataset_drifted") == {"2": 0.0}
        assert len(github.calls) == 1, "one retraining for one incident"
