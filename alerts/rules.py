"""Prometheus recording and alerting rules, generated from the monitor config (monitoring-mixin conventions).

``rule_groups(config)`` returns plain data (the ``groups:`` list of a rules file); rendering to YAML and wrapping
into a ``PrometheusRule`` happen at the edge. Alert names are CamelCase with a ``Driftline`` prefix; every alert has
``severity``, a static ``summary``, a templated ``description`` and a ``runbook_url``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drift import catalogue as m
from drift.config import AlertingConfig, AlertSettings, MonitorConfig

from . import promql as q


@dataclass(frozen=True)
class Alert:
    """One alerting rule before rendering: what it watches and how it reads to on-call."""

    name: str
    settings_key: str
    expr: str
    severity: str
    summary: str
    description: str
    extra_labels: tuple[tuple[str, str], ...] = ()
    extra_annotations: tuple[tuple[str, str], ...] = ()
    dashboard: str | None = None  # uid of the dashboard to link, with the alert's model selected

    report: bool = False  # links the exporter's live drift report of the alert's model (alerting.exporter_url)

    def rule(self, alerting: AlertingConfig, settings: AlertSettings) -> dict[str, Any]:
        rule: dict[str, Any] = {"alert": self.name, "expr": self.expr}
        if settings.for_.seconds > 0:
            rule["for"] = str(settings.for_)
        if settings.keep_firing_for is not None:
            rule["keep_firing_for"] = str(settings.keep_firing_for)
        rule["labels"] = {"severity": self.severity, **dict(self.extra_labels)}
        annotations = {
            "summary": self.summary,
            "description": self.description,
            "runbook_url": alerting.runbook(self.name),
            **dict(self.extra_annotations),
        }
        if self.dashboard is not None and alerting.grafana_url is not None:
            annotations["dashboard_url"] = dashboard_link(alerting.grafana_url, self.dashboard)
        if self.report and alerting.exporter_url is not None:
            annotations["report_url"] = report_link(alerting.exporter_url)
        rule["annotations"] = annotations
        return rule


def dashboard_link(grafana_url: str, uid: str) -> str:
    """A Grafana link to dashboard ``uid`` with the alert's model selected (a template in the alert's labels)."""
    return (
        f"{grafana_url.rstrip('/')}/d/{uid}?var-model_namespace={{{{ $labels.model_namespace }}}}"
        "&var-model={{ $labels.model }}"
    )


def report_link(
    exporter_url: str, namespace: str = "{{ $labels.model_namespace }}", model: str = "{{ $labels.model }}"
) -> str:
    """The exporter's live drift report of a model (``GET /report/{namespace}/{model}``)."""
    return f"{exporter_url.rstrip('/')}/report/{namespace}/{model}"


def number(value: float) -> str:
    """A threshold as PromQL reads it and a human writes it: ``7776000``, ``0.05``, never ``7.776e+06``."""
    return f"{value:.12g}" if abs(value) < 1e15 else repr(value)


MODEL_DRIFT_DASHBOARD = "driftline-model-drift"
SERVING_DASHBOARD = "driftline-serving"
SELF_DASHBOARD = "driftline-exporter"

_MODEL = "{{ $labels.model_namespace }}/{{ $labels.model }}"
_DRIFTED_FEATURES = (
    "{{ range $i, $f := query (printf "
    f'"{m.FEATURE_PSI.series}{{model=%q,model_namespace=%q}} and on (model, model_namespace, feature) '
    f'{m.FEATURE_DRIFTED.series}{{model=%q,model_namespace=%q}} == 1" '
    "$labels.model $labels.model_namespace $labels.model $labels.model_namespace) "
    '| sortByLabel "feature" }}{{ if $i }}, {{ end }}{{ $f.Labels.feature }}={{ printf "%.3f" $f.Value }}{{ end }}'
)
_REJECT_REASONS = (
    f'{{{{ range $i, $r := query (printf "{q.REJECTED_RATE}{{job=%q}} > 0" $labels.job) | sortByLabel "reason" }}}}'
    '{{ if $i }}, {{ end }}{{ $r.Labels.reason }} {{ printf "%.2f" $r.Value }}/s{{ end }}'
)


def drift_alerts(config: MonitorConfig) -> list[Alert]:
    keys = "job, instance, model, model_namespace"
    return [
        Alert(
            name="DriftlineFeatureDrift",
            settings_key="feature_drift",
            expr=f"{m.FEATURE_PSI.series} and on ({keys}, feature) ({m.FEATURE_DRIFTED.series} == 1)",
            severity="warning",
            summary="A model input feature drifted away from its training data.",
            description=(
                f'Feature {{{{ $labels.feature }}}} of {_MODEL} drifted: PSI {{{{ printf "%.3f" $value }}}}, '
                "significant after correction for the model's features."
            ),
            dashboard=MODEL_DRIFT_DASHBOARD,
            report=True,
        ),
        Alert(
            name="DriftlineDatasetDrift",
            settings_key="dataset_drift",
            expr=f"{m.DATASET_DRIFT_SHARE.series} and on ({keys}) ({m.DATASET_DRIFTED.series} == 1)",
            severity="critical",
            summary="A model's input data drifted away from its training data; retraining is due.",
            description=(
                f"{{{{ $value | humanizePercentage }}}} of the features of {_MODEL} drifted "
                f"(feature=PSI: {_DRIFTED_FEATURES}). A retraining is requested."
            ),
            extra_labels=(("action", "retrain"),),
            extra_annotations=(("drifted_features", _DRIFTED_FEATURES),),
            dashboard=MODEL_DRIFT_DASHBOARD,
            report=True,
        ),
        Alert(
            name="DriftlinePredictionDrift",
            settings_key="prediction_drift",
            expr=f"{m.PREDICTION_PSI.series} and on ({keys}, output) ({m.PREDICTION_DRIFTED.series} == 1)",
            severity="warning",
            summary="A model's predictions drifted away from those on its training data.",
            description=(f'Output {{{{ $labels.output }}}} of {_MODEL} drifted: PSI {{{{ printf "%.3f" $value }}}}.'),
            dashboard=MODEL_DRIFT_DASHBOARD,
            report=True,
        ),
        Alert(
            name="DriftlinePerformanceDrop",
            settings_key="performance_drop",
            expr=f"{m.PERFORMANCE_DEGRADATION.series} and on ({keys}) ({m.PERFORMANCE_DROPPED.series} == 1)",
            severity="critical",
            summary="A model got worse on its labelled predictions than on its training data; retraining is due.",
            description=(
                f"The quality of {_MODEL} on its recent labelled predictions is {{{{ $value | humanizePercentage }}}} "
                "below the reference's (target.metric), and its error rate "
                f"({_percent_of(m.PERFORMANCE_ERROR_RATE.series)}) is significantly above the reference's "
                f"({_percent_of(m.REFERENCE_ERROR_RATE.series)}). "
                "A retraining is requested."
            ),
            extra_labels=(("action", "retrain"),),
            dashboard=MODEL_DRIFT_DASHBOARD,
            report=True,
        ),
        Alert(
            name="DriftlineConceptDrift",
            settings_key="concept_drift",
            expr=f"{m.CONCEPT_DRIFT.series} == 1",
            severity="warning",
            summary="A model's error rate rose within its recent labelled predictions: the concept changed.",
            description=(
                f"ADWIN found a significant rise of the error rate of {_MODEL} within its window of labelled "
                "predictions (ordered by prediction time): the relation between inputs and labels changed."
            ),
            dashboard=MODEL_DRIFT_DASHBOARD,
            report=True,
        ),
    ]


def _percent_of(metric: str) -> str:
    """A template printing ``metric`` of the alert's model as a percentage."""
    return (
        f'{{{{ with query (printf "{metric}{{model=%q,model_namespace=%q}}" $labels.model $labels.model_namespace) '
        "}}{{ . | first | value | humanizePercentage }}{{ end }}"
    )


def exporter_alerts(config: MonitorConfig, alerting: AlertingConfig) -> list[Alert]:
    job = f"job={q.string(alerting.exporter_job)}"
    stale = alerting.alerts.reference_stale.threshold or 0.0
    reject = alerting.alerts.reject_rate.threshold or 0.0
    return [
        Alert(
            name="DriftlineExporterDown",
            settings_key="exporter_down",
            expr=f"up{{{job}}} == 0 or absent(up{{{job}}})",
            severity="warning",
            summary="The driftline exporter is not being scraped; drift is not monitored.",
            description=(
                "{{ if $labels.instance }}Prometheus cannot scrape the driftline exporter {{ $labels.instance }} "
                "(job {{ $labels.job }}).{{ else }}Prometheus has no target for job {{ $labels.job }}: the exporter "
                "is not running or not discovered (check its ServiceMonitor).{{ end }} "
                "Drift alerts from this exporter are inhibited until it is back."
            ),
            dashboard=SELF_DASHBOARD,
        ),
        Alert(
            name="DriftlineNoTraffic",
            settings_key="no_traffic",
            expr=(
                f"({m.WINDOW_SAMPLES.series} == 0) or on ({q.MODEL_LABELS}) "
                f'(sum by ({q.MODEL_LABELS}) (rate({m.EVENTS.series}{{type="request"}}[5m])) == 0)'
            ),
            severity="warning",
            summary="A monitored model receives no logged requests; its drift cannot be measured.",
            description=(
                f"No inference requests from {_MODEL} reached the driftline exporter. Check the InferenceService's "
                "logger (url, mode) and that the model is serving traffic."
            ),
            dashboard=SELF_DASHBOARD,
        ),
        Alert(
            name="DriftlineReferenceNotLoaded",
            settings_key="reference_not_loaded",
            expr=f"{m.REFERENCE_LOADED.series} == 0",
            severity="warning",
            summary="The exporter has no reference profile for a model; its drift is not evaluated.",
            description=(
                f"The reference profile of {_MODEL} is not loaded (the exporter's /readyz fails). The exporter "
                "logs why: usually the profile is missing (run driftline profile) or S3 denies access."
            ),
            dashboard=SELF_DASHBOARD,
        ),
        Alert(
            name="DriftlineReferenceStale",
            settings_key="reference_stale",
            expr=f"time() - {m.REFERENCE_CREATED.series} > {number(stale)}",
            severity="warning",
            summary="A model's reference profile is old; drift is measured against outdated data.",
            description=(
                f"The reference profile of {_MODEL} was built {{{{ $value | humanizeDuration }}}} ago. "
                "Retrain the model or rebuild the profile from current training data."
            ),
            dashboard=SELF_DASHBOARD,
        ),
        Alert(
            name="DriftlineHighRejectRate",
            settings_key="reject_rate",
            expr=f"{q.REJECTED_RATIO} > {number(reject)}",
            severity="warning",
            summary="The driftline exporter rejects many inference logger events.",
            description=(
                "{{ $value | humanizePercentage }} of the events sent to {{ $labels.job }} are rejected, by reason: "
                f"{_REJECT_REASONS}. The exporter's logs name each bad event."
            ),
            dashboard=SELF_DASHBOARD,
        ),
    ]


def serving_alerts(config: MonitorConfig, alerting: AlertingConfig) -> list[Alert]:
    latency = alerting.alerts.serving_latency
    quantile = latency.quantile or 0.99
    errors = alerting.alerts.serving_errors.threshold or 0.0
    return [
        Alert(
            name="DriftlineServingErrors",
            settings_key="serving_errors",
            expr=f"{q.configured_models(config, q.SERVING_ERROR_RATIO)} > {number(errors)}",
            severity="critical",
            summary="A monitored model answers many requests with server errors.",
            description=(
                f"{{{{ $value | humanizePercentage }}}} of the requests to {_MODEL} fail with a server error. "
                "Drift alerts of the model are inhibited while it fails."
            ),
            dashboard=SERVING_DASHBOARD,
        ),
        Alert(
            name="DriftlineServingLatency",
            settings_key="serving_latency",
            expr=(
                q.configured_models(config, q.SERVING_LATENCY, f'quantile="{q.quantile_label(quantile)}"')
                + f" > {number(latency.threshold or 0.0)}"
            ),
            severity="warning",
            summary="A monitored model answers slowly.",
            description=(
                f"The {q.quantile_label(quantile * 100)}th percentile latency of {_MODEL} is "
                "{{ $value | humanizeDuration }}."
            ),
            dashboard=SERVING_DASHBOARD,
        ),
    ]


def webhook_alerts(config: MonitorConfig) -> list[Alert]:
    failed = f'increase({m.RETRAIN_NOTIFICATIONS.series}{{outcome="failed"}}[{q.FAILED_WINDOW}]) > 0'
    return [
        Alert(
            name="DriftlineRetrainingFailed",
            settings_key="retraining_failed",
            expr=failed,
            severity="critical",
            summary="The retraining webhook gave up starting a retraining; a drifted model is not being retrained.",
            description=(
                'The retraining webhook {{ $labels.instance }} gave up on {{ printf "%.0f" $value }} retraining '
                f"start(s) in the last {q.FAILED_WINDOW}. Its log names the model and GitHub's or Kubeflow's answer; "
                "start the retraining by hand once the cause is fixed."
            ),
            dashboard=SELF_DASHBOARD,
        ),
        Alert(
            name="DriftlineRetrainingStuck",
            settings_key="retraining_stuck",
            expr=f'{m.OUTBOX_DISPATCHES.series}{{state="pending"}} > 0',
            severity="warning",
            summary="Retraining starts wait in the webhook's outbox: the target keeps failing or rate-limiting.",
            description=(
                '{{ printf "%.0f" $value }} retraining start(s) have been waiting in the outbox of the retraining '
                "webhook {{ $labels.instance }}; its log says what GitHub or Kubeflow Pipelines answers."
            ),
            dashboard=SELF_DASHBOARD,
        ),
    ]


def all_alerts(config: MonitorConfig) -> list[Alert]:
    alerting = config.alerting
    return (
        drift_alerts(config)
        + exporter_alerts(config, alerting)
        + serving_alerts(config, alerting)
        + webhook_alerts(config)
    )


def recording_rules(config: MonitorConfig) -> list[dict[str, Any]]:
    rejected = f"sum by (job) (rate({m.EVENTS_REJECTED.series}[5m]))"
    kept = f'sum by (job) (rate({m.EVENTS.series}{{outcome!="rejected"}}[5m]))'
    return [
        {"record": q.FEATURES_DRIFTED, "expr": f"sum by ({q.MODEL_LABELS}) ({m.FEATURE_DRIFTED.series})"},
        {"record": q.EVENTS_RATE, "expr": f"sum by ({q.MODEL_LABELS}, type, outcome) (rate({m.EVENTS.series}[5m]))"},
        {"record": q.REJECTED_RATE, "expr": f"sum by (job, reason) (rate({m.EVENTS_REJECTED.series}[5m]))"},
        # every event is either rejected or kept; "or ... * 0" keeps the ratio defined when nothing was kept
        {"record": q.REJECTED_RATIO, "expr": f"{rejected} / ({rejected} + ({kept} or {rejected} * 0))"},
    ]


def serving_recording_rules(config: MonitorConfig) -> list[dict[str, Any]]:
    serving = config.alerting.serving
    rules: list[dict[str, Any]] = [
        {"record": q.SERVING_REQUESTS, "expr": q.serving_requests(serving)},
        {"record": q.SERVING_ERRORS, "expr": q.serving_requests(serving, errors_only=True)},
        {
            "record": q.SERVING_ERROR_RATIO,
            "expr": f"({q.SERVING_ERRORS} or {q.SERVING_REQUESTS} * 0) / {q.SERVING_REQUESTS}",
        },
        {"record": q.SERVING_LATENCY_BUCKETS, "expr": q.serving_latency_buckets(serving)},
    ]
    rules += [
        {
            "record": q.SERVING_LATENCY,
            "expr": q.serving_latency_quantile(serving, quantile),
            "labels": {"quantile": q.quantile_label(quantile)},
        }
        for quantile in q.latency_quantiles(config)
    ]
    return rules


def alerting_rules(config: MonitorConfig, alerts: list[Alert]) -> list[dict[str, Any]]:
    alerting = config.alerting
    rules = []
    for alert in alerts:
        settings: AlertSettings = getattr(alerting.alerts, alert.settings_key)
        if settings.enabled:
            rules.append(alert.rule(alerting, settings))
    return rules


def rule_groups(config: MonitorConfig) -> list[dict[str, Any]]:
    """The ``groups`` of the rules file. Groups evaluate independently; an alert reading a recording rule of another
    group sees it at most one evaluation interval late."""
    alerting = config.alerting
    groups = [
        {"name": "driftline.rules", "rules": recording_rules(config)},
        {"name": "driftline-serving.rules", "rules": serving_recording_rules(config)},
        {"name": "driftline.alerts", "rules": alerting_rules(config, drift_alerts(config))},
        {"name": "driftline-exporter.alerts", "rules": alerting_rules(config, exporter_alerts(config, alerting))},
        {"name": "driftline-serving.alerts", "rules": alerting_rules(config, serving_alerts(config, alerting))},
        {"name": "driftline-webhook.alerts", "rules": alerting_rules(config, webhook_alerts(config))},
    ]
    return [group for group in groups if group["rules"]]
