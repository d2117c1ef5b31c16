"""The evaluator: every model's windows turned into one complete :class:`~exporters.snapshot.EvaluationSnapshot`.

Each stream's detector (:class:`drift.detector.Detector`, the one ``drift.evaluate`` uses) judges its window: the
counted statistics from the windows' bin counts; multivariate drift and the performance estimated from the output
scores (CBPE) from the raw rows each window bucket keeps as a uniform reservoir, of which an evaluation draws at most
``exporter.report_max_rows``. The samples are not checkpointed: after a restart those numbers return as the window
refills, while the counted statistics are restored at once.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from drift.comparison import compare_outputs
from drift.config import MonitorConfig
from drift.data_quality import PAYLOAD_ERRORS, VALUE_QUALITIES
from drift.detector import Window
from drift.evaluation import ColumnDrift
from drift.layout import ColumnBins, layouts, psi_bins
from drift.quality.evaluation import PerformanceResult, evaluate_performance
from drift.reference.columns import NumericProfile
from drift.reference.profile import ReferenceProfile

from .instruments import ExporterInstruments
from .model import MonitoredModel
from .snapshot import EvaluationSnapshot, ModelEvaluation, ReferenceState, StreamEvaluation, WindowQuality
from .stream import Stream, StreamId
from .windows import CountWindow

log = logging.getLogger("driftline.exporter")
NOT_APPLICABLE = {True: "unseen_category", False: "out_of_range"}  # by "is the column numeric?"


class Evaluator:
    def __init__(self, config: MonitorConfig, instruments: ExporterInstruments, clock: Callable[[], float]) -> None:
        self.sample_rows = config.exporter.report_max_rows
        self.bin_counts = config.exporter.bin_counts
        self.instruments = instruments
        self.clock = clock
        self._lock = threading.Lock()  # the evaluator thread and a profile swap: one snapshot at a time, in order
        self.snapshot = EvaluationSnapshot()  # the latest, swapped in whole: what a scrape reads

    def evaluate(self, models: Iterable[MonitoredModel]) -> EvaluationSnapshot:
        """Evaluate every model and publish the snapshot. Under the lock, so that of two evaluations racing (the
        evaluator thread, a profile swap) the later one is the one that stays published."""
        with self._lock:
            now = self.clock()
            evaluated: dict[tuple[str, str], ModelEvaluation] = {}
            streams: dict[StreamId, StreamEvaluation] = {}
            for model in models:
                self._retire(model, now)
                evaluated[model.key] = self._quality(model, now)
                serving = list(model.streams)
                found = {stream.id: self._stream(stream, now) for stream in serving}
                if model.compares_versions:
                    for candidate, baseline, compared in self._compare_versions(model, serving, now):
                        found[candidate] = dataclasses.replace(
                            found[candidate], baseline_version=baseline, against_baseline=MappingProxyType(compared)
                        )
                streams.update(found)
            self.snapshot = EvaluationSnapshot(MappingProxyType(evaluated), MappingProxyType(streams))
            return self.snapshot

    def _retire(self, model: MonitoredModel, now: float) -> None:
        retired, given_up = model.streams.retire(now)
        if given_up:
            self.instruments.unversioned.labels(*model.key, "no_response").inc(given_up)
        for version in retired:
            log.info(
                "model version retired: nothing from it for window.max_age",
                extra={"model": model.key[0], "model_namespace": model.key[1], "model_version": version},
            )

    def _stream(self, stream: Stream, now: float) -> StreamEvaluation:
        profile, detector = stream.profile, stream.detector
        reference = _reference_state(stream)
        features = stream.features.totals(now)
        outputs = stream.outputs.totals(now) if stream.outputs is not None else None
        output_rows = outputs.rows if outputs is not None else None
        window_rows = features.rows if features.version is not None else stream.features.rows(now)
        if profile is None or detector is None:
            return StreamEvaluation(stream.id, reference, None, window_rows, output_rows)
        result = None
        if features.version == profile.version:
            start = time.perf_counter()
            try:
                counted = outputs.counts if outputs is not None and outputs.version == profile.version else None
                result = detector.evaluate(
                    Window(features.counts, features.rows, counted, output_rows or 0, **self._samples(stream, now))
                )
            except Exception:  # a bug must not stop the other models or the next evaluation
                log.exception("evaluation failed", extra={"model": stream.key[0], "model_namespace": stream.key[1]})
                result = None
            self.instruments.evaluation_duration.labels(*stream.key).observe(time.perf_counter() - start)
        feature_bins, output_bins = self._bins(stream, profile) if self.bin_counts else ((), ())
        return StreamEvaluation(
            stream.id,
            reference,
            result,
            window_rows,
            output_rows,
            now if result is not None else None,
            quality=_window_quality(stream.features),
            feature_bins=feature_bins,
            output_bins=output_bins,
        )

    def _samples(self, stream: Stream, now: float) -> dict[str, Any]:
        """What the detector reads besides the counts, drawn only when it wants them: the feature rows (from the
        window's reservoirs), the prediction scores, a regression's joined feature and prediction rows."""
        detector = stream.detector
        assert detector is not None
        found: dict[str, Any] = {}
        if detector.wants_feature_rows:
            sample = stream.features.sample(now, self.sample_rows)
            found["features"], found["sample_rows"] = sample.columns, sample.rows
        wanted = detector.score_columns
        if wanted and stream.outputs is not None and set(wanted) <= set(stream.outputs.numeric_names):
            found["scores"] = detector.scores(stream.outputs.sample(now, self.sample_rows).columns)
        if detector.estimates_loss and stream.pairs is not None:
            found["pairs"], found["pair_rows"] = stream.pairs.sample(now)
        return found

    @staticmethod
    def _bins(stream: Stream, profile: ReferenceProfile) -> tuple[tuple[ColumnBins, ...], tuple[ColumnBins, ...]]:
        """Each column's PSI-bin counts since the profile loaded (with the reference's): what Prometheus sums across
        a model's replicas. Empty for a window that has not switched to this profile yet."""
        found: list[tuple[ColumnBins, ...]] = []
        for window, layout in zip((stream.features, stream.outputs), layouts(profile), strict=True):
            counted = window.counted() if window is not None else None
            found.append(
                tuple(psi_bins(layout, counted)) if counted is not None and counted.size == layout.size else ()
            )
        return found[0], found[1]

    def _quality(self, model: MonitoredModel, now: float) -> ModelEvaluation:
        """The model's quality from its labelled predictions, against :meth:`MonitoredModel.quality_profile`."""
        ground_truth, target = model.ground_truth, model.model.target
        if ground_truth is None or target is None:
            return ModelEvaluation(model.model)
        window = ground_truth.labelled.snapshot(now)
        profile = model.quality_profile()
        result: PerformanceResult | None = None
        if profile is not None:
            try:
                result = evaluate_performance(
                    profile, target, model.model.drift, window.labels, window.predictions, window.predicted_at
                )
            except Exception:  # a bug must not stop the drift numbers
                log.exception("performance evaluation failed", extra={"model": model.key[0]})
        return ModelEvaluation(model.model, result, window.rows)

    def _compare_versions(
        self, model: MonitoredModel, serving: list[Stream], now: float
    ) -> list[tuple[StreamId, str, Mapping[str, ColumnDrift]]]:
        """While versions serve together: each newer one's outputs against the oldest one's (the stable version;
        versions are kept in the order they appeared), from the windows' row samples. ``(version's id, baseline
        version, each output's drift)`` for the versions with enough rows on both sides."""
        if len(serving) < 2:
            return []
        stable = serving[0]
        assert stable.outputs is not None
        baseline = stable.outputs.sample(now, self.sample_rows)
        config = model.model
        out: list[tuple[StreamId, str, Mapping[str, ColumnDrift]]] = []
        for candidate in serving[1:]:
            assert candidate.outputs is not None
            sample = candidate.outputs.sample(now, self.sample_rows)
            try:
                compared = compare_outputs(
                    baseline.columns, sample.columns, config.outputs, config.drift, config.window.min_rows
                )
            except Exception:  # a bug must not stop the drift numbers
                log.exception("version comparison failed", extra={"model": model.key[0]})
                continue
            if compared is not None:
                out.append((candidate.id, stable.version, compared))
        return out


def _reference_state(stream: Stream) -> ReferenceState:
    reference, profile = stream.reference, stream.profile
    loaded = profile is not None if reference.tried or not stream.version else None
    if profile is None:
        return ReferenceState(loaded, reference.uri)
    multivariate = profile.multivariate.error_mean if profile.multivariate is not None else None
    return ReferenceState(
        loaded,
        reference.uri,
        profile.rows,
        profile.version,
        _timestamp(profile.created_at),
        multivariate,
        reference.registry_version,
    )


def _window_quality(window: CountWindow) -> WindowQuality | None:
    """Each feature's values by quality since its profile loaded, and its payload errors."""
    counted = window.quality()
    if counted is None or window.layout is None:
        return None
    quality, payload = counted
    values = tuple(
        (profile.name, name, int(count))
        for profile, row in zip(window.layout.columns, quality, strict=True)
        for name, count in zip(VALUE_QUALITIES, row, strict=True)
        if name != NOT_APPLICABLE[isinstance(profile, NumericProfile)]
    )
    errors = tuple(
        (column.name, name, int(count))
        for column, row in zip(window.columns, payload, strict=True)
        for name, count in zip(PAYLOAD_ERRORS, row, strict=True)
    )
    return WindowQuality(values, errors)


def _timestamp(text: str) -> float | None:
    """``created_at`` of a profile (ISO 8601, UTC) as Unix time; None for a profile written without one."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
