"""Model versions: which serving version an event came from, and the requests that wait for their response to say.

During a rollout two versions of a model serve side by side (a canary, or the old and new pods of a rolling update),
and after it only the new one. Each version is compared with the reference of the data it was trained on, so its
traffic must never share a window with another version's. Where the version is read (``versions.source``):

* ``annotation`` — an InferenceService annotation the logger copies into the ``annotations`` extension
  (``logger.metadataAnnotations``, KServe ≥ 0.15). The logger of each revision carries its own revision's
  annotations, so request and response events of a canary are told apart.
* ``header`` — a request header the logger copies into the ``metadata`` extension (``logger.metadataHeaders``).
* ``extension`` — a CloudEvent attribute of its own (``Ce-<name>``), e.g. set by a broker or a custom logger.
* ``response`` — the Open Inference Protocol (v2) response's ``model_version``. The request event carries no
  version, so its rows wait (by event id, at most ``versions.wait`` and :data:`MAX_WAITING_BYTES`) for the response
  that names it; a request whose response never tells is counted, not windowed.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from drift.boundary import InputError, Limits, decode_json, shown
from drift.coercion import MAX_CATEGORY_LENGTH
from drift.config import MODEL_VERSION, VersionsConfig

from .events import RESPONSE, InferenceEvent, RejectedEventError, stored_id
from .payloads import Rows

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


# What one held request costs at most besides its rows: its key (at most MAX_STORED_ID characters, or a hash), the
# dict entry, the tuple, the Rows and its arrays' headers.
ENTRY_BYTES = 1024
# One row's numeric cell as a parsed Python float in a list, or a float64; one categorical cell: a pointer and a
# string of at most MAX_CATEGORY_LENGTH characters (4 bytes each at worst in CPython).
NUMERIC_CELL_BYTES = 32
CATEGORICAL_CELL_BYTES = 8 + 80 + 4 * MAX_CATEGORY_LENGTH
ROW_BYTES = 64  # a row's list or slice of the block
REMEMBERED_ENTRY_BYTES = 640  # a remembered version: its key and version (each at most 128 characters), tuple, entry
MAX_WAITING_BYTES = 64 * 1024 * 1024  # per model with versions.source: response
MAX_REMEMBERED_BYTES = 16 * 1024 * 1024


def held_bytes(rows: Rows, key: str) -> int:
    """An upper bound on the memory a held request takes: fixed per entry and per cell, so a request of no rows
    costs ENTRY_BYTES and nothing a client sends is free."""
    block = rows.numeric
    width = (block.shape[1] if isinstance(block, np.ndarray) else len(block[0])) if rows.count else 0
    numeric = NUMERIC_CELL_BYTES * int(width)
    categorical = CATEGORICAL_CELL_BYTES * int(rows.categorical.shape[1])
    return ENTRY_BYTES + len(key) + rows.count * (ROW_BYTES + numeric + categorical)


class WaitingRequests:
    """Request rows waiting for the response that names their version, and the versions of responses that came
    first (the logger does not order the two). Keyed by :func:`~exporters.events.stored_id` (a long id is hashed) and
    bounded in time (``versions.wait``) and in bytes (:data:`MAX_WAITING_BYTES`, :data:`MAX_REMEMBERED_BYTES`, each
    entry weighed by :func:`held_bytes` — a request of no rows too); what leaves unclaimed is counted."""

    def __init__(self, wait: float, max_bytes: int = MAX_WAITING_BYTES, remembered: int = MAX_REMEMBERED_BYTES) -> None:
        self.wait = wait
        self.max_bytes, self.max_remembered = max_bytes, remembered
        self._rows: OrderedDict[str, tuple[Rows, float, int]] = OrderedDict()
        self._versions: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self.bytes_waiting = 0
        self._lock = threading.Lock()

    @property
    def rows_waiting(self) -> int:
        return sum(held[0].count for held in list(self._rows.values()))

    def hold(self, event_id: str, rows: Rows, now: float) -> tuple[str | None, int]:
        """Keep a request's rows until its response; returns ``(the version, when its response already came, else
        None; requests given up to make room or for their age)``."""
        key = stored_id(event_id)
        with self._lock:
            known = self._versions.pop(key, None)
            if known is not None:
                return known[0], 0
            previous = self._rows.pop(key, None)
            if previous is not None:
                self.bytes_waiting -= previous[2]
            size = held_bytes(rows, key)
            self._rows[key] = (rows, now, size)
            self.bytes_waiting += size
            return None, self._expire(now)

    def claim(self, event_id: str, version: str, now: float) -> Rows | None:
        """The rows of the request this response answers, or None (then its version is remembered for it)."""
        key = stored_id(event_id)
        with self._lock:
            waiting = self._rows.pop(key, None)
            if waiting is not None:
                self.bytes_waiting -= waiting[2]
                return waiting[0]
            self._versions[key] = (version, now)
            self._versions.move_to_end(key)
            limit = self.max_remembered // REMEMBERED_ENTRY_BYTES
            while len(self._versions) > limit or (
                self._versions and next(iter(self._versions.values()))[1] < now - self.wait
            ):
                self._versions.popitem(last=False)
            return None

    def expire(self, now: float) -> int:
        with self._lock:
            return self._expire(now)

    def _expire(self, now: float) -> int:
        given_up = 0
        while self._rows:
            _, held_at, size = next(iter(self._rows.values()))
            if held_at >= now - self.wait and self.bytes_waiting <= self.max_bytes:
                break
            self._rows.popitem(last=False)
            self.bytes_waiting -= size
            given_up += 1
        return given_up
