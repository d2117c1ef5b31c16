"""A team onboards its model with one file, and nothing else restarts or regenerates — on loopback, every part real
(the exporter as a `driftline serve` subprocess, Prometheus 2.42 with rules generated before the model existed,
Alertmanager 0.25 with the generated routing, Slack and the retraining webhook as recording servers).

The platform's config names no model, only ``model_files.dir``. A team drops ``team-churn.yaml`` into the folder:
the model's series appear, its traffic drifts and DriftlineDatasetDrift reaches Alertmanager. The team raises its
PSI threshold: Prometheus sees the new threshold and the window the exporter had counted is still there. Another
team's broken file is refused alone (on /readyz, counted) while the churn model keeps being served. The file is
removed: every series of the model goes.
"""

from __future__ import annotations

import textwrap
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import requests
import yaml

from alerts.loader import load_deployment
from drift import profile_from_source
from drift.config.model_files import read_model_file
from driftline.demo import kserve, loop
from driftline.demo.data import FEATURES, NUMERIC, OUTPUT, Drift, customers, predict, training_set
from driftline.generate import generate, write_files
from tests.support import TOKEN, ExporterProcess, Sink, alerting_stack, free_port, scrape, wait

NAMESPACE = "team-churn"
TEAM_FILE = "team-churn.yaml"


def _team_file(psi_threshold: float) -> str:
    """The churn team's file: the demo's model (the platform's example) in the team's namespace."""
    features = ", ".join(
        f"{{name: {name}, type: {'numeric' if name in NUMERIC else 'categorical'}}}" for name in FEATURES
    )
    return textwrap.dedent(
        f"""\
        models:
          - name: {loop.MODEL}
            namespace: {NAMESPACE}
            reference: {{data: train.csv, profile: profile.json}}
            features: [{features}]
            outputs: [{{name: {OUTPUT}, type: numeric}}]
            window: {{size: 1000, max_age: 1h, min_rows: 100}}
            drift: {{psi_threshold: {psi_threshold}, alpha: 0.05, drift_share: 0.5}}
        """
    )


def _send(url: str, model: Any, rows: int, drift: Drift, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(rows // 50):
        frame = customers(50, rng, drift)
        for headers, body in kserve.events(frame[FEATURES], predict(model, frame).tolist(), loop.MODEL, NAMESPACE):
            answer = requests.post(url, data=body, headers=headers, timeout=10)
            assert answer.status_code == 202 and "ignored" not in answer.text, answer.text


def test_a_team_onboards_a_model_with_one_file(tmp_path: Path) -> None:
    folder, staging = tmp_path / "models.d", tmp_path / "team-repo"
    folder.mkdir()
    staging.mkdir()
    training, model = training_set(4000, seed=1)
    training.to_csv(staging / "train.csv", index=False)
    (staging / TEAM_FILE).write_text(_team_file(psi_threshold=0.1))
    (team_model,) = read_model_file(staging / TEAM_FILE).models
    profile_from_source(team_model).save(team_model.reference.profile)  # the team's pipeline builds its profile
    for name in ("train.csv", "profile.json"):  # the data travel with the file (in a cluster: S3 URIs)
        (folder / name).write_bytes((staging / name).read_bytes())
    (tmp_path / "webhook_token").write_text(TOKEN)
    exporter_port = free_port()

    with ExitStack() as stack:
        slack = stack.enter_context(Sink(200))
        retraining = stack.enter_context(Sink(200))
        (tmp_path / "slack_url").write_text(slack.url + "/slack")
        content = loop.monitor_config(
            data="unused.csv",
            profile="unused.json",
            webhook_url=retraining.url + "/alertmanager",
            slack_url_file=str(tmp_path / "slack_url"),
            webhook_token_file=str(tmp_path / "webhook_token"),
            github_url="http://127.0.0.1:9",
            state=str(tmp_path / "webhook.sqlite"),
            exporter_url=f"http://127.0.0.1:{exporter_port}",
        )
        content["models"] = []  # the platform's config names no model
        content["model_files"] = {"dir": str(folder), "poll": "1s"}
        config_path = tmp_path / "monitor.yaml"
        config_path.write_text(yaml.safe_dump(content, sort_keys=False))
        out = tmp_path / "generated"
        write_files(generate(load_deployment(config_path)), out)  # once, before any model exists
        rules = (out / "prometheus" / "rules.yml").read_text()

        exporter = stack.enter_context(ExporterProcess(config_path, tmp_path / "exporter.log", port=exporter_port))
        alertmanager, prometheus = alerting_stack(stack, tmp_path, out, {loop.EXPORTER_JOB: exporter.url})
        exporter.wait_until("/readyz")
        selector = f'model="{loop.MODEL}", model_namespace="{NAMESPACE}"'

        def value(expr: str) -> float | None:
            result = prometheus.query(expr).get("data", {}).get("result", [])
            return float(result[0]["value"][1]) if result else None

        def exported(name: str) -> float | None:
            samples = scrape(exporter.url).get(name, {})
            found = [v for labels, v in samples.items() if dict(labels).get("model") == loop.MODEL]
            return found[0] if found else None

        # --- 1. the team's file is dropped in: the model's series appear, its drift alert fires
        (folder / TEAM_FILE).write_text((staging / TEAM_FILE).read_text())
        wait(lambda: value(f"driftline_psi_threshold{{{selector}}}") == 0.1, 120, "the new model's settings")
        wait(lambda: value(f"driftline_reference_loaded{{{selector}}}") == 1.0, 120, "its reference loaded")
        _send(exporter.url, model, 600, Drift(1.0), seed=2)
        fired = wait(
            lambda: alertmanager.alerts(alertname="DriftlineDatasetDrift", model=loop.MODEL), 180,
            "DriftlineDatasetDrift in Alertmanager for the onboarded model",
        )  # fmt: skip
        assert fired[0]["labels"]["model_namespace"] == NAMESPACE
        wait(lambda: slack.requests("/slack"), 60, "Slack hears of it")

        # --- 2. the team raises its threshold: applied, and the counted window is kept
        counted = wait(lambda: exported("driftline_window_samples"), 60, "the window's rows")
        resets = sum(v for labels, v in scrape(exporter.url)["driftline_window_resets_total"].items()
                     if dict(labels)["model"] == loop.MODEL)  # fmt: skip
        (folder / TEAM_FILE).write_text(_team_file(psi_threshold=0.25))
        wait(lambda: value(f"driftline_psi_threshold{{{selector}}}") == 0.25, 120, "the new threshold in Prometheus")
        assert exported("driftline_window_samples") == counted == 600
        assert value(f"driftline_window_samples{{{selector}}}") == 600
        after = sum(v for labels, v in scrape(exporter.url)["driftline_window_resets_total"].items()
                    if dict(labels)["model"] == loop.MODEL)  # fmt: skip
        assert after == resets

        # --- 3. another team's broken file: refused alone, the churn model keeps being served
        (folder / "team-broken.yaml").write_text("models:\n  - name: fraud-model\n    features: 12\n")
        wait(lambda: value('driftline_model_files{state="refused"}') == 1.0, 120, "the broken file refused")
        ready = requests.get(exporter.url + "/readyz", timeout=10)
        assert ready.status_code == 200
        assert list(ready.json()["refused_model_files"]) == [str(folder / "team-broken.yaml")]
        assert value('driftline_model_file_changes_total{outcome="refused"}') == 1.0
        assert value('driftline_model_files{state="loaded"}') == 1.0
        _send(exporter.url, model, 100, Drift(1.0), seed=3)
        wait(lambda: exported("driftline_window_samples") == 700, 60, "the churn model still counting")
        assert "fraud-model" not in requests.get(exporter.url + "/metrics", timeout=10).text

        # --- 4. the file removed: the model retires, every series of it goes
        (folder / TEAM_FILE).unlink()
        wait(lambda: value(f'count({{__name__=~"driftline_.+", {selector}}})') is None, 120, "the series gone")
        assert f'model="{loop.MODEL}"' not in requests.get(exporter.url + "/metrics", timeout=10).text
        assert exporter.process.poll() is None, "the same exporter process throughout"
        assert (out / "prometheus" / "rules.yml").read_text() == rules
