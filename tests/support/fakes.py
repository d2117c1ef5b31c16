"""Fakes of the services the tests cannot reach: GitHub's dispatch API and Kubeflow Pipelines' REST API, as real
HTTP servers on loopback that answer from a script. Prometheus, Alertmanager and the Slack sink are the demo's
(``driftline.demo.stack``), re-exported here."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from driftline.demo.stack import AlertmanagerProcess, LoopbackServer, PrometheusProcess, QuietHandler, Sink, wait

__all__ = [
    "AlertmanagerProcess",
    "Answer",
    "FakeGitHub",
    "FakeKubeflowPipelines",
    "FakeServingMetrics",
    "PrometheusProcess",
    "Sink",
    "wait",
]


@dataclass
class Answer:
    """One scripted answer of the fake GitHub: a status with headers and body, after ``hang`` seconds — or, with
    ``trickle``, sent one byte every ``trickle`` seconds (a peer that never stops answering)."""

    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    hang: float = 0.0
    trickle: float = 0.0


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: Any
    status: int
    at: float


class FakeGitHub(LoopbackServer):
    """GitHub's REST API for ``repository_dispatch``, as far as the webhook can tell: answers from a script (204,
    403 + retry-after, 429, 500, 422, or hanging), then ``default``; records every call and what it answered."""

    def __init__(self, default: Answer | None = None) -> None:
        self.default = default or Answer(204)
        self.script: list[Answer] = []
        self.calls: list[Call] = []
        self.trickles_finished = self.trickles_cut = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.read_json()
                with fake._lock:
                    answer = fake.script.pop(0) if fake.script else fake.default
                if answer.hang:
                    time.sleep(answer.hang)
                if answer.trickle:
                    self._trickle(answer)
                    return
                with fake._lock:
                    fake.calls.append(Call(self.path, dict(self.headers.items()), body, answer.status, time.time()))
                self.reply(answer.status, answer.body, answer.headers)

            def _trickle(self, answer: Answer) -> None:
                body = answer.body or b"{}" * 200
                raw = f"HTTP/1.1 {answer.status} OK\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
                try:
                    for byte in raw:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(answer.trickle)
                    fake.trickles_finished += 1
                except OSError:
                    fake.trickles_cut += 1  # the client hung up
                self.close_connection = True

        super().__init__(Handler)

    def answer(self, *answers: Answer) -> None:
        with self._lock:
            self.script.extend(answers)

    def delivered(self) -> list[Call]:
        """Calls GitHub answered with success: the dispatches that happened."""
        with self._lock:
            return [c for c in self.calls if 200 <= c.status < 300]


class FakeKubeflowPipelines(LoopbackServer):
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

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def _reply(self, status: int, document: Any, headers: dict[str, str] | None = None) -> None:
                self.reply(
                    status, json.dumps(document).encode(), {**(headers or {}), "Content-Type": "application/json"}
                )

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
                body = self.read_json() or {}
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

        super().__init__(Handler)


def _filter_name(text: str | None) -> str | None:
    """The display_name a KFP list filter asks for (both the enum-name and the numeric form)."""
    if not text:
        return None
    for predicate in json.loads(text).get("predicates", []):
        if predicate.get("key") == "display_name":
            value = predicate.get("string_value", predicate.get("stringValue"))
            return str(value)
    return None


class FakeServingMetrics(LoopbackServer):
    """The InferenceService's own metrics as Knative's queue-proxy (≤ 1.17) exposes them on ``/metrics``:
    ``revision_app_request_count`` and ``revision_app_request_latencies`` (milliseconds). ``served(n, ms)`` records
    ``n`` answered requests, as the test's traffic goes out."""

    BUCKETS = (5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0)

    def __init__(self, service: str, namespace: str) -> None:
        self.labels = (
            f'configuration_name="{service}",namespace_name="{namespace}",revision_name="{service}-00001",'
            f'service_name="{service}"'
        )
        self.ok = 0
        self.errors = 0
        self.buckets = [0] * len(self.BUCKETS)
        self.total_ms = 0.0
        self._lock = threading.Lock()
        fake = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                self.reply(200, fake.exposition().encode(), {"Content-Type": "text/plain; version=0.0.4"})

        super().__init__(Handler)

    def served(self, requests: int, latency_ms: float, errors: int = 0) -> None:
        with self._lock:
            self.ok += requests
            self.errors += errors
            for i, bound in enumerate(self.BUCKETS):
                if latency_ms <= bound:
                    self.buckets[i] += requests + errors
            self.total_ms += latency_ms * (requests + errors)

    def exposition(self) -> str:
        with self._lock:
            lines = [
                "# TYPE revision_app_request_count counter",
                f'revision_app_request_count{{{self.labels},response_code="200",response_code_class="2xx"}} {self.ok}',
                f'revision_app_request_count{{{self.labels},response_code="500",response_code_class="5xx"}} '
                f"{self.errors}",
                "# TYPE revision_app_request_latencies histogram",
            ]
            for bound, count in zip(self.BUCKETS, self.buckets, strict=True):
                lines.append(f'revision_app_request_latencies_bucket{{{self.labels},le="{bound:g}"}} {count}')
            total = self.ok + self.errors
            lines.append(f'revision_app_request_latencies_bucket{{{self.labels},le="+Inf"}} {total}')
            lines.append(f"revision_app_request_latencies_sum{{{self.labels}}} {self.total_ms}")
            lines.append(f"revision_app_request_latencies_count{{{self.labels}}} {total}")
        return "\n".join(lines) + "\n"
