"""KServe logger CloudEvents: binary mode (``Ce-*`` headers + raw body) and structured mode
(``application/cloudevents+json``, as a Knative broker may re-deliver them).

The logger copies the *request's* Content-Type onto both events, so the body is sniffed, never trusted by type.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson

REQUEST = "request"
RESPONSE = "response"


class RejectedEventError(Exception):
    """An event that cannot be used. ``reason`` is the ``driftline_events_rejected_total`` label."""

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.reason, self.status = reason, status


class InferenceEvent(NamedTuple):
    kind: str  # request | response
    model: str
    namespace: str
    event_id: str | None
    payload: Any
    attributes: Mapping[str, Any] | None = None  # the CloudEvent's attributes (headers, the structured document or
    # the S3 record), where a model version may be read


_KINDS = {f"org.kubeflow.serving.inference.{kind}": kind for kind in (REQUEST, RESPONSE)}


def event_kind(event_type: str) -> str:
    """``org.kubeflow.serving.inference.request`` → ``request``; both spellings of S3 records too."""
    known = _KINDS.get(event_type)
    if known is not None:
        return known
    tail = event_type.rsplit(".", 1)[-1].lower()
    if tail in (REQUEST, RESPONSE):
        return tail
    raise RejectedEventError(
        "unsupported_type", f"event type {event_type!r} is neither an inference request nor a response"
    )


class CloudEvent(NamedTuple):
    """One delivery's CloudEvent attributes and data; ``type`` is None for a plain JSON body (no Ce-* headers, no
    ``specversion``)."""

    type: str | None
    model: Any  # the KServe extension attributes, as sent (the caller checks their type)
    namespace: Any
    event_id: Any
    data: Any
    attributes: Mapping[str, Any] | None = None


def decode_cloudevent(headers: Mapping[str, str], body: bytes) -> CloudEvent:
    """Decode a binary-mode (``Ce-*`` headers, the body is the data) or structured-mode (``specversion`` in a JSON
    body; ``data`` or ``data_base64``) CloudEvent; ``headers`` must have lower-case names. Raises
    RejectedEventError for a body that is not JSON."""
    if "ce-type" in headers or "ce-specversion" in headers:
        return CloudEvent(
            headers.get("ce-type", ""),
            headers.get("ce-inferenceservicename"),
            headers.get("ce-namespace"),
            headers.get("ce-id"),
            _json(body),
            headers,
        )
    document = _json(body)
    if not isinstance(document, dict) or "specversion" not in document:
        return CloudEvent(None, None, None, None, document)
    return CloudEvent(
        str(document.get("type", "")),
        document.get("inferenceservicename"),
        document.get("namespace"),
        document.get("id"),
        _structured_data(document),
        document,
    )


def decode_event(headers: Mapping[str, str], body: bytes) -> InferenceEvent:
    """An inference request or response event of KServe's logger."""
    event_type, model = headers.get("ce-type"), headers.get("ce-inferenceservicename")
    if event_type is not None and model:  # binary mode, KServe's logger: the common case, without the detour
        data = _json(body)
        return InferenceEvent(event_kind(event_type), model, headers.get("ce-namespace") or "default",
                              headers.get("ce-id"), data, headers)  # fmt: skip
    event = decode_cloudevent(headers, body)
    if event.type is None:
        raise RejectedEventError(
            "missing_attributes",
            "not a CloudEvent: send the payload with the headers Ce-Specversion: 1.0, Ce-Id, "
            "Ce-Type: org.kubeflow.serving.inference.request (or .response) and Ce-Inferenceservicename "
            "(Ce-Namespace: default if absent), as KServe's logger does — or a structured-mode body with specversion",
        )
    kind = event_kind(event.type)
    if not event.model or not isinstance(event.model, str):
        raise RejectedEventError("missing_attributes", "the event names no InferenceService (Ce-Inferenceservicename)")
    namespace = event.namespace
    return InferenceEvent(
        kind,
        event.model,
        namespace if isinstance(namespace, str) and namespace else "default",
        event.event_id if isinstance(event.event_id, str) else None,
        event.data,
        event.attributes,
    )


def _structured_data(document: dict[str, Any]) -> Any:
    if "data_base64" in document:
        try:
            return _json(base64.b64decode(str(document["data_base64"]), validate=True))
        except (binascii.Error, ValueError):
            raise RejectedEventError("bad_json", "data_base64 is not base64") from None
    payload = document.get("data")
    return _json(payload.encode()) if isinstance(payload, str) else payload


def _json(body: bytes) -> Any:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        pass  # orjson is strict; the standard parser also takes NaN/Infinity and huge integers, which clients send
    else:
        if type(document) is dict or type(document) is list:
            return document
    return _lenient_json(body)


def _lenient_json(body: bytes) -> Any:
    """What :func:`_json` says of a body orjson refused or that is not an object or an array."""
    start = body[:64].lstrip()
    if not start or start[:1] not in b"{[":
        if not start:
            raise RejectedEventError("bad_json", "the body is empty")
        if any(b < 9 or 13 < b < 32 for b in body[:64]):
            raise RejectedEventError(
                "binary_payload",
                "the body is binary (KServe's binary tensor extension); send JSON tensors to be monitored",
            )
        raise RejectedEventError("bad_json", "the body is not JSON")
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise RejectedEventError("binary_payload", "the body is not UTF-8 JSON (a binary tensor extension?)") from None
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # a JSON header followed by raw tensor bytes
            message = "JSON followed by binary data (binary tensor extension)"
            raise RejectedEventError("binary_payload", message) from None
        raise RejectedEventError("bad_json", f"the body is not valid JSON: {exc}") from None
    except ValueError as exc:  # the standard library refuses integers of more than 4,300 digits (CVE-2020-10735)
        raise RejectedEventError("bad_json", f"the body is not usable JSON: {str(exc).split(';')[0]}") from None
    except RecursionError:
        raise RejectedEventError("bad_json", "the body is nested too deeply") from None
