"""Intake: a delivery's bytes to the model it is for, counted whatever becomes of it. Runs on the HTTP server's
event loop (and the S3 pull threads) and only appends to windows and the prediction store.

An event's walk: :meth:`Intake.ingest` decodes the body (:mod:`exporters.events`), finds the model, and hands the
event to :meth:`~exporters.model.MonitoredModel.take` (sampling) → its streams' ``route`` (the serving version) →
:meth:`~exporters.stream.Stream.append` (the payload parsed into the window).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from drift.boundary import Limits

from .events import InferenceEvent, RejectedEventError, decode_body, decode_cloudevent, inference_event, structured
from .feedback import FEEDBACK_TYPE, FeedbackError, Label, parse_feedback, read_labels
from .instruments import ExporterInstruments
from .model import MonitoredModel
from .payloads import PayloadError
from .stream import ModelKey

Answer = tuple[int, dict[str, Any]]  # (HTTP status, JSON body)


class Intake:
    def __init__(
        self,
        models: Mapping[ModelKey, MonitoredModel],
        instruments: ExporterInstruments,
        limits: Limits,
        component: str,
        clock: Callable[[], float],
    ) -> None:
        self.models = models
        self.instruments = instruments
        self.limits = limits  # every body, S3 record and label file is decoded within these bounds (drift.boundary)
        self.component = component
        self.clock = clock

    def model(self, name: str, namespace: str) -> MonitoredModel | None:
        return self.models.get((name, namespace)) or self.models.get((name, "*"))

    def ingest(self, headers: Mapping[str, str], body: bytes) -> Answer:
        """Handle one delivery. Never raises for bad input."""
        try:
            decoded = decode_body(headers, body, self.limits)
        except RejectedEventError as exc:
            self.instruments.reject_event(exc.reason)
            return exc.status, {"error": str(exc), "reason": exc.reason}
        if isinstance(decoded, list):
            return self._batch(decoded)
        return self.event(decoded)

    def _batch(self, documents: list[dict[str, Any]]) -> Answer:
        """A batch-mode delivery: each structured event handled as if it came alone; one bad event leaves the
        others. 202 with the outcomes when any event was usable, else the first event's refusal."""
        outcomes: dict[str, int] = {}
        rejected: dict[str, int] = {}
        first_refusal: Answer | None = None
        for document in documents:
            try:
                status, answer = self.event(inference_event(structured(document, self.limits)))
            except RejectedEventError as exc:
                self.instruments.reject_event(exc.reason)
                status, answer = exc.status, {"error": str(exc), "reason": exc.reason}
            if status >= 400:
                rejected[answer["reason"]] = rejected.get(answer["reason"], 0) + 1
                first_refusal = first_refusal or (status, answer)
            else:
                outcome = answer["status"] if answer["status"] != "ignored" else f"ignored_{answer['reason']}"
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if not outcomes and first_refusal is not None:
            status, answer = first_refusal
            return status, {**answer, "error": f"none of the batch's {len(documents)} events is usable; the first: "
                                              f"{answer['error']}", "rejected": rejected}  # fmt: skip
        return 202, {"status": "accepted", "events": len(documents), **outcomes, "rejected": rejected}

    def event(self, event: InferenceEvent) -> Answer:
        model = self.model(event.model, event.namespace)
        if model is None:
            # Accepted and counted, not refused: a logger or broker fanning out every model's events to this
            # exporter would otherwise log an error for each event of a model nobody asked to monitor.
            self.instruments.reject_event("unknown_model")
            return 202, {"status": "ignored", "reason": "unknown_model"}
        key = model.key
        if event.component is not None and event.component != self.component:
            self.instruments.other_component(key, event.component)
            return 202, {"status": "ignored", "reason": "other_component"}
        try:
            routed = model.take(event, self.clock())
        except (RejectedEventError, PayloadError) as exc:
            self.instruments.reject_event(exc.reason, key, event.kind)
            status = exc.status if isinstance(exc, RejectedEventError) else 400
            return status, {"error": str(exc), "reason": exc.reason}
        if routed.given_up:
            self.instruments.unversioned.labels(*key, "no_response").inc(routed.given_up)
        if routed.outcome == "sampled_out":
            self.instruments.event(key, event.kind, "sampled_out")
            return 202, {"status": "sampled_out"}
        if routed.outcome != "accepted":
            self.instruments.unversioned.labels(*key, routed.outcome).inc()
            return 202, {"status": "ignored", "reason": routed.outcome}
        self.instruments.event(key, event.kind, "accepted")
        if routed.long_values:
            self.instruments.long_values.labels(*key).inc(routed.long_values)
        return 202, {"status": "accepted"}

    def feedback(self, headers: Mapping[str, str], body: bytes) -> Answer:
        """Handle one ``POST /feedback``. Never raises for bad input."""
        try:
            try:
                event = decode_cloudevent(headers, body, self.limits)
            except RejectedEventError as exc:
                raise FeedbackError(exc.reason, str(exc), exc.status) from None
            if event.type is not None and event.type != FEEDBACK_TYPE:
                raise FeedbackError("unsupported_type", f"event type {event.type!r} is not {FEEDBACK_TYPE}")
            name, namespace, entries = parse_feedback(event.data, event.model, event.namespace)
            model = self.model(name, namespace)
            if model is None:
                raise FeedbackError("unknown_model", f"no configured model {namespace}/{name}", 404)
            if model.model.target is None:
                message = f"{namespace}/{name} has no target in the config, so its labels cannot be used"
                raise FeedbackError("no_target", message, 422)
            labels = read_labels(model.model.target, entries)
        except FeedbackError as exc:
            self.instruments.reject_feedback(exc.reason)
            return exc.status, {"error": str(exc), "reason": exc.reason}
        return 202, {"status": "accepted", **self.join(model, labels)}

    def join(self, model: MonitoredModel, labels: tuple[Label, ...]) -> dict[str, int]:
        """Join labels to the model's stored predictions; returns the outcome counts."""
        assert model.ground_truth is not None
        outcomes, delays = model.ground_truth.join(labels, model.keeps, self.clock())
        self.instruments.joined(model.key, outcomes)
        self.instruments.label_delays(model.key, delays)
        return outcomes
