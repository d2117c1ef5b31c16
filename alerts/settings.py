"""What an alert lets the user tune (``alerting.alerts.NAME``), declared by the alert itself.

Every alert has ``enabled``, ``for`` and ``keep_firing_for``; some have a :class:`Knob` — a threshold, a maximum age,
a quantile. The alert catalogue declares each alert's defaults and knobs once; the config reader, its JSON Schema,
the config docs, the rules, the runbooks and the dashboards all read them from there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

from drift.config import values as v
from drift.config.reader import Section
from drift.config.values import Duration

RATIO = "ratio"  # a number in (0, 1), shown as a percentage
DURATION = "duration"  # a duration in the config (``1s``, ``90d``), seconds in a rule


def minutes(count: float) -> Duration:
    return Duration(count * 60.0)


@dataclass(frozen=True)
class Knob:
    """One tunable value of an alert beyond its timing: the YAML key, the :class:`AlertSettings` field it sets, its
    kind (:data:`RATIO` or :data:`DURATION`), its default and what it means."""

    key: str
    kind: str
    default: float
    help: str
    field: str = "threshold"  # or "quantile"

    def set(self, settings: AlertSettings, value: float) -> AlertSettings:
        return replace(settings, quantile=value) if self.field == "quantile" else replace(settings, threshold=value)

    def config_text(self, value: float) -> str:
        """``value`` as the config writes it: ``0.01``, ``90d``."""
        return f"{value:g}" if self.kind == RATIO else str(Duration(value))

    def text(self, value: float) -> str:
        """``value`` as a person reads it: ``1%``, ``90d``, ``1s``."""
        if self.kind == RATIO:
            return f"{value * 100:g}%"
        return str(Duration(value))


@dataclass(frozen=True)
class AlertSettings:
    """One alert's settings as configured. ``threshold`` is a ratio, or seconds for latency and reference age."""

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

    @property
    def at_quantile(self) -> float:
        """The quantile of an alert that has one (the latency alert: its default or the user's)."""
        if self.quantile is None:
            raise ValueError("this alert has no quantile")
        return self.quantile


class Tunable(Protocol):
    """What the config needs of an alert definition: where its settings live, their defaults and its knobs."""

    @property
    def settings_key(self) -> str: ...
    @property
    def defaults(self) -> AlertSettings: ...
    @property
    def knobs(self) -> tuple[Knob, ...]: ...


def default_settings(for_: Duration, keep_firing_for: Duration | None, knobs: tuple[Knob, ...]) -> AlertSettings:
    settings = AlertSettings(for_=for_, keep_firing_for=keep_firing_for)
    for knob in knobs:
        settings = knob.set(settings, knob.default)
    return settings


def read_settings(sec: Section, alert: Tunable) -> AlertSettings:
    """``alerting.alerts.NAME`` of one alert: its timing, ``enabled`` and its knobs, each defaulting to the alert's."""
    default = alert.defaults
    keep: Any = sec.get("keep_firing_for", duration_or_zero, default.keep_firing_for or Duration(0.0))
    result = replace(
        default,
        enabled=sec.get("enabled", v.boolean, default.enabled),
        for_=sec.get("for", duration_or_zero, default.for_),
        keep_firing_for=keep if keep.seconds > 0 else None,
    )
    for knob in alert.knobs:
        if knob.kind == RATIO:
            value = sec.get(knob.key, v.number(0, 1, low_open=True, high_open=True), knob.default)
        else:
            value = sec.get(knob.key, v.duration, Duration(knob.default)).seconds
        result = knob.set(result, value)
    sec.finish()
    return result


@v.accepts({"anyOf": [{"enum": [0, "0", "0s"]}, v.DURATION_SCHEMA]})
def duration_or_zero(value: Any) -> Duration:
    """A duration, where ``0s`` (or 0) is allowed and means "immediately" / "off"."""
    if value in ("0", "0s") or (type(value) is int and value == 0):
        return Duration(0.0)
    return v.duration(value)
