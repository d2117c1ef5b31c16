"""GitHub's ``repository_dispatch``: the request, and what each answer means for the outbox row.

``POST {api_url}/repos/{owner}/{repo}/dispatches`` with ``{"event_type", "client_payload"}``; 204 is success.
403 and 429 are rate limits (wait ``retry-after``, else until ``x-ratelimit-reset`` when ``x-ratelimit-remaining``
is 0, else at least a minute); 5xx and network errors are retried with backoff; every other 4xx is final — 404 also
means "the token has no access", 422 a payload GitHub refuses.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from typing import Any

import requests

from . import deadline
from .config import GitHubConfig, RetryConfig
from .notifications import Alert, Notification, drifted_features

API_VERSION = "2022-11-28"
MAX_BODY = 64 * 1024
MAX_PAYLOAD_KEYS = 10
RATE_LIMIT_FLOOR = 60.0
RATE_LIMIT_CEILING = 3600.0


def client_payload(
    dispatch_id: str, model: tuple[str, str], alerts: list[Alert], notification: Notification
) -> dict[str, Any]:
    """What the receiving workflow gets as ``github.event.client_payload`` (at most 10 top-level keys)."""
    first = alerts[0]
    features: dict[str, float] = {}
    for alert in alerts:
        features.update(drifted_features(alert.annotations.get("drifted_features", "")))
    payload = {
        "dispatch_id": dispatch_id,
        "model": model[0],
        "namespace": model[1],
        "model_version": first.labels.get("model_version", ""),  # the serving version that drifted; "" if untold
        "alerts": sorted({a.labels.get("alertname", "") for a in alerts}),
        "drifted_features": features,
        "starts_at": first.starts_at,
        "reference": incident_reference(first),
        "links": {"alertmanager": notification.external_url, "dashboard": first.annotations.get("dashboard_url", "")},
        "description": first.annotations.get("description", "")[:2000],
    }
    assert len(payload) <= MAX_PAYLOAD_KEYS
    return payload


def incident_reference(alert: Alert) -> dict[str, str]:
    """The reference the alert's model was judged against, from its annotations (empty strings when it has none):
    ``source`` as configured (``models:/churn@champion``, ``s3://…``), the MLflow ``registry_version`` it resolved to,
    that version as ``registered`` (``models:/churn/7``; both "" unless from the registry) and the profile's
    ``profile_version``."""
    source = alert.annotations.get("reference_source", "")
    version = alert.annotations.get("reference_registry_version", "")
    registered = ""
    if source.startswith("models:/") and version:
        registered = f"models:/{source.removeprefix('models:/').split('@', 1)[0].split('/', 1)[0]}/{version}"
    return {
        "source": source,
        "registry_version": version,
        "registered": registered,
        "profile_version": alert.annotations.get("reference_profile", ""),
    }


def dispatch_body(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    body = {"event_type": event_type, "client_payload": payload}
    while len(json.dumps(body)) >= MAX_BODY and payload["drifted_features"]:
        features = payload["drifted_features"]
        payload["drifted_features"] = dict(list(features.items())[: len(features) // 2])
    if len(json.dumps(body)) >= MAX_BODY:
        payload["description"] = ""
    return body


@dataclass(frozen=True)
class Outcome:
    """What to do with the row after one attempt."""

    result: str  # delivered | retry | rate_limited | failed
    error: str = ""
    wait: float = 0.0  # seconds until the next attempt (retry, rate_limited)


def backoff(attempt: int, retry: RetryConfig) -> float:
    """Exponential backoff with jitter: up to ``initial * 2**(attempt-1)``, capped, never below half of it."""
    ceiling = min(retry.max_backoff.seconds, retry.initial_backoff.seconds * 2 ** min(attempt - 1, 30))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography


def _message(response: requests.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(document, dict):
        return str(document.get("message", document))[:300]
    return str(document)[:300]


def classify(response: requests.Response, attempt: int, retry: RetryConfig, now: float) -> Outcome:
    status = response.status_code
    if 200 <= status < 300:
        return Outcome("delivered")
    message = f"GitHub answered {status}: {_message(response)}"
    headers = response.headers
    if status in (403, 429) and (
        status == 429 or "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0"
    ):
        wait = _rate_limit_wait(headers, attempt, retry, now)
        return Outcome("rate_limited", message, wait)
    if status >= 500:
        return Outcome("retry", message, backoff(attempt, retry))
    return Outcome("failed", message)


def _rate_limit_wait(headers: Any, attempt: int, retry: RetryConfig, now: float) -> float:
    """What GitHub asks us to wait — ``retry-after`` seconds, else until ``x-ratelimit-reset`` — when it is a finite
    number; at most an hour (a primary rate limit resets within one), so a hostile or broken answer such as
    ``retry-after: inf`` cannot make the webhook give up or sleep for ever."""
    candidates = [headers.get("retry-after")]
    if headers.get("x-ratelimit-remaining") == "0":
        reset = _number(headers.get("x-ratelimit-reset"))
        candidates.append(str(reset - now) if reset is not None else None)
    for candidate in candidates:
        wait = _number(candidate)
        if wait is not None:
            return min(max(0.0, wait), RATE_LIMIT_CEILING)
    return max(RATE_LIMIT_FLOOR, backoff(attempt, retry) * 2)


def _number(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def send(github: GitHubConfig, token: str, repository: str, body: dict[str, Any]) -> requests.Response:
    url = f"{github.api_url.rstrip('/')}/repos/{repository}/dispatches"
    headers = {
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {token}",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": "driftline-webhook",
    }
    return deadline.request("POST", url, github.timeout.seconds, json=body, headers=headers)
