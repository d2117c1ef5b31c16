"""The exporter's HTTP interface as a plain ASGI application (served by uvicorn with httptools and uvloop).

No web framework: four routes do not need one, and every microsecond of the ingest path is the logger's.

* ``POST /`` — KServe logger CloudEvents; 202 when accepted, sampled out or for an unconfigured model,
  4xx with ``{"error", "reason"}`` for a body that cannot be used, 413 above ``exporter.max_body_bytes``.
* ``POST /feedback`` — ground truth for earlier predictions (see :mod:`exporters.feedback`); 202 with the count
  of labels joined, duplicate, unmatched or sampled out; 4xx with ``{"error", "reason"}`` for a bad document.
* ``GET /report/{namespace}/{model}`` — the Evidently HTML report of the model's live window (see
  :mod:`exporters.reports`).
* ``GET /metrics`` — Prometheus exposition from the latest snapshot.
* ``GET /healthz`` — the process is alive. ``GET /readyz`` — 200 only when every reference profile is loaded.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from .collector import DriftCollector
from .reports import ReportBuilder, ReportUnavailableError
from .service import ExporterService

log = logging.getLogger("driftline.exporter")
JSON = [(b"content-type", b"application/json")]
_HEADER_NAMES = {
    name.encode(): name
    for name in (
        "content-length", "content-type", "ce-type", "ce-specversion", "ce-id", "ce-inferenceservicename",
        "ce-namespace",
    )
}  # fmt: skip
# The answers almost every event gets, encoded once.
_COMMON_ANSWERS: dict[tuple[int, str | None], bytes] = {
    (202, "accepted"): b'{"status": "accepted"}',
    (202, "sampled_out"): b'{"status": "sampled_out"}',
}


def metrics_registry(service: ExporterService) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DriftCollector(service))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


class ExporterApp:
    def __init__(self, service: ExporterService) -> None:
        self.service = service
        self.registry = metrics_registry(service)
        self.max_body = service.config.exporter.max_body_bytes
        self.reports = ReportBuilder(service)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path == "/" and method == "POST":
            await self._ingest(scope, receive, send)
        elif path == "/feedback" and method == "POST":
            await self._feedback(scope, receive, send)
        elif path.startswith("/report/") and method in ("GET", "HEAD"):
            await self._report(path, send)
        elif path == "/metrics" and method in ("GET", "HEAD"):
            await _respond(send, 200, generate_latest(self.registry), [(b"content-type", CONTENT_TYPE_LATEST.encode())])
        elif path == "/healthz" and method in ("GET", "HEAD"):
            await _json(send, 200, {"status": "ok"})
        elif path == "/readyz" and method in ("GET", "HEAD"):
            ready, detail = self.service.ready()
            await _json(send, 200 if ready else 503, detail)
        elif path in ("/", "/feedback", "/metrics", "/healthz", "/readyz") or path.startswith("/report/"):
            await _json(send, 405, {"error": f"{method} is not allowed on {path}", "reason": "method_not_allowed"})
        else:
            await _json(send, 404, {"error": f"no such endpoint {path}", "reason": "not_found"})

    async def _ingest(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = _headers(scope)
        body = await self._body(headers, receive, send, self.service.counters.reject)
        if body is None:
            return
        status, answer = self.service.ingest(headers, body)
        cached = _COMMON_ANSWERS.get((status, answer.get("status")))
        if cached is not None:
            await _respond(send, status, cached, JSON)
        else:
            await _json(send, status, answer)

    async def _feedback(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = _headers(scope)
        body = await self._body(headers, receive, send, self.service.feedback_counters.reject)
        if body is not None:
            await _json(send, *self.service.feedback(headers, body))

    async def _body(self, headers: dict[str, str], receive: Any, send: Any, count: Any) -> bytes | None:
        """The whole body, or None after answering 413 (counted by ``count("too_large")``) or a disconnect."""
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            await self._too_large(send, count)
            return None
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self._too_large(send, count)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks) if len(chunks) > 1 else chunks[0]

    async def _too_large(self, send: Any, count: Any) -> None:
        count("too_large")
        await _json(
            send, 413, {"error": f"the body exceeds exporter.max_body_bytes ({self.max_body})", "reason": "too_large"}
        )

    async def _report(self, path: str, send: Any) -> None:
        parts = path.split("/")
        if len(parts) != 4 or not parts[2] or not parts[3]:
            await _json(send, 404, {"error": "use /report/{namespace}/{model}", "reason": "not_found"})
            return
        try:
            monitor = self.reports.monitor(parts[2], parts[3])
            report = self.reports.cached(monitor)
            if report is None:
                loop = asyncio.get_running_loop()
                report = await loop.run_in_executor(self.reports.executor, self.reports.build, monitor)
        except ReportUnavailableError as exc:
            extra = [(b"retry-after", str(round(exc.retry_after)).encode())] if exc.retry_after else []
            body = json.dumps({"error": str(exc), "reason": exc.reason}).encode()
            await _respond(send, exc.status, body, JSON + extra)
            return
        except Exception:  # a bug in one report must not take the exporter down
            log.exception("report failed", extra={"model": parts[3], "model_namespace": parts[2]})
            await _json(send, 500, {"error": "the report failed; see the exporter's log", "reason": "report_failed"})
            return
        await _respond(send, 200, report.html, [(b"content-type", b"text/html; charset=utf-8")])

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # The imports (numpy, scipy, pandas, pyarrow) leave ~10^6 long-lived objects; freezing them keeps the
                # cyclic garbage collector from re-scanning them while events allocate short-lived ones.
                gc.collect()
                gc.freeze()
                self.service.start()
                log.info("exporter started", extra={"models": [f"{k[1]}/{k[0]}" for k in self.service.monitors]})
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.service.stop()
                self.reports.close()
                log.info("exporter stopped")
                await send({"type": "lifespan.shutdown.complete"})
                return


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    # ASGI servers lower-case header names; only the CloudEvent attributes and the length matter here.
    headers = {}
    for key, value in scope["headers"]:
        name = _HEADER_NAMES.get(key)
        if name is None and key[:3] == b"ce-":
            name = key.decode("latin-1")
        if name is not None:
            headers[name] = value.decode("latin-1")
    return headers


async def _respond(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Any, status: int, document: dict[str, Any]) -> None:
    await _respond(send, status, json.dumps(document).encode(), JSON)
