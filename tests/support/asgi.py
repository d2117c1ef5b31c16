"""The fast tier's client: requests handed straight to an ASGI application in this process — the same app uvicorn
serves, with no socket and no subprocess, so a test of routing or of a bad body takes milliseconds."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        raw = gzip.decompress(self.body) if self.headers.get("content-encoding") == "gzip" else self.body
        return raw.decode()


class AsgiClient:
    def __init__(self, app: Any) -> None:
        self.app = app

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str = b"",
        headers: dict[str, str] | None = None,
        chunk_size: int | None = None,
    ) -> Response:
        data = body.encode() if isinstance(body, str) else body
        return asyncio.run(self._request(method, path, data, headers or {}, chunk_size))

    def get(self, path: str, headers: dict[str, str] | None = None) -> Response:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, body: bytes | str | Any, headers: dict[str, str] | None = None) -> Response:
        if not isinstance(body, bytes | str):
            body = json.dumps(body)
        return self.request("POST", path, body, headers)

    def metrics(self) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
        """/metrics parsed: {sample name: {sorted labels: value}}."""
        samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
        for family in text_string_to_metric_families(self.get("/metrics").text):
            for sample in family.samples:
                # an empty label value is no label, as Prometheus stores it (model_version of an unversioned model)
                key = tuple(sorted((k, v) for k, v in sample.labels.items() if v))
                samples.setdefault(sample.name, {})[key] = sample.value
        return samples

    def concurrently(self, *requests: tuple[str, str, bytes | str, dict[str, str]]) -> list[tuple[int, Response]]:
        """Several requests on one event loop at once; ``(finishing position, response)`` in the order given."""
        finished: list[int] = []

        async def one(index: int, method: str, path: str, body: bytes | str, headers: dict[str, str]) -> Response:
            data = body.encode() if isinstance(body, str) else body
            response = await self._request(method, path, data, headers, None)
            finished.append(index)
            return response

        async def run() -> list[Response]:
            return list(await asyncio.gather(*(one(i, *request) for i, request in enumerate(requests))))

        responses = asyncio.run(run())
        return [(finished.index(i), response) for i, response in enumerate(responses)]

    async def arequest(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Response:
        """:meth:`request` on the caller's event loop."""
        return await self._request(method, path, body, headers, None)

    async def _request(
        self, method: str, path: str, body: bytes, headers: dict[str, str], chunk_size: int | None
    ) -> Response:
        size = chunk_size or max(len(body), 1)
        chunks = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
        messages = [
            {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1} for i, chunk in enumerate(chunks)
        ]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        if body and not any(name == b"content-length" for name, _ in raw_headers):
            raw_headers.append((b"content-length", str(len(body)).encode()))
        scope = {"type": "http", "method": method, "path": path, "headers": raw_headers, "query_string": b""}
        await self.app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        return Response(
            start["status"],
            {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]},
            b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"),
        )


@contextmanager
def lifespan(app: Any) -> Iterator[AsgiClient]:
    """The app started (its lifespan startup run) for the duration, then shut down."""

    async def run(kind: str) -> None:
        messages = [{"type": f"lifespan.{kind}"}]
        answers: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "lifespan.shutdown"}

        async def send(message: dict[str, Any]) -> None:
            answers.append(message)
            if message["type"] == "lifespan.startup.complete":
                raise _StartedError

        with suppress(_StartedError):
            await app({"type": "lifespan"}, receive, send)
        assert answers and answers[-1]["type"] == f"lifespan.{kind}.complete", answers

    asyncio.run(run("startup"))
    try:
        yield AsgiClient(app)
    finally:
        asyncio.run(run("shutdown"))


class _StartedError(Exception):
    """Leaves the lifespan loop after startup; shutdown runs it again from the top."""
