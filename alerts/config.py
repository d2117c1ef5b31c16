"""The monitor config as the alerting side reads it: :class:`DeploymentConfig` is drift's :class:`MonitorConfig`
(models, exporter) with the ``alerting:`` section — what ``driftline generate`` writes rules and routing from — and
the ``webhook:`` section (:mod:`alerts.webhook.config`). :mod:`alerts.loader` reads one.

Each alert's own settings (``alerting.alerts.NAME``) and their defaults are declared by the alert in
:mod:`alerts.catalogue` (:mod:`.settings`); the defaults are chosen so that a drift alert neither flaps on one noisy
evaluation nor lingers for hours after the data came back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from drift.config import MonitorConfig
from drift.config import values as v
from drift.config.reader import Section
from drift.config.values import Duration

from .settings import AlertSettings, Tunable, read_settings
from .webhook.config import WebhookConfig

_PROM_METRIC = r"[a-zA-Z_:][a-zA-Z0-9_:]*"


class AlertRules(Mapping[str, AlertSettings]):
    """Every alert's settings, keyed like ``alerting.alerts.dataset_drift``: the configured ones, and for an alert
    the config does not mention, the defaults its definition declares (:mod:`alerts.catalogue`)."""

    def __init__(self, settings: Mapping[str, AlertSettings] | None = None) -> None:
        self._settings = dict(settings or {})

    def __getitem__(self, key: str) -> AlertSettings:
        return self._settings[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._settings)

    def __len__(self) -> int:
        return len(self._settings)

    def of(self, alert: Tunable) -> AlertSettings:
        return self._settings.get(alert.settings_key, alert.defaults)


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


@dataclass(frozen=True)
class DeploymentConfig(MonitorConfig):
    """The whole monitor config: drift's part (what a notebook and the exporter read) and the sections only the
    alerting side reads."""

    alerting: AlertingConfig = field(default_factory=AlertingConfig)
    webhook: WebhookConfig | None = None


def parse_alerting(sec: Section, alerts: Sequence[Tunable]) -> AlertingConfig:
    """The ``alerting:`` section; ``alerts`` are the alert definitions whose settings ``alerting.alerts`` holds."""
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
        alerts=_alert_rules(sec.section("alerts"), alerts),
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


def _alert_rules(sec: Section, alerts: Sequence[Tunable]) -> AlertRules:
    settings = {
        alert.settings_key: read_settings(sec.section(alert.settings_key), alert)
        if sec.has(alert.settings_key)
        else alert.defaults
        for alert in alerts
    }
    sec.finish()
    return AlertRules(settings)


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
    label = v.matching(v.PROM_LABEL, "a Prometheus label name")
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
