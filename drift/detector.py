"""The detector: a reference profile made ready to judge windows — the one path from a window to a
:class:`~drift.evaluation.DriftResult`.

``drift.evaluate`` (a DataFrame in a notebook), the exporter's evaluator (its windows' bin counts and row samples),
the exporter's live report and ``driftline report`` all call :meth:`Detector.evaluate`, so they return the same
complete result — every registered statistic per column and the decision, multivariate drift, and the performance
estimated from the scores (CBPE) — by construction, not by keeping copies in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from .coercion import category_values, numeric_values
from .config import REGRESSION, ColumnConfig, DriftSettings, ModelConfig, ReferenceConfig, WindowConfig
from .errors import DataError
from .evaluation import DriftResult, evaluate_counts
from .layout import layouts
from .multivariate import window_drift
from .quality.estimation import estimate_regression_window, estimate_window
from .reference.profile import ReferenceProfile
from .stats import IntArray


@dataclass(frozen=True)
class Window:
    """A window as the detector reads it. The counted statistics come from count vectors over the profile's layouts
    (:meth:`Detector.count`); multivariate drift and CBPE from raw rows, when the caller has them: ``features`` (one
    array per feature, ``sample_rows`` rows — the whole window or a uniform sample of it) and ``scores``
    (:meth:`Detector.scores`: the target's score, or its class scores as a matrix). ``outputs`` limits the outputs
    reported (None: all of the profile's).
    """

    feature_counts: IntArray
    rows: int
    output_counts: IntArray | None = None
    output_rows: int = 0
    features: Mapping[str, Any] | None = None
    sample_rows: int = 0
    scores: Any | None = None
    outputs: frozenset[str] | None = None
    # a regression's rows with both features and prediction (one array per column, ``pair_rows`` rows): what its
    # loss models read
    pairs: Mapping[str, Any] | None = None
    pair_rows: int = 0


class Detector:
    """``profile`` judging windows of ``model``'s traffic. Below ``min_rows`` rows (default: the model's
    ``window.min_rows``, as in the exporter) the statistics are computed but nothing is decided
    (:func:`~drift.evaluation.evaluate_counts`)."""

    def __init__(self, profile: ReferenceProfile, model: ModelConfig, *, min_rows: int | None = None) -> None:
        self.profile = profile
        self.model = model
        self.min_rows = model.window.min_rows if min_rows is None else min_rows
        self.feature_layout, self.output_layout = layouts(profile)
        target = model.target
        # What an evaluation needs besides the counts: the rows the PCA reconstructs, the scores CBPE calibrates.
        performance = profile.performance
        self.estimates_loss = (
            target is not None
            and target.task == REGRESSION
            and performance is not None
            and performance.loss_models is not None
            and profile.serves_target(model)
        )
        self.wants_feature_rows = profile.multivariate is not None
        # the outputs CBPE reads: a binary classifier's score, or a multiclass classifier's class scores in order
        self.score_columns: tuple[str, ...] = ()
        self.class_scores = target is not None and bool(target.scores)  # scores as a [rows, classes] matrix
        if target is not None and target.scores:
            self.score_columns = tuple(output for _, output in target.scores)
        elif (
            target is not None
            and target.task != REGRESSION
            and any(c.name == target.prediction and c.is_numeric for c in model.outputs)
        ):
            self.score_columns = (target.prediction,)

    def evaluate(self, window: Window) -> DriftResult:
        settings = self.model.drift
        result = evaluate_counts(
            self.profile,
            settings,
            window.feature_counts,
            window.rows,
            window.output_counts,
            window.output_rows,
            min_rows=self.min_rows,
        )
        if window.outputs is not None:
            result = result.with_outputs(window.outputs)
        multivariate = None
        reconstruction = self.profile.multivariate
        if reconstruction is not None and window.features is not None and window.sample_rows >= max(self.min_rows, 2):
            multivariate = window_drift(reconstruction, window.features, window.sample_rows, settings.alpha)
        estimated = None
        if window.scores is not None:
            estimated = estimate_window(self.profile, self.model, window.scores)
        elif self.estimates_loss:
            estimated = estimate_regression_window(self.profile, self.model, window.pairs, window.pair_rows)
        return replace(result, multivariate=multivariate, estimated=estimated)

    def window(
        self,
        features: Mapping[str, Any],
        outputs: Mapping[str, Any] | None = None,
        *,
        rows: int | None = None,
        output_rows: int | None = None,
    ) -> Window:
        """A window given as columns (arrays or lists keyed by feature/output name): counted in the profile's fine
        bins, its raw rows kept for multivariate drift and CBPE. Numeric columns may be float64 arrays (NaN =
        missing) and categorical ones object arrays (None = missing); anything else is normalised first. A feature
        of the profile absent from ``features`` raises DataError; outputs absent from ``outputs`` are left out."""
        absent = [name for name in self.profile.features if name not in features]
        if absent:
            raise DataError(f"the window has no column {', '.join(map(repr, absent))}")
        rows = _rows(features, rows)
        present = {name: values for name, values in (outputs or {}).items() if name in self.profile.outputs}
        output_counts = self.output_layout.count(present) if present else None
        output_rows = _rows(present, output_rows) if present else 0
        scores = self.scores(present)
        target = self.model.target
        prediction = target.prediction if self.estimates_loss and target is not None else ""
        paired = prediction in present and output_rows == rows
        return Window(
            self.feature_layout.count(features),
            rows,
            output_counts,
            output_rows,
            features,
            rows,
            scores,
            frozenset(present),
            {**features, prediction: present[prediction]} if paired else None,
            rows if paired else 0,
        )

    def scores(self, outputs: Mapping[str, Any]) -> Any | None:
        """What CBPE reads from a window's outputs: the score as float64 (NaN = none), or the class scores as a
        ``[rows, classes]`` float64 matrix; None when an output it needs is absent."""
        if not self.score_columns or any(name not in outputs for name in self.score_columns):
            return None
        if not self.class_scores:
            return numeric_values(outputs[self.score_columns[0]])
        return np.column_stack([numeric_values(outputs[name]) for name in self.score_columns])

    def frame(self, current: pd.DataFrame) -> Window:
        """A DataFrame of current data (features, and outputs where present) as a :meth:`window`."""
        model = self.model
        missing = [c.name for c in model.features if c.name not in current.columns]
        if missing:
            raise DataError(f"current data: no column {', '.join(map(repr, missing))} (a configured feature)")
        features = {c.name: column_values(current[c.name], c) for c in model.features}
        outputs = {c.name: column_values(current[c.name], c) for c in model.outputs if c.name in current.columns}
        return self.window(features, outputs, rows=len(current), output_rows=len(current))


def evaluate(
    profile: ReferenceProfile, current: pd.DataFrame, model: ModelConfig, *, min_rows: int | None = None
) -> DriftResult:
    """Evaluate a DataFrame of current data (features, and outputs where present) against ``profile``: the result
    the exporter serves for a window holding these rows — decided only from ``min_rows`` rows (default: the model's
    ``window.min_rows``, 100 unless configured), as the exporter, the report and the pooled rules decide."""
    profile.require_compatible(model)
    detector = Detector(profile, model, min_rows=min_rows)
    return detector.evaluate(detector.frame(current))


def evaluate_window(
    profile: ReferenceProfile,
    settings: DriftSettings,
    features: Mapping[str, Any],
    outputs: Mapping[str, Any] | None = None,
    *,
    rows: int | None = None,
    output_rows: int | None = None,
    min_rows: int = WindowConfig.min_rows,
) -> DriftResult:
    """Evaluate a window given as columns (see :meth:`Detector.window`) with these drift settings: the counted
    statistics and the decision (from ``min_rows`` rows, the exporter's default), and multivariate drift when the
    profile has its PCA."""
    model = _settings_only(profile, settings)
    detector = Detector(profile, model, min_rows=min_rows)
    return detector.evaluate(detector.window(features, outputs, rows=rows, output_rows=output_rows))


def _settings_only(profile: ReferenceProfile, settings: DriftSettings) -> ModelConfig:
    """The model a profile describes, with these drift settings and nothing else configured (no target)."""
    return ModelConfig(
        name=profile.model,
        namespace=profile.namespace,
        reference=ReferenceConfig(data="", profile=""),
        features=tuple(ColumnConfig(name, column.type) for name, column in profile.features.items()),
        outputs=tuple(ColumnConfig(name, column.type) for name, column in profile.outputs.items()),
        drift=settings,
    )


def column_values(series: pd.Series, column: ColumnConfig) -> Any:
    """A DataFrame column as the window counts it: float64 with NaN for a numeric column, categories otherwise."""
    return numeric_values(series) if column.is_numeric else category_values(series)


def _rows(columns: Mapping[str, Any], rows: int | None) -> int:
    if rows is not None:
        return rows
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise DataError(f"window columns have different lengths: {sorted(lengths)}")
    return lengths.pop() if lengths else 0


__all__ = ["Detector", "Window", "column_values", "evaluate", "evaluate_window"]
