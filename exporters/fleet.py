"""The models the exporter monitors, changed while it runs.

The main config's ``models:`` are fixed for the life of the process; the team files of ``model_files.dir`` are polled
(:class:`ModelFileWatcher`) and applied by :meth:`Fleet.apply`: a new model starts at zero, a removed one retires
with its series, a changed one is rebuilt with what it had counted — its windows are kept when its reference profile
is the same one (they are counted against the profile's bins), its ground truth when its target is the same.

The current models are one dict, replaced whole on a change (never changed in place), so the event loop and the
background threads each read a consistent set without a lock.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Sequence

from drift import catalogue as m
from drift.config import ModelConfig, MonitorConfig
from drift.config.model_files import ModelFile, combine, scan
from httpserver.exposition import with_known_labels

from .checkpoint import CheckpointError
from .checkpointer import Checkpointer
from .instruments import ExporterInstruments
from .model import MonitoredModel
from .reference import Reference
from .stream import ModelKey, Stream
from .windows import WindowState

log = logging.getLogger("driftline.exporter")

Models = dict[ModelKey, MonitoredModel]


@dataclasses.dataclass(frozen=True)
class _Carried:
    """What a version's stream had counted when its model was rebuilt: taken up when the version is seen again."""

    windows: dict[str, WindowState]
    reference: Reference


class Fleet:
    def __init__(
        self,
        config: MonitorConfig,
        instruments: ExporterInstruments,
        checkpointer: Checkpointer | None,
        on_change: Callable[[Models], None],
    ) -> None:
        self.config = config
        self.instruments = instruments
        self.checkpointer = checkpointer
        self._on_change = on_change  # the intake and the pulls follow the new set
        self._lock = threading.Lock()  # one change at a time (the watcher's thread, a test)
        self._carried: dict[tuple[ModelKey, str], _Carried] = {}
        self.models: Models = {}
        for model in config.models:
            self.models[(model.name, model.namespace)] = self._start(model)

    def apply(self, configs: Sequence[ModelConfig]) -> tuple[list[ModelKey], list[ModelKey], list[ModelKey]]:
        """Monitor exactly ``configs`` from now on; returns the models started, changed and retired."""
        with self._lock:
            old = self.models
            new: Models = {}
            started, changed = [], []
            for config in configs:
                key = (config.name, config.namespace)
                previous = old.get(key)
                if previous is not None and previous.model == config:
                    new[key] = previous
                    continue
                monitored = self._start(config)
                if previous is not None:
                    self._carry(previous, monitored)
                    changed.append(key)
                else:
                    started.append(key)
                new[key] = monitored
            retired = [key for key in old if key not in new]
            for key in retired:
                self.instruments.forget(key)
            self._carried = {k: v for k, v in self._carried.items() if k[0] in new}
            self.models = new
            self._on_change(new)
        for what, keys in (("started", started), ("changed", changed), ("retired", retired)):
            for name, namespace in keys:
                log.info(f"model {what}", extra={"model": name, "model_namespace": namespace})
        return started, changed, retired

    def _start(self, model: ModelConfig) -> MonitoredModel:
        key = (model.name, model.namespace)
        self.instruments.add_model(key, model.target is not None, model.versions is not None)
        monitored = MonitoredModel(model, self.config.exporter.report_max_rows, self._new_version)
        if monitored.ground_truth is not None:
            store = monitored.ground_truth.store
            store.on_evict = self.instruments.watch_store(key, store.rows, store.size)
        if self.checkpointer is not None:
            self.checkpointer.restore_model(monitored)
        return monitored

    def _new_version(self, stream: Stream) -> None:
        carried = self._carried.pop((stream.key, stream.version), None)
        if carried is not None:
            _take_over(stream, carried.windows, carried.reference)
        elif self.checkpointer is not None:
            self.checkpointer.restore_stream(stream)
        log.info(
            "new model version: its own windows, compared with its own reference",
            extra={"model": stream.key[0], "model_namespace": stream.key[1], "model_version": stream.version},
        )

    def _carry(self, old: MonitoredModel, new: MonitoredModel) -> None:
        """``new`` (a changed config) takes over what ``old`` counted, where it still means the same."""
        if new.own_stream is not None and old.own_stream is not None:
            _take_over(new.own_stream, old.own_stream.windows_state(), old.own_stream.reference)
        else:
            for stream in old.streams:
                self._carried[(new.key, stream.version)] = _Carried(dict(stream.windows_state()), stream.reference)
        if new.reference is not None and old.reference is not None and new.own_stream is None:
            _same_profile(new.reference, old.reference)
        old_truth, new_truth = old.ground_truth, new.ground_truth
        if old_truth is not None and new_truth is not None and old.model.target == new.model.target:
            try:
                new_truth.restore(old_truth.state())
            except CheckpointError as exc:  # a store of another size: the labels start again
                log.warning("ground truth not kept", extra={"model": new.key[0], "error": str(exc)})


def _take_over(stream: Stream, windows: dict[str, WindowState], reference: Reference) -> None:
    """The stream's windows from ``windows`` — applied when its profile is set, and only if they were counted
    against that very profile (:meth:`Stream.use_profile`)."""
    stream.restored = windows
    _same_profile(stream.reference, reference)


def _same_profile(slot: Reference, previous: Reference) -> None:
    """A slot reading the same URI as ``previous`` serves its profile at once instead of after a reload."""
    if previous.profile is not None and previous.uri == slot.uri and previous.version == slot.version:
        slot.take(previous.profile, previous.tag)


class ModelFileWatcher:
    """Polls ``model_files.dir`` and applies a change to the fleet: the main config's models and every file that can
    be used; a file that cannot is refused — logged and counted once per version of it, listed on ``/readyz`` — and
    its models are not monitored (a model of a file that breaks keeps running until the file is fixed or removed,
    rather than stopping over a typo)."""

    def __init__(self, config: MonitorConfig, fleet: Fleet, instruments: ExporterInstruments) -> None:
        assert config.model_files is not None
        self.directory = config.model_files.dir
        self.inline = tuple(model for model in config.models if model.defined_in is None)
        self.fleet = fleet
        self.instruments = instruments
        self._seen: dict[str, str] | None = None  # path -> digest at the last poll
        self._applied: dict[str, tuple[ModelConfig, ...]] = {}  # path -> the models last used from it
        self.refused: dict[str, str] = {}  # path -> its first problem
        self._refused_versions: dict[str, tuple[str, tuple[str, ...]]] = {}  # path -> (digest, problems) counted
        with_known_labels(instruments.model_files, m.MODEL_FILES)  # only where there are model files
        with_known_labels(instruments.model_file_changes, m.MODEL_FILE_CHANGES)

    def poll(self) -> bool:
        """Read the folder; apply what changed. Returns whether the fleet changed."""
        files = scan(self.directory)
        digests = {f.path: f.digest for f in files}
        if digests == self._seen:
            return False
        first = self._seen is None
        self._seen = digests
        _, refused = combine(self.inline, files)
        refused_paths = {f.path for f in refused}
        usable = [f for f in files if f.path not in refused_paths]
        for file in refused:
            if self._refused_versions.get(file.path) != (file.digest, file.problems):
                self._refuse(file, kept=self._applied.get(file.path, ()))
        self._refused_versions = {f.path: (f.digest, f.problems) for f in refused}
        self.refused = {f.path: f.problems[0] for f in refused}
        # a refused file that was used before keeps its last models: a typo does not stop a team's monitoring
        taken = {(model.name, model.namespace) for f in usable for model in f.models}
        kept = [
            model
            for f in refused
            for model in self._applied.get(f.path, ())
            if (model.name, model.namespace) not in taken
        ]
        models = [*self.inline, *(model for f in usable for model in f.models), *kept]
        self._applied = {f.path: f.models for f in usable} | {
            f.path: self._applied[f.path] for f in refused if f.path in self._applied
        }
        self.instruments.model_files.labels("loaded").set(len(usable))
        self.instruments.model_files.labels("refused").set(len(refused))
        started, changed, retired = self.fleet.apply(models)
        if (started or changed or retired) and not first:
            self.instruments.model_file_changes.labels("applied").inc()
        return bool(started or changed or retired)

    def _refuse(self, file: ModelFile, kept: tuple[ModelConfig, ...]) -> None:
        self.instruments.model_file_changes.labels("refused").inc()
        log.warning(
            "model file refused; the other files' models are monitored"
            + ("; this file's last good models keep running" if kept else ""),
            extra={"file": file.path, "problems": list(file.problems[:5])},
        )
