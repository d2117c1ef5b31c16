"""The checkpointer: what each model and stream restores at start (or when a version appears) and writes every
``exporter.checkpoint_every`` (and at stop), through :class:`~exporters.checkpoint.Checkpoints`.

A model's own file (``name``) holds its ground truth and — without versions — its one stream's windows; each serving
version's stream has a file of its own (``name@version``). A file is rewritten only when what it holds changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import partial

from drift.boundary import shown
from drift.errors import DriftlineError

from .checkpoint import CheckpointError, Checkpoints, ModelState
from .instruments import ExporterInstruments
from .model import MonitoredModel
from .stream import ModelKey, Stream

log = logging.getLogger("driftline.exporter")


class Checkpointer:
    def __init__(self, checkpoints: Checkpoints, instruments: ExporterInstruments, clock: Callable[[], float]) -> None:
        self.checkpoints = checkpoints
        self.instruments = instruments
        self.clock = clock
        self._written: dict[tuple[str, str], tuple[int, ...]] = {}  # (namespace, file): generations last written

    def restore_model(self, model: MonitoredModel) -> None:
        """At start: the model's ground truth at once, its stream's windows when their profile loads."""
        state = self._load(model.key, model.model.name)
        if state is None:
            return
        if model.ground_truth is not None and state.ground_truth:
            try:
                model.ground_truth.restore(state.ground_truth)
            except CheckpointError as exc:
                self._unusable(model.key, model.model.name, exc)
                return
            log.info(
                "ground truth restored from its checkpoint",
                extra={
                    "model": model.key[0],
                    "model_namespace": model.key[1],
                    "predictions": model.ground_truth.store.rows(),
                },
            )
        if model.own_stream is not None:
            model.own_stream.restored = state.windows

    def restore_stream(self, stream: Stream) -> None:
        """A serving version seen for the first time since start: its windows, when their profile loads."""
        state = self._load(stream.key, stream.checkpoint_name)
        if state is not None:
            stream.restored = state.windows

    def save(self, models: Iterable[MonitoredModel]) -> None:
        """Write the checkpoint of every model and stream whose windows or ground truth changed since the last."""
        failed = False
        present: set[tuple[str, str]] = set()
        for model in models:
            own = model.own_stream
            truth = model.ground_truth
            generations = (*(own.generations if own else ()), *(truth.generations if truth else ()))
            failed |= not self._save(model.key[1], model.model.name, generations, partial(_model_state, model))
            present.add((model.key[1], model.model.name))
            for stream in model.streams:
                present.add((stream.key[1], stream.checkpoint_name))
                if stream is not own:
                    state = partial(_stream_state, stream)
                    failed |= not self._save(stream.key[1], stream.checkpoint_name, stream.generations, state)
        self._written = {name: written for name, written in self._written.items() if name in present}  # retired
        if not failed:
            self.instruments.checkpoint_timestamp.set(self.clock())

    def _save(self, namespace: str, name: str, generations: tuple[int, ...], state: Callable[[], ModelState]) -> bool:
        if self._written.get((namespace, name)) == generations:
            return True
        held = state()
        if not held.windows and not held.ground_truth:
            return True
        try:
            self.checkpoints.save(namespace, name, held)
        except (OSError, DriftlineError) as exc:
            self.instruments.checkpoint_errors.inc()
            log.warning(
                "cannot write the window checkpoint; the previous one stays",
                extra={"model": name, "model_namespace": namespace, "error": str(exc)},
            )
            return False
        self._written[(namespace, name)] = generations
        return True

    def _load(self, key: ModelKey, name: str) -> ModelState | None:
        try:
            return self.checkpoints.load(key[1], name)
        except Exception as exc:  # CheckpointError, or a checkpoint that does not fit: only this model starts empty
            self._unusable(key, name, exc)
            return None

    def _unusable(self, key: ModelKey, name: str, exc: Exception) -> None:
        model, namespace = key
        aside = self.checkpoints.move_aside(namespace, name)
        log.warning(
            "checkpoint unreadable, or written for another config; what it held starts empty",
            extra={
                "model": model,
                "model_namespace": namespace,
                "error": str(exc) if isinstance(exc, CheckpointError) else shown(str(exc), 120),
                "moved_to": str(aside) if aside else None,
            },
        )
        self.instruments.window_resets.labels(model, namespace, "unreadable_checkpoint").inc()


def _model_state(model: MonitoredModel) -> ModelState:
    """The model's own file: its ground truth, and its one stream's windows (a model without versions)."""
    own, truth = model.own_stream, model.ground_truth
    return ModelState(own.windows_state() if own is not None else {}, truth.state() if truth is not None else {})


def _stream_state(stream: Stream) -> ModelState:
    return ModelState(stream.windows_state(), {})
