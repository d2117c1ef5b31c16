"""Running the exporter: the ASGI app under uvicorn. SIGTERM stops accepting, finishes in-flight requests, then
stops the evaluator and reference threads."""

from __future__ import annotations

from drift.config import ListenAddress, MonitorConfig
from httpserver.asgi import serve as serve_app

from .app import ExporterApp
from .service import ExporterService


def serve(config: MonitorConfig, listen: ListenAddress | None = None, log_level: str = "info") -> None:
    serve_app(lambda: ExporterApp(ExporterService(config)), listen or config.exporter.listen, log_level)
