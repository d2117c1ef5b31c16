"""The HTTP layer the exporter and the retraining webhook share: a plain ASGI application with a routing table,
bounded bodies, JSON answers, ``/metrics`` rendered off the event loop, ``/healthz``, the lifespan, and uvicorn's
configuration (httptools parser, uvloop event loop where it is installed).

No web framework: a handful of routes do not need one, and every microsecond of the ingest path is the logger's.
Client errors are answered ``{"error": "...", "reason": "..."}`` with a 4xx; a 5xx means a bug.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import socket
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import uvicorn
from prometheus_client import CollectorRegistry

from drift import catalogue as m
from drift.config import ListenAddress
from drift.errors import DriftlineError
from drift.logs import configure_logging

from .exposition import counter, render, with_known_labels
from .protocol import counting

T = TypeVar("T")
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Handler = Callable[[Scope, Receive, Send], Awaitable[None]]
JSON = [(b"content-type", b"application/json")]
READ = ("GET", "HEAD")
_SCRAPE_HEADERS = {b"accept": "accept", b"accept-encoding": "accept-encoding"}
# A body up to this size is handled on the event loop (a few labels or rows: microseconds). A larger one waits for one
# of LARGE_BODIES slots before it is read, and is handled by the app's one large-body thread: what clients send at
# once is held in memory at most LARGE_BODIES × max_body at a time, decoded one body at a time (a decoded body takes
# up to ~36 times its size: docs/operations.md), and a 10 MB body never stalls /healthz or the logger's small events.
INLINE_BODY_BYTES = 64 * 1024
LARGE_BODIES = 8


class LargeBodySlot:
    """One request's claim on a large-body slot: taken at most once, released when the request ends."""

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self._semaphore = semaphore
        self.held = False

    async def take(self) -> None:
        if not self.held:
            await self._semaphore.acquire()
            self.held = True

    async def __aenter__(self) -> LargeBodySlot:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.held:
            self.held = False
            self._semaphore.release()


async def respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    """Send a whole response; a Content-Length is added (a chunked answer costs the client a second parse)."""
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def fixed_answer(body: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """A JSON answer sent often enough to encode once: its body and headers for :func:`send_fixed`."""
    return body, [*JSON, (b"content-length", str(len(body)).encode())]


async def send_fixed(send: Send, status: int, answer: tuple[bytes, list[tuple[bytes, bytes]]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": answer[1]})
    await send({"type": "http.response.body", "body": answer[0]})


async def answer(send: Send, status: int, document: Mapping[str, Any]) -> None:
    await respond(send, status, json.dumps(document).encode(), JSON)


async def refuse(send: Send, status: int, reason: str, message: str) -> None:
    """A client error: ``{"error": message, "reason": reason}``."""
    await answer(send, status, {"error": message, "reason": reason})


def header_names(*names: str) -> dict[bytes, str]:
    """A lookup table for :func:`request_headers` (ASGI servers give header names in lower case)."""
    return {name.encode("latin-1"): name for name in names}


def request_headers(scope: Scope, names: Mapping[bytes, str], prefix: bytes = b"") -> dict[str, str]:
    """The headers named in ``names`` and, with a ``prefix``, those starting with it (name ``content-length`` for
    :meth:`App.body` to refuse an oversized body before reading it)."""
    found = {}
    lookup = names.get
    for key, value in scope["headers"]:
        name = lookup(key)
        if name is not None:
            found[name] = value.decode("latin-1")
        elif prefix and key.startswith(prefix):
            found[key.decode("latin-1")] = value.decode("latin-1")
    return found


class App:
    """Routes by exact path, then by path prefix; answers 404 and 405 itself. Subclasses add routes and the
    lifespan's ``startup``/``shutdown``."""

    name = "service"

    def __init__(self, registry: CollectorRegistry, max_body: int, limit_name: str) -> None:
        self.registry = registry
        self.max_body = max_body
        self.limit_name = limit_name  # the config key of max_body, named in a 413
        self.log = logging.getLogger(f"driftline.{self.name}")
        self.routes: dict[str, dict[str, Handler]] = {}
        self.prefixes: list[tuple[str, dict[str, Handler]]] = []
        self.route("/metrics", READ, self.metrics)
        self.route("/healthz", READ, self.healthz)
        self.refused = counter(m.HTTP_REFUSED, registry)
        with_known_labels(self.refused, m.HTTP_REFUSED)
        self._large_bodies: asyncio.Semaphore | None = None
        # Python threads share one interpreter lock: a second thread would decode no faster, only hold a second
        # decoded body in memory.
        self._large_work = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"driftline-{self.name}-large")

    def route(self, path: str, methods: tuple[str, ...], handler: Handler, *, prefix: bool = False) -> None:
        table = dict.fromkeys(methods, handler)
        if prefix:
            self.prefixes.append((path, table))
        else:
            self.routes[path] = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            table = self.routes.get(path)
            if table is None:
                table = next((t for p, t in self.prefixes if path.startswith(p)), None)
            if table is None:
                self.refused.labels("not_found").inc()
                await refuse(send, 404, "not_found", f"no such endpoint {path}")
                return
            handler = table.get(scope["method"])
            if handler is None:
                self.refused.labels("method_not_allowed").inc()
                await refuse(send, 405, "method_not_allowed", f"{scope['method']} is not allowed on {path}")
                return
            await handler(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def metrics(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = request_headers(scope, _SCRAPE_HEADERS)
        body, response_headers = await asyncio.to_thread(
            render, self.registry, headers.get("accept", ""), headers.get("accept-encoding", "")
        )
        await respond(send, 200, body, response_headers)

    async def healthz(self, scope: Scope, receive: Receive, send: Send) -> None:
        await answer(send, 200, {"status": "ok"})

    async def body(
        self,
        headers: Mapping[str, str],
        receive: Receive,
        send: Send,
        on_too_large: Callable[[], None],
        slot: LargeBodySlot | None = None,
    ) -> bytes | None:
        """The whole request body, or None after answering 413 (and calling ``on_too_large``) or a disconnect (the
        protocol's body deadline ends a body that does not arrive: :mod:`httpserver.protocol`). Never holds more than
        ``max_body`` bytes; a body larger than ``INLINE_BODY_BYTES`` takes ``slot`` first (waiting for one while
        LARGE_BODIES are read or handled), so large bodies in memory are bounded whatever the clients send.
        ``headers`` from :func:`request_headers`."""
        declared = headers.get("content-length", "")
        if declared.isdigit():
            if int(declared) > self.max_body:
                await self._too_large(send, on_too_large)
                return None
            if slot is not None and int(declared) > INLINE_BODY_BYTES:
                await slot.take()
        message = await receive()  # a small body has arrived whole before the handler runs
        if message["type"] == "http.request" and not message.get("more_body", False):
            chunk: bytes = message.get("body", b"")
            if len(chunk) <= self.max_body:
                return chunk
        chunks: list[bytes] = []
        size = 0
        while True:
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self._too_large(send, on_too_large)
                return None
            if slot is not None and size > INLINE_BODY_BYTES:
                await slot.take()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks) if len(chunks) != 1 else chunks[0]
            message = await receive()

    async def handle_large(self, handle: Callable[..., T], *args: Any) -> T:
        """``handle(*args)`` on the app's large-body thread (one large body decoded at a time, off the event loop)."""
        return await asyncio.get_running_loop().run_in_executor(self._large_work, handle, *args)

    def large_body_slot(self) -> LargeBodySlot:
        """A request's claim on one of the app's LARGE_BODIES slots (taken only if its body turns out large),
        released when the request is answered: ``async with app.large_body_slot() as slot``."""
        if self._large_bodies is None:  # made on the event loop that serves the requests
            self._large_bodies = asyncio.Semaphore(LARGE_BODIES)
        return LargeBodySlot(self._large_bodies)

    async def _too_large(self, send: Send, on_too_large: Callable[[], None]) -> None:
        on_too_large()
        await refuse(send, 413, "too_large", f"the body exceeds {self.limit_name} ({self.max_body})")

    def startup(self) -> None:
        """Runs once before the first request (blocking is fine here)."""

    def shutdown(self) -> None:
        """Runs once after the last request."""

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.shutdown()
                self._large_work.shutdown(wait=True)
                await send({"type": "lifespan.shutdown.complete"})
                return


class ListenError(DriftlineError):
    """The service cannot listen where it was told (the port is taken, or needs privileges)."""


def bind(address: ListenAddress) -> socket.socket:
    """The listening socket, bound before anything starts: a taken port is one line and exit 1, not a started
    service that logs its failure and a profile load after it."""
    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address.host, address.port))
    except OSError as exc:
        sock.close()
        hints = {
            errno.EADDRINUSE: "another process listens there; stop it, or choose another address (--listen HOST:PORT)",
            errno.EACCES: "ports below 1024 need privileges; choose a port above 1024 (--listen HOST:PORT)",
            errno.EADDRNOTAVAIL: "no interface has that address; use 0.0.0.0 or one of this host's addresses",
        }
        reason = (exc.strerror or str(exc)).lower()
        hint = hints.get(exc.errno or 0, "check the listen address")
        raise ListenError(f"cannot listen on {address}: {reason}; {hint}") from None
    except socket.gaierror as exc:
        sock.close()
        raise ListenError(f"cannot listen on {address}: unknown host ({exc.strerror})") from None
    sock.set_inheritable(True)
    return sock


def serve(make_app: Callable[[], App], address: ListenAddress, log_level: str) -> None:
    """Bind the address, configure logging, build the app and run it under uvicorn until SIGTERM or SIGINT: stop
    accepting, finish in-flight requests, then the lifespan shutdown. Connections are bounded as
    :mod:`httpserver.protocol` says. Raises ListenError before anything starts when the address cannot be bound."""
    sock = bind(address)
    configure_logging(log_level)
    app = make_app()
    config = uvicorn.Config(
        app,
        host=address.host,
        port=address.port,
        loop="auto",  # uvloop where it is installed (not on Windows, where it has no wheel), else asyncio
        http=counting(lambda reason: app.refused.labels(reason).inc()),
        lifespan="on",
        access_log=False,
        proxy_headers=False,  # nothing here reads the client address; the middleware only costs time
        server_header=False,  # no "server: uvicorn": nothing for a scanner, and a header less per response
        log_config=None,
        log_level=log_level,
        timeout_graceful_shutdown=10,
    )
    bound = ListenAddress(address.host, int(sock.getsockname()[1]))  # port 0: the one the kernel chose
    app.log.info("listening", extra={"address": str(bound)})
    uvicorn.Server(config).run(sockets=[sock])
