"""The retraining webhook's ASGI app in process (the fast tier): who may call, what a bad request gets, routing, and
/metrics — against the fake GitHub, a real HTTP server on loopback."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.loader import load_deployment
from alerts.webhook.app import WebhookApp
from alerts.webhook.metrics import NOTIFICATION_OUTCOMES
from alerts.webhook.service import WebhookService
from tests.support import ENV, GITHUB_TOKEN, TOKEN, FakeGitHub, alert, labels, notification, wait, webhook_config
from tests.support.asgi import AsgiClient, lifespan

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def client(tmp_path: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> Iterator[AsgiClient]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    config = load_deployment(webhook_config(tmp_path, github.url, max_body_bytes=4096))
    service = WebhookService(config)
    service.prepare()
    with lifespan(WebhookApp(service)) as client:
        yield client


def outcomes(client: AsgiClient) -> dict[str, float]:
    counted = client.metrics()["driftline_retrain_notifications_total"]
    assert set(counted) == {labels(outcome=o) for o in NOTIFICATION_OUTCOMES}, "every outcome exported from zero"
    return {dict(k)["outcome"]: v for k, v in counted.items() if v}


def test_a_firing_retrain_alert_is_committed_before_the_answer(client: AsgiClient, github: FakeGitHub) -> None:
    answer = client.post("/alertmanager", notification(alert()), AUTH)
    assert answer.status == 200 and answer.json() == {"status": "ok", "outcomes": {"dispatched": 1}}
    assert client.post("/alertmanager", notification(alert()), AUTH).json()["outcomes"] == {"duplicate": 1}
    wait(github.delivered, 10, "the dispatch")
    assert outcomes(client) == {"dispatched": 1, "duplicate": 1}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": f"Basic {TOKEN}"},
     {"Authorization": "Bearer"}],
)  # fmt: skip
def test_without_the_token_nothing_is_read_or_said(
    client: AsgiClient, github: FakeGitHub, headers: dict[str, str]
) -> None:
    answer = client.post("/alertmanager", notification(alert()), headers)
    assert answer.status == 401
    assert answer.json() == {"error": "missing or invalid bearer token", "reason": "unauthorized"}
    assert outcomes(client) == {"unauthorized": 1} and github.calls == []


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b'{"version": "4", "alerts": [', 400, "bad_json"),
        (b"", 400, "bad_json"),
        (json.dumps({**notification(alert()), "version": "3"}).encode(), 400, "unsupported_version"),
        (json.dumps({k: v for k, v in notification(alert()).items() if k != "alerts"}).encode(), 400,
         "invalid_payload"),
        (b"x" * 5000, 413, "too_large"),
    ],
)  # fmt: skip
def test_a_bad_notification_gets_a_reason_and_dispatches_nothing(
    client: AsgiClient, github: FakeGitHub, body: bytes, status: int, reason: str
) -> None:
    answer = client.request("POST", "/alertmanager", body, AUTH, chunk_size=1000)
    assert (answer.status, answer.json()["reason"]) == (status, reason)
    assert outcomes(client) == {"invalid": 1} and github.calls == []


def test_routes(client: AsgiClient) -> None:
    assert client.get("/alertmanager").status == 405
    assert client.get("/nope").json()["reason"] == "not_found"
    assert client.request("DELETE", "/metrics").json()["reason"] == "method_not_allowed"
    assert client.get("/healthz").json() == {"status": "ok"}


def test_metrics_carry_every_outcome_state_and_the_build(client: AsgiClient) -> None:
    metrics = client.metrics()
    assert set(metrics["driftline_retrain_outbox_dispatches"]) == {
        labels(state=s) for s in ("pending", "sending", "delivered", "failed")
    }
    assert labels(result="delivered", target="github") in metrics["driftline_retrain_dispatch_attempts_total"]
    assert metrics["driftline_retrain_dispatch_latency_seconds_count"][()] == 0
    assert metrics["driftline_build_info"]


def test_no_secret_reaches_a_log_line(client: AsgiClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        client.post("/alertmanager", notification(alert()), {"Authorization": "Bearer wrong"})
        client.post("/alertmanager", notification(alert()), AUTH)
    assert caplog.records and not any(
        TOKEN in r.getMessage() or GITHUB_TOKEN in str(r.__dict__) for r in caplog.records
    )
