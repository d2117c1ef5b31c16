"""Real Prometheus and Alertmanager binaries, and small recording HTTP servers standing in for Slack and the
retraining webhook — all on free loopback ports, all stopped when the test ends, even when it fails."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.support import free_port

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
ALERTMANAGER = (
    shutil.which("prometheus-alertmanager") or shutil.which("alertmanager") or "/usr/bin/prometheus-alertmanager"
)


def wait(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


class _Process:
    """A server binary as a subprocess with its output in a log file."""

    name = "server"

    def __init__(self, args: list[str], log_path: Path, url: str) -> None:
        self.url = url
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30.0) -> None:
        def ready() -> bool:
            assert self.process.poll() is None, f"{self.name} exited:\n{self.log()}"
            try:
                return requests.get(self.url + "/-/ready", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False

        wait(ready, timeout, f"{self.name} to be ready")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def __enter__(self) -> _Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PrometheusProcess(_Process):
    name = "prometheus"

    def __init__(self, workdir: Path, config: dict[str, Any]) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        config_path = workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config))
        port = free_port()
        super().__init__(
            [
                PROMETHEUS,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--web.enable-lifecycle",
            ],
            workdir / "prometheus.log",
            f"http://127.0.0.1:{port}",
        )

    def query(self, expr: str) -> dict[str, Any]:
        """/api/v1/query; the JSON body whatever the status (a bad expression is a 400 with errorType bad_data)."""
        response = requests.get(self.url + "/api/v1/query", params={"query": expr}, timeout=10)
        body: dict[str, Any] = response.json()
        return body

    def alerts(self) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = requests.get(self.url + "/api/v1/alerts", timeout=5).json()["data"]["alerts"]
        return alerts


class AlertmanagerProcess(_Process):
    name = "alertmanager"

    def __init__(self, workdir: Path, config_path: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        super().__init__(
            [
                ALERTMANAGER,
                f"--config.file={config_path}",
                f"--storage.path={workdir / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",  # no gossip: a single test instance
            ],
            workdir / "alertmanager.log",
            f"http://127.0.0.1:{port}",
        )

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        response = requests.post(self.url + "/api/v2/alerts", json=alerts, timeout=5)
        assert response.status_code == 200, response.text

    def alerts(self, **matchers: str) -> list[dict[str, Any]]:
        params = [("filter", f'{k}="{v}"') for k, v in matchers.items()]
        params.append(("inhibited", "true"))
        params.append(("silenced", "true"))
        alerts: list[dict[str, Any]] = requests.get(self.url + "/api/v2/alerts", params=params, timeout=5).json()
        return alerts


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class RecordingServer:
    """An HTTP server that records every POST (JSON bodies decoded) and answers with ``status``."""

    status: int = 200
    reply: bytes = b"ok"
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        recorder = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
                with lock:
                    recorder.requests.append(Recorded(self.path, dict(self.headers.items()), body))
                self.send_response(recorder.status)
                self.send_header("Content-Length", str(len(recorder.reply)))
                self.end_headers()
                self.wfile.write(recorder.reply)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def received(self, path: str) -> list[Recorded]:
        return [r for r in list(self.requests) if r.path == path]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> RecordingServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Answer:
    """One scripted answer of the fake GitHub: a status with headers and body, after ``hang`` seconds."""

    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    hang: float = 0.0


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: Any
    status: int
    at: float


class FakeGitHub:
    """GitHub's REST API for ``repository_dispatch``, as far as the webhook can tell: answers from a script (204,
    403 + retry-after, 429, 500, 422, or hanging), then ``default``; records every call and what it answered."""

    def __init__(self, default: Answer | None = None) -> None:
        self.default = default or Answer(204)
        self.script: list[Answer] = []
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with fake._lock:
                    answer = fake.script.pop(0) if fake.script else fake.default
                if answer.hang:
                    time.sleep(answer.hang)
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
                with fake._lock:
                    fake.calls.append(Call(self.path, dict(self.headers.items()), body, answer.status, time.time()))
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the client gave up waiting (a hang longer than its timeout)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def answer(self, *answers: Answer) -> None:
        with self._lock:
            self.script.extend(answers)

    def delivered(self) -> list[Call]:
        """Calls GitHub answered with success: the dispatches that happened."""
        with self._lock:
            return [c for c in self.calls if 200 <= c.status < 300]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeGitHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FakeKubeflowPipelines:
    """The KFP v2beta1 REST API as far as starting runs goes: experiments (find by name, create) and runs (create,
    find by name), with scripted failures for ``POST /runs``: an ``Answer`` to return instead, or ``"lose"`` to
    create the run and then hang past the client's timeout (its answer is lost)."""

    def __init__(self) -> None:
        self.experiments: dict[str, dict[str, Any]] = {}
        self.runs: list[dict[str, Any]] = []
        self.run_script: list[Answer | str] = []
        self.requests: list[tuple[str, str, Any]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _reply(self, status: int, document: Any, headers: dict[str, str] | None = None) -> None:
                body = json.dumps(document).encode()
                try:
                    self.send_response(status)
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

            def do_GET(self) -> None:
                from urllib.parse import parse_qs, urlsplit

                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                with fake._lock:
                    fake.requests.append(("GET", url.path, dict(self.headers.items())))
                wanted = _filter_name(query.get("filter"))
                if url.path == "/apis/v2beta1/experiments":
                    found = [e for e in fake.experiments.values() if wanted in (None, e["display_name"])]
                    self._reply(200, {"experiments": found, "total_size": len(found)} if found else {})
                elif url.path == "/apis/v2beta1/runs":
                    found = [
                        r
                        for r in fake.runs
                        if wanted in (None, r["display_name"]) and r["experiment_id"] == query.get("experiment_id")
                    ]
                    self._reply(200, {"runs": found, "total_size": len(found)} if found else {})
                else:
                    self._reply(404, {"error": "not found", "code": 5, "message": "not found"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                with fake._lock:
                    fake.requests.append(("POST", self.path, dict(self.headers.items())))
                if self.path == "/apis/v2beta1/experiments":
                    experiment = {"experiment_id": f"exp-{len(fake.experiments) + 1}", **body}
                    fake.experiments[experiment["experiment_id"]] = experiment
                    self._reply(200, experiment)
                    return
                if self.path != "/apis/v2beta1/runs":
                    self._reply(404, {"error": "not found", "code": 5, "message": "not found"})
                    return
                with fake._lock:
                    scripted = fake.run_script.pop(0) if fake.run_script else None
                if isinstance(scripted, Answer):
                    time.sleep(scripted.hang)
                    self._reply(scripted.status, json.loads(scripted.body or b"{}"), scripted.headers)
                    return
                missing = [k for k in ("experiment_id", "display_name", "runtime_config") if k not in body]
                if missing or not ("pipeline_spec" in body or "pipeline_version_reference" in body):
                    self._reply(400, {"error": f"invalid run: {missing}", "code": 3, "message": "invalid run"})
                    return
                run = {**body, "run_id": f"run-{len(fake.runs) + 1}", "state": "PENDING"}
                with fake._lock:
                    fake.runs.append(run)
                if scripted == "lose":
                    time.sleep(5)  # past the client's timeout: the run exists, its answer never arrives
                self._reply(200, run)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeKubeflowPipelines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _filter_name(text: str | None) -> str | None:
    """The display_name a KFP list filter asks for (both the enum-name and the numeric form)."""
    if not text:
        return None
    for predicate in json.loads(text).get("predicates", []):
        if predicate.get("key") == "display_name":
            value = predicate.get("string_value", predicate.get("stringValue"))
            return str(value)
    return None
