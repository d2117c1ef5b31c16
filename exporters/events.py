"""KServe logger CloudEvents: binary mode (``Ce-*`` headers + raw body), structured mode
(``application/cloudevents+json``, as a Knative broker may re-deliver them) and batch mode
(``application/cloudevents-batch+json``: a JSON array of structured events, as a Knative channel or a replay tool
may send them).

The logger copies the *request's* Content-Type onto both events, so the body is sniffed, never trusted by type. Every
body is decoded by :func:`drift.boundary.decode_json` with the exporter's limits.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any, NamedTuple

from drift.boundary import InputError, Limits, decode_json

REQUEST = "request"
RESPONSE = "response"
# KServe's logger stamps each event with the component that logged it (Ce-Component); an InferenceService with a
# logged transformer sends the transformer's raw rows beside the predictor's.
COMPONENTS = ("predictor", "transformer", "explainer")
MAX_STORED_ID = 128  # KServe's ids are UUIDs (36 characters)


def stored_id(event_id: str) -> str:
    """The key an event is kept under (a prediction awaiting its label, a request awaiting its response's version):
    the id itself, or — for an id longer than ``MAX_STORED_ID`` — its SHA-256, so a client cannot fill an index with
    megabyte ids while labels and responses still find their event."""
    if len(event_id) <= MAX_STORED_ID:
        return event_id
    return "sha256:" + hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()


class RejectedEventError(Exception):
    """An event that cannot be used. ``reason`` is the ``driftline_events_rejected_total`` label."""

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.reason, self.status = reason, status

    @classmethod
    def of(cls, error: InputError) -> RejectedEventError:
        """The boundary's refusal as an event rejection: 413 for a body over the limit, 400 otherwise."""
        return cls(error.reason, str(error), 413 if error.reason == "too_large" else 400)


class InferenceEvent(NamedTuple):
    kind: str  # request | response
    model: str
    namespace: str
    event_id: str | None
    payload: Any
    attributes: Mapping[str, Any] | None = None  # the CloudEvent's attributes (headers, the structured document or
    # the S3 record), where a model version may be read
    component: str | None = None  # the KServe component that logged it; None when the event does not say


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
        "unsupported_type", f"event type {event_type[:80]!r} is neither an inference request nor a response"
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
    component: Any = None


def decode_cloudevent(headers: Mapping[str, str], body: bytes, limits: Limits) -> CloudEvent:
    """Decode a binary-mode (``Ce-*`` headers, the body is the data) or structured-mode (``specversion`` in a JSON
    body; ``data`` or ``data_base64``) CloudEvent; ``headers`` must have lower-case names. Raises
    RejectedEventError for a body the boundary refuses."""
    if "ce-type" in headers or "ce-specversion" in headers:
        return CloudEvent(
            headers.get("ce-type", ""),
            headers.get("ce-inferenceservicename"),
            headers.get("ce-namespace"),
            headers.get("ce-id"),
            _document(body, limits),
            headers,
            headers.get("ce-component"),
        )
    document = _document(body, limits)
    if not isinstance(document, dict) or "specversion" not in document:
        return CloudEvent(None, None, None, None, document)
    return structured(document, limits)


def structured(document: dict[str, Any], limits: Limits) -> CloudEvent:
    """A structured-mode event's attributes and data (the data decoded when it is a string or base64)."""
    return CloudEvent(
        str(document.get("type", ""))[:256],
        document.get("inferenceservicename"),
        document.get("namespace"),
        document.get("id"),
        _structured_data(document, limits),
        document,
        document.get("component"),
    )


def is_batch(document: Any) -> bool:
    """A batch-mode body: a JSON array of structured-mode events (each an object with ``specversion``)."""
    return (
        isinstance(document, list)
        and bool(document)
        and all(isinstance(item, dict) and "specversion" in item for item in document)
    )


def decode_body(headers: Mapping[str, str], body: bytes, limits: Limits) -> InferenceEvent | list[Any]:
    """One inference event, or — for a batch-mode body — the batch's structured events, each still to be made an
    event with :func:`inference_event` (so one bad event of a batch leaves the others)."""
    event_type, model = headers.get("ce-type"), headers.get("ce-inferenceservicename")
    if event_type is not None and model:  # binary mode, KServe's logger: the common case, without the detour
        return InferenceEvent(event_kind(event_type), model, headers.get("ce-namespace") or "default",
                              headers.get("ce-id"), _document(body, limits), headers,
                              headers.get("ce-component"))  # fmt: skip
    if "ce-type" not in headers and "ce-specversion" not in headers:
        document = _document(body, limits)
        if is_batch(document):
            return list(document)
        if not isinstance(document, dict) or "specversion" not in document:
            raise _not_a_cloudevent()
        return inference_event(structured(document, limits))
    return inference_event(decode_cloudevent(headers, body, limits))


def inference_event(event: CloudEvent) -> InferenceEvent:
    """An inference request or response event of KServe's logger, from its CloudEvent."""
    if event.type is None:
        raise _not_a_cloudevent()
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
        event.component if isinstance(event.component, str) else None,
    )


def _not_a_cloudevent() -> RejectedEventError:
    return RejectedEventError(
        "missing_attributes",
        "not a CloudEvent: send the payload with the headers Ce-Specversion: 1.0, Ce-Id, "
        "Ce-Type: org.kubeflow.serving.inference.request (or .response) and Ce-Inferenceservicename "
        "(Ce-Namespace: default if absent), as KServe's logger does — or a structured-mode body with specversion",
    )


def _structured_data(document: dict[str, Any], limits: Limits) -> Any:
    if "data_base64" in document:
        encoded = document["data_base64"]
        if not isinstance(encoded, str):
            raise RejectedEventError("bad_json", "data_base64 is not a base64 string")
        try:
            return _document(base64.b64decode(encoded, validate=True), limits, "data_base64")
        except (binascii.Error, ValueError):
            raise RejectedEventError("bad_json", "data_base64 is not base64") from None
    payload = document.get("data")
    return _document(payload, limits, "data") if isinstance(payload, str) else payload


def _document(body: bytes | str, limits: Limits, what: str = "the body") -> Any:
    """A JSON object or array through the boundary; a scalar document is not a payload."""
    try:
        document = decode_json(body, limits, what)
    except InputError as exc:
        raise RejectedEventError.of(exc) from None
    if type(document) is not dict and type(document) is not list:
        raise RejectedEventError("bad_json", f"{what} is not a JSON object or array")
    return document
