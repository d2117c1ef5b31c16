"""Model versions: which serving version an event came from, and one set of windows per version.

During a rollout two versions of a model serve side by side (a canary, or the old and new pods of a rolling update),
and after it only the new one. Each version is compared with the reference of the data it was trained on, so its
traffic must never share a window with another version's. Where the version is read (``versions.source``):

* ``annotation`` — an InferenceService annotation the logger copies into the ``annotations`` extension
  (``logger.metadataAnnotations``, KServe ≥ 0.15). The logger of each revision carries its own revision's
  annotations, so request and response events of a canary are told apart.
* ``header`` — a request header the logger copies into the ``metadata`` extension (``logger.metadataHeaders``).
* ``extension`` — a CloudEvent attribute of its own (``Ce-<name>``), e.g. set by a broker or a custom logger.
* ``response`` — the Open Inference Protocol (v2) response's ``model_version``. The request event carries no
  version, so its rows wait (by event id, at most ``versions.wait`` and :data:`MAX_WAITING_ROWS`) for the response
  that names it; a request whose response never tells is counted, not windowed.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from drift.comparison import compare_outputs
from drift.config import MODEL_VERSION, VersionsConfig
from drift.errors import ProfileError
from drift.evaluation import ColumnDrift
from drift.reference.profile import ReferenceProfile

from .events import REQUEST, RESPONSE, InferenceEvent, RejectedEventError
from .payloads import Rows, parse_request

if TYPE_CHECKING:
    from .monitor import ModelMonitor

MAX_WAITING_ROWS = 100_000  # request rows waiting for their response's version, per model
MAX_REMEMBERED = 100_000  # versions of responses that came before their request, per model
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
        shown = repr(value)[:80]
        raise RejectedEventError("bad_version", f"model version {shown} is not a version ({MODEL_VERSION})")
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
    object itself."""
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return {}
    return value if isinstance(value, dict) else {}


class WaitingRequests:
    """Request rows waiting for the response that names their version, and the versions of responses that came
    first (the logger does not order the two). Bounded in rows and in time; what leaves unclaimed is counted."""

    def __init__(self, wait: float) -> None:
        self.wait = wait
        self._rows: OrderedDict[str, tuple[Rows, float]] = OrderedDict()
        self._versions: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self.rows_waiting = 0
        self._lock = threading.Lock()

    def hold(self, event_id: str, rows: Rows, now: float) -> tuple[str | None, int]:
        """Keep a request's rows until its response; returns ``(the version, when its response already came, else
        None; requests given up to make room or for their age)``."""
        with self._lock:
            known = self._versions.pop(event_id, None)
            if known is not None:
                return known[0], 0
            previous = self._rows.pop(event_id, None)
            if previous is not None:
                self.rows_waiting -= previous[0].count
            self._rows[event_id] = (rows, now)
            self.rows_waiting += rows.count
            return None, self._expire(now)

    def claim(self, event_id: str, version: str, now: float) -> Rows | None:
        """The rows of the request this response answers, or None (then its version is remembered for it)."""
        with self._lock:
            waiting = self._rows.pop(event_id, None)
            if waiting is not None:
                self.rows_waiting -= waiting[0].count
                return waiting[0]
            self._versions[event_id] = (version, now)
            self._versions.move_to_end(event_id)
            while len(self._versions) > MAX_REMEMBERED or (
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
            oldest_rows, held_at = next(iter(self._rows.values()))
            if held_at >= now - self.wait and self.rows_waiting <= MAX_WAITING_ROWS:
                break
            self._rows.popitem(last=False)
            self.rows_waiting -= oldest_rows.count
            given_up += 1
        return given_up


class VersionSet:
    """The windows of each serving version of one model, created as versions appear (at most
    ``versions.max_versions`` at once) and retired when a version has sent nothing for the window's ``max_age``
    (its rows have all aged out by then)."""

    def __init__(self, spec: VersionsConfig, max_age: float, create: Callable[[str], ModelMonitor]) -> None:
        self.spec = spec
        self.max_age = max_age
        self._create = create
        self._monitors: dict[str, ModelMonitor] = {}
        self._last_seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self.waiting = WaitingRequests(spec.wait.seconds) if spec.source == "response" else None

    def monitor(self, version: str, now: float) -> ModelMonitor | None:
        """The version's monitor, created on first sight; None when ``max_versions`` are already monitored."""
        monitor = self._monitors.get(version)
        if monitor is None:
            with self._lock:
                monitor = self._monitors.get(version)
                if monitor is None:
                    if len(self._monitors) >= self.spec.max_versions:
                        return None
                    monitor = self._create(version)
                    self._monitors = {**self._monitors, version: monitor}  # readers iterate the old dict safely
        self._last_seen[version] = now
        return monitor

    def __iter__(self) -> Iterator[ModelMonitor]:
        return iter(list(self._monitors.values()))

    def retire(self, now: float) -> list[str]:
        """Forget the versions that sent nothing for ``max_age``; returns them."""
        with self._lock:
            gone = [v for v in self._monitors if self._last_seen.get(v, now) < now - self.max_age]
            if gone:
                self._monitors = {v: m for v, m in self._monitors.items() if v not in gone}
                for version in gone:
                    self._last_seen.pop(version, None)
        return gone


class Routed(NamedTuple):
    """What became of one event of a model with versions."""

    outcome: str  # "accepted", or why no window took it: "no_version", "too_many_versions"
    long_values: int = 0
    given_up: int = 0  # requests that waited too long for their response's version, given up to make room


def route(monitor: ModelMonitor, versions: VersionSet, event: InferenceEvent, now: float) -> Routed:
    """Put the event into its version's windows. Raises RejectedEventError (a bad version) or PayloadError."""
    version = serving_version(versions.spec, event)
    waiting = versions.waiting
    if version is None:
        if waiting is None or event.kind != REQUEST or not event.event_id:
            return Routed("no_version")
        rows = parse_request(event.payload, monitor.feature_columns)
        version, given_up = waiting.hold(event.event_id, rows, now)
        if version is None:  # its response will say
            return Routed("accepted", given_up=given_up)
        target = versions.monitor(version, now)
        if target is None:
            return Routed("too_many_versions", given_up=given_up)
        return Routed("accepted", target.append_features(rows, now), given_up)
    target = versions.monitor(version, now)
    if target is None:
        return Routed("too_many_versions")
    long_values = target.append(event, now)
    if waiting is not None and event.kind == RESPONSE and event.event_id:
        request = waiting.claim(event.event_id, version, now)
        if request is not None:
            long_values += target.append_features(request, now)
    return Routed("accepted", long_values)


def require_version(profile: ReferenceProfile, monitor: ModelMonitor, uri: str) -> None:
    """A serving version is compared only with a profile of its own: one that records this version, or — listed
    for it or found by ``{version}`` — one that records none."""
    recorded = profile.model_version
    if recorded == monitor.version or (not recorded and not monitor.profile_must_name_version):
        return
    if not monitor.profile_must_name_version:
        raise ProfileError(f"{uri}: built for model version {recorded!r}, not {monitor.version!r}")
    holds = f"is model version {recorded!r}'s" if recorded else "records no model version"
    raise ProfileError(
        f"model version {monitor.version!r} has no reference: reference.profile {uri} {holds}; list the version "
        "under versions.references, put {version} in reference.profile, or build its profile with --model-version"
    )


def compare_serving(
    model: ModelMonitor, serving: list[ModelMonitor], now: float, rows: int
) -> list[tuple[tuple[str, str, str], str, Mapping[str, ColumnDrift]]]:
    """While versions serve together: each newer one's outputs against the oldest one's (the stable version;
    versions are kept in the order they appeared), from the windows' row samples. ``(version's id, baseline version,
    each output's drift)`` for the versions with enough rows on both sides."""
    if len(serving) < 2:
        return []
    stable = serving[0]
    out: list[tuple[tuple[str, str, str], str, Mapping[str, ColumnDrift]]] = []
    assert stable.outputs is not None
    baseline = stable.outputs.sample(now, rows)
    settings, min_rows = model.model.drift, model.model.window.min_rows
    for candidate in serving[1:]:
        assert candidate.outputs is not None
        sample = candidate.outputs.sample(now, rows)
        try:
            compared = compare_outputs(baseline.columns, sample.columns, model.model.outputs, settings, min_rows)
        except Exception:  # a bug must not stop the drift numbers
            log.exception("version comparison failed", extra={"model": model.key[0]})
            continue
        if compared is not None:
            out.append((candidate.id, stable.version, compared))
    return out
