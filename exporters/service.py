"""The exporter's runtime: one :class:`~exporters.model.MonitoredModel` per configured model (the
:class:`~exporters.fleet.Fleet`, which team model files change while it runs) and the owners that work on them, each
with its own state and thread:

* :class:`~exporters.intake.Intake` — events and feedback, on the HTTP server's event loop (only appends);
* :class:`~exporters.pulls.Pulls` — archived payloads and label files from S3 (threads ``s3-logs``, ``s3-labels``);
* :class:`~exporters.references.ReferenceLoader` — profiles loaded, retried and hot-swapped (``references``);
* :class:`~exporters.evaluator.Evaluator` — windows into a new immutable
  :class:`~exporters.snapshot.EvaluationSnapshot` every ``evaluate_every``, swapped in with one assignment
  (``evaluator``); a scrape reads whatever snapshot is current;
* :class:`~exporters.checkpointer.Checkpointer` — the windows and ground truth on disk (``checkpoint``);
* :class:`~exporters.fleet.ModelFileWatcher` — ``model_files.dir`` polled, changes applied (``model-files``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry

from drift.boundary import Limits
from drift.config import MonitorConfig

from .checkpoint import Checkpoints
from .checkpointer import Checkpointer
from .evaluator import Evaluator
from .fleet import Fleet, ModelFileWatcher
from .instruments import ExporterInstruments
from .intake import Answer, Intake
from .model import MonitoredModel
from .pulls import Pulls
from .references import ReferenceLoader
from .snapshot import EvaluationSnapshot
from .stream import ModelKey

log = logging.getLogger("driftline.exporter")


class ExporterService:
    def __init__(self, config: MonitorConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.registry = CollectorRegistry(auto_describe=False)  # this service's own: tests run several in a process
        self.instruments = ExporterInstruments(self.registry)
        state_dir = config.exporter.state_dir
        self.checkpointer = Checkpointer(Checkpoints(state_dir), self.instruments, clock) if state_dir else None
        self.fleet = Fleet(config, self.instruments, self.checkpointer, self._models_changed)
        self.intake = Intake(self.fleet.models, self.instruments, Limits(config.exporter.max_body_bytes),
                             config.exporter.component, clock)  # fmt: skip
        # What the HTTP app calls, bound once: the ingest path takes no extra call through the service.
        self.ingest: Callable[[Mapping[str, str], bytes], Answer] = self.intake.ingest
        self.feedback: Callable[[Mapping[str, str], bytes], Answer] = self.intake.feedback
        self.pulls = Pulls(config, self.fleet.models, self.instruments, self.intake, clock())
        self.references = ReferenceLoader(config, self.instruments)
        self.evaluator = Evaluator(config, self.instruments, clock)
        self.watcher = ModelFileWatcher(config, self.fleet, self.instruments) if config.model_files else None
        if self.watcher is not None:
            self.watcher.poll()  # which files are refused, from the start
        self.evaluator.evaluate(self.models.values())
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def models(self) -> dict[ModelKey, MonitoredModel]:
        """The models monitored now."""
        return self.fleet.models

    def _models_changed(self, models: dict[ModelKey, MonitoredModel]) -> None:
        self.intake.models = models
        self.pulls.follow(models, self.clock())

    def reload_model_files(self) -> None:
        """Apply a change to the model files; a model that starts or retires shows at once."""
        if self.watcher is not None and self.watcher.poll():
            self.evaluate_all()

    def ready(self) -> tuple[bool, dict[str, Any]]:
        """Ready when every model's own reference is loaded (a model that names each version's has none)."""
        missing = {
            f"{m.model.namespace}/{m.model.name}": m.reference.error or "loading"
            for m in self.models.values()
            if m.reference is not None and m.reference.profile is None
        }
        detail: dict[str, Any] = {"ready": not missing, "waiting_for": missing}
        now = self.clock()
        refused = {
            f"{m.model.namespace}/{m.model.name}": versions
            for m in self.models.values()
            if (versions := m.streams.refused(now))
        }
        if refused:  # not a reason to be unready: the versions that have a reference are served
            detail["versions_without_reference"] = refused
        stale = {
            f"{m.model.namespace}/{m.model.name}" + (f"@{slot.version}" if slot.version else ""): slot.error
            for m in self.models.values()
            for slot in m.references()
            if slot.profile is not None and slot.error is not None
        }
        if stale:  # neither: the profile loaded last keeps serving while its source (S3, the registry) is away
            detail["references_not_refreshed"] = stale
        if self.watcher is not None and self.watcher.refused:  # neither: the other files' models are served
            detail["refused_model_files"] = dict(self.watcher.refused)
        return not missing, detail

    # --- the background steps ---

    @property
    def snapshot(self) -> EvaluationSnapshot:
        """The latest evaluation, what a scrape reads."""
        return self.evaluator.snapshot

    def evaluate_all(self) -> EvaluationSnapshot:
        return self.evaluator.evaluate(self.models.values())

    def refresh_references(self) -> None:
        """Load the profiles that are due; a new profile (or a new failure) is published at once."""
        if self.references.refresh(self.models.values(), self.clock()):
            self.evaluate_all()

    def checkpoint(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.save(self.models.values())

    def pull_logs(self) -> None:
        self.pulls.pull_logs()

    def pull_labels(self) -> None:
        self.pulls.pull_labels()

    # --- lifecycle ---

    def start(self) -> None:
        self._stop.clear()
        self.evaluate_all()
        loops = [
            ("evaluator", self.evaluate_all, self.config.exporter.evaluate_every.seconds, True),
            ("references", self.refresh_references, 0.5, False),
        ]
        if self.pulls.logs:
            loops.append(("s3-logs", self.pull_logs, 0.2, False))
        if self.pulls.labels:
            loops.append(("s3-labels", self.pull_labels, 0.2, False))
        if self.checkpointer is not None:
            loops.append(("checkpoint", self.checkpoint, self.config.exporter.checkpoint_every.seconds, True))
        if self.watcher is not None and self.config.model_files is not None:
            loops.append(("model-files", self.reload_model_files, self.config.model_files.poll.seconds, True))
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
