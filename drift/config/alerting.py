"""The ``alerting:`` section of the monitor config: what ``driftline generate`` needs to write rules and routing.

Every alert has ``enabled``, ``for`` and ``keep_firing_for``; some have a threshold. The defaults are chosen so
that a drift alert neither flaps on one noisy evaluation nor lingers for hours after the data came back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from typing import Any

from . import values as v
from .reader import Section
from .values import Duration

PROM_LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
_PROM_METRIC = r"[a-zA-Z_:][a-zA-Z0-9_:]*"


@dataclass(frozen=True)
class AlertSettings:
    """One alert's knobs. ``threshold`` is a ratio, or seconds for latency and reference age."""

    for_: Duration
    keep_firing_for: Duration | None = None
    enabled: bool = True
    threshold: float | None = None
    quantile: float | None = None

    @property
    def limit(self) -> float:
        """The threshold of an alert that has one (every parsed config sets it: the default or the user's)."""
        if self.threshold is None:
            raise ValueError("this alert has no threshold")
        return self.threshold


def _m(minutes: float) -> Duration:
    return Duration(minutes * 60.0)


@dataclass(frozen=True)
class AlertRules:
    """Per-alert settings, keyed like ``alerting.alerts.dataset_drift``."""

    feature_drift: AlertSettings = AlertSettings(for_=_m(15), keep_firing_for=_m(15))
    dataset_drift: AlertSettings = AlertSettings(for_=_m(15), keep_firing_for=_m(30))
    multivariate_drift: AlertSettings = AlertSettings(for_=_m(15), keep_firing_for=_m(30))
    prediction_drift: AlertSettings = AlertSettings(for_=_m(15), keep_firing_for=_m(15))
    performance_drop: AlertSettings = AlertSettings(for_=_m(30), keep_firing_for=_m(30))
    concept_drift: AlertSettings = AlertSettings(for_=_m(15), keep_firing_for=_m(30))
    estimated_performance_drop: AlertSettings = AlertSettings(for_=_m(30), keep_firing_for=_m(30))
    out_of_range: AlertSettings = AlertSettings(for_=_m(15), keep_firing_for=_m(15), threshold=0.01)
    unseen_categories: AlertSettings = AlertSettings(for_=_m(15), keep_firing_for=_m(15), threshold=0.01)
    payload_errors: AlertSettings = AlertSettings(for_=_m(15), keep_firing_for=_m(15), threshold=0.01)
    exporter_down: AlertSettings = AlertSettings(for_=_m(5))
    no_traffic: AlertSettings = AlertSettings(for_=_m(30), keep_firing_for=_m(10))
    reference_not_loaded: AlertSettings = AlertSettings(for_=_m(10))
    reference_stale: AlertSettings = AlertSettings(for_=_m(60), threshold=90 * 86400.0)
    reject_rate: AlertSettings = AlertSettings(for_=_m(15), keep_firing_for=_m(10), threshold=0.05)
    objects_quarantined: AlertSettings = AlertSettings(for_=Duration(0.0), keep_firing_for=_m(60))
    version_without_reference: AlertSettings = AlertSettings(for_=_m(10), keep_firing_for=_m(10))
    serving_errors: AlertSettings = AlertSettings(for_=_m(10), keep_firing_for=_m(10), threshold=0.05)
    serving_latency: AlertSettings = AlertSettings(for_=_m(10), keep_firing_for=_m(10), threshold=1.0, quantile=0.99)
    retraining_failed: AlertSettings = AlertSettings(for_=Duration(0.0), keep_firing_for=_m(60))
    retraining_stuck: AlertSettings = AlertSettings(for_=_m(60))


# How each alert's threshold is written in the config: a ratio, or a duration.
_THRESHOLDS = {
    "reference_stale": ("max_age", "duration"),
    "reject_rate": ("threshold", "ratio"),
    "out_of_range": ("threshold", "ratio"),
    "unseen_categories": ("threshold", "ratio"),
    "payload_errors": ("threshold", "ratio"),
    "serving_errors": ("threshold", "ratio"),
    "serving_latency": ("threshold", "duration"),
}


@dataclass(frozen=True)
class ServingMetrics:
    """Where the InferenceService's own request metrics live. Defaults: Knative queue-proxy up to 1.17.

    The model label is cut out of ``model_label`` with ``model_regex`` (first group), so ``churn-model-predictor``
    or ``churn-model-predictor-00001`` become ``churn-model``.
    """

    requests_metric: str = "revision_app_request_count"
    latency_metric: str = "revision_app_request_latencies"
    latency_unit: str = "milliseconds"
    code_label: str = "response_code_class"
    error_codes: str = "5xx"
    model_label: str = "service_name"
    model_regex: str = "(.+)-predictor.*"
    namespace_label: str = "namespace_name"


@dataclass(frozen=True)
class RoutingConfig:
    group_wait: Duration = Duration(30.0)
    group_interval: Duration = Duration(300.0)
    repeat_interval: Duration = Duration(4 * 3600.0)


@dataclass(frozen=True)
class SlackConfig:
    channel: str
    api_url_file: str


@dataclass(frozen=True)
class RetrainWebhookConfig:
    url: str
    credentials_file: str
    repeat_interval: Duration = Duration(24 * 3600.0)


@dataclass(frozen=True)
class PoolingConfig:
    """The rules that pool the bin counts of a model's exporter replicas (``exporter.replicas`` > 1)."""

    windows: tuple[Duration, ...] = (Duration(3600.0),)  # each gets pooled PSI; the first drives the alerts
    step: Duration = Duration(30.0)  # evaluation interval of the pooling rules; at most the scrape interval


@dataclass(frozen=True)
class AlertingConfig:
    runbook_url: str = "https://github.com/driftline/driftline/blob/main/docs/runbooks.md#{alertname_lower}"
    grafana_url: str | None = None
    exporter_url: str | None = None  # where on-call reaches the exporter's /report (an Ingress or a proxy)
    exporter_job: str = "driftline-exporter"
    slack: SlackConfig | None = None
    retrain_webhook: RetrainWebhookConfig | None = None
    alerts: AlertRules = field(default_factory=AlertRules)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    serving: ServingMetrics = field(default_factory=ServingMetrics)
    pooling: PoolingConfig = field(default_factory=PoolingConfig)

    def runbook(self, alertname: str) -> str:
        """The runbook URL of one alert: ``{alertname}`` replaced by its name, ``{alertname_lower}`` by the name in
        lower case (Markdown heading anchors)."""
        return self.runbook_url.replace("{alertname_lower}", alertname.lower()).replace("{alertname}", alertname)


def parse_alerting(sec: Section) -> AlertingConfig:
    d = AlertingConfig()
    slack = retrain = None
    if sec.has("slack"):
        s = sec.section("slack")
        slack = SlackConfig(channel=s.get("channel", v.string), api_url_file=s.get("api_url_file", v.string))
        s.finish({"api_url": "secrets never go in the config: put the URL in a file and set api_url_file"})
    if sec.has("retrain_webhook"):
        r = sec.section("retrain_webhook")
        retrain = RetrainWebhookConfig(
            url=r.get("url", v.http_url),
            credentials_file=r.get("credentials_file", v.string),
            repeat_interval=r.get("repeat_interval", v.duration, RetrainWebhookConfig.repeat_interval),
        )
        r.finish({"credentials": "secrets never go in the config: put the token in a file and set credentials_file"})
    config = AlertingConfig(
        runbook_url=sec.get("runbook_url", v.http_url, d.runbook_url),
        grafana_url=sec.get("grafana_url", v.http_url, None),
        exporter_url=sec.get("exporter_url", v.http_url, None),
        exporter_job=sec.get("exporter_job", v.string, d.exporter_job),
        slack=slack,
        retrain_webhook=retrain,
        alerts=_alert_rules(sec.section("alerts")),
        routing=_routing(sec.section("routing")),
        serving=_serving(sec.section("serving")),
        pooling=_pooling(sec.section("pooling")),
    )
    sec.finish()
    return config


def _pooling(sec: Section) -> PoolingConfig:
    d = PoolingConfig()
    config = PoolingConfig(windows=sec.get("windows", v.durations, d.windows), step=sec.get("step", v.duration, d.step))
    sec.finish()
    return config


def _alert_rules(sec: Section) -> AlertRules:
    defaults = AlertRules()
    settings: dict[str, AlertSettings] = {}
    for f in fields(AlertRules):
        default: AlertSettings = getattr(defaults, f.name)
        settings[f.name] = _alert_settings(sec.section(f.name), f.name, default) if sec.has(f.name) else default
    sec.finish()
    return AlertRules(**settings)


def _alert_settings(sec: Section, name: str, default: AlertSettings) -> AlertSettings:
    keep: Any = sec.get("keep_firing_for", _duration_or_zero, default.keep_firing_for or Duration(0.0))
    result = replace(
        default,
        enabled=sec.get("enabled", _boolean, default.enabled),
        for_=sec.get("for", _duration_or_zero, default.for_),
        keep_firing_for=keep if keep.seconds > 0 else None,
    )
    if name in _THRESHOLDS:
        key, kind = _THRESHOLDS[name]
        if kind == "ratio":
            threshold = sec.get(key, v.number(0, 1, low_open=True, high_open=True), default.threshold)
        else:
            parsed = sec.get(key, v.duration, Duration(default.threshold or 0.0))
            threshold = parsed.seconds
        result = replace(result, threshold=threshold)
    if name == "serving_latency":
        result = replace(result, quantile=sec.get("quantile", v.number(0, 1, low_open=True, high_open=True), 0.99))
    sec.finish()
    return result


def _routing(sec: Section) -> RoutingConfig:
    d = RoutingConfig()
    config = RoutingConfig(
        group_wait=sec.get("group_wait", v.duration, d.group_wait),
        group_interval=sec.get("group_interval", v.duration, d.group_interval),
        repeat_interval=sec.get("repeat_interval", v.duration, d.repeat_interval),
    )
    sec.finish()
    return config


def _serving(sec: Section) -> ServingMetrics:
    d = ServingMetrics()
    metric = v.matching(_PROM_METRIC, "a Prometheus metric name")
    label = v.matching(PROM_LABEL, "a Prometheus label name")
    config = ServingMetrics(
        requests_metric=sec.get("requests_metric", metric, d.requests_metric),
        latency_metric=sec.get("latency_metric", _histogram_name, d.latency_metric),
        latency_unit=sec.get("latency_unit", v.choice("milliseconds", "seconds"), d.latency_unit),
        code_label=sec.get("code_label", label, d.code_label),
        error_codes=sec.get("error_codes", _regex, d.error_codes),
        model_label=sec.get("model_label", label, d.model_label),
        model_regex=sec.get("model_regex", _capturing_regex, d.model_regex),
        namespace_label=sec.get("namespace_label", label, d.namespace_label),
    )
    sec.finish()
    return config


_boolean = v.boolean


@v.accepts({"anyOf": [{"enum": [0, "0", "0s"]}, v.DURATION_SCHEMA]})
def _duration_or_zero(value: Any) -> Duration:
    """A duration, where ``0s`` (or 0) is allowed and means "immediately" / "off"."""
    if value in ("0", "0s") or (type(value) is int and value == 0):
        return Duration(0.0)
    return v.duration(value)


@v.accepts({"type": "string", "pattern": v.fullmatch(_PROM_METRIC), "not": {"pattern": "_(?:bucket|count|sum)$"}})
def _histogram_name(value: Any) -> str:
    name = v.matching(_PROM_METRIC, "a Prometheus metric name")(value)
    if name.endswith(("_bucket", "_count", "_sum")):
        raise v.InvalidValueError(f"{name!r}: give the histogram's base name, without _bucket/_count/_sum")
    return name


@v.accepts({"type": "string", "format": "regex", "pattern": "\\S"})
def _regex(value: Any) -> str:
    text = v.string(value)
    try:
        re.compile(text)
    except re.error as exc:
        raise v.InvalidValueError(f"{text!r} is not a regular expression: {exc}") from None
    return text


@v.accepts({"type": "string", "format": "regex", "pattern": "\\("})
def _capturing_regex(value: Any) -> str:
    text = _regex(value)
    if re.compile(text).groups < 1:
        raise v.InvalidValueError(f"{text!r} must capture the InferenceService name in a group, like (.+)-predictor.*")
    return text
