"""HTTP calls bounded in total, not per read.

``requests``' timeout bounds each socket operation: a peer that answers one byte a second keeps a call alive as long
as it likes, and with it the webhook's single delivery worker. Here every socket a call opens is registered, and a
watchdog shuts them down when the deadline passes: the blocked read returns, and the call raises
``requests.Timeout`` — whatever part of the exchange (connect, headers, body) it was in.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class _Call:
    """The sockets of one call, and whether its deadline has passed."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []
        self.expired = False
        self._lock = threading.Lock()

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self.sockets.append(sock)
            if self.expired:
                _shut(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self.sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


def _register(sock: Any) -> None:
    call = getattr(_current, "call", None)
    if call is not None and sock is not None:
        call.add(sock)


class _TrackedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _register(self.sock)


class _TrackedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _register(self.sock)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def request(method: str, url: str, total: float, **kwargs: Any) -> requests.Response:
    """``requests.request(method, url, **kwargs)`` finished — body read — within ``total`` seconds, or
    ``requests.Timeout``."""
    call = _Call()
    watchdog = threading.Timer(total, call.expire)
    watchdog.daemon = True
    session = requests.Session()
    adapter = _Adapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    _current.call = call
    watchdog.start()
    try:
        response = session.request(method, url, timeout=total, **kwargs)
    except requests.RequestException:
        if call.expired:
            raise requests.Timeout(f"no complete answer within {total:g} s") from None
        raise
    finally:
        watchdog.cancel()
        _current.call = None
        session.close()
    if call.expired:  # the body ended because the socket was shut: it is incomplete
        raise requests.Timeout(f"no complete answer within {total:g} s")
    return response
