"""One stream of a model's traffic: the rows of one serving version (``""`` for a model whose versions are not told
apart), counted in its own feature and output windows against its own reference profile."""

from __future__ import annotations

from drift.config import REGRESSION, ModelConfig
from drift.detector import Detector
from drift.layout import layouts
from drift.reference.profile import ReferenceProfile

from .events import REQUEST, InferenceEvent
from .ground_truth import GroundTruth
from .pairs import PairedRows
from .payloads import Columns, Rows, parse_request, parse_response
from .reference import Reference
from .windows import CountWindow, WindowState

ModelKey = tuple[str, str]  # (name, namespace)
StreamId = tuple[str, str, str]  # (name, namespace, model version; "" for a model whose versions are not told apart)


class Stream:
    """The windows of one (model, version) and the profile they are counted against.

    ``model`` is the model's config with ``reference.profile`` resolved for this version. ``ground_truth`` is the
    model's (shared by its versions): a response's predictions wait there for their labels."""

    def __init__(
        self,
        model: ModelConfig,
        version: str,
        sample_rows: int,
        ground_truth: GroundTruth | None = None,
        must_name_version: bool = False,
    ) -> None:
        self.model = model
        self.version = version
        self.key: ModelKey = (model.name, model.namespace)
        self.id: StreamId = (model.name, model.namespace, version)
        self.ground_truth = ground_truth
        size, max_age = model.window.size, model.window.max_age.seconds
        self.features = CountWindow(model.features, size, max_age, sample_rows, model.drift.range_margin)
        self.outputs = CountWindow(model.outputs, size, max_age, sample_rows) if model.outputs else None
        self.feature_columns = Columns(model.features)
        self.output_columns = Columns(model.outputs)
        self.reference = Reference(model, version, self.use_profile, must_name_version)
        self.detector: Detector | None = None  # the profile fitted to judge this stream's windows
        target = model.target
        self.pairs = (  # a regression's requests joined to their responses, for its loss models
            PairedRows(model.features, model.outputs, target.prediction, sample_rows, max_age)
            if target is not None and target.task == REGRESSION and target.prediction
            else None
        )
        self.restored: dict[str, WindowState] = {}  # a checkpoint waiting for its profile

    @property
    def checkpoint_name(self) -> str:
        return f"{self.model.name}@{self.version}" if self.version else self.model.name

    @property
    def profile(self) -> ReferenceProfile | None:
        return self.reference.profile

    def use_profile(self, profile: ReferenceProfile) -> str:
        """Count the windows against ``profile`` from now on: ``"kept"``, ``"restored"`` (from the checkpoint),
        ``"reset"`` (the counts were another profile's), ``"layout_changed"`` or ``"empty"``."""
        feature_layout, output_layout = layouts(profile)
        outcome = self.features.set_layout(feature_layout, profile.version, self.restored.get("features"))
        if self.outputs is not None:
            output_outcome = self.outputs.set_layout(output_layout, profile.version, self.restored.get("outputs"))
            outcome = "layout_changed" if output_outcome == "layout_changed" else outcome
        self.restored = {}
        self.detector = Detector(profile, self.model, min_rows=self.model.window.min_rows)
        return outcome

    def append(self, event: InferenceEvent, now: float) -> int:
        """Parse the payload into the window it feeds; raises PayloadError (the window stays as it was). Returns how
        many category values were too long to keep."""
        if event.kind == REQUEST:
            rows = parse_request(event.payload, self.feature_columns)
            if self.pairs is not None and event.event_id:
                self.pairs.request(event.event_id, rows, now)
            return self.append_features(rows, now)
        if self.outputs is None:
            return 0
        rows = parse_response(event.payload, self.output_columns)
        self.outputs.append_block(rows.numeric, rows.categorical, rows.count, now)
        if self.pairs is not None and event.event_id:
            self.pairs.response(event.event_id, rows, now)
        if self.ground_truth is not None and event.event_id:
            self.ground_truth.put(event.event_id, rows, now)
        return rows.long_values

    def append_features(self, rows: Rows, now: float) -> int:
        self.features.append_block(rows.numeric, rows.categorical, rows.count, now, rows.payload_errors)
        return rows.long_values

    def windows_state(self) -> dict[str, WindowState]:
        """What a checkpoint keeps of the windows (a window counted against no profile yet is left out)."""
        parts = {"features": self.features.state()}
        if self.outputs is not None:
            parts["outputs"] = self.outputs.state()
        return {part: state for part, state in parts.items() if state is not None}

    @property
    def generations(self) -> tuple[int, int]:
        return self.features.generation, self.outputs.generation if self.outputs is not None else 0
