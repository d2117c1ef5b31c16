"""Running the exporter: uvicorn (httptools parser, uvloop event loop) around the ASGI app.

uvicorn handles SIGTERM and SIGINT gracefully: it stops accepting, finishes in-flight requests, then runs the
app's lifespan shutdown, which stops the evaluator and reference threads.
"""

from __future__ import annotations

import logging

import uvicorn

from drift.config import ListenAddress, MonitorConfig
from drift.logs import configure_logging

from .app import ExporterApp
from .service import ExporterService

log = logging.getLogger("driftline.exporter")


def serve(config: MonitorConfig, listen: ListenAddress | None = None, log_level: str = "info") -> None:
    configure_logging(log_level)
    address = listen or config.exporter.listen
    app = ExporterApp(ExporterService(config))
    server_config = uvicorn.Config(
        app,
        host=address.host,
        port=address.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        proxy_headers=False,  # nothing here reads the client address; the middleware only costs time
        log_config=None,
        log_level=log_level,
        timeout_graceful_shutdown=10,
    )
    log.info("listening", extra={"address": str(address)})
    uvicorn.Server(server_config).run()
