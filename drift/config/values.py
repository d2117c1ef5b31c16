"""Value types of the monitor config and the key-path-aware reader that validates them.

The reader collects *every* problem of a config (not just the first) so ``driftline check-config`` can list them
all, each prefixed with its key path: ``models[0].drift.alpha: must be between 0 and 1``.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_DURATION_UNITS = (("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0), ("ms", 0.001))
_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$")


class InvalidValueError(ValueError):
    """Raised by a value parser; the reader prefixes the message with the key path."""


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


_MISSING: Any = object()


class Section:
    """Reads one mapping of the config, recording problems under its key path instead of raising."""

    def __init__(self, data: Any, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            self.problem(path, f"must be a mapping of keys to values, not {_kind(data)}")
            data = {}
        self.data: Mapping[str, Any] = data
        self._seen: set[str] = set()

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path or '(top level)'}: {message}")

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def get(self, key: str, parse: Callable[[Any], T], default: T = _MISSING) -> T:
        """The value of ``key`` parsed by ``parse``; ``default`` when absent, a problem when required."""
        self._seen.add(key)
        if key not in self.data or self.data[key] is None:
            if default is _MISSING:
                self.problem(self.key_path(key), "is required")
            return default if default is not _MISSING else None  # type: ignore[return-value]
        try:
            return parse(self.data[key])
        except InvalidValueError as exc:
            self.problem(self.key_path(key), str(exc))
            return default if default is not _MISSING else None  # type: ignore[return-value]

    def section(self, key: str) -> Section:
        self._seen.add(key)
        return Section(self.data.get(key), self.key_path(key), self.problems)

    def items(self, key: str) -> list[tuple[str, Any]]:
        """The elements of a list under ``key`` with their key paths (``models[0]``)."""
        self._seen.add(key)
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(self.key_path(key), f"must be a list, not {_kind(value)}")
            return []
        return [(f"{self.key_path(key)}[{i}]", item) for i, item in enumerate(value)]

    def pairs(self, key: str, parse: Callable[[Any], T]) -> tuple[tuple[str, T], ...]:
        """A mapping whose keys are the user's (model names, pipeline parameters): ``((key, parsed value), ...)``."""
        if not self.has(key):
            self._seen.add(key)
            return ()
        section = self.section(key)
        parsed = tuple((str(name), section.get(str(name), parse)) for name in list(section.data))
        section.finish()
        return parsed

    def finish(self, hints: Mapping[str, str] | None = None) -> None:
        """Report keys that nobody asked for, with a suggestion when one is close."""
        for key in self.data:
            if key in self._seen:
                continue
            if hints and key in hints:
                message = hints[key]
            else:
                known = sorted(self._seen)
                close = difflib.get_close_matches(str(key), known, n=1)
                message = f"unknown key {str(key)!r}" + (
                    f"; did you mean {close[0]!r}?" if close else f" (known keys: {', '.join(known)})"
                )
            self.problem(self.key_path(str(key)), message)


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


# --- value parsers: each takes the raw YAML value and returns the typed value or raises InvalidValueError ---


def string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValueError(f"must be a non-empty string, not {_kind(value)} {value!r}")
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidValueError(f"must be true or false, not {value!r}")
    return value


def durations(value: Any) -> tuple[Duration, ...]:
    """A non-empty list of distinct durations (``[1h, 24h]``)."""
    if not isinstance(value, list) or not value:
        raise InvalidValueError(f"must be a non-empty list of durations such as [1h, 24h], not {value!r}")
    parsed = tuple(duration(item) for item in value)
    if len({d.seconds for d in parsed}) != len(parsed):
        raise InvalidValueError(f"lists a duration twice: {value!r}")
    return parsed


def integer(minimum: int | None = None, maximum: int | None = None) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidValueError(f"must be a whole number, not {_kind(value)} {value!r}")
        if minimum is not None and value < minimum:
            raise InvalidValueError(f"must be at least {minimum}, not {value}")
        if maximum is not None and value > maximum:
            raise InvalidValueError(f"must be at most {maximum}, not {value}")
        return value

    return parse


def number(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> Callable[[Any], float]:
    """A float in a range; the message spells the range the way the docs do."""

    def parse(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValueError(f"must be a number, not {_kind(value)} {value!r}")
        below = value <= low if low_open else value < low
        above = value >= high if high_open else value > high
        if below or above or value != value:  # NaN fails every range
            if high == float("inf"):
                raise InvalidValueError(f"must be {'greater than' if low_open else 'at least'} {low:g}, not {value!r}")
            raise InvalidValueError(f"must be between {low:g} and {high:g}, not {value!r}")
        return float(value)

    return parse


def choice(*options: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in options:
            raise InvalidValueError(f"must be one of {', '.join(options)}, not {value!r}")
        return str(value)

    return parse


def matching(pattern: str, description: str) -> Callable[[Any], str]:
    compiled = re.compile(pattern)

    def parse(value: Any) -> str:
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise InvalidValueError(f"{value!r} is not {description}")
        return value

    return parse


def duration(value: Any) -> Duration:
    if not isinstance(value, str):
        raise InvalidValueError(f'{value!r} is not a duration; write it with a unit, like "30s" or "5m"')
    return Duration.parse(value)


def listen_address(value: Any) -> ListenAddress:
    return ListenAddress.parse(value)


def secret_ref(value: Any) -> SecretRef:
    return SecretRef.parse(value)


def http_url(value: Any) -> str:
    if isinstance(value, str) and "@" in value.split("://", 1)[-1].split("/", 1)[0]:
        # never echo it: the part before @ is a user name and, usually, a password
        raise InvalidValueError(
            "holds credentials (user:password@host); put them in a secret reference (env:, file:, secretsmanager:)"
        )
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+", value):
        raise InvalidValueError(f"{value!r} is not an http:// or https:// URL")
    return value


def uri(base_dir: Path, local_only: bool = False) -> Callable[[Any], str]:
    """A local path (resolved against ``base_dir``) or ``s3://BUCKET/KEY``."""

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
