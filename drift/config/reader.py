"""The key-path-aware reader of the monitor config.

It collects *every* problem of a config (not just the first) so ``driftline check-config`` can list them all, each
prefixed with its key path: ``models[0].drift.alpha: must be between 0 and 1``. Given a :class:`Blueprint` instead of
a mapping, it records what it reads: the config's JSON Schema comes from the loader itself (:mod:`.jsonschema`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from .values import InvalidValueError, kind_of

T = TypeVar("T")

_MISSING: Any = object()


@dataclass
class Field:
    """One key of a section as the loader reads it: a value (its parser, default, whether required), a nested
    section, a list of sections, or a mapping of user-named keys to values."""

    kind: str  # "value", "section", "list" or "map"
    parse: Callable[[Any], Any] | None = None
    default: Any = _MISSING
    child: Blueprint | None = None
    names: Callable[[Any], str] = str  # a map's key parser
    optional: bool = False  # a section read only when present (Section.has asked first)

    @property
    def required(self) -> bool:
        """What the loader refuses to go without: a value with no default, a list that must have an element, a
        section it always reads that has required keys."""
        if self.kind == "value":
            return self.default is _MISSING
        if self.child is None:
            return False
        if self.kind == "list":
            return self.child.at_least_one
        return not self.optional and any(field.required for field in self.child.fields.values())


class Blueprint(Mapping[str, Any]):
    """A stand-in for a config mapping that has every key and no value: the loader, reading it, records which keys
    each section has and how each is parsed — the config's schema, written once (:mod:`.jsonschema`)."""

    def __init__(self) -> None:
        self.fields: dict[str, Field] = {}
        self.closed = False  # finish() was called: keys beyond the fields are refused
        self.at_least_one = False  # a list element: the list must not be empty

    def record(self, key: str, kind: str, parse: Callable[[Any], Any] | None = None, default: Any = _MISSING) -> Field:
        field = self.fields.get(key)
        if field is None:
            child = Blueprint() if kind in ("section", "list") else None
            field = self.fields[key] = Field(kind, parse, default, child)
        return field

    def __getitem__(self, key: str) -> Any:
        return Blueprint()  # present and not None (Section.has); the readers record what it is

    def __contains__(self, key: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


class Section:
    """Reads one mapping of the config, recording problems under its key path instead of raising."""

    def __init__(self, data: Any, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            self.problem(path, f"must be a mapping of keys to values, not {kind_of(data)}")
            data = {}
        self.data: Mapping[str, Any] = data
        self._seen: set[str] = set()

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path or '(top level)'}: {message}")

    def has(self, key: str) -> bool:
        self._seen.add(key)  # a known key, even when its value is null
        if isinstance(self.data, Blueprint):
            self.data.record(key, "section").optional = True
        return key in self.data and self.data[key] is not None

    def get(self, key: str, parse: Callable[[Any], T], default: T = _MISSING) -> T:
        """The value of ``key`` parsed by ``parse``; ``default`` when absent, a problem when required."""
        self._seen.add(key)
        if isinstance(self.data, Blueprint):
            self.data.record(key, "value", parse, default)
            return default if default is not _MISSING else None  # type: ignore[return-value]
        if key not in self.data or self.data[key] is None:
            if default is _MISSING:
                self.problem(self.key_path(key), "is required")
            return default if default is not _MISSING else None  # type: ignore[return-value]
        try:
            return parse(self.data[key])
        except InvalidValueError as exc:
            self.problem(self.key_path(key), str(exc))
            return default if default is not _MISSING else None  # type: ignore[return-value]

    def leave(self, *keys: str) -> None:
        """Accept ``keys`` unread: sections another component reads (and a blueprint does not record)."""
        self._seen.update(keys)

    def section(self, key: str) -> Section:
        self._seen.add(key)
        if isinstance(self.data, Blueprint):
            return Section(self.data.record(key, "section").child, self.key_path(key), self.problems)
        return Section(self.data.get(key), self.key_path(key), self.problems)

    def items(self, key: str, *, if_empty: str | None = None) -> list[tuple[str, Any]]:
        """The elements of a list under ``key`` with their key paths (``models[0]``); ``if_empty``: the problem
        when the list is missing or empty (it must have an element)."""
        self._seen.add(key)
        if isinstance(self.data, Blueprint):
            element = self.data.record(key, "list").child
            assert element is not None
            element.at_least_one = if_empty is not None
            return [(f"{self.key_path(key)}[0]", element)]
        value = self.data.get(key)
        if not value and if_empty is not None and not isinstance(value, Mapping | str):
            self.problem(self.key_path(key), if_empty)
            return []
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(self.key_path(key), f"must be a list, not {kind_of(value)}")
            return []
        return [(f"{self.key_path(key)}[{i}]", item) for i, item in enumerate(value)]

    def pairs(
        self, key: str, parse: Callable[[Any], T], names: Callable[[Any], str] = str
    ) -> tuple[tuple[str, T], ...]:
        """A mapping whose keys are the user's (model names, pipeline parameters): ``((name, parsed value), ...)``;
        ``names`` parses each key (a problem and the pair left out when it refuses one)."""
        if isinstance(self.data, Blueprint):
            self._seen.add(key)
            self.data.record(key, "map", parse).names = names
            return ()
        if not self.has(key):
            self._seen.add(key)
            return ()
        section = self.section(key)
        parsed = []
        for name in list(section.data):
            value = section.get(str(name), parse)
            try:
                parsed.append((names(str(name)), value))
            except InvalidValueError as exc:
                section.problem(section.key_path(str(name)), str(exc))
        section.finish()
        return tuple(parsed)

    def finish(self, hints: Mapping[str, str] | None = None) -> None:
        """Report keys that nobody asked for, with a suggestion when one is close."""
        if isinstance(self.data, Blueprint):
            self.data.closed = True
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
