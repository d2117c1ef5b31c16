"""Value types of the monitor config and the parsers of its values.

Each value parser takes the raw YAML value and returns the typed value or raises :class:`InvalidValueError`, which
the reader (:mod:`.reader`) prefixes with the key path. Each carries the JSON Schema of what it accepts
(:func:`accepts`): the config's JSON Schema comes from the loader itself (:mod:`.jsonschema`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
P = TypeVar("P", bound=Callable[..., Any])
JsonSchema = dict[str, Any]

_DURATION_UNITS = (("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0), ("ms", 0.001))
_DURATION = r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?"
_DURATION_RE = re.compile(f"^{_DURATION}$")
# what the schema accepts: a duration with a non-zero digit (the parser also refuses zero and the empty string)
DURATION_SCHEMA: JsonSchema = {"type": "string", "pattern": f"^(?=[0-9a-z]*[1-9])(?:{_DURATION})$"}
_HTTP_URL = r"https?://[^\s/@]+(?:/\S*)?"
PROM_LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"  # a Prometheus label name


class InvalidValueError(ValueError):
    """Raised by a value parser; the reader prefixes the message with the key path."""


def accepts(schema: JsonSchema) -> Callable[[P], P]:
    """Mark a value parser with the JSON Schema of the values it accepts: :mod:`.jsonschema` builds the config's
    schema from the parsers the loader calls, so each rule is written once, here."""

    def mark(parse: P) -> P:
        setattr(parse, "json_schema", schema)  # noqa: B010 - a function attribute mypy cannot declare
        return parse

    return mark


def schema_of(parse: Callable[..., Any]) -> JsonSchema:
    """The JSON Schema a parser was marked with; a parser without one is a bug the schema test finds."""
    schema: JsonSchema | None = getattr(parse, "json_schema", None)
    if schema is None:
        raise TypeError(f"the value parser {parse.__qualname__} has no JSON Schema; mark it with @accepts")
    return schema


def fullmatch(regex: str) -> str:
    """A Python ``fullmatch`` regex as a JSON Schema ``pattern`` (which searches)."""
    return f"^(?:{regex})$"


@dataclass(frozen=True, order=True)
class Duration:
    """A duration written the Prometheus way: ``500ms``, ``30s``, ``5m``, ``1h``, ``1d`` or ``1h30m``."""

    seconds: float

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _DURATION_RE.match(text.strip()) if isinstance(text, str) else None
        if not match or not text.strip() or not any(match.groups()):
            raise InvalidValueError(
                f'{text!r} is not a duration; write it like "500ms", "30s", "5m", "1h", "1d" or "1h30m"'
            )
        units = (unit for _, unit in _DURATION_UNITS)
        seconds = sum(int(g) * unit for g, unit in zip(match.groups(), units, strict=True) if g)
        if seconds <= 0:
            raise InvalidValueError(f"{text!r} must be longer than zero")
        return cls(seconds)

    def __str__(self) -> str:
        """The canonical Prometheus spelling (``90s`` -> ``1m30s``), safe to write into rules."""
        millis = round(self.seconds * 1000)
        parts = []
        for suffix, unit in _DURATION_UNITS:
            unit_ms = round(unit * 1000)
            count, millis = divmod(millis, unit_ms)
            if count:
                parts.append(f"{count}{suffix}")
        return "".join(parts) or "0s"


@dataclass(frozen=True)
class ListenAddress:
    """``HOST:PORT`` to listen on; ``[::]:8080`` for IPv6, port 0 picks a free port."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> ListenAddress:
        if not isinstance(text, str):
            raise InvalidValueError(f'{text!r} must be a string HOST:PORT, e.g. "0.0.0.0:8080"')
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise InvalidValueError(f'{text!r} is not HOST:PORT (e.g. "0.0.0.0:8080" or "[::]:8080")')
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        return cls(host or "0.0.0.0", int(port))

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class SecretRef:
    """Where a secret lives: ``env:NAME``, ``file:PATH`` or ``secretsmanager:ARN-or-name``.

    The config only ever holds the reference; the value is resolved by the service that needs it, at run time.
    """

    scheme: str
    target: str

    SCHEMES = ("env", "file", "secretsmanager")

    @classmethod
    def parse(cls, text: str) -> SecretRef:
        scheme, sep, target = text.partition(":") if isinstance(text, str) else ("", "", "")
        if not sep or scheme not in cls.SCHEMES or not target:
            raise InvalidValueError(
                "must be a reference to a secret: env:NAME, file:PATH or secretsmanager:ARN-or-name "
                "(never the secret itself)"
            )
        return cls(scheme, target)

    def __str__(self) -> str:
        return f"{self.scheme}:{self.target}"


def kind_of(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


# --- value parsers: each takes the raw YAML value and returns the typed value or raises InvalidValueError ---


@accepts({"type": "string", "pattern": "\\S"})
def string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValueError(f"must be a non-empty string, not {kind_of(value)} {value!r}")
    return value


@accepts({"type": "boolean"})
def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidValueError(f"must be true or false, not {value!r}")
    return value


@accepts({"type": "array", "minItems": 1, "uniqueItems": True, "items": DURATION_SCHEMA})
def durations(value: Any) -> tuple[Duration, ...]:
    """A non-empty list of distinct durations (``[1h, 24h]``)."""
    if not isinstance(value, list) or not value:
        raise InvalidValueError(f"must be a non-empty list of durations such as [1h, 24h], not {value!r}")
    parsed = tuple(duration(item) for item in value)
    if len({d.seconds for d in parsed}) != len(parsed):
        raise InvalidValueError(f"lists a duration twice: {value!r}")
    return parsed


def integer(minimum: int | None = None, maximum: int | None = None) -> Callable[[Any], int]:
    bounds = {"minimum": minimum, "maximum": maximum}

    @accepts({"type": "integer", **{k: b for k, b in bounds.items() if b is not None}})
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidValueError(f"must be a whole number, not {kind_of(value)} {value!r}")
        if minimum is not None and value < minimum:
            raise InvalidValueError(f"must be at least {minimum}, not {value}")
        if maximum is not None and value > maximum:
            raise InvalidValueError(f"must be at most {maximum}, not {value}")
        return value

    return parse


def number(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> Callable[[Any], float]:
    """A float in a range; the message spells the range the way the docs do."""
    schema: JsonSchema = {"type": "number", ("exclusiveMinimum" if low_open else "minimum"): low}
    if high != float("inf"):
        schema["exclusiveMaximum" if high_open else "maximum"] = high

    @accepts(schema)
    def parse(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValueError(f"must be a number, not {kind_of(value)} {value!r}")
        below = value <= low if low_open else value < low
        above = value >= high if high_open else value > high
        if below or above or value != value:  # NaN fails every range
            if high == float("inf"):
                raise InvalidValueError(f"must be {'greater than' if low_open else 'at least'} {low:g}, not {value!r}")
            raise InvalidValueError(f"must be between {low:g} and {high:g}, not {value!r}")
        return float(value)

    return parse


def choice(*options: str) -> Callable[[Any], str]:
    @accepts({"enum": list(options)})
    def parse(value: Any) -> str:
        if value not in options:
            raise InvalidValueError(f"must be one of {', '.join(options)}, not {value!r}")
        return str(value)

    return parse


def matching(pattern: str, description: str) -> Callable[[Any], str]:
    compiled = re.compile(pattern)

    @accepts({"type": "string", "pattern": fullmatch(pattern)})
    def parse(value: Any) -> str:
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise InvalidValueError(f"{value!r} is not {description}")
        return value

    return parse


@accepts(DURATION_SCHEMA)
def duration(value: Any) -> Duration:
    if not isinstance(value, str):
        raise InvalidValueError(f'{value!r} is not a duration; write it with a unit, like "30s" or "5m"')
    return Duration.parse(value)


@accepts({"type": "string", "pattern": "^.*:[0-9]{1,5}$"})
def listen_address(value: Any) -> ListenAddress:
    return ListenAddress.parse(value)


@accepts({"type": "string", "pattern": "^(?:env|file|secretsmanager):."})
def secret_ref(value: Any) -> SecretRef:
    return SecretRef.parse(value)


@accepts({"type": "string", "pattern": fullmatch(_HTTP_URL)})
def http_url(value: Any) -> str:
    if isinstance(value, str) and "@" in value.split("://", 1)[-1].split("/", 1)[0]:
        # never echo it: the part before @ is a user name and, usually, a password
        raise InvalidValueError(
            "holds credentials (user:password@host); put them in a secret reference (env:, file:, secretsmanager:)"
        )
    if not isinstance(value, str) or not re.fullmatch(_HTTP_URL, value):
        raise InvalidValueError(f"{value!r} is not an http:// or https:// URL")
    return value


# a model version in the MLflow Model Registry: models:/NAME/VERSION (or /{version}) or models:/NAME@ALIAS
REGISTRY_REFERENCE = r"models:/[^/@\s][^/@]{0,255}(?:/(?:[1-9][0-9]{0,9}|\{version\})|@[A-Za-z0-9_-]{1,255})"


def profile_uri(base_dir: Path) -> Callable[[Any], str]:
    """Where a reference profile is: a local path, ``s3://BUCKET/KEY``, or a model version in the MLflow registry
    (``models:/NAME/VERSION``, ``models:/NAME@ALIAS``)."""
    storage = uri(base_dir)

    @accepts({"anyOf": [schema_of(storage), {"type": "string", "pattern": fullmatch(REGISTRY_REFERENCE)}]})
    def parse(value: Any) -> str:
        text = string(value)
        if text.startswith("models:"):
            if not re.fullmatch(REGISTRY_REFERENCE, text):
                raise InvalidValueError(f"{text!r} is not models:/NAME/VERSION or models:/NAME@ALIAS")
            return text
        return storage(text)

    return parse


def uri(base_dir: Path, local_only: bool = False) -> Callable[[Any], str]:
    """A local path (resolved against ``base_dir``) or ``s3://BUCKET/KEY``."""
    local = r"(?!.*://).*\S.*"

    @accepts({"type": "string", "pattern": fullmatch(local if local_only else f"s3://[^/]+/.+|{local}")})
    def parse(value: Any) -> str:
        text = string(value)
        if text.startswith("s3://"):
            if local_only:
                raise InvalidValueError(f"{text!r} must be a local path")
            bucket, _, key = text[5:].partition("/")
            if not bucket or not key:
                raise InvalidValueError(f"{text!r} is not s3://BUCKET/KEY")
            return text
        if "://" in text:
            raise InvalidValueError(f"{text!r}: only local paths and s3://BUCKET/KEY are supported")
        return str(base_dir / os.path.expanduser(text))

    return parse
