"""Alertmanager's webhook notification (payload version 4): validation and what each alert asks of us.

Pure functions: bytes in, a :class:`Notification` or a :class:`InvalidNotification` with a reason out. Only alerts
that are ``firing`` and labelled ``action="retrain"`` can start a retraining; the rest are acknowledged and counted.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from drift.boundary import InputError, Limits, decode_json, shown

RETRAIN = "retrain"
MAX_FEATURES_IN_PAYLOAD = 50


class InvalidNotification(ValueError):  # noqa: N818 - reads as what it is: the notification is invalid
    """The body is not an Alertmanager v4 notification; ``reason`` is a short machine-readable tag."""

    def __init__(self, message: str, reason: str = "invalid_payload") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Alert:
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str
    fingerprint: str
    generator_url: str

    @property
    def model(self) -> tuple[str, str] | None:
        """(model, model_namespace) from driftline's labels, or None for an alert about no model."""
        name = self.labels.get("model")
        if not name:
            return None
        return name, self.labels.get("model_namespace", "")

    def dedupe_key(self, group_key: str) -> str:
        """One incident: Alertmanager re-sends the same group with the same fingerprint and startsAt."""
        return hashlib.sha256(f"{group_key}\x00{self.fingerprint}\x00{self.starts_at}".encode()).hexdigest()


@dataclass(frozen=True)
class Notification:
    receiver: str
    status: str
    alerts: tuple[Alert, ...]
    group_key: str
    external_url: str
    truncated_alerts: int


def _strings(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidNotification(f"{where} must be an object of strings")
    return value


def _string(document: dict[str, Any], key: str, where: str, required: bool = True) -> str:
    value = document.get(key, None if required else "")
    if not isinstance(value, str) or (required and not value):
        raise InvalidNotification(f"{where}{key} must be a non-empty string")
    return value


# Alertmanager's notifications nest four levels (document, alerts, an alert, its labels); the size is
# webhook.max_body_bytes, checked before the body is read.
NOTIFICATION_LIMITS = Limits(max_bytes=1 << 30, max_depth=8)


def parse_notification(body: bytes) -> Notification:
    try:
        document = decode_json(body, NOTIFICATION_LIMITS, "the body")
    except InputError as exc:
        raise InvalidNotification(str(exc), exc.reason) from None
    try:
        # A lone surrogate ("\\ud800") is valid JSON but not a string anything downstream can encode: refuse it here.
        json.dumps(document, ensure_ascii=False).encode()
    except UnicodeError:
        message = "the body holds a lone surrogate, which no string can be encoded with"
        raise InvalidNotification(message, "bad_json") from None
    if not isinstance(document, dict):
        raise InvalidNotification("the body must be a JSON object (an Alertmanager webhook notification)")
    version = document.get("version")
    if version != "4":
        raise InvalidNotification(
            f"unsupported notification version {shown(version)}; this webhook reads Alertmanager's version 4",
            "unsupported_version",
        )
    raw_alerts = document.get("alerts")
    if not isinstance(raw_alerts, list):
        raise InvalidNotification("alerts must be a list")
    alerts = []
    for i, raw in enumerate(raw_alerts):
        where = f"alerts[{i}]."
        if not isinstance(raw, dict):
            raise InvalidNotification(f"alerts[{i}] must be an object")
        status = _string(raw, "status", where)
        if status not in ("firing", "resolved"):
            raise InvalidNotification(f"{where}status must be firing or resolved, not {shown(status)}")
        alerts.append(
            Alert(
                status=status,
                labels=_strings(raw.get("labels"), f"{where}labels"),
                annotations=_strings(raw.get("annotations", {}), f"{where}annotations"),
                starts_at=_string(raw, "startsAt", where),
                fingerprint=_string(raw, "fingerprint", where),
                generator_url=_string(raw, "generatorURL", where, required=False),
            )
        )
    truncated = document.get("truncatedAlerts", 0)
    return Notification(
        receiver=_string(document, "receiver", "", required=False),
        status=_string(document, "status", ""),
        alerts=tuple(alerts),
        group_key=_string(document, "groupKey", ""),
        external_url=_string(document, "externalURL", "", required=False),
        truncated_alerts=truncated if isinstance(truncated, int) else 0,
    )


def wants_retraining(alert: Alert) -> bool:
    return alert.status == "firing" and alert.labels.get("action") == RETRAIN


_FEATURE = re.compile(r"\s*([^=,\s]+)=([-+0-9.eE]+|NaN|[-+]?Inf)\s*")


def drifted_features(annotation: str) -> dict[str, float]:
    """``"contract=0.210, tenure=0.150"`` (the DriftlineDatasetDrift annotation) as a mapping, largest PSI first."""
    features: dict[str, float] = {}
    for part in annotation.split(","):
        match = _FEATURE.fullmatch(part)
        if match:
            try:
                value = float(match.group(2))
            except ValueError:
                continue
            if math.isfinite(value):  # NaN or ±Inf would never serialise into GitHub's JSON: leave the feature out
                features[match.group(1)] = value
    ranked = sorted(features.items(), key=lambda kv: -kv[1] if kv[1] == kv[1] else 0.0)
    return dict(ranked[:MAX_FEATURES_IN_PAYLOAD])
