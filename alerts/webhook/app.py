"""The webhook's HTTP interface as a plain ASGI application (uvicorn).

* ``POST /alertmanager`` — Alertmanager webhook notifications (v4). 401 without a valid bearer token (and no hint
  why), 400 with a reason for anything that is not a v4 notification, 413 above ``webhook.max_body_bytes``, 200 with
  the outcome per alert once every decision is committed to the outbox.
* ``GET /metrics`` — Prometheus exposition. ``GET /healthz`` — the process is alive.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.process_collector import ProcessCollector

from .collector import WebhookCollector
from .service import WebhookService

log = logging.getLogger("driftline.webhook")
JSON = [(b"content-type", b"application/json")]
ROUTES = ("/alertmanager", "/metrics", "/healthz")


class WebhookApp:
    def __init__(self, service: WebhookService) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(WebhookCollector(service))
        ProcessCollector(registry=self.registry)
        self.max_body = service.settings.max_body_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path == "/alertmanager" and method == "POST":
            await self._notification(scope, receive, send)
        elif path == "/metrics" and method in ("GET", "HEAD"):
            body = await asyncio.to_thread(generate_latest, self.registry)
            await _respond(send, 200, body, [(b"content-type", CONTENT_TYPE_LATEST.encode())])
        elif path == "/healthz" and method in ("GET", "HEAD"):
            await _json(send, 200, {"status": "ok"})
        elif path in ROUTES:
            await _json(send, 405, {"error": f"{method} is not allowed on {path}", "reason": "method_not_allowed"})
        else:
            await _json(send, 404, {"error": f"no such endpoint {path}", "reason": "not_found"})

    async def _notification(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = {k: v.decode("latin-1") for k, v in scope["headers"] if k in (b"authorization", b"content-length")}
        # the token may come from Secrets Manager (a network call when the cache expires): off the event loop
        if not await asyncio.to_thread(self.service.authorized, headers.get(b"authorization")):
            self.service.counters.notification("unauthorized")
            await _json(send, 401, {"error": "missing or invalid bearer token", "reason": "unauthorized"})
            return
        declared = headers.get(b"content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            await self._too_large(send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        # SQLite commits wait for the disk: keep them off the event loop
        status, answer = await asyncio.to_thread(self.service.handle, b"".join(chunks))
        await _json(send, status, answer)

    async def _too_large(self, send: Any) -> None:
        self.service.counters.notification("invalid")
        await _json(
            send, 413, {"error": f"the body exceeds webhook.max_body_bytes ({self.max_body})", "reason": "too_large"}
        )

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.service.start()
                log.info("webhook started", extra={"state": self.service.settings.state})
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.service.stop()
                log.info("webhook stopped")
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _respond(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Any, status: int, document: dict[str, Any]) -> None:
    await _respond(send, status, json.dumps(document).encode(), JSON)
