"""uvicorn's httptools protocol with the limits it lacks: deadlines for a request's headers and body, and a size for
its headers.

uvicorn closes a connection idle *after* a response (``timeout_keep_alive``), but not one that connects and never
sends, one that sends its headers a byte at a time, nor one that sends complete headers and then no body (or a body a
byte a minute), and httptools accepts headers of any size (a 16 MB ``Ce-Id`` was read whole). Every socket holds a
file descriptor, so each lets a client starve the server of them. Here, per connection, one deadline at a time:

* **headers**: complete within ``HEADER_TIMEOUT`` seconds of the connection opening or of the previous response — a
  silent connection is closed, a partial request gets **408** ``header_timeout``; larger than ``MAX_HEADER_BYTES``:
  **431** ``headers_too_large`` (the bytes held are bounded by one read beyond that);
* **body**: its first bytes within ``HEADER_TIMEOUT`` of the headers, all of it within ``BODY_TIMEOUT`` of the
  headers — else **408** ``body_timeout`` (or the connection closed, when an answer has already begun);
* while the application answers, none (it bounds its own work).

A refusal is JSON with a reason and counted (``driftline_http_refused_total``); one sweep a second checks every open
connection's deadline, so a request pays no timer. Body sizes are bounded by the application (``App.body``).
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Callable
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT = 10.0
MAX_HEADER_BYTES = 64 * 1024
BODY_TIMEOUT = 60.0  # the whole body within this of its headers (a 10 MB body at 200 KB/s)
_REASONS = {408: "Request Timeout", 431: "Request Header Fields Too Large"}


def _ignore(reason: str) -> None:
    pass


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` with header and body deadlines and a header size limit."""

    on_refused: Callable[[str], None] = staticmethod(_ignore)  # set by httpserver.asgi.serve to count refusals
    header_timeout = HEADER_TIMEOUT
    body_timeout = BODY_TIMEOUT
    max_header_bytes = MAX_HEADER_BYTES

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._awaiting_headers = True
        self._header_bytes = 0
        self._body_since = 0.0  # when the current request's headers completed
        self._body_seen = False
        self._deadline = self.loop.time() + self.header_timeout
        _Sweeper.watch(self)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_headers:
            self._header_bytes += len(data)
        super().data_received(data)
        if self._awaiting_headers and self._header_bytes > self.max_header_bytes and not self.transport.is_closing():
            self._refuse(431, "headers_too_large", f"request headers exceed {self.max_header_bytes} bytes")

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        super().on_headers_complete()
        self._body_since, self._body_seen = self.loop.time(), False
        self._deadline = self._body_since + min(self.header_timeout, self.body_timeout)  # the body's first bytes

    def on_body(self, body: bytes) -> None:
        if not self._body_seen:
            self._body_seen = True
            self._deadline = self._body_since + self.body_timeout  # the whole body
        super().on_body(body)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_headers = True  # what follows on this connection is the next request's headers
        self._header_bytes = 0
        answered = self.cycle is not None and self.cycle.response_complete
        self._deadline = self.loop.time() + self.header_timeout if answered else _NEVER  # else: the app answers

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._awaiting_headers:  # the request was read whole: now the next one's headers
            self._deadline = self.loop.time() + self.header_timeout
        # else: answered before its body was read (413): the body's deadline still holds

    def check_deadline(self, now: float) -> None:
        """Called about once a second by the sweeper: one timer for all connections, not one per request."""
        if now >= self._deadline:
            self._deadline = _NEVER
            if self._awaiting_headers:
                self._headers_too_slow()
            else:
                self._body_too_slow()

    def _headers_too_slow(self) -> None:
        if self.transport.is_closing():
            return
        if self._header_bytes == 0:  # nothing sent: an idle connection, closed like uvicorn's keep-alive timeout
            self.transport.close()
            return
        self._refuse(408, "header_timeout", f"the request headers did not arrive within {self.header_timeout:g} s")

    def _body_too_slow(self) -> None:
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started:  # an answer has begun: no second one
            type(self).on_refused("body_timeout")
            self.transport.close()
            return
        if self.cycle is not None:  # the application, waiting for the body, hears a disconnect and answers nothing
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        never = "did not start" if not self._body_seen else "did not arrive whole"
        limit = min(self.header_timeout, self.body_timeout) if not self._body_seen else self.body_timeout
        self._refuse(408, "body_timeout", f"the request body {never} within {limit:g} s of its headers")

    def _refuse(self, status: int, reason: str, message: str) -> None:
        type(self).on_refused(reason)
        body = json.dumps({"error": message, "reason": reason}).encode()
        head = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        ).encode()
        self.transport.write(head + body)
        self.transport.close()
        self._awaiting_headers = False


_NEVER = float("inf")


class _Sweeper:
    """Checks every open connection's header deadline once a second, on the event loop."""

    connections: ClassVar[weakref.WeakSet[BoundedHttpToolsProtocol]] = weakref.WeakSet()
    handle: ClassVar[asyncio.TimerHandle | None] = None

    @classmethod
    def watch(cls, protocol: BoundedHttpToolsProtocol) -> None:
        cls.connections.add(protocol)
        if cls.handle is None or cls.handle.cancelled():
            cls.handle = protocol.loop.call_later(1.0, cls.sweep, protocol.loop)

    @classmethod
    def sweep(cls, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for protocol in list(cls.connections):
            if protocol.transport.is_closing():
                cls.connections.discard(protocol)
            else:
                protocol.check_deadline(now)
        cls.handle = loop.call_later(1.0, cls.sweep, loop) if cls.connections else None


def counting(count: Callable[[str], None]) -> type[BoundedHttpToolsProtocol]:
    """The protocol class for one server, counting its refusals with ``count(reason)``."""
    return type("CountingHttpToolsProtocol", (BoundedHttpToolsProtocol,), {"on_refused": staticmethod(count)})


__all__ = ["BODY_TIMEOUT", "HEADER_TIMEOUT", "MAX_HEADER_BYTES", "BoundedHttpToolsProtocol", "counting"]
