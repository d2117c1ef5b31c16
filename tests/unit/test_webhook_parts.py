"""The webhook's pure parts: notification parsing, the outbox state machine, GitHub answer classification, config."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import requests

import drift
from alerts.loader import parse_deployment
from alerts.webhook import github
from alerts.webhook.config import RetryConfig
from alerts.webhook.notifications import InvalidNotification, drifted_features, parse_notification
from alerts.webhook.outbox import Outbox
from drift.config import Duration


def body(**overrides: Any) -> bytes:
    document = {
        "version": "4",
        "status": "firing",
        "receiver": "retrain-webhook",
        "groupKey": '{}:{model="m"}',
        "externalURL": "http://am",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "DriftlineDatasetDrift", "action": "retrain", "model": "m"},
                "annotations": {},
                "startsAt": "2026-11-27T07:00:00Z",
                "fingerprint": "abc",
                "generatorURL": "",
            }
        ],
        **overrides,
    }
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("raw", "reason", "message"),
    [
        (b"{", "bad_json", "not JSON"),
        (b"[]", "invalid_payload", "JSON object"),
        (body(version="3"), "unsupported_version", "version '3'"),
        (body(alerts={}), "invalid_payload", "alerts must be a list"),
        (body(alerts=[{"status": "burning"}]), "invalid_payload", "alerts[0].status must be firing or resolved"),
        (body(groupKey=""), "invalid_payload", "groupKey"),
    ],
)
def test_invalid_notifications_say_why(raw: bytes, reason: str, message: str) -> None:
    with pytest.raises(InvalidNotification) as caught:
        parse_notification(raw)
    assert caught.value.reason == reason and message in str(caught.value)


def test_a_valid_notification() -> None:
    notification = parse_notification(body())
    (alert,) = notification.alerts
    assert alert.model == ("m", "")
    assert alert.dedupe_key(notification.group_key) == alert.dedupe_key(notification.group_key)
    assert alert.dedupe_key("other") != alert.dedupe_key(notification.group_key)


def test_drifted_features_annotation() -> None:
    assert drifted_features("contract=0.210, tenure=0.150,monthly_charges=0.900") == {
        "monthly_charges": 0.9,
        "contract": 0.21,
        "tenure": 0.15,
    }
    assert drifted_features("") == {} and drifted_features("garbage, x=") == {}
    many = ", ".join(f"f{i}={i / 1000:.3f}" for i in range(200))
    assert len(drifted_features(many)) == 50 and "f199" in drifted_features(many)


def accept(outbox: Outbox, key: str, model: str = "m", now: float = 1000.0, cooldown: float = 3600.0) -> str:
    return outbox.accept(
        dispatch_id=f"id-{key}",
        dedupe_key=key,
        model=model,
        namespace="ns",
        target="github",
        request={"k": key},
        cooldown=cooldown,
        now=now,
    )


def test_outbox_state_machine(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    outbox = Outbox(str(tmp_path / "state" / "o.sqlite"))
    assert accept(outbox, "a") == "dispatched"
    assert accept(outbox, "a") == "duplicate"
    assert accept(outbox, "b", now=1100.0) == "cooldown"
    assert accept(outbox, "c", model="other") == "dispatched"
    assert outbox.claim(now=999.0) is None  # not due yet
    first = outbox.claim(now=2000.0)
    assert first is not None and first.state == "sending" and first.attempts == 1 and first.request == {"k": "a"}
    outbox.retry(first, at=3000.0, error="GitHub answered 500")
    second = outbox.claim(now=2000.0)
    assert second is not None and second.dispatch_id == "id-c"
    with pytest.raises(RuntimeError):
        outbox.delivered(first)  # not in sending any more: a finished row cannot be finished twice
    outbox.failed(second, "GitHub answered 404")
    # a failed dispatch does not hold the cooldown: the next incident of that model starts a retraining
    assert accept(outbox, "d", model="other", now=1200.0) == "dispatched"
    due_first = outbox.claim(now=3000.0)  # the earliest due first: d (1200) before a's retry (3000)
    assert due_first is not None and due_first.dispatch_id == "id-d"
    outbox.delivered(due_first)
    again = outbox.claim(now=3000.0)
    assert again is not None and again.dispatch_id == "id-a" and again.attempts == 2
    outbox.close()
    # a process died with `again` in flight: the next start puts it back
    reopened = Outbox(str(tmp_path / "state" / "o.sqlite"))
    assert reopened.counts() == {"pending": 0, "sending": 1, "delivered": 1, "failed": 1}
    assert reopened.recover() == 1
    resent = reopened.claim(now=3000.0)
    assert resent is not None and resent.dispatch_id == "id-a" and resent.attempts == 3
    rows = {r["dispatch_id"]: r for r in reopened.rows()}
    assert rows["id-a"]["last_error"] == "outcome unknown: the process stopped during delivery"


def test_outbox_accepts_one_of_many_racing_copies(tmp_path: Path) -> None:
    """Alertmanager HA pairs send the same notification twice at once: one row, whatever the interleaving."""
    outbox = Outbox(str(tmp_path / "o.sqlite"))
    results: list[str] = []
    barrier = threading.Barrier(8)

    def race() -> None:
        barrier.wait()
        results.append(accept(outbox, "same"))

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["dispatched"] + ["duplicate"] * 7
    assert outbox.counts()["pending"] == 1


def response(status: int, headers: dict[str, str] | None = None, text: str = "") -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer.headers.update(headers or {})
    answer._content = text.encode()
    return answer


RETRY = RetryConfig(initial_backoff=Duration(1.0), max_backoff=Duration(60.0))


@pytest.mark.parametrize(
    ("status", "headers", "result", "wait"),
    [
        (204, {}, "delivered", None),
        (403, {"retry-after": "7"}, "rate_limited", 7.0),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1120"}, "rate_limited", 120.0),
        (429, {}, "rate_limited", "≥60"),
        (403, {}, "failed", None),  # "Resource not accessible": a permission problem, not a rate limit
        (404, {}, "failed", None),
        (422, {}, "failed", None),
        (500, {}, "retry", "backoff"),
        (503, {}, "retry", "backoff"),
    ],
)
def test_github_answers(status: int, headers: dict[str, str], result: str, wait: Any) -> None:
    outcome = github.classify(response(status, headers, '{"message": "nope"}'), attempt=3, retry=RETRY, now=1000.0)
    assert outcome.result == result
    if wait == "≥60":
        assert outcome.wait >= 60
    elif wait == "backoff":
        assert 2.0 <= outcome.wait <= 4.0  # attempt 3: up to 1 s * 2**2, never below half of it
    elif wait is not None:
        assert outcome.wait == wait
    if result != "delivered":
        assert "nope" in outcome.error


def test_backoff_is_capped_and_jittered() -> None:
    waits = {github.backoff(40, RETRY) for _ in range(50)}
    assert all(30.0 <= w <= 60.0 for w in waits) and len(waits) > 1


def test_dispatch_body_fits_githubs_limits() -> None:
    notification = parse_notification(body())
    (alert,) = notification.alerts
    payload = github.client_payload("id", ("m", "ns"), [alert], notification)
    assert len(payload) <= 10
    payload["drifted_features"] = {f"feature_{i}_{'x' * 200}": 0.5 for i in range(1000)}
    payload["description"] = "d" * 2000
    dispatched = github.dispatch_body("drift-detected", payload)
    assert len(json.dumps(dispatched)) < 64 * 1024
    assert dispatched["client_payload"]["drifted_features"]  # truncated, not dropped


def webhook_section(**webhook: Any) -> dict[str, Any]:
    return {
        "models": [
            {
                "name": "m",
                "reference": {"data": "d.csv", "profile": "p.json"},
                "features": [{"name": "x", "type": "numeric"}],
            }
        ],
        "webhook": {"token": "env:T", **webhook},
    }


def test_webhook_config() -> None:
    config = parse_deployment(
        webhook_section(
            github={"repository": "o/r", "token": "env:G", "repositories": {"fraud": "o/fraud"}},
            retry={"initial_backoff": "2s"},
        )
    )
    assert config.webhook is not None and config.webhook.github is not None
    assert config.webhook.github.repository_for("fraud") == "o/fraud"
    assert config.webhook.github.repository_for("m") == "o/r"
    assert config.webhook.retry.initial_backoff.seconds == 2.0 and config.webhook.kfp is None
    kfp_only = parse_deployment(webhook_section(kfp={"host": "http://kfp", "pipeline_id": "p"}))
    assert kfp_only.webhook is not None and kfp_only.webhook.github is None
    assert kfp_only.webhook.kfp is not None and kfp_only.webhook.kfp.experiment == "driftline-retraining"


@pytest.mark.parametrize(
    ("webhook", "problem"),
    [
        ({}, "webhook.github: is required (or kfp)"),
        ({"github": {"repository": "o/r", "token": "ghp_literal"}}, "webhook.github.token: must be a reference"),
        (
            {"github": {"repository": "o/r", "token": "env:G", "repositories": {"x": "nope"}}},
            "webhook.github.repositories.x: 'nope' is not OWNER/REPO",
        ),
        ({"kfp": {"host": "http://k"}}, "webhook.kfp: needs exactly one of pipeline_package"),
        ({"kfp": {"host": "http://k", "pipeline_id": "p", "run_name": "{oops}"}}, "webhook.kfp.run_name:"),
        (
            {"kfp": {"host": "http://k", "pipeline_package": "p.yaml", "version_id": "v"}},
            "webhook.kfp.version_id: is only used with pipeline_id",
        ),
    ],
)
def test_webhook_config_problems(webhook: dict[str, Any], problem: str) -> None:
    with pytest.raises(drift.ConfigError) as caught:
        parse_deployment(webhook_section(**webhook))
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems
