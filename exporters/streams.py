"""A model's streams: which stream an event belongs to, and the streams that exist.

A model whose versions are not told apart is one stream, ``""`` (:class:`OneStream`). A model with ``versions`` has
a stream per serving version (:class:`VersionStreams`): during a rollout two versions serve side by side (a canary,
or the old and new pods of a rolling update), and each is compared with the reference of the data it was trained on,
so its traffic never shares a window with another version's.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import NamedTuple, Protocol

from drift.config import VersionsConfig

from .events import REQUEST, RESPONSE, InferenceEvent
from .payloads import Columns, parse_request
from .stream import Stream
from .versions import serving_version
from .waiting import WaitingRequests

MAX_REFUSED_VERSIONS = 1024  # versions remembered as refused, per model (the oldest forgotten first)


class Routed(NamedTuple):
    """What became of one event."""

    outcome: str  # "accepted", or why no window took it: "no_version", "too_many_versions", "no_reference"
    long_values: int = 0
    given_up: int = 0  # requests that waited too long for their response's version, given up to make room


ACCEPTED = Routed("accepted")  # the common answer, made once: the ingest path allocates nothing for it


class Streams(Protocol):
    def route(self, event: InferenceEvent, now: float) -> Routed:
        """Put the event into its stream's windows. Raises RejectedEventError (a bad version) or PayloadError."""

    def __iter__(self) -> Iterator[Stream]:
        """The streams now, oldest first."""

    def listed(self, version: str) -> bool:
        """Whether the config names the version (then it is never refused)."""

    def refuse(self, version: str, now: float, seconds: float) -> None:
        """Take the version's stream away and refuse it for ``seconds``: its reference does not exist."""

    def refused(self, now: float) -> list[str]:
        """The versions refused for now."""

    def retire(self, now: float) -> tuple[list[str], int]:
        """Forget the streams that sent nothing for ``window.max_age`` and the requests that waited too long for
        their response; returns the versions retired and how many requests were given up."""


class OneStream:
    """A model whose versions are not told apart: every event goes to the stream ``""``."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream

    def route(self, event: InferenceEvent, now: float) -> Routed:
        long_values = self.stream.append(event, now)
        return Routed("accepted", long_values) if long_values else ACCEPTED

    def __iter__(self) -> Iterator[Stream]:
        return iter((self.stream,))

    def listed(self, version: str) -> bool:
        return True

    def refuse(self, version: str, now: float, seconds: float) -> None:
        raise ValueError("a model without versions has no version to refuse")

    def refused(self, now: float) -> list[str]:
        return []

    def retire(self, now: float) -> tuple[list[str], int]:
        return [], 0


class VersionStreams:
    """A stream per serving version of one model, created as versions appear and retired when a version has sent
    nothing for the window's ``max_age`` (its rows have all aged out by then).

    At most ``versions.max_versions`` versions have streams at once. A version nobody configured (not listed under
    ``versions.references``) whose reference turns out not to exist gives its slot back as soon as the reference
    thread finds that out, and is refused (counted ``no_reference``) for ``reference_check_every``; when every slot
    is taken, a new version may take the slot of one whose reference failed to load, never of one that has a
    reference. So a client inventing versions cannot keep a real version out for longer than it takes to look up
    a reference. With ``versions.source: response`` a request waits (:class:`~exporters.versions.WaitingRequests`)
    for the response that names its version."""

    def __init__(
        self, spec: VersionsConfig, max_age: float, features: Columns, create: Callable[[str], Stream]
    ) -> None:
        self.spec = spec
        self.max_age = max_age
        self._features = features
        self._create = create
        self._streams: dict[str, Stream] = {}
        self._last_seen: dict[str, float] = {}
        self._refused: OrderedDict[str, float] = OrderedDict()  # version -> refused until
        self._listed = frozenset(version for version, _ in spec.references)
        self._lock = threading.Lock()
        self.waiting = WaitingRequests(spec.wait.seconds) if spec.source == "response" else None

    def route(self, event: InferenceEvent, now: float) -> Routed:
        version = serving_version(self.spec, event)
        waiting = self.waiting
        if version is None:
            if waiting is None or event.kind != REQUEST or not event.event_id:
                return Routed("no_version")
            rows = parse_request(event.payload, self._features)
            version, given_up = waiting.hold(event.event_id, rows, now)
            if version is None:  # its response will say
                return Routed("accepted", given_up=given_up)
            target = self.stream(version, now)
            if isinstance(target, str):
                return Routed(target, given_up=given_up)
            return Routed("accepted", target.append_features(rows, now), given_up)
        target = self.stream(version, now)
        if isinstance(target, str):
            return Routed(target)
        long_values = target.append(event, now)
        if waiting is not None and event.kind == RESPONSE and event.event_id:
            request = waiting.claim(event.event_id, version, now)
            if request is not None:
                long_values += target.append_features(request, now)
        return Routed("accepted", long_values)

    def listed(self, version: str) -> bool:
        return version in self._listed

    def stream(self, version: str, now: float) -> Stream | str:
        """The version's stream, created on first sight; else why it has none: ``no_reference`` (refused for now)
        or ``too_many_versions``."""
        stream = self._streams.get(version)
        if stream is None:
            with self._lock:
                stream = self._streams.get(version)
                if stream is None:
                    refused_until = self._refused.get(version)
                    if refused_until is not None:
                        if now < refused_until:
                            return "no_reference"
                        del self._refused[version]
                    streams = self._streams
                    if len(streams) >= self.spec.max_versions:
                        failed = [v for v, s in streams.items() if s.profile is None and s.reference.error is not None]
                        failed = [v for v in failed if not self.listed(v)] or (failed if self.listed(version) else [])
                        if not failed:
                            return "too_many_versions"
                        streams = {v: s for v, s in streams.items() if v != failed[0]}
                        self._last_seen.pop(failed[0], None)
                    stream = self._create(version)
                    self._streams = {**streams, version: stream}  # readers iterate the old dict safely
        self._last_seen[version] = now
        return stream

    def refuse(self, version: str, now: float, seconds: float) -> None:
        with self._lock:
            self._streams = {v: s for v, s in self._streams.items() if v != version}
            self._last_seen.pop(version, None)
            self._refused[version] = now + seconds
            self._refused.move_to_end(version)
            while len(self._refused) > MAX_REFUSED_VERSIONS:
                self._refused.popitem(last=False)

    def refused(self, now: float) -> list[str]:
        return [v for v, until in list(self._refused.items()) if until > now]

    def __iter__(self) -> Iterator[Stream]:
        return iter(list(self._streams.values()))

    def retire(self, now: float) -> tuple[list[str], int]:
        given_up = self.waiting.expire(now) if self.waiting is not None else 0
        with self._lock:
            gone = [v for v in self._streams if self._last_seen.get(v, now) < now - self.max_age]
            if gone:
                self._streams = {v: s for v, s in self._streams.items() if v not in gone}
                for version in gone:
                    self._last_seen.pop(version, None)
            for version in [v for v, until in self._refused.items() if until <= now]:
                del self._refused[version]
        return gone, given_up
