"""The exporter's own counters, histograms and gauges (prometheus-client), declared from the metric catalogue and
created with every label value known when a model starts, so each exports zeros before its first event; a model that
leaves (its model file removed) takes its series with it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from drift import catalogue as m
from httpserver.exposition import counter, gauge, histogram, observe_many, with_known_labels

from .stream import ModelKey


class ExporterInstruments:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = counter(m.EVENTS, registry)
        self.unversioned = counter(m.UNVERSIONED_EVENTS, registry)
        self.events_rejected = counter(m.EVENTS_REJECTED, registry)
        self.evaluation_duration = histogram(m.EVALUATION_DURATION, registry)
        self.log_objects = counter(m.LOG_OBJECTS, registry)
        self.long_values = counter(m.LONG_VALUES, registry)
        self.other_components = counter(m.OTHER_COMPONENT_EVENTS, registry)
        self.labels = counter(m.LABELS, registry)
        self.feedback_rejected = counter(m.FEEDBACK_REJECTED, registry)
        self.label_delay = histogram(m.LABEL_DELAY, registry)
        self.store_rows = gauge(m.PREDICTION_STORE_ROWS, registry)
        self.store_capacity = gauge(m.PREDICTION_STORE_CAPACITY, registry)
        self.evictions = counter(m.PREDICTION_STORE_EVICTIONS, registry)
        self.label_objects = counter(m.LABEL_OBJECTS, registry)
        self.window_resets = counter(m.WINDOW_RESETS, registry)
        self.window_restores = counter(m.WINDOW_RESTORES, registry)
        self.reference_swaps = counter(m.REFERENCE_SWAPS, registry)
        self.reference_load_errors = counter(m.REFERENCE_LOAD_ERRORS, registry)
        self.checkpoint_timestamp = gauge(m.CHECKPOINT_TIMESTAMP, registry)
        self.checkpoint_errors = counter(m.CHECKPOINT_ERRORS, registry)
        self.model_files = gauge(m.MODEL_FILES, registry)
        self.model_file_changes = counter(m.MODEL_FILE_CHANGES, registry)
        with_known_labels(self.events_rejected, m.EVENTS_REJECTED)
        with_known_labels(self.feedback_rejected, m.FEEDBACK_REJECTED)
        # The ingest path counts every event: each model's children are looked up once, when it starts.
        self._events: dict[ModelKey, dict[str, dict[str, Any]]] = {}
        self._per_model = (
            self.events, self.unversioned, self.evaluation_duration, self.long_values, self.other_components,
            self.labels, self.label_delay, self.store_rows, self.store_capacity, self.evictions, self.label_objects,
            self.log_objects, self.window_resets, self.window_restores, self.reference_swaps,
            self.reference_load_errors,
        )  # fmt: skip

    def add_model(self, key: ModelKey, labelled: bool, versioned: bool) -> None:
        """A model's series, at zero (again, for a model whose config changed: the children it has are kept)."""
        prefix = [key]
        with_known_labels(self.window_resets, m.WINDOW_RESETS, prefix)
        with_known_labels(self.events, m.EVENTS, prefix)
        with_known_labels(self.other_components, m.OTHER_COMPONENT_EVENTS, prefix)
        if versioned:
            with_known_labels(self.unversioned, m.UNVERSIONED_EVENTS, prefix)
        if labelled:
            with_known_labels(self.labels, m.LABELS, prefix)
            with_known_labels(self.evictions, m.PREDICTION_STORE_EVICTIONS, prefix)
            self.label_delay.labels(*key)
        self.evaluation_duration.labels(*key)
        self.long_values.labels(*key)
        self.window_restores.labels(*key)
        self.reference_swaps.labels(*key)
        self.reference_load_errors.labels(*key)
        self._events[key] = {
            kind: {o: self.events.labels(*key, kind, o) for o in m.EVENT_OUTCOMES} for kind in m.EVENT_TYPES
        }

    def forget(self, key: ModelKey) -> None:
        """Remove every series of a model that left: its counters stop being exported, not frozen."""
        self._events.pop(key, None)
        for instrument in self._per_model:
            names = instrument._labelnames
            for family in instrument.collect():
                for labels in {tuple(s.labels.get(n, "") for n in names) for s in family.samples}:
                    if labels[:2] == key:
                        with contextlib.suppress(KeyError):
                            instrument.remove(*labels)

    def event(self, key: ModelKey, kind: str, outcome: str) -> None:
        children = self._events.get(key)
        if children is not None:  # None: the model retired while its event was being taken
            children[kind][outcome].inc()

    def reject_event(self, reason: str, key: ModelKey | None = None, kind: str | None = None) -> None:
        self.events_rejected.labels(reason).inc()
        if key is not None and kind is not None:
            self._events[key][kind]["rejected"].inc()

    def other_component(self, key: ModelKey, component: str) -> None:
        known = component if component in m.OTHER_COMPONENTS else "other"
        self.other_components.labels(*key, known).inc()

    def reject_feedback(self, reason: str) -> None:
        self.feedback_rejected.labels(reason).inc()

    def joined(self, key: ModelKey, outcomes: dict[str, int]) -> None:
        for outcome, n in outcomes.items():
            if n:
                self.labels.labels(*key, outcome).inc(n)

    def label_delays(self, key: ModelKey, seconds: Any) -> None:
        observe_many(self.label_delay.labels(*key), seconds, m.LABEL_DELAY.buckets)

    def watch_store(self, key: ModelKey, rows: Callable[[], float], capacity: int) -> Callable[[str], None]:
        """Export a prediction store's fill and size; returns the callback its evictions are counted by."""
        self.store_rows.labels(*key).set_function(rows)
        self.store_capacity.labels(*key).set(capacity)
        children = {reason: self.evictions.labels(*key, reason) for reason in m.EVICTION_REASONS}
        return lambda reason: children[reason].inc()

    def object_counter(self, instrument: Counter, key: ModelKey) -> Callable[[str], None]:
        """The callback a pull-mode poller counts its objects by (``processed`` or ``quarantined``)."""
        children = {outcome: instrument.labels(*key, outcome) for outcome in m.OBJECT_OUTCOMES}
        return lambda outcome: children[outcome].inc()
