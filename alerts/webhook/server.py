"""Running the webhook: uvicorn around the ASGI app; SIGTERM finishes in-flight requests and the current delivery."""

from __future__ import annotations

import logging

import uvicorn

from drift.config import ListenAddress, MonitorConfig
from drift.logs import configure_logging

from .app import WebhookApp
from .service import WebhookService

log = logging.getLogger("driftline.webhook")


def serve(config: MonitorConfig, listen: ListenAddress | None = None, log_level: str = "info") -> None:
    configure_logging(log_level)
    service = WebhookService(config)
    service.prepare()
    assert config.webhook is not None
    address = listen or config.webhook.listen
    server_config = uvicorn.Config(
        WebhookApp(service),
        host=address.host,
        port=address.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        proxy_headers=False,
        log_config=None,
        log_level=log_level,
        timeout_graceful_shutdown=10,
    )
    log.info("listening", extra={"address": str(address)})
    uvicorn.Server(server_config).run()
