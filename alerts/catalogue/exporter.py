"""Alerts about driftline's own health: the exporter scraped, fed, referenced and accepting what it is sent."""

from __future__ import annotations

import math

from drift import catalogue as m

from .. import promql as q
from ..config import DeploymentConfig
from ..scenarios import BAD, NEAR, OK, Scenario, ScenarioContext, Series, counter, number, selector
from ..settings import DURATION, RATIO, Knob, minutes
from .definition import SELF_DASHBOARD, AlertDefinition, fixed
from .text import IfLabel, Query, Text

REJECT_REASONS = Query(
    f'{{{{ range $i, $r := query (printf "{q.REJECTED_RATE}{{job=%q}} > 0" $labels.job) | sortByLabel "reason" }}}}'
    '{{ if $i }}, {{ end }}{{ $r.Labels.reason }} {{ printf "%.2f" $r.Value }}/s{{ end }}'
)


def _job(config: DeploymentConfig) -> str:
    return f"job={q.string(config.alerting.exporter_job)}"


def _exporter_down(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
    return ctx.flag(alert, "up", ctx.target, bad=0.0, ok=1.0)


EXPORTER_DOWN: AlertDefinition = AlertDefinition(
    name="DriftlineExporterDown",
    settings_key="exporter_down",
    for_=minutes(5),
    keep_firing_for=None,
    severity="warning",
    summary="The driftline exporter is not being scraped; drift is not monitored.",
    description=fixed(
        Text(
            "{target} Drift alerts from this exporter are inhibited until it is back.",
            target=IfLabel(
                "instance",
                Text("Prometheus cannot scrape the driftline exporter {instance} (job {job})."),
                Text(
                    "Prometheus has no target for job {job}: the exporter is not running or not discovered (check "
                    "its ServiceMonitor)."
                ),
            ),
        )
    ),
    expr=lambda config: f"up{{{_job(config)}}} == 0 or absent(up{{{_job(config)}}})",
    scenario=_exporter_down,
    dashboard=SELF_DASHBOARD,
    runbook="""
**Meaning.** Prometheus cannot scrape the driftline exporter (`up == 0`), or has no target for its job at all. Drift
is not being measured; drift alerts of this job are inhibited meanwhile.

**Check.** `kubectl -n <namespace> get pods -l app.kubernetes.io/name=driftline`; `kubectl logs` of the exporter (JSON
lines; a config error is one line naming the key). No target at all: the ServiceMonitor's selector does not match the
Service, or the Prometheus Operator does not select the ServiceMonitor (labels), or `alerting.exporter_job` does
not match the job name. Check *Status → Targets* in Prometheus.

**Act.** Fix the deployment. With `exporter.state_dir` on a volume (the Kubernetes base mounts one) a restarted
exporter restores its windows from the last checkpoint (`driftline_window_restores_total`); without it they refill
from new traffic. Pull mode resumes from its watermark.
""",
)


def _no_traffic(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
    labels = {**ctx.target, **ctx.model_labels}
    events = {**labels, "type": "request", "outcome": "accepted"}

    def series(states: list[str]) -> Series:
        return [
            (selector(m.WINDOW_SAMPLES.series, labels), [0.0 if s == BAD else 500.0 for s in states]),
            (selector(m.EVENTS.series, events), counter([0 if s == BAD else 30 for s in states])),
        ]

    return ctx.scenario(alert, series=series, labels={**labels, **alert.labels}, has_near=False)


NO_TRAFFIC: AlertDefinition = AlertDefinition(
    name="DriftlineNoTraffic",
    settings_key="no_traffic",
    for_=minutes(30),
    keep_firing_for=minutes(10),
    severity="warning",
    summary="A monitored model receives no logged requests; its drift cannot be measured.",
    description=fixed(
        Text(
            "No inference requests from {model} reached the driftline exporter. Check the InferenceService's "
            "logger (url, mode) and that the model is serving traffic."
        )
    ),
    expr=lambda config: (
        f"(max without (model_version) ({m.WINDOW_SAMPLES.series}) == 0) or on ({q.MODEL_LABELS}) "
        f'(sum by ({q.MODEL_LABELS}) (rate({m.EVENTS.series}{{type="request"}}[5m])) == 0)'
    ),
    scenario=_no_traffic,
    dashboard=SELF_DASHBOARD,
    runbook="""
**Meaning.** The model's window is empty, or no request event reached the exporter for 5 minutes, for the alert's
`for` (30m). Drift cannot be measured without traffic.

**Check.** Is the model serving (*Serving health* dashboard: *Request rate*, served vs logged)? If it serves but
nothing is logged: the InferenceService's `spec.predictor.logger` (`mode: all`, `url` pointing at the exporter's
Service), the NetworkPolicy between the model's namespace and the exporter, and the exporter's
`driftline_events_rejected_total{reason="unknown_model"}` (model name/namespace not in the config).

**Act.** Fix the logger or the config. For models that are legitimately idle at night, raise
`alerting.alerts.no_traffic.for` or disable the alert.
""",
)


def _reference_not_loaded(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
    return ctx.flag(alert, m.REFERENCE_LOADED.series, {**ctx.target, **ctx.model_labels}, bad=0.0, ok=1.0)


REFERENCE_NOT_LOADED: AlertDefinition = AlertDefinition(
    name="DriftlineReferenceNotLoaded",
    settings_key="reference_not_loaded",
    for_=minutes(10),
    keep_firing_for=None,
    severity="warning",
    summary="The exporter has no reference profile for a model; its drift is not evaluated.",
    description=fixed(
        Text(
            "The reference profile of {model} is not loaded (the exporter's /readyz fails). The exporter logs why: "
            "usually the profile is missing (run driftline profile) or S3 denies access."
        )
    ),
    expr=lambda config: f"{m.REFERENCE_LOADED.series} == 0",
    scenario=_reference_not_loaded,
    dashboard=SELF_DASHBOARD,
    runbook="""
**Meaning.** The exporter has no reference profile for the model, so it cannot evaluate drift; its `/readyz` fails.

**Check.** The exporter logs why, with the profile's URI: missing object (the profile was never built — run
`driftline profile --config CFG --model NAME`), access denied (the ServiceAccount's IAM role cannot read the bucket),
or a profile that does not match the configured features (rebuild it). The exporter retries with backoff.

For a model version (`model_version` label): the version has no reference of its own. The log names the URI
tried: the one listed under `versions.references`, `reference.profile` with `{version}` filled in, or
`reference.profile` itself, which serves a version only when it was built with `--model-version` for it. Its traffic
is windowed and counted but compared with nothing until its profile loads.

**Act.** Build or fix the profile, or fix the IAM policy; the exporter picks it up without a restart. A retraining
pipeline builds the new version's profile next to the model (`deploy/kfp/`).
""",
)


def _reference_stale(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
    labels = {**ctx.target, **ctx.model_labels}
    max_age = alert.settings(ctx.config).limit
    # Test time starts at the Unix epoch, so a profile "built max_age ago" has a negative timestamp:
    # BAD is just past max_age at t=0, NEAR one day younger than max_age throughout the test.
    created = {OK: 0.0, BAD: -max_age, NEAR: -max_age + 86400.0}

    def series(states: list[str]) -> Series:
        return [(selector(m.REFERENCE_CREATED.series, labels), [created[s] for s in states])]

    return ctx.scenario(
        alert, series=series, labels={**labels, **alert.labels}, values=lambda t: {"value": t + max_age}
    )


REFERENCE_STALE: AlertDefinition = AlertDefinition(
    name="DriftlineReferenceStale",
    settings_key="reference_stale",
    for_=minutes(60),
    keep_firing_for=None,
    knobs=(Knob("max_age", DURATION, 90 * 86400.0, "the age of the reference profile at which it is stale"),),
    severity="warning",
    summary="A model's reference profile is old; drift is measured against outdated data.",
    description=fixed(
        Text(
            "The reference profile of {model} was built {value:duration} ago. Retrain the model or rebuild the "
            "profile from current training data."
        )
    ),
    expr=lambda config: f"time() - {m.REFERENCE_CREATED.series} > {number(REFERENCE_STALE.settings(config).limit)}",
    scenario=_reference_stale,
    dashboard=SELF_DASHBOARD,
    runbook="""
**Meaning.** The loaded reference profile was built longer ago than `alerting.alerts.reference_stale.max_age`
({max_age}). Drift measured against an old snapshot of the training data says less and less.

**Check.** `driftline_reference_info` shows the profile's `version` and `source`; the *Exporter* dashboard shows its
age. Has the model been retrained since without the profile being rebuilt?

**Act.** Rebuild the profile from the current training data (`driftline profile`) — the retraining pipeline should
do this with every new model — or retrain.
""",
)


def _reject_rate(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
    threshold = alert.settings(ctx.config).limit
    total = 1000
    rejected = {
        OK: 0,
        BAD: min(total, math.floor(threshold * total) + 1),
        NEAR: max(0, math.ceil(threshold * total) - 1),
    }
    job = {"job": ctx.alerting.exporter_job}
    kept = {**ctx.target, **ctx.model_labels, "type": "request", "outcome": "accepted"}
    reason = {**ctx.target, "reason": "bad_json"}

    def series(states: list[str]) -> Series:
        return [
            (selector(m.EVENTS.series, kept), counter([total - rejected[s] for s in states])),
            (selector(m.EVENTS_REJECTED.series, reason), counter([rejected[s] for s in states])),
        ]

    step = ctx.step
    return ctx.scenario(
        alert,
        series=series,
        labels={**job, **alert.labels},
        values=lambda t: {
            "value": rejected[BAD] / total,
            "reject_reasons": f"bad_json {rejected[BAD] / step:.2f}/s",
        },
        rate_based=True,
    )


REJECT_RATE: AlertDefinition = AlertDefinition(
    name="DriftlineHighRejectRate",
    settings_key="reject_rate",
    for_=minutes(15),
    keep_firing_for=minutes(10),
    knobs=(Knob("threshold", RATIO, 0.05, "the share of the exporter's requests refused (a 4xx) over 5 minutes"),),
    severity="warning",
    summary="The driftline exporter rejects many inference logger events.",
    description=fixed(
        Text(
            "{value:percent} of the events sent to {job} are rejected, by reason: {reject_reasons}. The exporter's "
            "logs name each bad event.",
            reject_reasons=REJECT_REASONS,
        )
    ),
    expr=lambda config: f"{q.REJECTED_RATIO} > {number(REJECT_RATE.settings(config).limit)}",
    scenario=_reject_rate,
    dashboard=SELF_DASHBOARD,
    runbook="""
**Meaning.** More than the threshold (`alerting.alerts.reject_rate.threshold`: {threshold}) of the events sent to
this exporter are rejected. The description lists the reasons with their rates.

**Check.** By reason: `bad_json`, `unsupported_payload` — a body that is not a KServe v1/v2 JSON payload;
`binary_payload` — the v2 binary tensor extension, which cannot be decoded without a header the logger does not
forward (send JSON tensors); `missing_attributes` — an event without the CloudEvents headers (something other than
KServe's logger posts to the exporter); `unsupported_type` — a CloudEvent that is neither an inference request nor a
response (e.g. explainer events routed to the exporter); `shape_mismatch` — the model's feature list in the config
does not match the request's columns (a new model version with new features?); `unknown_model` — an InferenceService
logs to this exporter but is not in its config; `too_large` — raise `exporter.max_body_bytes`. The exporter logs each
rejected event with its reason.

**Act.** Fix the config (features, models) or the client; rejected events never count as drift.
""",
)

# Each pull-mode object counter, told apart by the kind of object (increase() drops the metric's name).
QUARANTINED = (
    f"sum by (job, {q.MODEL_LABELS}, kind) ("
    f'label_replace(increase({m.LOG_OBJECTS.series}{{outcome="quarantined"}}[5m]), "kind", "payload", "", "") or '
    f'label_replace(increase({m.LABEL_OBJECTS.series}{{outcome="quarantined"}}[5m]), "kind", "label", "", ""))'
)


def _counters_rise(
    alert: AlertDefinition, ctx: ScenarioContext, rising: list[tuple[str, dict[str, str], float]], extra: dict[str, str]
) -> Scenario:
    """A scenario for an alert on counters that rise while BAD: each ``(series, labels, increment per step)``; the
    alert fires with its job, the model's labels and ``extra``."""

    def series(states: list[str]) -> Series:
        return [
            (
                selector(name, {**ctx.target, **ctx.model_labels, **labels}),
                counter([n if s == BAD else 0.0 for s in states]),
            )
            for name, labels, n in rising
        ]

    alert_labels = {"job": ctx.target["job"], **ctx.model_labels, **extra}
    return ctx.scenario(alert, series=series, labels={**alert_labels, **alert.labels}, rate_based=True, has_near=False)


def _objects_quarantined(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
    quarantined = {"outcome": "quarantined"}
    rising = [(m.LOG_OBJECTS.series, quarantined, 1.0), (m.LABEL_OBJECTS.series, quarantined, 0.0)]
    return _counters_rise(alert, ctx, rising, {"kind": "payload"})


OBJECTS_QUARANTINED: AlertDefinition = AlertDefinition(
    name="DriftlineObjectsQuarantined",
    settings_key="objects_quarantined",
    for_=minutes(0),
    keep_firing_for=minutes(60),
    severity="warning",
    summary="The exporter skipped archived objects in S3 it could not use.",
    description=fixed(
        Text(
            "{model}: {kind} objects in S3 were quarantined in the last 5 minutes (unreadable, larger than "
            "max_object_bytes or beyond a decoding limit): their rows or labels are not counted. The exporter's log "
            "names each object and why; its watermark file lists the latest."
        )
    ),
    expr=lambda config: f"{QUARANTINED} > 0",
    scenario=_objects_quarantined,
    dashboard=SELF_DASHBOARD,
    runbook="""
**Meaning.** In pull mode, an object under `source.s3_logs` (`kind="payload"`) or `feedback.s3_labels`
(`kind="label"`) could not be used and was quarantined: counted (`driftline_log_objects_total` /
`driftline_label_objects_total` with `outcome="quarantined"`), logged once, and passed for good — the watermark moves
past it, so neither a later poll nor a restart reads it again, and the objects after it are read as usual.

**Check.** The exporter's log line `archived object quarantined` names the key and the reason; the watermark file
(`watermark`) lists the latest 100 under `quarantined`. Reasons: larger than `max_object_bytes` (default 16 MiB); more
than 100,000 records; a Parquet file that decodes to more than 8 × `max_object_bytes`; not JSON, CSV or Parquet;
nested deeper than the decoder allows; not downloadable three polls running (access denied, a KMS key).

**Act.** A writer other than KServe's logger or your label job writes under the prefix: point it elsewhere. Objects
too large for a good reason: raise `max_object_bytes`. To count a quarantined object after all, copy it to a new key
(a new LastModified) once the cause is fixed.
""",
)


def _version_without_reference(alert: AlertDefinition, ctx: ScenarioContext) -> Scenario:
    return _counters_rise(alert, ctx, [(m.UNVERSIONED_EVENTS.series, {"reason": "no_reference"}, 30.0)], {})


VERSION_WITHOUT_REFERENCE: AlertDefinition = AlertDefinition(
    name="DriftlineVersionWithoutReference",
    settings_key="version_without_reference",
    for_=minutes(10),
    keep_firing_for=minutes(10),
    severity="warning",
    summary="A model version serves traffic but has no reference profile; its drift is not measured.",
    description=fixed(
        Text(
            "Events of {model} name a model version that has no reference profile: they are counted, not windowed. "
            "The exporter's /readyz lists the versions and its log says which profile was tried."
        )
    ),
    expr=lambda config: (
        f'sum by (job, {q.MODEL_LABELS}) (increase({m.UNVERSIONED_EVENTS.series}{{reason="no_reference"}}[5m])) > 0'
    ),
    scenario=_version_without_reference,
    dashboard=SELF_DASHBOARD,
    runbook="""
**Meaning.** A model with `versions:` receives events of a version that is not listed under `versions.references`
and whose reference profile does not exist (or records another version). So that made-up versions cannot take the
`versions.max_versions` slots of real ones, such a version gets no windows: its events are counted
(`driftline_unversioned_events_total{reason="no_reference"}`) and the version is looked up again after
`exporter.reference_check_every`.

**Check.** `/readyz` of the exporter lists them under `versions_without_reference`; the log line `a model version
without a reference` names the URI tried. A real rollout: the new version's profile was not built (the retraining
pipeline's profile step), or was written elsewhere. Unknown versions: a client sets the version header or
annotation itself.

**Act.** Build the version's profile (`driftline profile --config CFG --model NAME --model-version V`) or list it
under `versions.references`; it is picked up within `reference_check_every`, with no restart.
""",
)

ALERTS = (
    EXPORTER_DOWN,
    NO_TRAFFIC,
    REFERENCE_NOT_LOADED,
    REFERENCE_STALE,
    REJECT_RATE,
    OBJECTS_QUARANTINED,
    VERSION_WITHOUT_REFERENCE,
)
# Alerts that describe what the exporter measured: held back while it is down.
MEASURED = (NO_TRAFFIC, REJECT_RATE, REFERENCE_NOT_LOADED, OBJECTS_QUARANTINED, VERSION_WITHOUT_REFERENCE)
