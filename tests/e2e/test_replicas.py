"""Three exporter replicas behind a real load balancer, pooled by a real Prometheus: one drift answer for the fleet.

HAProxy (Debian's, round-robin, health-checked) spreads KServe-format traffic over three `driftline serve`
processes; Prometheus 2.42 scrapes each replica and evaluates the generated rules, the pooling group among them;
Alertmanager 0.25 routes to the retraining webhook, which dispatches to a fake GitHub. The test keeps every row it
sent and got a 202 for, and compares what Prometheus records with what `drift.evaluate` computes offline from those
rows: the pooled PSI of every feature and output equal to 1e-9 (relative). In the middle, one replica is SIGKILLed
and restarted (its counters start again from zero): the pooled numbers stay equal to the offline ones. A quiet
stream raises nothing; a drifted one fires DriftlineDatasetDrift once — not once per replica — and the webhook
dispatches once.
"""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import requests
import yaml

import drift
from alerts import pooling
from alerts.loader import load_deployment
from driftline.demo import kserve, loop
from driftline.demo.data import FEATURES, NO_DRIFT, OUTPUT, Drift, customers, predict, training_set
from driftline.demo.stack import ServerProcess
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
from tests.support.promql import WITHOUT_SERVING, check_dashboards, wait_for_evaluation

REPLICAS = 3
WINDOW = "1h"
POOLING = pooling.window_group(WINDOW)  # the group that records the window's PSI and decisions
HAPROXY = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")


class HAProxy(ServerProcess):
    """Round-robin over the replicas, each health-checked on /healthz every 200 ms; a connection refused by a dead
    replica is retried on another (``option redispatch``)."""

    name = "haproxy"
    ready_path = "/healthz"

    def __init__(self, workdir: Path, backends: list[int]) -> None:
        port = free_port()
        servers = "\n".join(f"  server r{i} 127.0.0.1:{p} check" for i, p in enumerate(backends))
        config = workdir / "haproxy.cfg"
        config.write_text(
            "global\n  maxconn 512\n"
            "defaults\n  mode http\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\n"
            "  retries 3\n  option redispatch\n"
            f"frontend exporters\n  bind 127.0.0.1:{port}\n  default_backend replicas\n"
            "backend replicas\n  balance roundrobin\n  option httpchk GET /healthz\n"
            f"  default-server inter 200ms fall 1 rise 1\n{servers}\n"
        )
        assert HAPROXY is not None, "haproxy is missing: `make balancer-deps` installs it (Debian package haproxy)"
        super().__init__([HAPROXY, "-f", str(config), "-db"], workdir / "haproxy.log", f"http://127.0.0.1:{port}")


class Sent:
    """Every row the balancer answered 202 for: request features and response predictions."""

    def __init__(self, url: str, model: Any) -> None:
        self.url, self.model = url, model
        self.rng = np.random.default_rng(23)
        self.frames: list[pd.DataFrame] = []
        self.calls = 0

    def send(self, rows: int, shift: Drift = NO_DRIFT, batch: int = 25) -> None:
        for _ in range(rows // batch):
            frame = customers(batch, self.rng, shift)
            predictions = predict(self.model, frame)
            events = kserve.events(frame[FEATURES], predictions.tolist(), loop.MODEL, loop.NAMESPACE, "v1")
            for headers, body in events:
                answer = requests.post(self.url, data=body, headers=headers, timeout=10)
                assert answer.status_code == 202, answer.text
            self.frames.append(frame[FEATURES].assign(**{OUTPUT: predictions}))
            self.calls += 1

    @property
    def rows(self) -> pd.DataFrame:
        return pd.concat(self.frames, ignore_index=True)


def test_three_replicas_pooled_by_prometheus(tmp_path: Path) -> None:
    train, model = training_set(4000, seed=1)
    train.to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "webhook_token").write_text(TOKEN)
    webhook_port = free_port()
    ports = [free_port() for _ in range(REPLICAS)]

    with ExitStack() as stack:
        slack = stack.enter_context(Sink(200))
        github = stack.enter_context(FakeGitHub())
        (tmp_path / "slack_url").write_text(slack.url + "/slack")
        content = loop.monitor_config(
            data=str(tmp_path / "train.csv"),
            profile=str(tmp_path / "profile.json"),
            webhook_url=f"http://127.0.0.1:{webhook_port}/alertmanager",
            slack_url_file=str(tmp_path / "slack_url"),
            webhook_token_file=str(tmp_path / "webhook_token"),
            github_url=github.url,
            state=str(tmp_path / "webhook.sqlite"),
        )
        content["exporter"]["replicas"] = REPLICAS
        content["alerting"]["pooling"] = {"windows": [WINDOW], "step": "1s"}  # the scrape interval
        config_path = tmp_path / "monitor.yaml"
        config_path.write_text(yaml.safe_dump(content, sort_keys=False))
        profiled = run_cli("profile", "--config", str(config_path))
        assert profiled.returncode == 0, profiled.stderr
        config = load_deployment(config_path)
        out = tmp_path / "generated"
        write_files(generate(config), out)
        assert "driftline-pooling.rules" in (out / "prometheus" / "rules.yml").read_text()

        replicas = [
            stack.enter_context(ExporterProcess(config_path, tmp_path / f"exporter-{i}.log", port=port))
            for i, port in enumerate(ports)
        ]
        stack.callback(lambda: [replica.stop() for replica in replicas])
        webhook = WebhookProcess(config_path, tmp_path / "webhook.log", port=webhook_port)
        stack.callback(webhook.stop)
        targets = {loop.WEBHOOK_JOB: webhook.url, loop.EXPORTER_JOB: [f"127.0.0.1:{p}" for p in ports]}
        _, prometheus = alerting_stack(stack, tmp_path, out, targets)
        for replica in replicas:
            replica.wait_until("/readyz")
        balancer = stack.enter_context(HAProxy(tmp_path, ports))
        webhook.wait_ready()
        balancer.wait_ready()
        sent = Sent(balancer.url, model)
        profile = drift.ReferenceProfile.load(config.models[0].reference.profile)

        def values(expr: str) -> dict[str, float]:
            result = prometheus.query(expr).get("data", {}).get("result", [])
            return {
                r["metric"].get("feature") or r["metric"].get("output") or r["metric"].get("instance", ""): float(
                    r["value"][1]
                )
                for r in result
            }

        def pooled_rows() -> tuple[float, float]:
            """Rows in the pooled window for a feature and for the output: a request and its response are separate
            events, so a scrape can hold a batch's features before its predictions."""
            features = values(f'sum(model_feature_bin:driftline_feature_bin_rows:sum{WINDOW}{{feature="tenure"}})')
            outputs = values(f"sum(model_output_bin:driftline_output_bin_rows:sum{WINDOW})")
            return sum(features.values()), sum(outputs.values())

        def pooled_equals_offline(what: str) -> None:
            """Prometheus has every accepted row in the window; its PSI is drift's offline PSI of those rows."""
            every = float(len(sent.rows))
            wait(lambda: pooled_rows() == (every, every), 60, f"every row sent in the pooled window ({what})")
            offline = drift.evaluate(profile, sent.rows, config.models[0])
            features = values(f"model_feature:driftline_feature_psi:pooled{WINDOW}")
            outputs = values(f"model_output:driftline_prediction_psi:pooled{WINDOW}")
            assert set(features) == set(FEATURES) and set(outputs) == {OUTPUT}
            for name, column in [*offline.features.items(), *offline.outputs.items()]:
                got = features.get(name, outputs.get(name))
                assert column.psi is not None and got is not None
                assert abs(got / column.psi - 1) < 1e-9, (what, name, got, column.psi)

        def firing(name: str) -> list[dict[str, Any]]:
            return [a for a in prometheus.alerts() if a["labels"]["alertname"] == name]

        # --- 1. quiet traffic, spread over the three replicas: equal to offline, no alert
        sent.send(900)
        pooled_equals_offline("quiet")
        accepted = values('sum by (instance) (driftline_events_total{outcome="accepted", type="request"})')
        assert len(accepted) == REPLICAS and all(n >= sent.calls / REPLICAS - 2 for n in accepted.values()), accepted
        assert values(f"model:driftline_dataset_drifted:pooled{WINDOW}") == {"": 0.0}
        for _ in range(5):
            wait_for_evaluation(prometheus, POOLING)
        assert not firing("DriftlineDatasetDrift") and not firing("DriftlineFeatureDrift")

        # --- 2. a replica is killed (OOM, node lost) and comes back: its counters restart from zero
        replicas[1].kill()
        wait_for_evaluation(prometheus, POOLING)
        pooled_equals_offline("one replica dead")
        replicas[1] = ExporterProcess(config_path, tmp_path / "exporter-1.log", port=ports[1])
        replicas[1].wait_until("/readyz")
        wait(
            lambda: values(f'up{{instance="127.0.0.1:{ports[1]}"}}').get(f"127.0.0.1:{ports[1]}") == 1, 120, "a scrape"
        )
        sent.send(300)
        pooled_equals_offline("after the restart")
        restarted = values(f'sum(driftline_events_total{{instance="127.0.0.1:{ports[1]}", outcome="accepted"}})')
        assert 0 < restarted[""] < sent.calls  # it took part again, and counts only what came since its restart

        # --- 3. the data moves: one pooled alert, one retraining
        sent.send(1800, Drift(1.0))
        pooled_equals_offline("drifted")
        dataset = wait(lambda: [a for a in firing("DriftlineDatasetDrift") if a["state"] == "firing"], 60, "drift")
        assert len(dataset) == 1 and "instance" not in dataset[0]["labels"], dataset
        assert dataset[0]["labels"]["action"] == "retrain" and dataset[0]["labels"]["model"] == loop.MODEL
        dispatch = wait(github.delivered, 60, "the repository_dispatch")[0]
        payload = dispatch.body["client_payload"]
        assert payload["model"] == loop.MODEL and payload["alerts"] == ["DriftlineDatasetDrift"]
        drifted = values(f"model_feature:driftline_feature_drifted:pooled{WINDOW} == 1")
        assert set(payload["drifted_features"]) == set(drifted)
        wait(lambda: webhook.metrics().get('driftline_retrain_notifications_total{"outcome": "duplicate"}', 0) >= 2,
             60, "two repeats of the notification")  # fmt: skip
        assert len(github.delivered()) == 1 and len(firing("DriftlineDatasetDrift")) == 1

        # --- 4. every dashboard query runs, the pooled panels and the bin shares with data (no labels were sent,
        # so the quality panels and the realised line next to the estimate are empty)
        targets = {f"replica-{i}": r.url for i, r in enumerate(replicas)} | {loop.WEBHOOK_JOB: webhook.url}
        empty = WITHOUT_SERVING + r"|Quality|Error rate vs reference|Label|Estimated vs realised \$metric \(D\)"
        check_dashboards(prometheus, out, config, targets, allow_empty=empty)
