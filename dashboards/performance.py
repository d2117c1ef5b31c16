"""The quality rows of the model drift dashboard: *Model quality* — how good the model is on its labelled predictions,
against its reference, and how the ground truth arrives (labels joined, delay, the prediction store) — and
*Estimated quality* — the quality CBPE estimates from the scores before the labels arrive, next to the realised."""

from __future__ import annotations

import grafanalib.core as g

from alerts.config import DeploymentConfig
from drift import catalogue as m
from drift.config import CLASSIFICATION

from .common import DATASOURCE, MODEL_SELECTOR, Layout, dashed_series, stat, steps, target, timeseries, value_map

SEL = f"{{{MODEL_SELECTOR}}}"
ESTIMATES = f'{{{MODEL_SELECTOR}, model_version=~"$model_version", metric="$metric"}}'
REALISED = f'{{{MODEL_SELECTOR}, metric="$metric"}}'
VERSIONS = f'{{{MODEL_SELECTOR}, model_version=~"$model_version"}}'


def estimates(config: DeploymentConfig) -> bool:
    """Whether a model's quality is estimated before its labels: a binary classifier whose prediction is a score, or
    a multiclass classifier with its class scores."""
    return any(
        model.target is not None
        and model.target.task == CLASSIFICATION
        and (
            bool(model.target.scores) or any(c.name == model.target.prediction and c.is_numeric for c in model.outputs)
        )
        for model in config.models
    )


def metric_variable() -> g.Template:
    """The quality metric the estimated-vs-realised panels show (accuracy first)."""
    return g.Template(
        name="metric",
        label="Metric",
        query=f"label_values({m.ESTIMATED_PERFORMANCE.series}{SEL}, metric)",
        dataSource=DATASOURCE,
        refresh=2,
        default="accuracy",
    )


def add_estimated_row(layout: Layout) -> None:
    layout.row("Estimated quality (before the labels)")
    layout.add(
        timeseries(
            "Estimated vs realised $metric",
            "The metric estimated from the output window's calibrated scores (CBPE, no labels needed) with the band "
            "the realised value should land in once the labels arrive (orange, dashed), the realised metric on the "
            "labelled window, and the reference's (dashed). The realised line lags by the label delay.",
            [
                target(f"{m.ESTIMATED_PERFORMANCE.series}{ESTIMATES}", "estimated {{model_version}}", "A"),
                target(f"{m.ESTIMATED_PERFORMANCE_LOWER.series}{ESTIMATES}", "band low {{model_version}}", "B"),
                target(f"{m.ESTIMATED_PERFORMANCE_UPPER.series}{ESTIMATES}", "band high {{model_version}}", "C"),
                target(f"{m.PERFORMANCE.series}{REALISED}", "realised", "D"),
                target(f"{m.REFERENCE_PERFORMANCE.series}{REALISED}", "reference", "E"),
            ],
            "none",
            overrides=[dashed_series("band .*", "orange", regex=True), dashed_series("reference")],
        ),
        16,
        8,
    )
    layout.add(
        stat(
            "Estimated drop",
            "Whether the estimated target.metric lost at least target.max_degradation against the reference with an "
            "expected error rate significantly above the reference's: DriftlineEstimatedPerformanceDrop.",
            f"max by (model_version) ({m.ESTIMATED_DROPPED.series}{VERSIONS})",
            "none",
            thresholds=steps(("green", None), ("orange", 1)),
            mappings=value_map(("0", "ok", "green"), ("1", "DROP?", "orange")),
        ),
        8,
        4,
    )
    layout.add(
        stat(
            "Expected error rate",
            "Share of the output window's predictions expected to be wrong, from their calibrated scores; the "
            "reference's realised error rate is the baseline.",
            f"{m.ESTIMATED_ERROR_RATE.series}{VERSIONS}",
            "percentunit",
        ),
        8,
        4,
    )


def add_quality_row(layout: Layout) -> None:
    layout.row("Model quality (ground truth)")
    layout.add(
        stat(
            "Performance drop",
            "Whether target.metric lost at least target.max_degradation against the reference with an error rate "
            "significantly above the reference's (the retraining trigger from labels).",
            f"{m.PERFORMANCE_DROPPED.series}{SEL}",
            "none",
            thresholds=steps(("green", None), ("red", 1)),
            mappings=value_map(("0", "ok", "green"), ("1", "DROP", "red")),
        ),
        4,
        4,
    )
    layout.add(
        stat(
            "Concept drift",
            "Whether ADWIN finds a rise of the error rate within the window of labelled predictions, ordered by "
            "prediction time.",
            f"{m.CONCEPT_DRIFT.series}{SEL}",
            "none",
            thresholds=steps(("green", None), ("orange", 1)),
            mappings=value_map(("0", "none", "green"), ("1", "CHANGE", "orange")),
        ),
        4,
        4,
    )
    layout.add(
        stat(
            "Quality loss",
            "Relative loss of target.metric against the reference (positive = worse).",
            f"{m.PERFORMANCE_DEGRADATION.series}{SEL}",
            "percentunit",
            thresholds=steps(("green", None), ("orange", 0.05), ("red", 0.1)),
        ),
        4,
        4,
    )
    layout.add(
        stat(
            "Labelled predictions",
            "Predictions in the performance window that have their label (target.window). Decisions wait for "
            "target.min_samples.",
            f"{m.LABELLED_WINDOW_SAMPLES.series}{SEL}",
            "none",
        ),
        4,
        4,
    )
    layout.add(
        stat(
            "Mean label delay",
            "Average time from a prediction to its label becoming known, since the exporter started.",
            f"{m.LABEL_DELAY.series}_sum{SEL} / {m.LABEL_DELAY.series}_count{SEL}",
            "s",
        ),
        4,
        4,
    )
    layout.add(
        stat(
            "Prediction store",
            "Predictions waiting for labels as a share of feedback.store_size. Full: the oldest are dropped "
            "before their labels arrive (raise store_size or lower ttl).",
            f"{m.PREDICTION_STORE_ROWS.series}{SEL} / {m.PREDICTION_STORE_CAPACITY.series}{SEL}",
            "percentunit",
            thresholds=steps(("green", None), ("orange", 0.9)),
        ),
        4,
        4,
    )
    layout.add(
        timeseries(
            "Quality vs reference",
            "Each metric on the labelled window (solid) and on the reference data (dashed).",
            [
                target(f"{m.PERFORMANCE.series}{SEL}", "{{metric}}", "A"),
                target(f"{m.REFERENCE_PERFORMANCE.series}{SEL}", "reference {{metric}}", "B"),
            ],
            "none",
            overrides=[dashed_series("reference .*", None, regex=True)],
        ),
        12,
        8,
    )
    layout.add(
        timeseries(
            "Error rate vs reference",
            "Share of wrong predictions (regression: absolute error above the reference's 90th percentile) in "
            "the labelled window; the dashed line is the reference's.",
            [
                target(f"{m.PERFORMANCE_ERROR_RATE.series}{SEL}", "window", "A"),
                target(f"{m.REFERENCE_ERROR_RATE.series}{SEL}", "reference", "B"),
            ],
            "percentunit",
            overrides=[dashed_series("reference")],
        ),
        12,
        8,
    )
    layout.add(
        timeseries(
            "Labels by outcome",
            "Labels per second: joined to a stored prediction, duplicate, unmatched (never seen, evicted or "
            "expired) or sampled out.",
            [target(f"sum by (outcome) (rate({m.LABELS.series}{SEL}[$__rate_interval]))", "{{outcome}}")],
            "reqps",
        ),
        12,
        8,
    )
    layout.add(
        timeseries(
            "Label drift (PSI)",
            "PSI of the label distribution in the labelled window against the reference's target; the dashed "
            "line is psi_threshold.",
            [
                target(f"{m.LABEL_PSI.series}{SEL}", "labels", "A"),
                target(f"{m.PSI_THRESHOLD.series}{SEL}", "psi_threshold", "B"),
            ],
            "none",
            overrides=[dashed_series("psi_threshold")],
        ),
        12,
        8,
    )
