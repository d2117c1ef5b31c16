"""The data-quality alerts: a feature's share of values outside the reference's range, of categories the reference
never had, or of values the payload did not deliver readably — over the last 5 minutes, from the exporter's counters
(``driftline_feature_values_total``, ``driftline_feature_payload_errors_total``), summed across replicas. Warnings:
bad data is fixed upstream, not by retraining."""

from __future__ import annotations

from drift import catalogue as m

from ..scenarios import BAD, NEAR, OK, RATE_WINDOW, Scenario, ScenarioContext, Series, counter, number, selector
from ..settings import RATIO, Knob, minutes
from .definition import MODEL_DRIFT_DASHBOARD, AlertDefinition, fixed
from .text import Text

KEYS = "model, model_namespace, model_version, feature"
RANGE = f"[{RATE_WINDOW // 60}m]"


def _share(numerator: str) -> str:
    """The share of a feature's values that ``numerator`` counts, over the rate window, across replicas."""
    return f"sum by ({KEYS}) (rate({numerator}{RANGE})) / sum by ({KEYS}) (rate({m.FEATURE_VALUES.series}{RANGE}))"


OUT_OF_RANGE_SHARE = _share(f'{m.FEATURE_VALUES.series}{{quality="out_of_range"}}')
UNSEEN_SHARE = _share(f'{m.FEATURE_VALUES.series}{{quality="unseen_category"}}')
PAYLOAD_ERROR_SHARE = _share(m.FEATURE_PAYLOAD_ERRORS.series)


def _share_threshold(meaning: str) -> tuple[Knob, ...]:
    """The one knob of a data-quality alert: the share of bad values that fires it, 1% by default."""
    return (Knob("threshold", RATIO, 0.01, meaning),)


def _share_scenario(quality: str, numeric: bool, error: str | None = None):  # type: ignore[no-untyped-def]
    """Per step, 1,000 values of the model's first numeric (or categorical) feature: the bad ones above the
    threshold while BAD, just below it while NEAR."""

    def scenario(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
        threshold = alert.settings(ctx.config).limit
        total = 1000
        bad = {OK: 0, BAD: min(total, int(threshold * total) + 1), NEAR: max(0, int(threshold * total) - 1)}
        columns = [c for c in ctx.model.features if c.is_numeric == numeric] or list(ctx.model.features)
        labels = {**ctx.target, **ctx.model_labels, "feature": columns[0].name}

        def series(states: list[str]) -> Series:
            good, wrong = counter([total - bad[s] for s in states]), counter([bad[s] for s in states])
            out = [
                (selector(m.FEATURE_VALUES.series, {**labels, "quality": "valid"}), good),
                (selector(m.FEATURE_VALUES.series, {**labels, "quality": quality}), wrong),
            ]
            if error is not None:  # an unreadable value is counted missing, and as its payload error
                out.append((selector(m.FEATURE_PAYLOAD_ERRORS.series, {**labels, "error": error}), wrong))
            return out

        alert_labels = {k: v for k, v in labels.items() if k in KEYS.split(", ")}
        return ctx.scenario(
            alert,
            series=series,
            labels={**alert_labels, **alert.labels},
            values=lambda t: {"value": bad[BAD] / total},
            rate_based=True,
        )

    return scenario


OUT_OF_RANGE: AlertDefinition = AlertDefinition(
    name="DriftlineFeatureOutOfRange",
    settings_key="out_of_range",
    for_=minutes(15),
    keep_firing_for=minutes(15),
    knobs=_share_threshold("a numeric feature's share of values beyond the reference's range over 5 minutes"),
    severity="warning",
    summary="A feature's live values fall outside the range the model was trained on.",
    description=fixed(
        Text(
            "{value:percent} of the values of feature {feature} of {model} over the last 5 minutes are outside the "
            "reference's range (with drift.range_margin)."
        )
    ),
    expr=lambda config: f"{OUT_OF_RANGE_SHARE} > {number(OUT_OF_RANGE.settings(config).limit)}",
    scenario=_share_scenario("out_of_range", numeric=True),
    dashboard=MODEL_DRIFT_DASHBOARD,
    runbook="""
**Meaning.** More than the threshold (`alerting.alerts.out_of_range.threshold`: {threshold}) of a numeric
feature's values are below the reference's minimum or above its maximum (widened by `drift.range_margin` times the
range on each side). The model never saw such values in training: it extrapolates, and tree models clamp them
silently.

**Check.** *Data quality* row of the *Model drift* dashboard: which feature, since when, how many. A sudden jump: a
unit change (metres → centimetres, a ratio → a percentage), a sentinel such as `-1` or `999999` for "unknown", or an
upstream bug. A slow climb: the population moves beyond the training data — look at the feature's PSI too.

**Act.** A pipeline or unit fault: fix it upstream. Real new values: retrain on data that covers them, or raise
`drift.range_margin` if values somewhat beyond the training range are expected and harmless.
""",
)

UNSEEN_CATEGORIES: AlertDefinition = AlertDefinition(
    name="DriftlineUnseenCategories",
    settings_key="unseen_categories",
    for_=minutes(15),
    keep_firing_for=minutes(15),
    knobs=_share_threshold("a categorical feature's share of categories the reference never saw over 5 minutes"),
    severity="warning",
    summary="A categorical feature carries categories the model never saw in training.",
    description=fixed(
        Text(
            "{value:percent} of the values of feature {feature} of {model} over the last 5 minutes are categories "
            "the reference data does not have."
        )
    ),
    expr=lambda config: f"{UNSEEN_SHARE} > {number(UNSEEN_CATEGORIES.settings(config).limit)}",
    scenario=_share_scenario("unseen_category", numeric=False),
    dashboard=MODEL_DRIFT_DASHBOARD,
    runbook="""
**Meaning.** More than the threshold (`alerting.alerts.unseen_categories.threshold`: {threshold}) of a categorical
feature's values are categories the reference data does not contain: neither among the profile's kept categories nor
among the rare ones it lists. A column with more than 10,000 rare categories (identifiers, free text) is not
checked: a rare known value and a new one look alike there.

**Check.** The live report (`GET /report/{namespace}/{model}`) shows the window's categories; compare with the
training data's. Typical causes: a new product, country or plan launched; a renamed or re-cased value (`"Monthly"`
vs `"monthly"`); an upstream default such as `"unknown"` or an empty string replaced by a placeholder.

**Act.** Renamed values: map them back upstream. New real categories: the model encodes them as unknown — retrain
with data that includes them.
""",
)

PAYLOAD_ERRORS: AlertDefinition = AlertDefinition(
    name="DriftlineFeaturePayloadErrors",
    settings_key="payload_errors",
    for_=minutes(15),
    keep_firing_for=minutes(15),
    knobs=_share_threshold("a feature's share of values that could not be read (missing, wrong type) over 5 minutes"),
    severity="warning",
    summary="Requests carry a feature with the wrong type, or without it.",
    description=fixed(
        Text(
            "{value:percent} of the values of feature {feature} of {model} over the last 5 minutes could not be "
            "read: the wrong type (a string where a number is expected) or the column absent from the payload. They "
            "count as missing."
        )
    ),
    expr=lambda config: f"{PAYLOAD_ERROR_SHARE} > {number(PAYLOAD_ERRORS.settings(config).limit)}",
    scenario=_share_scenario("missing", numeric=True, error="type"),
    dashboard=MODEL_DRIFT_DASHBOARD,
    runbook="""
**Meaning.** More than the threshold (`alerting.alerts.payload_errors.threshold`: {threshold}) of a feature's
values in the logged requests were unreadable: of the wrong type
(`driftline_feature_payload_errors_total{error="type"}`: a non-numeric string or an object in a numeric column, an
object in a categorical one) or absent (`error="absent"`: a v1 object row without the key, a v2 request without the
tensor). The model server received the same payload: the model may have failed or imputed a default.

**Check.** The *Data quality* row splits the errors by kind. A deployment of the client or the feature pipeline at
the start? A renamed feature is absent under its old name (check the config's `features` against the request). A
new client sending numbers as formatted strings (`"1,234.5"`)?

**Act.** Fix the client or the feature pipeline; if the schema changed on purpose, update the config's `features`
(and retrain, the model's inputs changed).
""",
)

ALERTS = (OUT_OF_RANGE, UNSEEN_CATEGORIES, PAYLOAD_ERRORS)
