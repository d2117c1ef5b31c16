"""The webhook's HTTP interface (the shared ASGI layer of :mod:`httpserver.asgi`).

* ``POST /alertmanager`` — Alertmanager webhook notifications (v4). 401 without a valid bearer token (and no hint
  why), 400 with a reason for anything that is not a v4 notification, 413 above ``webhook.max_body_bytes``, 200 with
  the outcome per alert once every decision is committed to the outbox.
* ``GET /metrics`` — Prometheus exposition, rendered off the event loop. ``GET /healthz`` — the process is alive.
"""

from __future__ import annotations

import asyncio

from prometheus_client.process_collector import ProcessCollector

from httpserver.asgi import (
    INLINE_BODY_BYTES,
    READ,
    App,
    Receive,
    Scope,
    Send,
    answer,
    header_names,
    refuse,
    request_headers,
)
from httpserver.exposition import build_info

from .collector import OutboxCollector
from .service import WebhookService

_HEADERS = header_names("authorization", "content-length")


class WebhookApp(App):
    name = "webhook"

    def __init__(self, service: WebhookService) -> None:
        super().__init__(service.registry, service.settings.max_body_bytes, "webhook.max_body_bytes")
        self.service = service
        self.registry.register(OutboxCollector(service))
        ProcessCollector(registry=self.registry)
        build_info(self.registry)
        self.route("/alertmanager", ("POST",), self.notification)
        self.route("/healthz", READ, self.healthz)

    async def healthz(self, scope: Scope, receive: Receive, send: Send) -> None:
        await answer(send, *self.service.health())

    async def notification(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = request_headers(scope, _HEADERS)
        authorization = headers.get("authorization")
        # the token may come from Secrets Manager (a network call when the cache expires): off the event loop
        if not await asyncio.to_thread(self.service.authorized, authorization):
            self.service.count("unauthorized")
            await refuse(send, 401, "unauthorized", "missing or invalid bearer token")
            return
        async with self.large_body_slot() as slot:
            body = await self.body(headers, receive, send, lambda: self.service.count("invalid"), slot)
            if body is None:
                return
            # SQLite commits wait for the disk: off the event loop, a large body on the large-body thread
            if len(body) <= INLINE_BODY_BYTES:
                status, document = await asyncio.to_thread(self.service.handle, body)
            else:
                status, document = await self.handle_large(self.service.handle, body)
        await answer(send, status, document)

    def startup(self) -> None:
        self.service.start()
        self.log.info("webhook started", extra={"state": self.service.settings.state})

    def shutdown(self) -> None:
        self.service.stop()
        self.log.info("webhook stopped")
