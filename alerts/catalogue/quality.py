"""The model-quality alerts: a drop measured on labelled predictions, one estimated before the labels arrive (CBPE),
and a change of the error rate within the labelled window (concept drift). Like the drift alerts they read the
exporter's decisions (``driftline_*_dropped``, ``…_detected``): the size-and-significance rule of the statistics."""

from __future__ import annotations

from drift import catalogue as m

from ..scenarios import BAD, OK, Scenario, ScenarioContext, Series, selector
from ..settings import minutes
from .definition import MODEL_DRIFT_DASHBOARD, AlertDefinition, fixed
from .drift import KEYS, percent_of
from .text import Text, humanize_percentage


def _performance_drop(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
    labels = {**ctx.target, **ctx.model_labels}
    error_rate, reference_rate, loss = 0.45, 0.28, 0.25

    def series(states: list[str]) -> Series:
        return [
            (selector(m.PERFORMANCE_DEGRADATION.series, labels), [loss if s != OK else 0.01 for s in states]),
            # NEAR: a large loss on too few labels, or not significant, is not a drop
            (selector(m.PERFORMANCE_DROPPED.series, labels), [1.0 if s == BAD else 0.0 for s in states]),
            (selector(m.PERFORMANCE_ERROR_RATE.series, labels), [error_rate if s != OK else 0.28 for s in states]),
            (selector(m.REFERENCE_ERROR_RATE.series, labels), [reference_rate for _ in states]),
        ]

    return ctx.scenario(
        alert,
        series=series,
        labels={**labels, **alert.labels},
        values=lambda t: {
            "value": loss,
            "error_rate": humanize_percentage(error_rate),
            "reference_error_rate": humanize_percentage(reference_rate),
        },
    )


PERFORMANCE_DROP: AlertDefinition = AlertDefinition(
    name="DriftlinePerformanceDrop",
    settings_key="performance_drop",
    for_=minutes(30),
    keep_firing_for=minutes(30),
    severity="critical",
    summary="A model got worse on its labelled predictions than on its training data; retraining is due.",
    description=fixed(
        Text(
            "The quality of {model} on its recent labelled predictions is {value:percent} below the reference's "
            "(target.metric), and its error rate ({error_rate}) is significantly above the reference's "
            "({reference_error_rate}). A retraining is requested.",
            error_rate=percent_of(m.PERFORMANCE_ERROR_RATE),
            reference_error_rate=percent_of(m.REFERENCE_ERROR_RATE),
        )
    ),
    expr=lambda config: f"{m.PERFORMANCE_DEGRADATION.series} and on ({KEYS}) ({m.PERFORMANCE_DROPPED.series} == 1)",
    scenario=_performance_drop,
    retrain=True,
    dashboard=MODEL_DRIFT_DASHBOARD,
    report=True,
    runbook="""
**Meaning.** On its recent labelled predictions (labels sent to the exporter's `POST /feedback` or dropped in
`feedback.s3_labels`) the model is worse than on its reference data: `target.metric` lost at least
`target.max_degradation` (relative), the window holds at least `target.min_samples` labelled predictions, **and**
the error rate is significantly above the reference's (one-sided binomial test, p < `drift.alpha`). This is the
model getting worse, not only its inputs moving. Severity `critical`, label `action: retrain`: routed like
`DriftlineDatasetDrift`, to the retraining webhook and Slack.

**Check.**
1. The *Model quality* row of the *Model drift* dashboard: *Quality vs reference* shows when each metric fell,
   *Error rate vs reference* how far, *Labelled predictions* on how many labels.
2. *Labels by outcome*: a burst of `duplicate` or a label job that changed its encoding (e.g. `yes`/`no` instead
   of `1`/`0`) makes a healthy model look wrong. Compare a few labels with the training data's.
3. Input drift too (`DriftlineDatasetDrift`, *PSI per feature*)? Then the world moved and the model follows badly.
   No input drift but a drop: concept drift — the same inputs now mean another label (*Concept drift* panel).
4. *Label drift (PSI)*: a changed base rate (e.g. churn doubled) lowers precision without any bug.
5. The live report (`report_url` in the alert, or `GET /report/{namespace}/{model}` on the exporter) shows the
   current window against the reference, with the quality numbers above it.

**Act.** Label pipeline bug: fix it; the labelled window refills over `target.window.max_age`. Real degradation: let
the retraining run on data that includes the recent, labelled period — retraining on the old training set
reproduces the old concept.
""",
)


def _concept_drift(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
    return ctx.flag(alert, m.CONCEPT_DRIFT.series, {**ctx.target, **ctx.model_labels}, bad=1.0, ok=0.0)


CONCEPT_DRIFT: AlertDefinition = AlertDefinition(
    name="DriftlineConceptDrift",
    settings_key="concept_drift",
    for_=minutes(15),
    keep_firing_for=minutes(30),
    severity="warning",
    summary="A model's error rate rose within its recent labelled predictions: the concept changed.",
    description=fixed(
        Text(
            "ADWIN found a significant rise of the error rate of {model} within its window of labelled predictions "
            "(ordered by prediction time): the relation between inputs and labels changed."
        )
    ),
    expr=lambda config: f"{m.CONCEPT_DRIFT.series} == 1",
    scenario=_concept_drift,
    dashboard=MODEL_DRIFT_DASHBOARD,
    report=True,
    runbook="""
**Meaning.** ADWIN (Bifet & Gavaldà, 2007) found a significant rise of the error rate *within* the window of
labelled predictions ordered by prediction time: predictions after some point are wrong more often than before
it. It reacts to a change before the whole window is worse, so it often fires before `DriftlinePerformanceDrop`
(which holds it back once it fires). A warning: no retraining is started.

**Check.** *Error rate vs reference* and *Quality vs reference* on the *Model quality* row: when did the error rate
rise? Compare that time with deployments of the model (a new image), of its feature pipeline, and with the
*PSI per feature* panel.

**Act.** A deployment at that time: roll it back or fix it. No deployment and no input drift: the relation between
inputs and label changed; retrain by hand on recent labelled data if it persists (the alert resolves when the
window holds only predictions after the change).
""",
)


def _estimated_drop(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
    labels = {**ctx.target, **ctx.model_labels}
    error_rate, loss = 0.41, 0.18

    def series(states: list[str]) -> Series:
        return [
            (selector(m.ESTIMATED_DEGRADATION.series, labels), [loss if s != OK else 0.01 for s in states]),
            # NEAR: a large estimated loss on too few predictions, or not significant, is not a drop
            (selector(m.ESTIMATED_DROPPED.series, labels), [1.0 if s == BAD else 0.0 for s in states]),
            (selector(m.ESTIMATED_ERROR_RATE.series, labels), [error_rate if s != OK else 0.27 for s in states]),
        ]

    return ctx.scenario(
        alert,
        series=series,
        labels={**labels, **alert.labels},
        values=lambda t: {"value": loss, "error_rate": humanize_percentage(error_rate)},
    )


ESTIMATED_PERFORMANCE_DROP: AlertDefinition = AlertDefinition(
    name="DriftlineEstimatedPerformanceDrop",
    settings_key="estimated_performance_drop",
    for_=minutes(30),
    keep_firing_for=minutes(30),
    severity="warning",
    summary="A model's quality, estimated before the labels arrive, fell below its training data's.",
    description=fixed(
        Text(
            "Estimated from its recent predictions (no labels yet), the quality of {model} is {value:percent} below "
            "the reference's (target.metric), and its expected errors are significantly above the reference's."
        )
    ),
    expr=lambda config: f"{m.ESTIMATED_DEGRADATION.series} and on ({KEYS}) ({m.ESTIMATED_DROPPED.series} == 1)",
    scenario=_estimated_drop,
    dashboard=MODEL_DRIFT_DASHBOARD,
    report=True,
    runbook="""
**Meaning.** For a classifier — a binary one whose `target.prediction` is a score, or a multiclass one whose
`target.scores` name its class scores — the profile holds an isotonic calibration of the scores fitted on the
labelled reference (one-vs-rest per class). Applied to the scores of the output window, the calibration gives each
prediction a probability of being right, hence an expected confusion matrix and an expected `target.metric`
(confidence-based performance estimation). For a regression, the profile's loss models predict each recent row's
error from its inputs and prediction (direct loss estimation). See docs/statistics.md. That estimate lost at least
`target.max_degradation` against the reference's realised value, on at least `target.min_samples` recent
predictions, and the expected error rate (a regression: the mean loss) is significantly above the reference's. The
labels that would confirm it have not arrived yet. A warning: no retraining is started on an estimate.

**Check.**
1. *Model drift* dashboard, *Estimated vs realised quality*: when did the estimate leave the reference's level? Once
   labels arrive, the realised metric should land inside the estimate's band.
2. Input drift (`DriftlineDatasetDrift`, *PSI per feature*)? An estimate falls when the inputs move towards the
   model's uncertain region — that is the covariate shift CBPE is built for.
3. The estimate assumes the relation between inputs and label is unchanged. If it changed (concept drift), the
   estimate can be wrong in either direction: only labels tell.
4. A new model version serving with the old profile scores differently: compare `model_version` with
   `driftline_reference_info`.

**Act.** Speed up the labels for the recent period if you can (a labelling job, a sample reviewed by hand) and
prepare a retraining on the recent data. When the realised drop is confirmed, `DriftlinePerformanceDrop` fires
(critical, retraining) and holds this alert back.
""",
)

ALERTS = (PERFORMANCE_DROP, CONCEPT_DRIFT, ESTIMATED_PERFORMANCE_DROP)
