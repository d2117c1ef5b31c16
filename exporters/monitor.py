"""One configured model as the exporter holds it: its feature and output windows, its reference profile, and — with
a ``target`` — the prediction store and the window of labelled predictions."""

from __future__ import annotations

import random
import zlib
from typing import Any

import numpy as np

from drift.boundary import shown
from drift.catalogue import LABEL_OUTCOMES
from drift.config import CLASSIFICATION, ModelConfig
from drift.reference.profile import ReferenceProfile
from drift.sketch import layouts

from .checkpoint import CheckpointError, ModelState
from .events import REQUEST, InferenceEvent, stored_id
from .feedback import Label, LabelledWindow, PredictionStore
from .payloads import Columns, Rows, parse_request, parse_response
from .versions import VersionSet
from .windows import SketchWindow, WindowState

ModelKey = tuple[str, str]  # (name, namespace)
MonitorId = tuple[str, str, str]  # (name, namespace, model version; "" for a model whose versions are not told apart)


class ModelMonitor:
    """One configured model — or one serving version of it — : its windows, its reference profile and how that
    profile was obtained.

    A model with ``versions`` has one monitor per serving version (``versions``, :class:`~exporters.versions.
    VersionSet`) besides its own, which then windows nothing: it holds the ground truth, which labels join whatever
    version made the prediction, and the profile of ``reference.profile`` it is scored against."""

    def __init__(self, model: ModelConfig, sample_rows: int = 0, version: str = "",
                 ground_truth: ModelMonitor | None = None) -> None:  # fmt: skip
        self.model = model
        self.version = version
        self.key: ModelKey = (model.name, model.namespace)
        self.id: MonitorId = (model.name, model.namespace, version)
        self.versions: VersionSet | None = None
        self.profile_must_name_version = False  # a version on the model's own reference.profile: only if it says so
        self.keeps_all = model.sampling.rate >= 1.0
        size, max_age = model.window.size, model.window.max_age.seconds
        margin = model.drift.range_margin
        self.features = SketchWindow(model.features, size, max_age, sample_rows, margin)
        self.outputs = SketchWindow(model.outputs, size, max_age, sample_rows) if model.outputs else None
        self.restored: dict[str, WindowState] = {}  # a checkpoint waiting for its profile
        self.checkpointed: tuple[int, ...] | None = None  # the state's generations at the last checkpoint
        self.feature_columns = Columns(model.features)
        self.output_columns = Columns(model.outputs)
        self.profile: ReferenceProfile | None = None
        self.profile_tag: str | None = None
        self.profile_error: str | None = None
        self.next_reference_attempt = 0.0
        self.reference_backoff = 1.0
        # Ground truth: predictions wait in the store for their labels; joined pairs enter the labelled window.
        self.store: PredictionStore | None = None
        self.labelled: LabelledWindow | None = None
        self.prediction_column: tuple[bool, int] | None = None  # (numeric block?, column in that block)
        target = model.target
        if ground_truth is not None:  # a version's predictions wait in the model's store
            self.store, self.prediction_column = ground_truth.store, ground_truth.prediction_column
        elif target is not None:
            prediction = next(c for c in model.outputs if c.name == target.prediction)
            names = [c.name for c in model.outputs if c.is_numeric == prediction.is_numeric]
            self.prediction_column = (prediction.is_numeric, names.index(prediction.name))
            self.store = PredictionStore(model.feedback.store_size, model.feedback.ttl.seconds, prediction.is_numeric)
            self.labelled = LabelledWindow(
                target.window.size, target.window.max_age.seconds, target.task != CLASSIFICATION, prediction.is_numeric
            )

    def use_profile(self, profile: ReferenceProfile) -> str:
        """Count the windows against ``profile`` from now on: ``"kept"``, ``"restored"`` (from the checkpoint),
        ``"reset"`` (the counts were another profile's) or ``"empty"``."""
        if self.versions is not None:  # a versioned model's own windows take no traffic: no counts to allocate
            self.profile = profile
            return "empty"
        feature_layout, output_layout = layouts(profile)
        outcome = self.features.set_layout(feature_layout, profile.version, self.restored.get("features"))
        if self.outputs is not None:
            output_outcome = self.outputs.set_layout(output_layout, profile.version, self.restored.get("outputs"))
            outcome = "layout_changed" if output_outcome == "layout_changed" else outcome
        self.restored = {}
        self.profile = profile
        return outcome

    @property
    def reference_tried(self) -> bool:
        """Whether a load of the profile has ended, loaded or failed (a version seen a moment ago: not yet)."""
        return self.profile is not None or self.profile_error is not None

    @property
    def checkpoint_name(self) -> str:
        return f"{self.model.name}@{self.version}" if self.version else self.model.name

    def state(self) -> ModelState:
        """What a checkpoint keeps of this model (windows counted against no profile yet are left out)."""
        parts = {"features": self.features.state()}
        if self.outputs is not None:
            parts["outputs"] = self.outputs.state()
        ground_truth = {}
        if self.store is not None and self.labelled is not None:
            ground_truth = {"store": self.store.state(), "labelled": self.labelled.state()}
        return ModelState({part: s for part, s in parts.items() if s is not None}, ground_truth)

    def restore(self, state: ModelState) -> None:
        """Take over a checkpoint: the ground truth at once, the windows when their profile loads. Raises
        CheckpointError (nothing taken) when it does not fit the config any more."""
        if self.store is not None and self.labelled is not None and state.ground_truth:
            try:  # both checked before either is taken
                take_store = self.store.prepare(state.ground_truth["store"])
                take_labelled = self.labelled.prepare(state.ground_truth["labelled"])
            except Exception as exc:  # the arrays are outside input: whatever they make fail, they do not fit
                detail = shown(str(exc) if not isinstance(exc, KeyError) else f"no {exc}", 120).strip("'\"")
                raise CheckpointError(f"the ground truth does not fit this model's config ({detail})") from None
            take_store()
            take_labelled()
        self.restored = state.windows

    @property
    def generations(self) -> tuple[int, ...]:
        return (
            self.features.generation,
            self.outputs.generation if self.outputs is not None else 0,
            self.store.generation if self.store is not None else 0,
            self.labelled.generation if self.labelled is not None else 0,
        )

    def keeps(self, event: InferenceEvent) -> bool:
        """Sampling by event id, so a request and its response are kept or dropped together."""
        return self.keeps_id(event.event_id)

    def keeps_id(self, event_id: str | None) -> bool:
        rate = self.model.sampling.rate
        if rate >= 1.0:
            return True
        if event_id:
            # surrogatepass: a structured event's id may hold a lone surrogate (valid JSON, not valid UTF-8)
            return zlib.crc32(event_id.encode("utf-8", "surrogatepass")) / 0xFFFFFFFF < rate
        return random.random() < rate  # noqa: S311 - sampling, not security

    def append(self, event: InferenceEvent, now: float) -> int:
        """Parse the payload into the window it feeds; raises PayloadError (the window stays as it was). Returns how
        many category values were too long to keep."""
        if event.kind == REQUEST:
            return self.append_features(parse_request(event.payload, self.feature_columns), now)
        if self.outputs is None:
            return 0
        rows = parse_response(event.payload, self.output_columns)
        self.outputs.append_block(rows.numeric, rows.categorical, rows.count, now)
        if self.store is not None and event.event_id:
            self.store.put(stored_id(event.event_id), self._predictions(rows), now)
        return rows.long_values

    def append_features(self, rows: Rows, now: float) -> int:
        self.features.append_block(rows.numeric, rows.categorical, rows.count, now, rows.payload_errors)
        return rows.long_values

    def _predictions(self, rows: Rows) -> np.ndarray[Any, Any]:
        assert self.prediction_column is not None
        numeric, index = self.prediction_column
        return (rows.numeric_array if numeric else rows.categorical)[:, index]

    def join(self, labels: tuple[Label, ...], now: float) -> tuple[dict[str, int], np.ndarray[Any, Any]]:
        """Join labels to stored predictions; the joined pairs enter the labelled window. Returns the outcome counts
        and each joined label's delay (seconds from prediction to label)."""
        assert self.store is not None and self.labelled is not None
        outcomes = dict.fromkeys(LABEL_OUTCOMES, 0)
        values: list[Any] = []
        predictions: list[Any] = []
        predicted_at: list[float] = []
        known_at: list[float] = []
        for label in labels:
            if not self.keeps_id(label.event_id):
                outcomes["sampled_out"] += 1
                continue
            outcome, prediction, at = self.store.take(stored_id(label.event_id), label.row, now)
            outcomes[outcome] += 1
            if outcome == "joined":
                values.append(label.value)
                predictions.append(prediction)
                predicted_at.append(at)
                known_at.append(label.known_at if label.known_at is not None else now)
        self.labelled.append(values, predictions, predicted_at, now)
        return outcomes, np.maximum(np.asarray(known_at, dtype=np.float64) - np.asarray(predicted_at), 0.0)
