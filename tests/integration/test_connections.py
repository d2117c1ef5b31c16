"""Connections that hold a server's file descriptors without finishing a request are cut: a real `driftline serve`
(and `driftline webhook`, which runs the same protocol class) with its open-file limit lowered to 256, as in the
hardening reports, against silent sockets, headers trickled a byte at a time, headers of a megabyte, complete headers
followed by no body, and a body trickled past its deadline."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from httpserver.protocol import BODY_TIMEOUT, HEADER_TIMEOUT
from tests.support import (
    TOKEN,
    ExporterProcess,
    WebhookProcess,
    iris_config,
    scrape,
    wait_for,
    webhook_config,
)


@pytest.fixture
def exporter(tmp_path: Path) -> Iterator[ExporterProcess]:
    with ExporterProcess(iris_config(tmp_path), tmp_path / "exporter.log") as process:
        process.wait_until("/readyz")
        limited = subprocess.run(["prlimit", f"--pid={process.process.pid}", "--nofile=256:256"], check=False)
        assert limited.returncode == 0
        yield process


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def healthy(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str]]:
    sock.settimeout(HEADER_TIMEOUT + 10)
    raw = b""
    while chunk := sock.recv(65536):
        raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_finding_6_silent_connections_are_closed_and_healthz_comes_back(exporter: ExporterProcess) -> None:
    silent = []
    try:
        for _ in range(300):  # more than the 256 descriptors the process may hold
            silent.append(connect(exporter.url))
        wait_for(lambda: healthy(exporter.url), timeout=HEADER_TIMEOUT + 20)
        for sock in silent[:50]:
            sock.settimeout(HEADER_TIMEOUT + 10)
            assert sock.recv(1) == b""  # the server hung up on it
    finally:
        for sock in silent:
            sock.close()


def test_finding_6_headers_sent_a_byte_at_a_time_get_408(exporter: ExporterProcess) -> None:
    sock = connect(exporter.url)
    try:
        sent = 0
        request = b"POST / HTTP/1.1\r\nHost: driftline\r\nCe-Type: org.kubeflow.serving.inference.request\r\n"
        start = time.monotonic()
        while time.monotonic() - start < HEADER_TIMEOUT + 15:
            try:
                sock.sendall(request[sent % len(request) : sent % len(request) + 1])
            except OSError:
                break  # the server closed the connection
            sent += 1
            time.sleep(0.5)
        status, answer = read_answer(sock)
    finally:
        sock.close()
    assert status == 408 and answer["reason"] == "header_timeout"
    refused = scrape(exporter.url)["driftline_http_refused_total"]
    assert refused[(("reason", "header_timeout"),)] == 1


def test_headers_of_a_megabyte_get_431_without_being_read_whole(exporter: ExporterProcess) -> None:
    sock = connect(exporter.url)
    answers = []
    try:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: driftline\r\nCe-Id: ")
        try:
            for _ in range(1024):
                sock.sendall(b"x" * 1024)
        except OSError:
            pass  # the server answered and closed before the megabyte was sent
        with contextlib.suppress(ConnectionResetError):  # closing with the rest unread resets the connection
            answers.append(read_answer(sock))
    finally:
        sock.close()
    assert all(answer == (431, {"error": "request headers exceed 65536 bytes", "reason": "headers_too_large"})
               for answer in answers)  # fmt: skip
    assert scrape(exporter.url)["driftline_http_refused_total"][(("reason", "headers_too_large"),)] == 1
    assert healthy(exporter.url)


@pytest.fixture
def webhook(tmp_path: Path) -> Iterator[WebhookProcess]:
    with WebhookProcess(webhook_config(tmp_path, "http://127.0.0.1:9"), tmp_path / "webhook.log") as process:
        process.wait_until("/healthz")
        limited = subprocess.run(["prlimit", f"--pid={process.process.pid}", "--nofile=256:256"], check=False)
        assert limited.returncode == 0
        yield process


def headers_then_nothing(url: str, path: str, extra: str = "") -> socket.socket:
    sock = connect(url)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: driftline\r\nContent-Type: application/json\r\n{extra}"
        "Content-Length: 1000\r\n\r\n".encode()
    )
    return sock


def refused(url: str, reason: str) -> float:
    return scrape(url)["driftline_http_refused_total"].get((("reason", reason),), 0.0)


@pytest.mark.parametrize("service", ["exporter", "webhook"])
def test_review2_finding_4_complete_headers_and_no_body_are_timed_out(
    request: pytest.FixtureRequest, service: str
) -> None:
    """241 sockets with complete headers and no body kept /healthz failing for over 70 s at nofile=256: the body
    deadline started at its first chunk and the header deadline ended with the headers. Now the body must start
    within HEADER_TIMEOUT of its headers."""
    process = request.getfixturevalue(service)
    path, extra = (
        ("/", "Ce-Type: x\r\n") if service == "exporter" else ("/alertmanager", f"Authorization: Bearer {TOKEN}\r\n")
    )
    stalled = []
    try:
        for _ in range(300):  # more than the 256 descriptors the process may hold
            try:
                stalled.append(headers_then_nothing(process.url, path, extra))
            except OSError:
                break  # the backlog is full: enough are held
        wait_for(lambda: healthy(process.url), timeout=HEADER_TIMEOUT + 30)
        status, answer = read_answer(stalled[0])
        assert status == 408 and answer == {
            "error": f"the request body did not start within {HEADER_TIMEOUT:g} s of its headers",
            "reason": "body_timeout",
        }
    finally:
        for sock in stalled:
            sock.close()
    assert wait_for(lambda: refused(process.url, "body_timeout") >= 1, timeout=HEADER_TIMEOUT + 30)


def test_a_body_that_trickles_past_its_deadline_gets_a_counted_408(exporter: ExporterProcess) -> None:
    sock = headers_then_nothing(exporter.url, "/", "Ce-Type: x\r\n")
    try:
        sock.sendall(b"{")
        start = time.monotonic()
        while time.monotonic() - start < BODY_TIMEOUT + 20:
            try:
                sock.sendall(b" ")
            except OSError:
                break  # the server answered and closed
            time.sleep(5)
        status, answer = read_answer(sock)
    finally:
        sock.close()
    assert status == 408 and answer["reason"] == "body_timeout" and "did not arrive whole" in answer["error"]
    assert refused(exporter.url, "body_timeout") == 1 and healthy(exporter.url)
