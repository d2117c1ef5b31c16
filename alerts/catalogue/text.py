"""Alert text written once, rendered two ways: as the Prometheus (Go) template that goes into the rule, and — for the
generated promtool tests — as the text Prometheus must produce from given label values and ``$value``.

A text is a Python format string. ``{model}`` is the alert's ``model_namespace/model`` (and ``model_version``
when it has one); ``{value:SPEC}`` is the
alert's value, with SPEC one of ``.0f``, ``.2f``, ``.3f`` (Go's ``printf``), ``percent`` (``humanizePercentage``),
``duration`` (``humanizeDuration``); any other ``{name}`` is the alert's label ``name``, unless the text defines a
:class:`Field` for it (a query over other series, a choice on a label, a constant from the config). The Python
rendering reimplements the Go template functions, so a generated test compares two independent renderings.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_GO_VALUE = {
    ".0f": '{{ printf "%.0f" $value }}',
    ".2f": '{{ printf "%.2f" $value }}',
    ".3f": '{{ printf "%.3f" $value }}',
    "percent": "{{ $value | humanizePercentage }}",
    "duration": "{{ $value | humanizeDuration }}",
}
MODEL = "{{ $labels.model_namespace }}/{{ $labels.model }}{{ with $labels.model_version }} version {{ . }}{{ end }}"


def go_g4(value: float) -> str:
    """Go's ``%.4g`` for the plain numbers alerts print."""
    return f"{value:.4g}"


def humanize_percentage(value: float) -> str:
    """Prometheus' ``humanizePercentage``."""
    return go_g4(value * 100) + "%"


def humanize_duration(seconds: float) -> str:
    """Prometheus' ``humanizeDuration`` for non-negative values."""
    if seconds == 0:
        return "0s"
    if seconds >= 1:
        whole = int(seconds)
        days, hours, minutes, secs = whole // 86400, whole // 3600 % 24, whole // 60 % 60, whole % 60
        if days:
            return f"{days}d {hours}h {minutes}m {secs}s"
        if hours:
            return f"{hours}h {minutes}m {secs}s"
        if minutes:
            return f"{minutes}m {secs}s"
        return f"{go_g4(seconds)}s"
    prefix = ""
    for p in ("m", "u", "n", "p"):
        if seconds >= 1:
            break
        prefix, seconds = p, seconds * 1000
    return f"{go_g4(seconds)}{prefix}s"


def _python_value(value: float, spec: str) -> str:
    if spec == "percent":
        return humanize_percentage(value)
    if spec == "duration":
        return humanize_duration(value)
    return format(value, spec)


class Field:
    """A placeholder with its own Go template and Python rendering."""

    def go(self) -> str:
        raise NotImplementedError

    def render(self, name: str, values: Mapping[str, Any]) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Query(Field):
    """A Go template that queries other series; the test scenario gives the text it must produce as ``values[name]``."""

    template: str

    def go(self) -> str:
        return self.template

    def render(self, name: str, values: Mapping[str, Any]) -> str:
        return str(values[name])


@dataclass(frozen=True)
class IfLabel(Field):
    """``then`` when the alert has the label, else ``otherwise``."""

    label: str
    then: Text
    otherwise: Text

    def go(self) -> str:
        return f"{{{{ if $labels.{self.label} }}}}{self.then.go()}{{{{ else }}}}{self.otherwise.go()}{{{{ end }}}}"

    def render(self, name: str, values: Mapping[str, Any]) -> str:
        return (self.then if values.get(self.label) else self.otherwise).render(values)


@dataclass(frozen=True)
class Constant(Field):
    """A value fixed when the rules are generated (from the config)."""

    text: str

    def go(self) -> str:
        return self.text

    def render(self, name: str, values: Mapping[str, Any]) -> str:
        return self.text


class Text:
    def __init__(self, template: str, **fields: Field) -> None:
        self.template = template
        self.fields = fields
        self._parts = list(string.Formatter().parse(template))
        for _, name, spec, _ in self._parts:
            if name == "value" and spec not in _GO_VALUE:
                raise ValueError(f"{template!r}: {{value:{spec}}} is not one of {', '.join(_GO_VALUE)}")
            if name is not None and "{" in (spec or ""):
                raise ValueError(f"{template!r}: nested fields are not supported")

    def go(self) -> str:
        """The Prometheus template of this text."""
        return self._join(self._go_field)

    def render(self, values: Mapping[str, Any]) -> str:
        """What Prometheus renders for an alert with these labels and ``value`` (and the scenario's query texts)."""
        return self._join(lambda name, spec: self._python_field(name, spec, values))

    def _join(self, field: Callable[[str, str], str]) -> str:
        return "".join(
            literal + (field(name, spec or "") if name is not None else "") for literal, name, spec, _ in self._parts
        )

    def _go_field(self, name: str, spec: str) -> str:
        if name in self.fields:
            return self.fields[name].go()
        if name == "value":
            return _GO_VALUE[spec]
        return MODEL if name == "model" else f"{{{{ $labels.{name} }}}}"

    def _python_field(self, name: str, spec: str, values: Mapping[str, Any]) -> str:
        if name in self.fields:
            return self.fields[name].render(name, values)
        if name == "value":
            return _python_value(float(values["value"]), spec)
        if name != "model":
            return str(values[name])
        version = values.get("model_version")
        return f"{values['model_namespace']}/{values['model']}" + (f" version {version}" if version else "")
