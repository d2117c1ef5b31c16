"""What a generated promtool test drives an alert with: a :class:`Scenario` (its input series in each state, the labels
it must fire with and the values its annotations render from) and the :class:`ScenarioContext` scenarios are written
against (the config's first model, the exporter's target labels, promtool's series notation)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from drift.catalogue import REFERENCE_INFO
from drift.config import CATEGORICAL, NUMERIC, ColumnConfig, ModelConfig, ReferenceConfig
from drift.errors import ConfigError

from .config import DeploymentConfig
from .settings import AlertSettings

OK, BAD, NEAR = "ok", "bad", "near"
INSTANCE = "driftline-exporter:8080"
WEBHOOK_TARGET = {"job": "driftline-webhook", "instance": "driftline-webhook:8081"}
RATE_WINDOW = 300  # seconds: every rate() in the rules looks back 5m

Series = list[tuple[str, list[float]]]


class AlertDefinition(Protocol):
    """What a scenario needs of the alert it drives (:class:`alerts.catalogue.definition.AlertDefinition`)."""

    @property
    def name(self) -> str: ...

    @property
    def labels(self) -> dict[str, str]: ...

    @property
    def retrain(self) -> bool: ...

    def settings(self, config: DeploymentConfig) -> AlertSettings: ...

    def expected_annotations(self, config: DeploymentConfig, scenario: Scenario, t: int) -> dict[str, str]: ...


@dataclass
class Scenario:
    """How to drive one alert: its input series per state, and what it must say when it fires."""

    alert: AlertDefinition
    settings: AlertSettings
    series: Callable[[list[str]], Series]
    labels: dict[str, str]
    values: Callable[[int], dict[str, Any]] = field(default=lambda t: {})  # eval time (s) -> $value and query texts
    rate_based: bool = False
    window: int = RATE_WINDOW  # seconds the rate()/increase() of a rate-based alert looks back
    has_near: bool = True


def series_notation(values: list[float]) -> str:
    """Values in promtool's expanding notation: runs of equal steps become ``a+bxn``."""
    parts: list[str] = []
    i = 0
    while i < len(values):
        j = i + 1
        if j < len(values):
            step = values[j] - values[i]
            while j + 1 < len(values) and math.isclose(values[j + 1] - values[j], step, abs_tol=1e-12):
                j += 1
            if j - i >= 2:
                parts.append(f"{number(values[i])}{'+' if step >= 0 else '-'}{number(abs(step))}x{j - i}")
                i = j + 1
                continue
        parts.append(number(values[i]))
        i += 1
    return " ".join(parts)


def number(value: float) -> str:
    """A number as PromQL and promtool read it and a human writes it: ``7776000``, ``0.05``, never ``7.776e+06``."""
    return f"{value:.12g}" if abs(value) < 1e15 else repr(value)


def selector(metric: str, labels: dict[str, str]) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{metric}{{{inner}}}"


def counter(increments: list[float]) -> list[float]:
    """A counter's samples from its increment at each step."""
    total, values = 0.0, []
    for inc in increments:
        total += inc
        values.append(total)
    return values


def matching_value(pattern: str, candidates: list[str], what: str, group: str | None = None) -> str:
    """A label value that ``pattern`` matches (whole), with ``group`` captured when given."""
    compiled = re.compile(pattern)
    for candidate in candidates:
        match = compiled.fullmatch(candidate)
        if match and (group is None or (match.groups() and match.group(1) == group)):
            return candidate
    raise ConfigError([f"{what}: cannot make up a test label value for {pattern!r}; tried {', '.join(candidates)}"])


# What the promtool tests exercise the rules with when the config lists no model (every model in team files): the
# rules name no model, so any model shows they work.
EXAMPLE_MODEL = ModelConfig(
    name="example-model",
    namespace="default",
    reference=ReferenceConfig(data="reference.parquet", profile="profile.json"),
    features=(*(ColumnConfig(f"x{i}", NUMERIC) for i in range(3)), ColumnConfig("segment", CATEGORICAL)),
    outputs=(ColumnConfig("score", NUMERIC),),
)


class ScenarioContext:
    """The config a scenario is written against: its first model (or :data:`EXAMPLE_MODEL`), the exporter's target
    labels, the test's step."""

    def __init__(self, config: DeploymentConfig, alerts: Sequence[AlertDefinition] = ()) -> None:
        self.config = config
        self.alerts = alerts  # whose timings the step must place exactly
        self.alerting = config.alerting
        self.model: ModelConfig = config.models[0] if config.models else EXAMPLE_MODEL
        namespace = self.model.namespace if self.model.namespace != "*" else "default"
        self.model_labels = {"model": self.model.name, "model_namespace": namespace}
        self.target = {"job": self.alerting.exporter_job, "instance": INSTANCE}
        self.model_names = {model.name for model in config.models} | {self.model.name}

    def scenario(self, alert: AlertDefinition, **kwargs: Any) -> Scenario:
        scenario = Scenario(alert=alert, settings=alert.settings(self.config), **kwargs)
        return self._with_reference(scenario) if alert.retrain else scenario

    def _with_reference(self, scenario: Scenario) -> Scenario:
        """A retraining alert's scenario with the model's reference published (registry-resolved), and what the
        alert's reference annotations must then say."""
        model = self.model_labels["model"]
        info = {"version": "0123456789abcdef", "source": f"models:/{model}@champion", "registry_version": "7"}
        labels = {**self.target, **self.model_labels, **info}
        series, values = scenario.series, scenario.values
        return replace(
            scenario,
            series=lambda states: [*series(states), (selector(REFERENCE_INFO.series, labels), [1.0 for _ in states])],
            values=lambda t: {**values(t), "reference_source": info["source"],
                              "reference_registry_version": info["registry_version"],
                              "reference_profile": info["version"]},
        )  # fmt: skip

    def flag(
        self, alert: AlertDefinition, metric: str, labels: dict[str, str], bad: float, ok: float, **kwargs: Any
    ) -> Scenario:
        """An alert on one series that is ``bad`` or ``ok`` (a 0/1 decision, ``up``): no threshold to be near."""

        def series(states: list[str]) -> Series:
            return [(selector(metric, labels), [bad if s == BAD else ok for s in states])]

        return self.scenario(alert, series=series, labels={**labels, **alert.labels}, has_near=False, **kwargs)

    def serving_labels(self, code: str, model: str | None = None) -> dict[str, str]:
        """The configured serving metric's labels for a model (its InferenceService name as the regex expects)."""
        serving = self.alerting.serving
        name = model or self.model.name
        service = matching_value(
            serving.model_regex,
            [f"{name}-predictor", f"{name}-predictor-00001", name],
            "alerting.serving.model_regex",
            group=name,
        )
        labels = {serving.model_label: service, serving.namespace_label: self.model_labels["model_namespace"]}
        if code:
            labels[serving.code_label] = code
        return labels

    @property
    def step(self) -> int:
        """The test's sample and evaluation interval: fine enough to place every ``for`` exactly — or, when the rules
        pool replicas, their step (promtool evaluates every group at the test's interval: the pooling group as
        Prometheus would, once a scrape)."""
        if self.config.exporter.replicas > 1:
            return max(1, round(self.alerting.pooling.step.seconds))
        seconds = [60]
        for alert in self.alerts:
            s = alert.settings(self.config)
            seconds += [int(s.for_.seconds)] + ([int(s.keep_firing_for.seconds)] if s.keep_firing_for else [])
        return max(1, math.gcd(*seconds))
