"""uvicorn's httptools protocol with the limits it lacks: a deadline for a request's headers and a size for them.

uvicorn closes a connection idle *after* a response (``timeout_keep_alive``), but not one that connects and never
sends, nor one that sends its headers a byte at a time, and httptools accepts headers of any size (a 16 MB
``Ce-Id`` was read whole). Every socket holds a file descriptor, so either lets a client starve the server of them.
Here:

* the headers of each request must be complete within ``HEADER_TIMEOUT`` seconds of the connection opening or of the
  previous response — a silent connection is closed, a partial request gets **408** ``header_timeout`` (checked by
  one sweep a second over the open connections, so a request pays no timer);
* headers larger than ``MAX_HEADER_BYTES`` get **431** ``headers_too_large`` (the bytes held are bounded by one read
  beyond that);

both as JSON with a reason and counted (``driftline_http_refused_total``). Bodies are bounded by the application
(``App.body``: size, and ``BODY_TIMEOUT`` in total).
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
BODY_TIMEOUT = 60.0  # App.body: the whole body within this (a 10 MB body at 200 KB/s)
_REASONS = {408: "Request Timeout", 431: "Request Header Fields Too Large"}


def _ignore(reason: str) -> None:
    pass


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` with a header deadline and a header size limit."""

    on_refused: Callable[[str], None] = staticmethod(_ignore)  # set by exporters.asgi.serve to count refusals
    header_timeout = HEADER_TIMEOUT
    max_header_bytes = MAX_HEADER_BYTES

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._awaiting_headers = True
        self._header_bytes = 0
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
        self._deadline = _NEVER
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_headers = True  # what follows on this connection is the next request's headers
        self._header_bytes = 0

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._deadline = self.loop.time() + self.header_timeout

    def check_deadline(self, now: float) -> None:
        """Called about once a second by the sweeper: one timer for all connections, not one per request."""
        if now >= self._deadline:
            self._deadline = _NEVER
            self._headers_too_slow()

    def _headers_too_slow(self) -> None:
        if self.transport.is_closing() or not self._awaiting_headers:
            return
        if self._header_bytes == 0:  # nothing sent: an idle connection, closed like uvicorn's keep-alive timeout
            self.transport.close()
            return
        self._refuse(408, "header_timeout", f"the request headers did not arrive within {self.header_timeout:g} s")

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
