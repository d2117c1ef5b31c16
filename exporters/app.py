"""The exporter's HTTP interface (the shared ASGI layer of :mod:`httpserver.asgi`).

* ``POST /`` — KServe logger CloudEvents; 202 when accepted, sampled out or for an unconfigured model,
  4xx with ``{"error", "reason"}`` for a body that cannot be used, 413 above ``exporter.max_body_bytes``.
* ``POST /feedback`` — ground truth for earlier predictions (see :mod:`exporters.feedback`); 202 with the count
  of labels joined, duplicate, unmatched or sampled out; 4xx with ``{"error", "reason"}`` for a bad document.
* ``GET /report/{namespace}/{model}`` — the Evidently HTML report of the model's live window (see
  :mod:`exporters.reports`).
* ``GET /metrics`` — Prometheus exposition (OpenMetrics and gzip when asked for), rendered off the event loop.
* ``GET /healthz`` — the process is alive. ``GET /readyz`` — 200 only when every reference profile is loaded.
"""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from drift.config.safety import unsafe_settings
from httpserver.asgi import (
    INLINE_BODY_BYTES,
    JSON,
    READ,
    App,
    Receive,
    Scope,
    Send,
    answer,
    fixed_answer,
    header_names,
    refuse,
    request_headers,
    respond,
    send_fixed,
)
from httpserver.exposition import build_info

from .collector import DriftCollector
from .reports import ReportBuilder, ReportUnavailableError
from .service import ExporterService

# The KServe logger's CloudEvent attributes, named so the hot path decodes no header name; other Ce-* headers are
# read by prefix. Besides them only the length matters here.
CLOUDEVENT_HEADERS = header_names(
    "content-length", "ce-type", "ce-specversion", "ce-id", "ce-inferenceservicename", "ce-namespace"
)
# The answers almost every event gets, encoded once.
_COMMON_ANSWERS: dict[tuple[int, Any], tuple[bytes, list[tuple[bytes, bytes]]]] = {
    (202, "accepted"): fixed_answer(b'{"status": "accepted"}'),
    (202, "sampled_out"): fixed_answer(b'{"status": "sampled_out"}'),
}


class ExporterApp(App):
    name = "exporter"

    def __init__(self, service: ExporterService) -> None:
        super().__init__(service.registry, service.config.exporter.max_body_bytes, "exporter.max_body_bytes")
        self.service = service
        self.registry.register(DriftCollector(lambda: service.snapshot, service.config.exporter.bin_counts))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        build_info(self.registry)
        self.reports = ReportBuilder(service)
        self.route("/", ("POST",), self.ingest)
        self.route("/feedback", ("POST",), self.feedback)
        self.route("/readyz", READ, self.readyz)
        self.route("/report/", READ, self.report, prefix=True)

    async def ingest(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = request_headers(scope, CLOUDEVENT_HEADERS, b"ce-")
        async with self.large_body_slot() as slot:
            body = await self.body(headers, receive, send, self._event_too_large, slot)
            if body is None:
                return
            if len(body) <= INLINE_BODY_BYTES:
                status, document = self.service.ingest(headers, body)
            else:  # a batch of rows: up to ~0.5 s of parsing for 10 MB, which must not stall /healthz or the logger
                status, document = await self.handle_large(self.service.ingest, headers, body)
        cached = _COMMON_ANSWERS.get((status, document.get("status"))) if len(document) == 1 else None
        if cached is not None:
            await send_fixed(send, status, cached)
        else:
            await answer(send, status, document)

    async def feedback(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = request_headers(scope, CLOUDEVENT_HEADERS, b"ce-")
        async with self.large_body_slot() as slot:
            on_too_large = lambda: self.service.instruments.reject_feedback("too_large")  # noqa: E731
            body = await self.body(headers, receive, send, on_too_large, slot)
            if body is None:
                return
            if len(body) <= INLINE_BODY_BYTES:
                result = self.service.feedback(headers, body)
            else:  # a label job's batch: seconds of parsing for 10 MB
                result = await self.handle_large(self.service.feedback, headers, body)
        await answer(send, *result)

    def _event_too_large(self) -> None:
        self.service.instruments.reject_event("too_large")

    async def readyz(self, scope: Scope, receive: Receive, send: Send) -> None:
        ready, detail = self.service.ready()
        await answer(send, 200 if ready else 503, detail)

    async def report(self, scope: Scope, receive: Receive, send: Send) -> None:
        parts = scope["path"].split("/")
        if len(parts) != 4 or not parts[2] or not parts[3]:
            self.refused.labels("not_found").inc()
            await refuse(send, 404, "not_found", "use /report/{namespace}/{model}")
            return
        try:
            stream = self.reports.stream(parts[2], parts[3])
            report = self.reports.cached(stream)
            if report is None:
                loop = asyncio.get_running_loop()
                report = await loop.run_in_executor(self.reports.executor, self.reports.build, stream)
        except ReportUnavailableError as exc:
            if exc.status < 500:
                self.refused.labels(exc.reason).inc()
            extra = [(b"retry-after", str(round(exc.retry_after)).encode())] if exc.retry_after else []
            body = json.dumps({"error": str(exc), "reason": exc.reason}).encode()
            await respond(send, exc.status, body, JSON + extra)
            return
        except Exception:  # a bug in one report must not take the exporter down
            self.log.exception("report failed", extra={"model": parts[3], "model_namespace": parts[2]})
            await refuse(send, 500, "report_failed", "the report failed; see the exporter's log")
            return
        await respond(send, 200, report.html, [(b"content-type", b"text/html; charset=utf-8")])

    def startup(self) -> None:
        # The imports (numpy, scipy, pandas, pyarrow) leave ~10^6 long-lived objects; freezing them keeps the
        # cyclic garbage collector from re-scanning them while events allocate short-lived ones.
        gc.collect()
        gc.freeze()
        self.service.start()
        self.log.info("exporter started", extra={"models": [f"{k[1]}/{k[0]}" for k in self.service.models]})
        for warning in unsafe_settings(self.service.config):
            self.log.warning("unsafe or obsolete setting", extra={"setting": warning})
        if self.service.checkpointer is None:
            self.log.info("no exporter.state_dir: a restart starts the windows empty")

    def shutdown(self) -> None:
        self.service.stop()
        self.reports.close()
        self.log.info("exporter stopped")
