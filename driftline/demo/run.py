"""``driftline demo``: the whole loop on one machine, no cloud account, no cluster.

1. A seeded synthetic customer-churn training set and a scikit-learn model trained on it; data and reference
   profile go to ``--data-dir`` (or to S3 with ``--s3 s3://bucket/prefix``).
2. The exporter and the retraining webhook run in this process; Prometheus and Alertmanager (when installed) run as
   subprocesses with the config ``driftline generate`` writes; Slack and GitHub are local sinks that show what they
   receive.
3. Traffic in KServe's logger format (v1 and v2, request and response events with the model's real predictions):
   first like the training data, then drifting — prices up 20%, the two-year contract withdrawn, a wave of new
   customers.
4. A live view until ``--duration`` ends or Ctrl-C, then a summary. Everything started is stopped on the way out.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import threading
import time
from collections import deque
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import requests
import yaml
from rich.console import Console
from rich.live import Live

import drift
from alerts.loader import load_deployment
from alerts.webhook.metrics import NOTIFICATION_OUTCOMES, RETRAIN_NOTIFICATIONS
from drift.logs import JsonFormatter

from . import kserve, loop
from .data import FEATURES, LABEL, OUTPUT, Drift, customers, predict, training_set
from .stack import (
    ALERTMANAGER,
    PROMETHEUS,
    AlertmanagerProcess,
    PrometheusProcess,
    Sink,
    ThreadedServer,
    binary,
    free_port,
    wait,
)
from .view import Snapshot, fill_from_exporter, read_alerts, read_exporter, render

ROWS_PER_SECOND = 100
BATCH = 20
LABEL_DELAY_CALLS = 10  # a call's churn labels are sent 10 calls (2 s) later


class Traffic(threading.Thread):
    """Sends the model's inference calls to the exporter, drifting from ``drift_at`` seconds on."""

    def __init__(self, url: str, model: Any, mode: str, drift_at: float, ramp: float) -> None:
        super().__init__(name="demo-traffic", daemon=True)
        self.url, self.model, self.mode, self.drift_at, self.ramp = url, model, mode, drift_at, ramp
        self.started = time.monotonic()
        self.stop_event = threading.Event()
        self.rows = 0
        self.errors = 0
        self.rng = np.random.default_rng(2026)

    def drift(self) -> Drift:
        elapsed = time.monotonic() - self.started
        if self.mode == "none" or elapsed < self.drift_at:
            return Drift(0.0)
        if self.mode == "sudden":
            return Drift(1.0)
        return Drift(min(1.0, (elapsed - self.drift_at) / self.ramp))

    def phase(self) -> str:
        amount = self.drift().amount
        return "like the training data" if amount == 0 else f"drifting ({amount:.0%} of the shift)"

    def run(self) -> None:
        session = requests.Session()
        calls = 0
        waiting: deque[tuple[str, list[int]]] = deque()  # calls whose churn label is not known yet
        while not self.stop_event.wait(BATCH / ROWS_PER_SECOND):
            frame = customers(BATCH, self.rng, self.drift())
            predictions = predict(self.model, frame).tolist()
            protocol = "v1" if calls % 2 == 0 else "v2"
            sent = kserve.events(frame[FEATURES], predictions, loop.MODEL, loop.NAMESPACE, protocol)
            waiting.append((sent[0][0]["Ce-Id"], frame[LABEL].tolist()))
            deliveries = list(sent)
            if len(waiting) > LABEL_DELAY_CALLS:  # the label of an older call is known now
                deliveries.append(kserve.feedback(loop.MODEL, loop.NAMESPACE, *waiting.popleft()))
            for headers, body in deliveries:
                url = self.url.rstrip("/") + "/feedback" if headers["Ce-Type"] == kserve.FEEDBACK else self.url
                try:
                    session.post(url, data=body, headers=headers, timeout=5)
                except requests.RequestException:
                    self.errors += 1
            self.rows += BATCH
            calls += 1


def _log_to_file(path: Path) -> None:
    handler = logging.FileHandler(path)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def _slack_line(body: Any) -> str:
    try:
        attachment = body["attachments"][0]
        return f"{attachment['title']}"
    except (KeyError, IndexError, TypeError):
        return str(body)[:120]


def _dispatch_line(body: Any) -> str:
    payload = body.get("client_payload", {}) if isinstance(body, dict) else {}
    features = ", ".join(f"{k} {v:.2f}" for k, v in payload.get("drifted_features", {}).items())
    return f"{body.get('event_type')} for {payload.get('namespace')}/{payload.get('model')}: drifted {features}"


def run_demo(
    duration: float, drift_mode: str, servers: bool, data_dir: Path, s3_prefix: str | None, console: Console
) -> int:
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    _log_to_file(data_dir / "demo.log")
    tokens = {"DRIFTLINE_WEBHOOK_TOKEN": secrets.token_urlsafe(16), "GITHUB_TOKEN": secrets.token_urlsafe(16)}
    os.environ.update(tokens)  # the in-process webhook resolves env: references
    (data_dir / "webhook_token").write_text(tokens["DRIFTLINE_WEBHOOK_TOKEN"])
    state = data_dir / "webhook.sqlite"
    for leftover in (state, Path(f"{state}-wal"), Path(f"{state}-shm")):
        leftover.unlink(missing_ok=True)  # every demo run is a new incident

    console.print("[bold]1/4[/bold] training the churn model on 5,000 synthetic customers …")
    train, model = training_set(5000, seed=7)
    base = s3_prefix.rstrip("/") if s3_prefix else str(data_dir)
    data_uri, profile_uri = f"{base}/train.csv", f"{base}/profile.json"
    if s3_prefix:
        from drift.config import S3Config
        from drift.reference.storage import write_bytes

        write_bytes(data_uri, train.to_csv(index=False).encode(), S3Config())
    else:
        train.to_csv(data_uri, index=False)
    # What the traffic turns into once drifted, with the model's answers and the churn labels: the Quick start's
    # `driftline report --current` example shows a drift, not the training data against itself.
    drifted = customers(2000, np.random.default_rng(8), Drift(1.0))
    drifted[OUTPUT] = predict(model, drifted)
    drifted.to_csv(data_dir / "current.csv", index=False)

    exporter_port, webhook_port = free_port(), free_port()
    slack_messages: list[str] = []
    dispatches: list[str] = []
    run_servers = servers and binary(PROMETHEUS) is not None and binary(*ALERTMANAGER) is not None
    with ExitStack() as stack:
        slack = Sink(200, lambda r: slack_messages.append(_slack_line(r.body)))
        stack.callback(slack.stop)
        github = Sink(204, lambda r: dispatches.append(_dispatch_line(r.body)))
        stack.callback(github.stop)
        (data_dir / "slack_url").write_text(slack.url + "/services/demo")
        content = loop.monitor_config(
            data=data_uri,
            profile=profile_uri,
            webhook_url=f"http://127.0.0.1:{webhook_port}/alertmanager",
            slack_url_file=str(data_dir / "slack_url"),
            webhook_token_file=str(data_dir / "webhook_token"),
            github_url=github.url,
            state=str(state),
            window=1000,
        )
        config_path = data_dir / "monitor.yaml"
        config_path.write_text(yaml.safe_dump(content, sort_keys=False))
        config = load_deployment(config_path)
        model_config = config.models[0]
        profile = drift.build_profile(train, model_config)
        profile.save(profile_uri, config.s3)
        console.print(f"[bold]2/4[/bold] reference profile {profile.version} written to {profile_uri}")

        from driftline.generate import generate, write_files

        write_files(generate(config), data_dir / "generated")
        from alerts.webhook.app import WebhookApp
        from alerts.webhook.service import WebhookService
        from exporters.app import ExporterApp
        from exporters.service import ExporterService

        exporter = ThreadedServer(ExporterApp(ExporterService(config)), exporter_port)
        stack.callback(exporter.stop)
        webhook_service = WebhookService(config)
        webhook_service.prepare()
        webhook = ThreadedServer(WebhookApp(webhook_service), webhook_port)
        stack.callback(webhook.stop)
        wait(lambda: requests.get(exporter.url + "/readyz", timeout=2).status_code == 200, 120, "the exporter")
        urls = {"exporter": exporter.url + "/metrics", "webhook": webhook.url + "/metrics"}

        prometheus: PrometheusProcess | None = None
        if run_servers:
            servers_dir = data_dir / "servers"
            shutil.rmtree(servers_dir, ignore_errors=True)
            alertmanager = AlertmanagerProcess(
                servers_dir / "alertmanager", data_dir / "generated" / "alertmanager" / "alertmanager.yml"
            )
            stack.callback(alertmanager.stop)
            targets = {loop.EXPORTER_JOB: exporter.url, loop.WEBHOOK_JOB: webhook.url}
            prom_config = loop.prometheus_config(
                str(data_dir / "generated" / "prometheus" / "rules.yml"), targets, alertmanager.url
            )
            prometheus = PrometheusProcess(servers_dir / "prometheus", prom_config)
            stack.callback(prometheus.stop)
            alertmanager.wait_ready()
            prometheus.wait_ready()
            urls |= {"prometheus": prometheus.url, "alertmanager": alertmanager.url}
            console.print("[bold]3/4[/bold] exporter, webhook, Prometheus and Alertmanager are up")
        else:
            why = (
                "--no-servers"
                if not servers
                else "prometheus is not installed (apt-get install prometheus prometheus-alertmanager)"
            )
            console.print(f"[bold]3/4[/bold] exporter and webhook are up; no Prometheus/Alertmanager ({why})")

        drift_at = min(40.0, duration / 3)
        traffic = Traffic(exporter.url + "/", model, drift_mode, drift_at, ramp=max(10.0, duration / 4))
        stack.callback(traffic.stop_event.set)
        # Ctrl-C sets an event rather than raising KeyboardInterrupt wherever the main thread happens to be: raised
        # inside a finalizer (a socket collected during a request) the exception is printed and lost, and the demo
        # would run on.
        interrupt = threading.Event()
        previous = signal.signal(signal.SIGINT, lambda *_: interrupt.set())
        stack.callback(signal.signal, signal.SIGINT, previous)
        traffic.start()
        console.print(
            f"[bold]4/4[/bold] sending traffic for {duration:.0f} s: like the training data, then "
            f"{'no drift' if drift_mode == 'none' else drift_mode + ' drift'} from {drift_at:.0f} s "
            "(Ctrl-C stops)"
        )
        seen_alerts: set[str] = set()
        dropped_during = False  # the quality verdict at any evaluation, not only the last one the summary shows
        snapshot = Snapshot()
        started = time.monotonic()
        live = Live(render(snapshot), console=console, refresh_per_second=2, transient=False)
        interrupted = False
        reported = {"slack": 0, "github": 0}
        with live:
            while (elapsed := time.monotonic() - started) < duration:
                snapshot = Snapshot(phase=traffic.phase(), elapsed=elapsed)
                try:
                    fill_from_exporter(snapshot, read_exporter(exporter.url))
                    if prometheus is not None:
                        snapshot.alerts = read_alerts(prometheus.url)
                except (requests.RequestException, ValueError, KeyError):
                    pass
                dropped_during = dropped_during or snapshot.quality.get("dropped") == 1
                for name, state_, _ in snapshot.alerts:
                    if state_ == "firing" and name not in seen_alerts:
                        seen_alerts.add(name)
                        if not console.is_terminal:
                            console.print(f"{elapsed:5.0f} s  alert firing: {name}")
                snapshot.slack = list(slack_messages)
                snapshot.dispatches = list(dispatches)
                if not console.is_terminal:  # a log instead of a live view
                    for line in slack_messages[reported["slack"] :]:
                        console.print(f"{elapsed:5.0f} s  Slack: {line}")
                    for line in dispatches[reported["github"] :]:
                        console.print(f"{elapsed:5.0f} s  GitHub repository_dispatch: {line}")
                    reported = {"slack": len(slack_messages), "github": len(dispatches)}
                live.update(render(snapshot))
                if interrupt.wait(1.0):
                    interrupted = True
                    break
        traffic.stop_event.set()
        traffic.join(timeout=5)
        outcomes = {
            outcome: int(
                webhook_service.registry.get_sample_value(f"{RETRAIN_NOTIFICATIONS.series}", {"outcome": outcome}) or 0
            )
            for outcome in NOTIFICATION_OUTCOMES
        }
        _summary(console, snapshot, traffic, seen_alerts, slack_messages, dispatches, outcomes, urls, data_dir,
                 dropped_during)  # fmt: skip
        if interrupted:
            console.print("interrupted: everything the demo started is stopped")
    return 130 if interrupted else 0


def _summary(
    console: Console,
    snapshot: Snapshot,
    traffic: Traffic,
    alerts: set[str],
    slack: list[str],
    dispatches: list[str],
    outcomes: dict[str, int],
    urls: dict[str, str],
    data_dir: Path,
    dropped_during: bool = False,
) -> None:
    """What happened. Verdicts are the last evaluation's ("at the end"); alerts are every one that fired during the
    run — an alert may have fired on a drop the labels later took back, which the two lines then both say."""
    drifted = sorted(name for name, stats in snapshot.features.items() if stats.get("drifted") == 1)
    share = "—" if snapshot.drift_share is None else f"{snapshot.drift_share:.0%}"
    console.rule("summary")
    calls = traffic.rows // BATCH
    console.print(
        f"traffic sent:        {traffic.rows:,} rows in {calls:,} inference calls (v1, v2); {traffic.errors} errors"
    )
    console.print(f"dataset drift:       {'DRIFTED' if snapshot.dataset_drifted else 'none'} (drift share {share})")
    console.print(f"drifted features:    {', '.join(drifted) or 'none'}")
    quality = snapshot.quality
    if "accuracy" in quality:
        if quality.get("dropped") == 1:
            drop = "DROPPED"
        else:
            drop = "dropped during the run, not at the end" if dropped_during else "no drop"
        verdicts = [drop, "concept drift" if quality.get("concept") == 1 else "no concept drift"]
        console.print(
            f"model quality:       accuracy {quality['accuracy']:.3f} at the end (reference "
            f"{quality.get('reference', 0):.3f}) on {quality.get('labelled', 0):,.0f} labelled predictions; "
            f"{', '.join(verdicts)}"
        )
    firing = sorted({name for name, state_, _ in snapshot.alerts if state_ == "firing"})
    console.print(f"alerts that fired:   {', '.join(sorted(alerts)) or 'none'} (during the run)")
    console.print(f"still firing:        {', '.join(firing) or 'none'} (at the end)")
    console.print(f"Slack messages:      {len(slack)}")
    for line in dict.fromkeys(slack):
        console.print(f"                     {slack.count(line)} × {line}")
    received = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()) if n)
    console.print(f"retraining webhook:  {received or 'no notification'}")
    console.print(f"GitHub dispatches:   {len(dispatches)}")
    for line in dispatches:
        console.print(f"                     {line}")
    console.print(
        f"files:               {data_dir} (monitor.yaml, train.csv, current.csv, profile.json, generated/, demo.log)"
    )
    for name, url in urls.items():
        console.print(f"{name + ':':<21}{url} (stopped now)")
