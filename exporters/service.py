"""The exporter's state: one :class:`~exporters.monitor.ModelMonitor` per configured model, event and feedback
counters, the reference profiles and the latest immutable evaluation snapshot.

Threads: ingestion (events and feedback) runs on the HTTP server's event loop and only appends to windows and the
prediction store; the evaluator thread turns
windows into a new :class:`EvaluationSnapshot` every ``evaluate_every`` and swaps it in with one assignment; the
reference thread loads, retries and hot-swaps profiles. A scrape reads whatever snapshot is current.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from prometheus_client import CollectorRegistry

import drift
from drift.boundary import Limits, shown
from drift.config import VERSION_PLACEHOLDER, MonitorConfig
from drift.errors import DriftlineError, StorageError
from drift.evaluation import ColumnDrift, DriftResult
from drift.quality.evaluation import PerformanceResult, evaluate_performance
from drift.reference.profile import PROFILE_LIMITS, ReferenceProfile
from drift.reference.storage import object_tag, read_bytes

from .checkpoint import CheckpointError, Checkpoints
from .events import InferenceEvent, RejectedEventError, decode_body, decode_cloudevent, inference_event, structured
from .feedback import FEEDBACK_TYPE, FeedbackError, Label, parse_feedback, read_labels
from .instruments import ExporterInstruments
from .monitor import ModelKey, ModelMonitor, MonitorId
from .payloads import PayloadError
from .s3labels import LabelPuller
from .s3logs import BadRecord, LogPuller
from .samples import estimated_performance, multivariate_drift
from .versions import VersionSet, compare_serving, require_version, route

log = logging.getLogger("driftline.exporter")


@dataclass(frozen=True)
class ModelEvaluation:
    """What the last evaluation of one model found. ``result`` is None before a profile is loaded."""

    result: DriftResult | None
    window_samples: int
    output_samples: int
    evaluated_at: float | None
    performance: PerformanceResult | None = None
    labelled_samples: int = 0
    baseline_version: str = ""  # a version serving beside an older one: the version its outputs were compared with
    against_baseline: Mapping[str, ColumnDrift] | None = None


@dataclass(frozen=True)
class EvaluationSnapshot:
    models: Mapping[MonitorId, ModelEvaluation] = field(default_factory=dict)  # per model, or per model version


class ExporterService:
    def __init__(self, config: MonitorConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.registry = CollectorRegistry(auto_describe=False)  # this service's own: tests run several in a process
        keys = [(model.name, model.namespace) for model in config.models]
        labelled = [(model.name, model.namespace) for model in config.models if model.target is not None]
        versioned = [(model.name, model.namespace) for model in config.models if model.versions is not None]
        self.instruments = ExporterInstruments(self.registry, keys, labelled, versioned)
        # every body, S3 record and label file is decoded within these bounds (drift.boundary)
        self.limits = Limits(config.exporter.max_body_bytes)
        self.component = config.exporter.component
        self.monitors: dict[ModelKey, ModelMonitor] = {}
        self.checkpoints = Checkpoints(config.exporter.state_dir) if config.exporter.state_dir else None
        for key, model in zip(keys, config.models, strict=True):
            monitor = ModelMonitor(model, config.exporter.report_max_rows)
            if monitor.store is not None:
                monitor.store.on_evict = self.instruments.watch_store(key, monitor.store.rows, monitor.store.size)
            if model.versions is not None:
                monitor.versions = VersionSet(
                    model.versions, model.window.max_age.seconds, self._version_monitor(monitor)
                )
            self._restore(monitor)
            self.monitors[key] = monitor
        now = clock()
        self.pullers = [
            LogPuller(
                model, model.source, config.s3, now, self.instruments.object_counter(self.instruments.log_objects, key)
            )
            for key, model in zip(keys, config.models, strict=True)
            if model.source is not None
        ]
        self.label_pullers = [
            LabelPuller(
                model,
                model.feedback.labels,
                config.s3,
                now,
                self.instruments.object_counter(self.instruments.label_objects, key),
            )
            for key, model in zip(keys, config.models, strict=True)
            if model.target is not None and model.feedback.labels is not None
        ]
        self.snapshot = EvaluationSnapshot(
            MappingProxyType({m.id: ModelEvaluation(None, 0, 0, None) for m in self.monitors.values()})
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- model versions ---

    def _version_monitor(self, model_monitor: ModelMonitor) -> Callable[[str], ModelMonitor]:
        """How a model's monitor of a newly seen serving version is made: its reference is the one listed for the
        version, ``reference.profile`` with ``{version}`` filled in, or ``reference.profile`` itself — then only if
        that profile records this model version."""
        model = model_monitor.model
        spec = model.versions
        assert spec is not None

        def create(version: str) -> ModelMonitor:
            uri = spec.reference_of(version, model.reference.profile)
            reference = dataclasses.replace(model.reference, profile=uri or model.reference.profile)
            monitor = ModelMonitor(
                dataclasses.replace(model, reference=reference),
                self.config.exporter.report_max_rows,
                version,
                ground_truth=model_monitor,
            )
            monitor.profile_must_name_version = uri is None
            self._restore(monitor)
            log.info(
                "new model version: its own windows, compared with its own reference",
                extra={"model": model.name, "model_namespace": model.namespace, "model_version": version},
            )
            return monitor

        return create

    def windowed(self) -> list[ModelMonitor]:
        """Every monitor whose windows take traffic: a model's, or each serving version's of a model with versions."""
        out: list[ModelMonitor] = []
        for monitor in self.monitors.values():
            if monitor.versions is None:
                out.append(monitor)
            else:
                out.extend(monitor.versions)
        return out

    def _ingest_versioned(
        self, monitor: ModelMonitor, versions: VersionSet, event: InferenceEvent
    ) -> tuple[int, dict[str, Any]]:
        try:
            routed = route(monitor, versions, event, self.clock())
        except RejectedEventError as exc:
            self.instruments.reject_event(exc.reason, monitor.key, event.kind)
            return exc.status, {"error": str(exc), "reason": exc.reason}
        except PayloadError as exc:
            self.instruments.reject_event(exc.reason, monitor.key, event.kind)
            return 400, {"error": str(exc), "reason": exc.reason}
        self._unversioned(monitor, "no_response", routed.given_up)
        if routed.outcome != "accepted":
            self._unversioned(monitor, routed.outcome)
            return 202, {"status": "ignored", "reason": routed.outcome}
        self.instruments.event(monitor.key, event.kind, "accepted")
        if routed.long_values:
            self.instruments.long_values.labels(*monitor.key).inc(routed.long_values)
        return 202, {"status": "accepted"}

    def _unversioned(self, monitor: ModelMonitor, reason: str, n: int = 1) -> None:
        if n:
            self.instruments.unversioned.labels(*monitor.key, reason).inc(n)

    # --- checkpoints (start, the checkpoint thread and stop) ---

    def _restore(self, monitor: ModelMonitor) -> None:
        if self.checkpoints is None:
            return
        key = monitor.key
        try:
            monitor.restore(self.checkpoints.load(key[1], monitor.checkpoint_name))
        except Exception as exc:  # CheckpointError, or a checkpoint that does not fit: only this model starts empty
            aside = self.checkpoints.move_aside(key[1], monitor.checkpoint_name)
            log.warning(
                "checkpoint unreadable, or written for another config; what it held starts empty",
                extra={
                    "model": key[0],
                    "model_namespace": key[1],
                    "error": str(exc) if isinstance(exc, CheckpointError) else shown(str(exc), 120),
                    "moved_to": str(aside) if aside else None,
                },
            )
            self.instruments.window_resets.labels(*key, "unreadable_checkpoint").inc()
            return
        if monitor.labelled is not None and monitor.store is not None and monitor.store.generation:
            log.info(
                "ground truth restored from its checkpoint",
                extra={"model": key[0], "model_namespace": key[1], "predictions": monitor.store.rows()},
            )

    def checkpoint(self) -> None:
        """Write the checkpoint of every model whose windows changed since the last one."""
        if self.checkpoints is None:
            return
        failed = False
        for monitor in [*self.monitors.values(), *(m for m in self.windowed() if m.version)]:
            key = monitor.key
            generations = monitor.generations
            if generations == monitor.checkpointed:
                continue
            states = monitor.state()
            if not states.windows and not states.ground_truth:
                continue
            try:
                self.checkpoints.save(key[1], monitor.checkpoint_name, states)
            except (OSError, DriftlineError) as exc:
                failed = True
                self.instruments.checkpoint_errors.inc()
                log.warning(
                    "cannot write the window checkpoint; the previous one stays",
                    extra={"model": key[0], "model_namespace": key[1], "error": str(exc)},
                )
                continue
            monitor.checkpointed = generations
        if not failed:
            self.instruments.checkpoint_timestamp.set(self.clock())

    # --- ingestion (event loop) ---

    def route(self, name: str, namespace: str) -> ModelMonitor | None:
        return self.monitors.get((name, namespace)) or self.monitors.get((name, "*"))

    def ingest(self, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """Handle one delivery: ``(HTTP status, JSON body)``. Never raises for bad input."""
        try:
            decoded = decode_body(headers, body, self.limits)
        except RejectedEventError as exc:
            self.instruments.reject_event(exc.reason)
            return exc.status, {"error": str(exc), "reason": exc.reason}
        if isinstance(decoded, list):
            return self._ingest_batch(decoded)
        return self.ingest_event(decoded)

    def _ingest_batch(self, documents: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        """A batch-mode delivery: each structured event handled as if it came alone; one bad event leaves the
        others. 202 with the outcomes when any event was usable, else the first event's refusal."""
        outcomes: dict[str, int] = {}
        rejected: dict[str, int] = {}
        first_refusal: tuple[int, dict[str, Any]] | None = None
        for document in documents:
            try:
                status, answer = self.ingest_event(inference_event(structured(document, self.limits)))
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

    def ingest_event(self, event: InferenceEvent) -> tuple[int, dict[str, Any]]:
        monitor = self.route(event.model, event.namespace)
        if monitor is None:
            # Accepted and counted, not refused: a logger or broker fanning out every model's events to this
            # exporter would otherwise log an error for each event of a model nobody asked to monitor.
            self.instruments.reject_event("unknown_model")
            return 202, {"status": "ignored", "reason": "unknown_model"}
        if event.component is not None and event.component != self.component:
            self.instruments.other_component(monitor.key, event.component)
            return 202, {"status": "ignored", "reason": "other_component"}
        if not monitor.keeps_all and not monitor.keeps(event):
            self.instruments.event(monitor.key, event.kind, "sampled_out")
            return 202, {"status": "sampled_out"}
        if monitor.versions is not None:
            return self._ingest_versioned(monitor, monitor.versions, event)
        try:
            long_values = monitor.append(event, self.clock())
        except PayloadError as exc:
            self.instruments.reject_event(exc.reason, monitor.key, event.kind)
            return 400, {"error": str(exc), "reason": exc.reason}
        self.instruments.event(monitor.key, event.kind, "accepted")
        if long_values:
            self.instruments.long_values.labels(*monitor.key).inc(long_values)
        return 202, {"status": "accepted"}

    # --- ground truth (event loop, and the S3 pull thread) ---

    def feedback(self, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """Handle one ``POST /feedback``: ``(HTTP status, JSON body)``. Never raises for bad input."""
        try:
            try:
                event = decode_cloudevent(headers, body, self.limits)
            except RejectedEventError as exc:
                raise FeedbackError(exc.reason, str(exc), exc.status) from None
            if event.type is not None and event.type != FEEDBACK_TYPE:
                raise FeedbackError("unsupported_type", f"event type {event.type!r} is not {FEEDBACK_TYPE}")
            name, namespace, entries = parse_feedback(event.data, event.model, event.namespace)
            monitor = self.route(name, namespace)
            if monitor is None:
                raise FeedbackError("unknown_model", f"no configured model {namespace}/{name}", 404)
            if monitor.model.target is None:
                message = f"{namespace}/{name} has no target in the config, so its labels cannot be used"
                raise FeedbackError("no_target", message, 422)
            labels = read_labels(monitor.model.target, entries)
        except FeedbackError as exc:
            self.instruments.reject_feedback(exc.reason)
            return exc.status, {"error": str(exc), "reason": exc.reason}
        outcomes = self._join(monitor, labels)
        return 202, {"status": "accepted", **outcomes}

    def _join(self, monitor: ModelMonitor, labels: tuple[Label, ...]) -> dict[str, int]:
        outcomes, delays = monitor.join(labels, self.clock())
        self.instruments.joined(monitor.key, outcomes)
        self.instruments.label_delays(monitor.key, delays)
        return outcomes

    def pull_labels(self) -> None:
        """One poll of every model's label files that is due; a bad row is counted, the rest of its file joined."""
        now = time.monotonic()
        for puller in self.label_pullers:
            if not puller.due(now):
                continue
            monitor = self.monitors[(puller.model.name, puller.model.namespace)]
            target = monitor.model.target
            assert target is not None
            try:
                for key, records in puller.poll():
                    good: list[Label] = []
                    for record in records:
                        try:
                            if isinstance(record, BadRecord):
                                raise FeedbackError(record.reason, record.message)
                            good.extend(read_labels(target, [record]))
                        except FeedbackError as exc:
                            self.instruments.reject_feedback(exc.reason)
                        except Exception:  # a bug with one label: the file's other labels are joined
                            log.exception("reading a label failed", extra={"model": puller.model.name, "key": key})
                            self.instruments.reject_feedback("invalid_label")
                    self._join(monitor, tuple(good))
            except DriftlineError as exc:
                log.warning("cannot read label files; retrying", extra={"model": puller.model.name, "error": str(exc)})

    # --- readiness ---

    def ready(self) -> tuple[bool, dict[str, Any]]:
        missing = {
            f"{m.model.namespace}/{m.model.name}": m.profile_error or "loading"
            for m in self.monitors.values()
            if m.profile is None and VERSION_PLACEHOLDER not in m.model.reference.profile
        }
        detail: dict[str, Any] = {"ready": not missing, "waiting_for": missing}
        now = self.clock()
        refused = {
            f"{m.model.namespace}/{m.model.name}": versions
            for m in self.monitors.values()
            if m.versions is not None and (versions := m.versions.refused(now))
        }
        if refused:  # not a reason to be unready: the versions that have a reference are served
            detail["versions_without_reference"] = refused
        return not missing, detail

    # --- evaluation (evaluator thread) ---

    def evaluate_all(self) -> EvaluationSnapshot:
        now = self.clock()
        models: dict[MonitorId, ModelEvaluation] = {}
        for monitor in self.monitors.values():
            if monitor.versions is not None:
                self._retire_versions(monitor, monitor.versions, now)
            performance, labelled_rows = self._evaluate_performance(monitor, now)
            models[monitor.id] = ModelEvaluation(None, 0, 0, None, performance, labelled_rows)
        for monitor in self.windowed():
            evaluation = self._evaluate_drift(monitor, now)
            previous = models.get(monitor.id)
            if previous is not None:  # a model without versions: its drift and its quality in one
                evaluation = dataclasses.replace(
                    evaluation, performance=previous.performance, labelled_samples=previous.labelled_samples
                )
            models[monitor.id] = evaluation
        for monitor in self.monitors.values():
            if monitor.versions is not None and monitor.versions.spec.compare_outputs and monitor.outputs is not None:
                rows = self.config.exporter.report_max_rows
                for candidate, baseline, compared in compare_serving(monitor, list(monitor.versions), now, rows):
                    if candidate in models:
                        models[candidate] = dataclasses.replace(
                            models[candidate], baseline_version=baseline, against_baseline=MappingProxyType(compared)
                        )
        self.snapshot = EvaluationSnapshot(MappingProxyType(models))
        return self.snapshot

    def _evaluate_drift(self, monitor: ModelMonitor, now: float) -> ModelEvaluation:
        profile = monitor.profile
        result = None
        start = time.perf_counter()
        features = monitor.features.totals(now)
        outputs = monitor.outputs.totals(now) if monitor.outputs is not None else None
        output_rows = outputs.rows if outputs is not None else 0
        if profile is not None and features.version == profile.version:
            try:
                result = drift.evaluate_counts(
                    profile,
                    monitor.model.drift,
                    features.counts,
                    features.rows,
                    outputs.counts if outputs is not None and outputs.version == profile.version else None,
                    output_rows,
                    min_rows=monitor.model.window.min_rows,
                )
                if result is not None:
                    sampled = self.config.exporter.report_max_rows
                    result = dataclasses.replace(
                        result,
                        multivariate=multivariate_drift(monitor, profile, now, sampled),
                        estimated=estimated_performance(monitor, profile, now, sampled),
                    )
            except Exception:  # a bug must not stop the other models or the next evaluation
                log.exception("evaluation failed", extra={"model": monitor.key[0], "model_namespace": monitor.key[1]})
            self.instruments.evaluation_duration.labels(*monitor.key).observe(time.perf_counter() - start)
        window_rows = features.rows if features.version is not None else monitor.features.rows(now)
        return ModelEvaluation(result, window_rows, output_rows, now if result is not None else None)

    def _retire_versions(self, monitor: ModelMonitor, versions: VersionSet, now: float) -> None:
        if versions.waiting is not None:
            self._unversioned(monitor, "no_response", versions.waiting.expire(now))
        for version in versions.retire(now):
            log.info(
                "model version retired: nothing from it for window.max_age",
                extra={"model": monitor.key[0], "model_namespace": monitor.key[1], "model_version": version},
            )

    def _evaluate_performance(self, monitor: ModelMonitor, now: float) -> tuple[PerformanceResult | None, int]:
        if monitor.labelled is None or monitor.model.target is None:
            return None, 0
        window = monitor.labelled.snapshot(now)
        profile = self._quality_reference(monitor)
        if profile is None:
            return None, window.rows
        try:
            result = evaluate_performance(
                profile,
                monitor.model.target,
                monitor.model.drift,
                window.labels,
                window.predictions,
                window.predicted_at,
            )
        except Exception:  # a bug must not stop the drift numbers
            log.exception("performance evaluation failed", extra={"model": monitor.key[0]})
            return None, window.rows
        return result, window.rows

    @staticmethod
    def _quality_reference(monitor: ModelMonitor) -> ReferenceProfile | None:
        """What the model's quality is compared with: ``reference.profile``; with ``{version}`` in it, the profile
        of the newest version that has one (labels join predictions of every version)."""
        if monitor.profile is not None or monitor.versions is None:
            return monitor.profile
        loaded = [m.profile for m in monitor.versions if m.profile is not None]
        return loaded[-1] if loaded else None

    # --- reference profiles (reference thread) ---

    def refresh_references(self) -> None:
        """Load missing profiles (with exponential backoff) and swap in changed ones (by ETag or mtime). One model's
        profile — unreadable, hostile, or a bug reading it — never stops the others'."""
        now = time.monotonic()
        models = [m for m in self.monitors.values() if VERSION_PLACEHOLDER not in m.model.reference.profile]
        for monitor in [*models, *(m for m in self.windowed() if m.version)]:
            if now < monitor.next_reference_attempt:
                continue
            try:
                self._refresh_reference(monitor, now)
            except DriftlineError as exc:
                self._reference_failed(monitor, now, str(exc) + self._build_hint(monitor, exc), definite=_definite(exc))
            except Exception as exc:  # a bug: logged with its traceback, retried with the same backoff
                log.exception("reference profile load failed", extra={"model": monitor.model.name})
                self._reference_failed(monitor, now, f"internal error: {shown(str(exc), 120)}", definite=False)

    def _refresh_reference(self, monitor: ModelMonitor, now: float) -> None:
        uri = monitor.model.reference.profile
        if monitor.profile is not None and object_tag(uri, self.config.s3) == monitor.profile_tag:
            monitor.next_reference_attempt = now + self.config.exporter.reference_check_every.seconds
            return
        data, tag = read_bytes(uri, self.config.s3, PROFILE_LIMITS.max_bytes)
        profile = ReferenceProfile.from_json(data, origin=uri)
        profile.require_compatible(monitor.model, origin=uri)
        if monitor.version:
            require_version(profile, monitor, uri)
        previous = monitor.profile
        window = monitor.use_profile(profile)
        monitor.profile_tag, monitor.profile_error = tag, None
        self._report_window(monitor, window, profile)
        monitor.reference_backoff = 1.0
        monitor.next_reference_attempt = now + self.config.exporter.reference_check_every.seconds
        log.info(
            "reference profile swapped" if previous else "reference profile loaded",
            extra={
                "model": monitor.model.name,
                "model_version": monitor.version or None,
                "version": profile.version,
                "source": uri,
            },
        )
        if monitor.model.target is not None and not profile.serves_target(monitor.model):
            log.warning(
                "the profile has no reference quality for the configured target; rebuild it with driftline profile",
                extra={"model": monitor.model.name, "target": monitor.model.target.name, "source": uri},
            )

    def _reference_failed(self, monitor: ModelMonitor, now: float, error: str, definite: bool) -> None:
        """A profile that did not load: retried with exponential backoff. A serving version nobody configured whose
        reference does not exist (``definite``) gives its slot back at once and is refused for a while."""
        parent = self.monitors.get(monitor.key)
        versions = parent.versions if parent is not None else None
        if definite and monitor.version and versions is not None and not versions.listed(monitor.version):
            versions.refuse(monitor.version, self.clock(), self.config.exporter.reference_check_every.seconds)
            log.warning(
                "a model version without a reference: its events are counted, not windowed",
                extra={"model": monitor.model.name, "model_version": monitor.version, "error": error},
            )
            return
        monitor.profile_error = error
        monitor.next_reference_attempt = now + monitor.reference_backoff
        log.warning(
            "reference profile not loaded; retrying",
            extra={
                "model": monitor.model.name,
                "model_version": monitor.version or None,
                "error": error,
                "retry_in_s": monitor.reference_backoff,
            },
        )
        monitor.reference_backoff = min(monitor.reference_backoff * 2, 60.0)

    def _build_hint(self, monitor: ModelMonitor, error: DriftlineError) -> str:
        """For a profile that does not exist: the command that builds it."""
        if not isinstance(error, StorageError) or not error.missing:
            return ""
        version = f" --model-version {monitor.version}" if monitor.version else ""
        config = self.config.source or "CFG"
        return f"; build it with: driftline profile --config {config} --model {monitor.model.name}{version}"

    def _report_window(self, monitor: ModelMonitor, outcome: str, profile: ReferenceProfile) -> None:
        where = {"model": monitor.model.name, "model_namespace": monitor.model.namespace, "version": profile.version}
        if outcome == "restored":
            self.instruments.window_restores.labels(*monitor.key).inc()
            log.info(
                "window restored from its checkpoint", extra={**where, "rows": monitor.features.rows(self.clock())}
            )
        elif outcome == "reset":
            self.instruments.window_resets.labels(*monitor.key, "new_profile").inc()
            log.info("new reference profile: the window starts empty (its counts were in the old bins)", extra=where)
        elif outcome == "layout_changed":
            self.instruments.window_resets.labels(*monitor.key, "layout_changed").inc()
            log.warning(
                "the checkpoint does not fit the window as configured now (window.size changed?): it starts empty",
                extra=where,
            )

    # --- lifecycle ---

    def start(self) -> None:
        self._stop.clear()
        self.evaluate_all()
        loops = [
            ("evaluator", self.evaluate_all, self.config.exporter.evaluate_every.seconds, True),
            ("references", self.refresh_references, 0.5, False),
        ]
        if self.pullers:
            loops.append(("s3-logs", self.pull_logs, 0.2, False))
        if self.label_pullers:
            loops.append(("s3-labels", self.pull_labels, 0.2, False))
        if self.checkpoints is not None:
            loops.append(("checkpoint", self.checkpoint, self.config.exporter.checkpoint_every.seconds, True))
        for name, step, interval, wait_first in loops:
            thread = threading.Thread(
                target=self._run_every, args=(name, step, interval, wait_first), name=f"driftline-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        self.checkpoint()  # SIGTERM: the last rows are kept too

    def _run_every(self, name: str, step: Callable[[], object], interval: float, wait_first: bool) -> None:
        """Run ``step`` every ``interval`` seconds until stopped; an exception is logged, never fatal."""
        if wait_first and self._stop.wait(interval):
            return
        while True:
            try:
                step()
            except Exception:
                log.exception("background task failed", extra={"task": name})
            if self._stop.wait(interval):
                return

    def pull_logs(self) -> None:
        """One poll of every model's archived payloads that is due; a bad record is counted, the rest of its object
        used."""
        now = time.monotonic()
        for puller in self.pullers:
            if not puller.due(now):
                continue
            try:
                for key, records in puller.poll():
                    for record in records:
                        if isinstance(record, BadRecord):
                            self.instruments.reject_event(record.reason)
                            continue
                        try:
                            self.ingest_event(record)
                        except Exception:  # a bug with one record: the object's other records are used
                            log.exception("ingesting an archived record failed", extra={"key": key})
            except DriftlineError as exc:
                log.warning(
                    "cannot read archived payloads; retrying", extra={"model": puller.model.name, "error": str(exc)}
                )


def _definite(error: DriftlineError) -> bool:
    """Whether a profile load failed for good (no such object, not this model's or version's, unreadable) rather
    than for now (S3 unreachable, denied)."""
    return not isinstance(error, StorageError) or error.missing
