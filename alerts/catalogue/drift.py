"""The drift and quality alerts: they read the exporter's decisions (``driftline_*_drifted``, ``…_dropped``), so they
fire on the significance-and-size rule of the statistics. With ``exporter.replicas`` > 1 the drift alerts read the
pooled decision of :mod:`alerts.pooling` instead — same names, labels and routing, without the replica's
``instance``."""

from __future__ import annotations

from drift import catalogue as m

from .. import pooling
from ..config import DeploymentConfig
from ..scenarios import BAD, OK, Scenario, ScenarioContext, Series, selector
from ..settings import minutes
from ..signals import EXPORTER_KEYS, Decisions, decisions
from . import pooled
from .definition import _ALERT_LABELS, _ALERTS_MODEL, MODEL_DRIFT_DASHBOARD, AlertDefinition, fixed
from .text import Query, Text

KEYS = EXPORTER_KEYS


def _column_expr(config: DeploymentConfig, kind: pooling.Kind) -> str:
    signal = decisions(config)
    psi, drifted = signal.column(kind)
    return f"{psi} and on ({signal.keys}, {kind.column}) ({drifted} == 1)"


def _dataset_expr(signal: Decisions) -> str:
    return f"{signal.drift_share} and on ({signal.keys}) ({signal.dataset_drifted} == 1)"


def drifted_features(config: DeploymentConfig) -> Query:
    """The drifted features of the alert's model with their PSI, ``a=0.310, b=0.205``."""
    psi, drifted = decisions(config).column(pooling.FEATURES)
    return Query(
        "{{ range $i, $f := query (printf "
        f'"{psi}{{{_ALERTS_MODEL}}} and on (model, model_namespace, model_version, feature) '
        f'{drifted}{{{_ALERTS_MODEL}}} == 1" '
        f"{_ALERT_LABELS} {_ALERT_LABELS}) "
        '| sortByLabel "feature" }}{{ if $i }}, {{ end }}{{ $f.Labels.feature }}={{ printf "%.3f" $f.Value }}'
        "{{ end }}"
    )


def percent_of(metric: m.Metric) -> Query:
    """``metric`` of the alert's model version as a percentage."""
    return _value_of(metric, "humanizePercentage")


def value_of(metric: m.Metric) -> Query:
    """``metric`` of the alert's model version, with three decimals."""
    return _value_of(metric, 'printf "%.3f"')


def _value_of(metric: m.Metric, format_: str) -> Query:
    """``metric`` of the alert's model version, through the Go template function ``format_``."""
    return Query(
        f'{{{{ with query (printf "{metric.series}{{{_ALERTS_MODEL}}}" {_ALERT_LABELS}) }}}}'
        f"{{{{ . | first | value | {format_} }}}}{{{{ end }}}}"
    )


def _column_drift(
    alert: AlertDefinition, ctx: ScenarioContext, psi: m.Metric, drifted: m.Metric, labels: dict[str, str], value: float
) -> Scenario:
    """A column's PSI at ``value`` and its decision: 1 while BAD; NEAR is a large PSI that is not significant (a small
    window), which is not drift."""

    def series(states: list[str]) -> Series:
        return [
            (selector(psi.series, labels), [value if s != OK else 0.01 for s in states]),
            (selector(drifted.series, labels), [1.0 if s == BAD else 0.0 for s in states]),
        ]

    return ctx.scenario(alert, series=series, labels={**labels, **alert.labels}, values=lambda t: {"value": value})


def _pooled_column_drift(alert: AlertDefinition, ctx: ScenarioContext, kind: pooling.Kind) -> Scenario:
    """The first column of ``kind`` drifts on both replicas (NEAR: a shift too small for the PSI threshold)."""
    column = pooled.columns(ctx.model, kind)[0]
    labels = {"job": ctx.alerting.exporter_job, **ctx.model_labels, kind.column: column.name}
    value = pooled.window_psi(ctx, column, BAD)
    return ctx.scenario(
        alert,
        series=lambda states: pooled.columns_series(ctx, kind, (column,), {column.name: pooled.as_state}, states),
        labels={**labels, **alert.labels},
        values=lambda t: {"value": value},
        rate_based=True,
        window=int(pooling.alert_window(ctx.config).seconds),
    )


def _feature_drift(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
    if pooling.pooled(ctx.config):
        return _pooled_column_drift(alert, ctx, pooling.FEATURES)
    labels = {**ctx.target, **ctx.model_labels, "feature": ctx.model.features[0].name}
    return _column_drift(alert, ctx, m.FEATURE_PSI, m.FEATURE_DRIFTED, labels, 0.25)


FEATURE_DRIFT: AlertDefinition = AlertDefinition(
    name="DriftlineFeatureDrift",
    settings_key="feature_drift",
    for_=minutes(15),
    keep_firing_for=minutes(15),
    severity="warning",
    summary="A model input feature drifted away from its training data.",
    description=fixed(
        Text(
            "Feature {feature} of {model} drifted: PSI {value:.3f}, significant after correction for the model's "
            "features."
        )
    ),
    expr=lambda config: _column_expr(config, pooling.FEATURES),
    scenario=_feature_drift,
    dashboard=MODEL_DRIFT_DASHBOARD,
    report=True,
    runbook="""
**Meaning.** One feature drifted (significant after correction and PSI ≥ `psi_threshold`), but fewer than
`drift_share` of the features did. A warning: no retraining is started. Held back while the same model's
`DriftlineDatasetDrift` fires.

**Check.** *Features ranked by PSI*: PSI, KS/chi-square p-value and missing ratio of the feature. A categorical
feature with a new dominant category (look at the `__other__` share in the reference vs now) usually means a
new product, region or client version. A numeric feature whose PSI rises with the missing ratio points at a
data-quality problem.

**Act.** If the feature matters to the model (feature importance), treat it like dataset drift and start a
retraining by hand; otherwise note it and watch the trend. Persistent benign drift (e.g. a seasonal feature): raise
`psi_threshold` for that model or rebuild the reference from more representative data.
""",
)


def _pooled_dataset_drift(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
    """``drift_share`` of the features drift on both replicas; NEAR: one feature fewer, a share below it."""
    features = ctx.model.features
    need = pooled.drifted_count(ctx)
    skews: dict[str, pooled.Skew] = {f.name: pooled.only_bad for f in features[: need - 1]}
    skews[features[need - 1].name] = lambda state: BAD if state == BAD else None
    labels = {"job": ctx.alerting.exporter_job, **ctx.model_labels}
    listing = ", ".join(
        f"{f.name}={pooled.window_psi(ctx, f, BAD):.3f}" for f in sorted(features[:need], key=lambda f: f.name)
    )
    return ctx.scenario(
        alert,
        series=lambda states: pooled.columns_series(ctx, pooling.FEATURES, features, skews, states),
        labels={**labels, **alert.labels},
        values=lambda t: {"value": need / len(features), "drifted_features": listing},
        rate_based=True,
        window=int(pooling.alert_window(ctx.config).seconds),
        has_near=need > 1,
    )


def _dataset_drift(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
    if pooling.pooled(ctx.config):
        return _pooled_dataset_drift(alert, ctx)
    names = [f.name for f in ctx.model.features[:3]]
    drifted = names[:2] if len(names) > 1 else names
    psis = dict(zip(names, (0.31, 0.205, 0.012), strict=False))
    share = len(drifted) / len(ctx.model.features)
    labels = {**ctx.target, **ctx.model_labels}

    def series(states: list[str]) -> Series:
        out: Series = []
        for name in names:
            flagged = name in drifted
            feature = {**labels, "feature": name}
            out.append((selector(m.FEATURE_PSI.series, feature), [psis[name] for _ in states]))
            drifted_now = [1.0 if flagged and s == BAD else 0.0 for s in states]
            out.append((selector(m.FEATURE_DRIFTED.series, feature), drifted_now))
        out.append((selector(m.DATASET_DRIFT_SHARE.series, labels), [share if s != OK else 0.0 for s in states]))
        # NEAR: some features drifted, but fewer than drift_share
        out.append((selector(m.DATASET_DRIFTED.series, labels), [1.0 if s == BAD else 0.0 for s in states]))
        return out

    listing = ", ".join(f"{n}={psis[n]:.3f}" for n in sorted(drifted))
    return ctx.scenario(
        alert,
        series=series,
        labels={**labels, **alert.labels},
        values=lambda t: {"value": share, "drifted_features": listing},
    )


DATASET_DRIFT: AlertDefinition = AlertDefinition(
    name="DriftlineDatasetDrift",
    settings_key="dataset_drift",
    for_=minutes(15),
    keep_firing_for=minutes(30),
    severity="critical",
    summary="A model's input data drifted away from its training data; retraining is due.",
    description=lambda config: Text(
        "{value:percent} of the features of {model} drifted (feature=PSI: {drifted_features}). "
        "A retraining is requested.",
        drifted_features=drifted_features(config),
    ),
    expr=lambda config: _dataset_expr(decisions(config)),
    scenario=_dataset_drift,
    retrain=True,
    annotations=(
        ("drifted_features", lambda config: Text("{drifted_features}", drifted_features=drifted_features(config))),
    ),
    dashboard=MODEL_DRIFT_DASHBOARD,
    report=True,
    runbook="""
**Meaning.** At least `drift.drift_share` of the model's features drifted: for each of them the KS (numeric) or
chi-square (categorical) p-value, corrected across the model's features, is below `drift.alpha` **and** the PSI is at
least `drift.psi_threshold`. The live inputs are no longer the data the model was trained on. Severity `critical`,
label `action: retrain`: Alertmanager sent it to the retraining webhook, which starts one retraining per model per
`webhook.cooldown`. With `exporter.replicas` above 1 it is the decision Prometheus pooled from every replica's bin
counts over the first `alerting.pooling.windows` (the PSI's chi-square test, Bonferroni-corrected; no `instance`
label): docs/statistics.md, *Pooled drift across replicas*.

**Check.**
1. The alert's description (or `drifted_features` annotation) lists the drifted features with their PSI. Open the
   *Model drift* dashboard: *Features ranked by PSI* and *PSI per feature* show when each one moved.
2. Sudden jump in one step, many features at once, often with *Missing or invalid values* rising: suspect an
   upstream change (a renamed field, a unit change, a new client sending a different shape), not the world.
   Compare a few recent request payloads with the training data.
3. Gradual rise over days: real drift. Check *Prediction drift*: if the outputs moved too, the model already
   behaves differently.
4. Did the retraining start? The *Exporter* dashboard's *Retraining notifications* panel, the webhook's logs,
   and the GitHub Actions run of the model's repository.

**Act.** Upstream bug: fix the producer; the alert resolves `keep_firing_for` (30m) after the window is clean again
(the window must refill: up to `window.max_age`). Real drift: let the retraining run; the new model ships with a
new reference profile, which the exporter swaps in without a restart. Never silence this alert for longer than the
retraining takes.
""",
)


def _multivariate_drift(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
    labels = {**ctx.target, **ctx.model_labels}
    error, reference, upper = 1.42, 0.93, 0.97

    def series(states: list[str]) -> Series:
        return [
            (selector(m.MULTIVARIATE_ERROR.series, labels), [error if s != OK else 0.94 for s in states]),
            (selector(m.MULTIVARIATE_REFERENCE_ERROR.series, labels), [reference for _ in states]),
            (selector(m.MULTIVARIATE_ERROR_UPPER.series, labels), [upper for _ in states]),
            # NEAR: the error is up, but not significantly for the window's size
            (selector(m.MULTIVARIATE_DRIFTED.series, labels), [1.0 if s == BAD else 0.0 for s in states]),
        ]

    return ctx.scenario(
        alert,
        series=series,
        labels={**labels, **alert.labels},
        values=lambda t: {"value": error, "reference_error": f"{reference:.3f}"},
    )


MULTIVARIATE_DRIFT: AlertDefinition = AlertDefinition(
    name="DriftlineMultivariateDrift",
    settings_key="multivariate_drift",
    for_=minutes(15),
    keep_firing_for=minutes(30),
    severity="critical",
    summary="How a model's input features move together changed; retraining is due.",
    description=fixed(
        Text(
            "The live inputs of {model} no longer fit the principal components of its training data: their mean "
            "reconstruction error is {value:.3f}, against {reference_error} on the reference, significantly higher. "
            "A retraining is requested.",
            reference_error=value_of(m.MULTIVARIATE_REFERENCE_ERROR),
        )
    ),
    expr=lambda config: f"{m.MULTIVARIATE_ERROR.series} and on ({KEYS}) ({m.MULTIVARIATE_DRIFTED.series} == 1)",
    scenario=_multivariate_drift,
    retrain=True,
    dashboard=MODEL_DRIFT_DASHBOARD,
    report=True,
    runbook="""
**Meaning.** The model's config has `multivariate:`: its profile holds a PCA of the features (the components that
keep `multivariate.variance` of their variance). The window's rows come back through those components worse than
the reference's rows do — the window's mean reconstruction error is significantly above the reference's (one-sided,
at `drift.alpha`; docs/statistics.md, *Multivariate drift*). Something changed in how the features move *together*,
which the per-feature tests can miss: two features that rose together now move apart, a combination never seen in
training became common. Severity `critical`, label `action: retrain`, routed like `DriftlineDatasetDrift`.

**Check.**
1. *Model drift* dashboard, *Multivariate drift*: the error against the reference's and the upper band; when did it
   leave the band, suddenly or gradually?
2. Did `DriftlineDatasetDrift` or `DriftlineFeatureDrift` fire too? Then the marginals moved as well: start there.
   If not, the relation changed while each feature kept its distribution: compare pairs of features in a recent
   sample with the training data (a scatter plot of the two or three features that carry the most variance).
3. An upstream join or a mix-up of columns (two fields swapped, a feature computed from another row) also breaks
   the relation: check recent payloads against the training data's schema.

**Act.** A pipeline fault: fix it; the alert resolves `keep_firing_for` (30m) after the window is clean. A real
change in the data: let the retraining run; the new profile's PCA describes the new relation.
""",
)


def _prediction_drift(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
    if pooling.pooled(ctx.config) and ctx.model.outputs:
        return _pooled_column_drift(alert, ctx, pooling.OUTPUTS)
    output = ctx.model.outputs[0].name if ctx.model.outputs else "prediction"
    labels = {**ctx.target, **ctx.model_labels, "output": output}
    return _column_drift(alert, ctx, m.PREDICTION_PSI, m.PREDICTION_DRIFTED, labels, 0.4)


PREDICTION_DRIFT: AlertDefinition = AlertDefinition(
    name="DriftlinePredictionDrift",
    settings_key="prediction_drift",
    for_=minutes(15),
    keep_firing_for=minutes(15),
    severity="warning",
    summary="A model's predictions drifted away from those on its training data.",
    description=fixed(Text("Output {output} of {model} drifted: PSI {value:.3f}.")),
    expr=lambda config: _column_expr(config, pooling.OUTPUTS),
    scenario=_prediction_drift,
    dashboard=MODEL_DRIFT_DASHBOARD,
    report=True,
    runbook="""
**Meaning.** The distribution of a model output (from response events) differs from the outputs on the reference
data: the model predicts differently than it did on its training data — more churners, higher scores.

**Check.** Is input drift present too (*PSI per feature*)? Prediction drift without input drift can mean a new model
version was deployed without a new reference profile (compare `driftline_reference_info`'s `version` with the model's
release) or a changed post-processing step.

**Act.** New model version: rebuild its reference (`driftline profile`) from its training data. Otherwise follow
*DriftlineDatasetDrift*.
""",
)


ALERTS = (FEATURE_DRIFT, DATASET_DRIFT, MULTIVARIATE_DRIFT, PREDICTION_DRIFT)
