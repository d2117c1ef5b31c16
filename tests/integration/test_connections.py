"""Connections that hold a server's file descriptors without finishing a request are cut: a real `driftline serve`
with its open-file limit lowered to 256, as in the hardening report, against silent sockets, headers trickled a byte
at a time and headers of a megabyte (the webhook runs the same protocol class, tested in process in
tests/unit/test_hardening.py)."""

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

from exporters.protocol import HEADER_TIMEOUT
from tests.support import ExporterProcess, iris_config, scrape, wait_for


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
