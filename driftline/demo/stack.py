"""The pieces of the loop on one machine: Prometheus and Alertmanager as subprocesses, driftline's own servers in
threads, and Slack- and GitHub-compatible sinks that record (and can print) what they receive.

Shared by ``driftline demo`` and the end-to-end tests. Every server binds a free loopback port, works in its own
temp folder, and is stopped by ``stop()`` (the context managers call it even when something fails).
"""

from __future__ import annotations

import json
import random
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import requests
import yaml

PROMETHEUS = "prometheus"
ALERTMANAGER = ("prometheus-alertmanager", "alertmanager")  # Debian's name, then upstream's


_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port() -> int:
    """A loopback port nothing is bound to, drawn from below the kernel's ephemeral range.

    A port from ``bind(0)`` comes from the ephemeral range, which is also where the kernel picks the local port of
    every outgoing connection: between this call and the server's own bind, a client socket could take it, and the
    server would fail to start (seen on a loaded machine running many loopback servers side by side). Ports below the
    range are handed out only on request.
    """
    try:
        low = int(_EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768  # Linux's default; macOS and Windows start higher
    candidates = random.sample(range(max(1024, low - 12000), low), 64)
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def binary(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if found:
            return found
    return None


class ServerProcess:
    """A server as a subprocess on a loopback URL, its output in a log file (appended with ``append``); always
    stopped, a context manager."""

    name = "server"
    ready_path = "/-/ready"

    def __init__(
        self, args: list[str], log_path: Path, url: str, env: dict[str, str] | None = None, append: bool = False
    ) -> None:
        self.url = url
        self.log_path = log_path
        self._log = log_path.open("ab" if append else "wb")
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=env)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until(self, path: str, status: int = 200, timeout: float = 120.0) -> None:
        """Until ``GET path`` answers ``status``; RuntimeError with the log's tail if the process exits."""

        def answered() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log()[-3000:]}")
            try:
                return requests.get(self.url + path, timeout=5).status_code == status
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still starting up
                return False

        wait(answered, timeout, f"{self.name} to answer {status} on {path}", interval=0.05)

    def wait_ready(self, timeout: float = 120.0) -> None:
        self.wait_until(self.ready_path, timeout=timeout)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return int(self.process.returncode)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PrometheusProcess(ServerProcess):
    name = "prometheus"

    def __init__(self, workdir: Path, config: dict[str, Any]) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        config_path = workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config))
        port = free_port()
        super().__init__(
            [
                binary(PROMETHEUS) or PROMETHEUS,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            workdir / "prometheus.log",
            f"http://127.0.0.1:{port}",
        )

    def query(self, expr: str) -> dict[str, Any]:
        """/api/v1/query; the JSON body whatever the status (a bad expression is a 400 with errorType bad_data)."""
        body: dict[str, Any] = requests.get(self.url + "/api/v1/query", params={"query": expr}, timeout=10).json()
        return body

    def alerts(self) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = requests.get(self.url + "/api/v1/alerts", timeout=5).json()["data"]["alerts"]
        return alerts


class AlertmanagerProcess(ServerProcess):
    name = "alertmanager"

    def __init__(self, workdir: Path, config_path: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        super().__init__(
            [
                binary(*ALERTMANAGER) or ALERTMANAGER[0],
                f"--config.file={config_path}",
                f"--storage.path={workdir / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",  # no gossip: a single instance
            ],
            workdir / "alertmanager.log",
            f"http://127.0.0.1:{port}",
        )

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        response = requests.post(self.url + "/api/v2/alerts", json=alerts, timeout=5)
        response.raise_for_status()

    def alerts(self, **matchers: str) -> list[dict[str, Any]]:
        params = [("filter", f'{k}="{v}"') for k, v in matchers.items()]
        params += [("inhibited", "true"), ("silenced", "true")]
        alerts: list[dict[str, Any]] = requests.get(self.url + "/api/v2/alerts", params=params, timeout=5).json()
        return alerts


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    at: float


class LoopbackServer:
    """A threaded HTTP server on a free loopback port, serving ``handler`` until stopped (a context manager)."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that writes no access log and survives a client that stopped listening."""

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up waiting

    def read_json(self) -> Any:
        """The request body as JSON, or as text when it is not JSON."""
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode(errors="replace")

    def log_message(self, *args: object) -> None:
        pass


class Sink(LoopbackServer):
    """A local stand-in for Slack's incoming webhooks or GitHub's dispatch API: records every POST and answers
    ``status`` (200 "ok" like Slack, 204 like GitHub). ``on_receive`` sees each request (the demo prints it)."""

    def __init__(self, status: int = 200, on_receive: Callable[[Received], None] | None = None) -> None:
        self.status = status
        self.received: list[Received] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                item = Received(self.path, dict(self.headers.items()), self.read_json(), time.time())
                with sink._lock:
                    sink.received.append(item)
                if on_receive is not None:
                    on_receive(item)
                self.reply(sink.status, b"" if sink.status == 204 else b"ok")

        super().__init__(Handler)

    def requests(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if path is None or r.path == path]


class ThreadedServer:
    """An ASGI app under uvicorn in a background thread (no signal handlers: the caller owns Ctrl-C)."""

    def __init__(self, app: Any, port: int) -> None:
        import uvicorn

        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, lifespan="on", access_log=False, log_config=None, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait(lambda: self.server.started or not self.thread.is_alive(), 120, "an in-process server to start")
        if not self.server.started:
            raise RuntimeError(f"the server on port {port} did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
