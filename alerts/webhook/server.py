"""Running the webhook: the ASGI app under uvicorn; SIGTERM finishes in-flight requests and the current delivery."""

from __future__ import annotations

from drift.config import ListenAddress
from httpserver.asgi import serve as serve_app

from ..config import DeploymentConfig
from .app import WebhookApp
from .service import WebhookService


def serve(config: DeploymentConfig, listen: ListenAddress | None = None, log_level: str = "info") -> None:
    assert config.webhook is not None

    def make_app() -> WebhookApp:
        service = WebhookService(config)
        service.prepare()
        return WebhookApp(service)

    serve_app(make_app, listen or config.webhook.listen, log_level)
