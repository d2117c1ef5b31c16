"""The real processes the integration tests run: the `driftline` CLI and its long-running servers as subprocesses on
loopback ports, always stopped; waiting for a condition; reading /metrics."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

from driftline.demo import loop
from driftline.demo.stack import AlertmanagerProcess, PrometheusProcess, ServerProcess, free_port, wait

from .data import ENV, TOKEN

REPO = Path(__file__).resolve().parent.parent.parent
__all__ = ["wait"]


# How long a test lets a subprocess run before calling it stuck: a guard against hangs, not a speed limit (make test
# runs tiers side by side on two cores, where promtool, Chromium or a KFP step can take minutes).
HANG_TIMEOUT = 600


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``driftline`` console script as a user would."""
    exe = shutil.which("driftline", path=str(Path(sys.executable).parent)) or "driftline"
    full_env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", **(env or {})}
    return subprocess.run([exe, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=HANG_TIMEOUT)


class DriftlineProcess(ServerProcess):
    """A long-running `driftline` command (`serve`, `webhook`) as a real subprocess on a loopback port, its output
    appended to ``log_path``; always stopped, even when a test fails."""

    command = "serve"
    ready_path = "/healthz"

    def __init__(
        self, config_path: Path, log_path: Path, env: dict[str, str] | None = None, port: int | None = None
    ) -> None:
        self.name = f"driftline {self.command}"
        self.port = port or free_port()
        exe = str(Path(sys.executable).parent / "driftline")
        full_env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", **(env or {})}
        args = [exe, self.command, "--config", str(config_path), "--listen", f"127.0.0.1:{self.port}"]
        super().__init__(args, log_path, f"http://127.0.0.1:{self.port}", full_env, append=True)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last checkpoint — an OOM kill or a node lost."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


class ExporterProcess(DriftlineProcess):
    """`driftline serve`."""

    command = "serve"


def scrape(url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """/metrics parsed with prometheus_client's parser: {sample name: {sorted labels: value}}."""
    from driftline.demo.view import read_exporter

    return read_exporter(url)


def labels(**kv: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(kv.items()))


class WebhookProcess(DriftlineProcess):
    """`driftline webhook`, with the tokens of these tests in its environment."""

    command = "webhook"

    def __init__(
        self, config: Path, log_path: Path, env: dict[str, str] | None = None, port: int | None = None
    ) -> None:
        super().__init__(config, log_path, {**ENV, **(env or {})}, port)

    def notify(self, notification: dict[str, Any], token: str | None = TOKEN) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(self.url + "/alertmanager", json=notification, headers=headers, timeout=10)

    def metrics(self) -> dict[str, float]:
        from prometheus_client.parser import text_string_to_metric_families

        text = requests.get(self.url + "/metrics", timeout=5).text
        values = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = sample.name + json.dumps(sample.labels, sort_keys=True) if sample.labels else sample.name
                values[key] = sample.value
        return values

    def outcome(self, outcome: str) -> float:
        return self.metrics()[f'driftline_retrain_notifications_total{{"outcome": "{outcome}"}}']


def alerting_stack(
    stack: ExitStack, work: Path, generated: Path, targets: Mapping[str, str | Sequence[str]]
) -> tuple[AlertmanagerProcess, PrometheusProcess]:
    """Alertmanager with the generated routing and Prometheus with the generated rules, scraping ``targets`` (a job's
    URL or its replicas' URLs) and alerting to it; both ready, and stopped with ``stack``."""
    alertmanager = stack.enter_context(
        AlertmanagerProcess(work / "am", generated / "alertmanager" / "alertmanager.yml")
    )
    config = loop.prometheus_config(str(generated / "prometheus" / "rules.yml"), targets, alertmanager.url)
    prometheus = stack.enter_context(PrometheusProcess(work / "prometheus", config))
    alertmanager.wait_ready()
    prometheus.wait_ready()
    return alertmanager, prometheus


def wait_for(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """``check()``'s first truthy value within ``timeout`` seconds."""
    return wait(check, timeout, getattr(check, "__name__", "a condition"), interval=0.05)
