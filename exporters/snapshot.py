"""The evaluator's immutable output: everything a scrape publishes, per model and per stream.

The evaluator builds a new :class:`EvaluationSnapshot` every ``evaluate_every`` (and when a profile loads) and swaps
it in with one assignment; the collector is a function of the snapshot alone, so a scrape never computes a statistic,
never takes a window's lock and never sees a half-written result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from drift.config import ModelConfig
from drift.evaluation import ColumnDrift, DriftResult
from drift.layout import ColumnBins
from drift.quality.evaluation import PerformanceResult

from .stream import ModelKey, StreamId


@dataclass(frozen=True)
class ReferenceState:
    """A stream's profile as a scrape shows it. ``loaded`` is None for a version seen a moment ago (still loading,
    not missing)."""

    loaded: bool | None
    uri: str
    rows: int = 0
    version: str = ""
    created_at: float | None = None
    multivariate_error: float | None = None  # the reference's mean reconstruction error, with a PCA
    registry_version: str = ""  # the MLflow model version the profile came from


@dataclass(frozen=True)
class WindowQuality:
    """Counters since the profile loaded: each feature's values by quality ``(column, quality, count)`` (a quality
    that does not apply to the column's kind is left out) and payload errors ``(column, error, count)``."""

    values: tuple[tuple[str, str, int], ...]
    payload_errors: tuple[tuple[str, str, int], ...]


@dataclass(frozen=True)
class StreamEvaluation:
    """What the last evaluation of one stream (a model, or one serving version of it) found. ``result`` is None
    before a profile is loaded or below ``window.min_rows``."""

    id: StreamId
    reference: ReferenceState
    result: DriftResult | None = None
    window_samples: int = 0
    output_samples: int | None = None  # None: the model has no outputs
    evaluated_at: float | None = None
    baseline_version: str = ""  # a version serving beside an older one: the version its outputs were compared with
    against_baseline: Mapping[str, ColumnDrift] | None = None
    quality: WindowQuality | None = None
    feature_bins: tuple[ColumnBins, ...] = ()  # with exporter.bin_counts: the PSI bins counted since the profile
    output_bins: tuple[ColumnBins, ...] = ()


@dataclass(frozen=True)
class ModelEvaluation:
    """A model's settings as published, and its quality from labelled predictions (with a ``target``)."""

    model: ModelConfig
    performance: PerformanceResult | None = None
    labelled_samples: int = 0


@dataclass(frozen=True)
class EvaluationSnapshot:
    models: Mapping[ModelKey, ModelEvaluation] = field(default_factory=lambda: MappingProxyType({}))
    streams: Mapping[StreamId, StreamEvaluation] = field(default_factory=lambda: MappingProxyType({}))
