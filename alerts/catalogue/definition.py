"""One alert, defined in one place: its settings and their defaults, the rule (expression, labels, annotations),
the promtool test scenario generated with it, and its runbook section."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drift import catalogue as m
from drift.config.values import Duration

from ..config import AlertingConfig, DeploymentConfig
from ..scenarios import Scenario, ScenarioContext
from ..settings import AlertSettings, Knob, default_settings
from .text import Text

# What a retraining alert says of the reference its model was judged against (the incident's provenance, which the
# webhook hands to the retraining): annotation ← label of driftline_reference_info
RETRAIN_REFERENCE = (
    ("reference_source", "source"),
    ("reference_registry_version", "registry_version"),
    ("reference_profile", "version"),
)
_ALERTS_MODEL = "model=%q,model_namespace=%q,model_version=%q"  # an absent model_version is "": series without one
_ALERT_LABELS = "$labels.model $labels.model_namespace $labels.model_version"


def reference_label(label: str) -> str:
    """A Go template: ``label`` of the alert's model's ``driftline_reference_info`` (any replica's; they agree)."""
    return (
        f'{{{{ with query (printf "{m.REFERENCE_INFO.series}{{{_ALERTS_MODEL}}}" {_ALERT_LABELS}) }}}}'
        f'{{{{ . | first | label "{label}" }}}}{{{{ end }}}}'
    )


MODEL_DRIFT_DASHBOARD = "driftline-model-drift"
SERVING_DASHBOARD = "driftline-serving"
SELF_DASHBOARD = "driftline-exporter"


@dataclass(frozen=True)
class AlertDefinition:
    name: str
    settings_key: str  # under alerting.alerts
    severity: str
    summary: str
    description: Callable[[DeploymentConfig], Text]
    expr: Callable[[DeploymentConfig], str]
    scenario: Callable[[AlertDefinition, ScenarioContext], Scenario]
    runbook: str  # the Markdown of its section in docs/runbooks.md: Meaning, Check, Act
    retrain: bool = False  # labelled action="retrain": Alertmanager sends it to the retraining webhook
    annotations: tuple[tuple[str, Callable[[DeploymentConfig], Text]], ...] = ()  # besides summary, description…
    dashboard: str | None = None  # uid of the dashboard to link, with the alert's model selected
    report: bool = False  # links the exporter's live drift report of the alert's model (alerting.exporter_url)
    # alerting.alerts.<settings_key>: how long the condition holds before it fires and the alert outlasts it, and
    # the alert's other tunable values (its threshold…), with their defaults
    for_: Duration = Duration(0.0)
    keep_firing_for: Duration | None = None
    knobs: tuple[Knob, ...] = ()

    @property
    def defaults(self) -> AlertSettings:
        return default_settings(self.for_, self.keep_firing_for, self.knobs)

    def settings(self, config: DeploymentConfig) -> AlertSettings:
        return config.alerting.alerts.of(self)

    def runbook_text(self, settings: AlertSettings) -> str:
        """The runbook section with each ``{knob}`` placeholder replaced by its value in ``settings`` (``1%``,
        ``90d``)."""
        text = self.runbook
        for knob in self.knobs:
            value = getattr(settings, knob.field)
            text = text.replace("{" + knob.key + "}", knob.text(value if value is not None else knob.default))
        return text

    @property
    def labels(self) -> dict[str, str]:
        return {"severity": self.severity, **({"action": "retrain"} if self.retrain else {})}

    def rule(self, config: DeploymentConfig) -> dict[str, Any]:
        alerting, settings = config.alerting, self.settings(config)
        rule: dict[str, Any] = {"alert": self.name, "expr": self.expr(config)}
        if settings.for_.seconds > 0:
            rule["for"] = str(settings.for_)
        if settings.keep_firing_for is not None:
            rule["keep_firing_for"] = str(settings.keep_firing_for)
        rule["labels"] = self.labels
        annotations = {
            "summary": self.summary,
            "description": self.description(config).go(),
            "runbook_url": alerting.runbook(self.name),
            **{name: text(config).go() for name, text in self.annotations},
        }
        annotations.update(self.links(alerting, "{{ $labels.model_namespace }}", "{{ $labels.model }}"))
        if self.retrain:
            annotations.update({name: reference_label(label) for name, label in RETRAIN_REFERENCE})
        rule["annotations"] = annotations
        return rule

    def links(self, alerting: AlertingConfig, namespace: str, model: str) -> dict[str, str]:
        """``dashboard_url`` and ``report_url`` for the model (templates in a rule, values in a test)."""
        links = {}
        if self.dashboard is not None and alerting.grafana_url is not None:
            links["dashboard_url"] = dashboard_link(alerting.grafana_url, self.dashboard, namespace, model)
        if self.report and alerting.exporter_url is not None:
            links["report_url"] = report_link(alerting.exporter_url, namespace, model)
        return links

    def expected_annotations(self, config: DeploymentConfig, scenario: Scenario, t: int) -> dict[str, str]:
        """What Prometheus must render for this alert in ``scenario`` at eval time ``t`` (seconds)."""
        values = {**scenario.labels, **scenario.values(t)}
        annotations = {
            "summary": self.summary,
            "description": self.description(config).render(values),
            "runbook_url": config.alerting.runbook(self.name),
            **{name: text(config).render(values) for name, text in self.annotations},
        }
        annotations.update(
            self.links(config.alerting, scenario.labels.get("model_namespace", ""), scenario.labels.get("model", ""))
        )
        if self.retrain:
            annotations.update({name: str(values[name]) for name, _ in RETRAIN_REFERENCE})
        return annotations


def dashboard_link(grafana_url: str, uid: str, namespace: str, model: str) -> str:
    """A Grafana link to dashboard ``uid`` with a model selected."""
    return f"{grafana_url.rstrip('/')}/d/{uid}?var-model_namespace={namespace}&var-model={model}"


def report_link(
    exporter_url: str, namespace: str = "{{ $labels.model_namespace }}", model: str = "{{ $labels.model }}"
) -> str:
    """The exporter's live drift report of a model (``GET /report/{namespace}/{model}``)."""
    return f"{exporter_url.rstrip('/')}/report/{namespace}/{model}"


def fixed(text: Text) -> Callable[[DeploymentConfig], Text]:
    """A description that does not depend on the config."""
    return lambda config: text
