"""Model versions: which serving version an event came from.

During a rollout two versions of a model serve side by side (a canary, or the old and new pods of a rolling update),
and after it only the new one. Each version is compared with the reference of the data it was trained on, so its
traffic must never share a window with another version's. Where the version is read (``versions.source``):

* ``annotation`` — an InferenceService annotation the logger copies into the ``annotations`` extension
  (``logger.metadataAnnotations``, KServe ≥ 0.15). The logger of each revision carries its own revision's
  annotations, so request and response events of a canary are told apart.
* ``header`` — a request header the logger copies into the ``metadata`` extension (``logger.metadataHeaders``).
* ``extension`` — a CloudEvent attribute of its own (``Ce-<name>``), e.g. set by a broker or a custom logger.
* ``response`` — the Open Inference Protocol (v2) response's ``model_version``. The request event carries no
  version, so its rows wait (:mod:`exporters.waiting`) for the response that names it; a request whose response
  never tells is counted, not windowed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from drift.boundary import InputError, Limits, decode_json, shown
from drift.config import MODEL_VERSION, VersionsConfig

from .events import RESPONSE, InferenceEvent, RejectedEventError

if TYPE_CHECKING:
    pass

_CACHED_LENGTH = 512  # extension strings up to this long are parsed once (bounded: _CACHED_STRINGS of them)
_CACHED_STRINGS = 256
_PARSED: dict[tuple[str, str, str], Any] = {}
log = logging.getLogger("driftline.exporter")
_VERSION = re.compile(MODEL_VERSION)


def serving_version(spec: VersionsConfig, event: InferenceEvent) -> str | None:
    """The version that served ``event``, None when the event does not say. Raises RejectedEventError for a value
    that is not a version (it becomes a label value and part of a file name)."""
    value = _raw_version(spec, event)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _VERSION.fullmatch(value):
        raise RejectedEventError("bad_version", f"model version {shown(value)} is not a version ({MODEL_VERSION})")
    return value


def _raw_version(spec: VersionsConfig, event: InferenceEvent) -> Any:
    if spec.source == "response":
        payload = event.payload
        return payload.get("model_version") if event.kind == RESPONSE and isinstance(payload, dict) else None
    attributes = event.attributes or {}
    if spec.source == "extension":
        return _attribute(attributes, spec.name.lower())
    extension = "annotations" if spec.source == "annotation" else "metadata"
    raw = _attribute(attributes, extension)
    if not isinstance(raw, str) or len(raw) > _CACHED_LENGTH:
        return _from_object(spec, raw)
    key = (spec.source, spec.name, raw)
    found = _PARSED.get(key, _PARSED)
    if found is _PARSED:  # every event of a pod carries the same string: parse it once
        found = _from_object(spec, raw)
        if len(_PARSED) >= _CACHED_STRINGS:
            _PARSED.clear()
        _PARSED[key] = found
    return found


def _from_object(spec: VersionsConfig, raw: Any) -> Any:
    """The version in the ``annotations`` (``{name: value}``) or ``metadata`` (``{Header: [values]}``) object."""
    if spec.source == "annotation":
        return _json_object(raw).get(spec.name)
    headers = {str(k).lower(): v for k, v in _json_object(raw).items()}
    values = headers.get(spec.name.lower())
    return values[0] if isinstance(values, list) and values else values


def _attribute(attributes: Mapping[str, Any], name: str) -> Any:
    """A CloudEvent attribute: ``ce-<name>`` in binary mode, ``<name>`` in a structured event or an S3 record."""
    value = attributes.get(f"ce-{name}")
    return attributes.get(name) if value is None else value


def _json_object(value: Any) -> Mapping[str, Any]:
    """The logger's ``metadata``/``annotations`` extensions are JSON objects as strings; an S3 record may hold the
    object itself. One that cannot be read (within :data:`EXTENSION_LIMITS`) names no version."""
    if isinstance(value, str):
        try:
            value = decode_json(value, EXTENSION_LIMITS, "the extension")
        except InputError:
            return {}
    return value if isinstance(value, dict) else {}


# An extension attribute is a header (at most MAX_HEADER_BYTES) or a field of an S3 record: a few KB of JSON.
EXTENSION_LIMITS = Limits(max_bytes=64 * 1024, max_depth=8)
