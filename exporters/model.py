"""One configured model as the exporter holds it: which events it keeps (sampling), its streams — one, or one per
serving version — and, with a ``target``, its ground truth, which labels join whichever version made the
prediction."""

from __future__ import annotations

import dataclasses
import random
import zlib
from collections.abc import Callable

from drift.config import VERSION_PLACEHOLDER, ModelConfig
from drift.reference.profile import ReferenceProfile

from .events import InferenceEvent
from .ground_truth import GroundTruth
from .payloads import Columns
from .reference import Reference
from .stream import ModelKey, Stream
from .streams import OneStream, Routed, Streams, VersionStreams


class MonitoredModel:
    def __init__(self, model: ModelConfig, sample_rows: int, on_new_version: Callable[[Stream], None]) -> None:
        self.model = model
        self.key: ModelKey = (model.name, model.namespace)
        self.keeps_all = model.sampling.rate >= 1.0
        self.ground_truth = GroundTruth(model) if model.target is not None else None
        self._sample_rows = sample_rows
        self._on_new_version = on_new_version
        self.streams: Streams
        # The reference its quality is compared with, and what /readyz waits for: its one stream's; with versions,
        # one of its own, or none when reference.profile names each version's ({version}).
        self.reference: Reference | None
        if model.versions is None:
            stream = Stream(model, "", sample_rows, self.ground_truth)
            self.streams, self.reference = OneStream(stream), stream.reference
        else:
            self.streams = VersionStreams(
                model.versions, model.window.max_age.seconds, Columns(model.features), self._version_stream
            )
            own = VERSION_PLACEHOLDER not in model.reference.profile
            self.reference = Reference(model) if own else None
        # A stream whose checkpoint file is the model's own (``name``, with the ground truth): the unversioned one.
        self.own_stream = next((s for s in self.streams if not s.version), None)
        self.compares_versions = bool(model.versions and model.versions.compare_outputs and model.outputs)

    def _version_stream(self, version: str) -> Stream:
        """A newly seen serving version's stream: its reference is the one listed for the version,
        ``reference.profile`` with ``{version}`` filled in, or ``reference.profile`` itself — then only if that
        profile records this model version."""
        model = self.model
        assert model.versions is not None
        uri = model.versions.reference_of(version, model.reference.profile)
        reference = dataclasses.replace(model.reference, profile=uri or model.reference.profile)
        configured = dataclasses.replace(model, reference=reference)
        stream = Stream(configured, version, self._sample_rows, self.ground_truth, must_name_version=uri is None)
        self._on_new_version(stream)
        return stream

    def keeps(self, event_id: str | None) -> bool:
        """Sampling by event id, so a request, its response and its label are kept or dropped together."""
        if self.keeps_all:
            return True
        rate = self.model.sampling.rate
        if event_id:
            # surrogatepass: a structured event's id may hold a lone surrogate (valid JSON, not valid UTF-8)
            return zlib.crc32(event_id.encode("utf-8", "surrogatepass")) / 0xFFFFFFFF < rate
        return random.random() < rate  # noqa: S311 - sampling, not security

    def take(self, event: InferenceEvent, now: float) -> Routed:
        """Sample the event and put it into its stream's windows. Raises RejectedEventError or PayloadError."""
        if not self.keeps_all and not self.keeps(event.event_id):  # the common case without a call
            return Routed("sampled_out")
        return self.streams.route(event, now)

    def references(self) -> list[Reference]:
        """Every reference slot to keep loaded: the model's own, and each stream's."""
        slots = [s.reference for s in self.streams]
        return slots if self.reference is None or self.reference in slots else [self.reference, *slots]

    def stream(self, version: str = "") -> Stream | None:
        return next((s for s in self.streams if s.version == version), None)

    def quality_profile(self) -> ReferenceProfile | None:
        """What the model's quality is compared with: its own reference; with ``{version}`` in reference.profile,
        the profile of the newest version that has one."""
        if self.reference is not None:
            return self.reference.profile
        loaded = [s.profile for s in self.streams if s.profile is not None]
        return loaded[-1] if loaded else None
