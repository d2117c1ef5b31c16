"""The optional parts of driftline and the extra that installs each.

``pip install driftline`` is the core: profile, serve, generate, webhook and the Python API. Evidently (the data
summary and model quality sections of a drift report) and the demo's model and terminal view are extras, so the
exporter image and a plain install do not carry them. Code that needs one asks :func:`require` (one line naming the
extra) or :func:`missing` (to leave a section out and say why).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from .errors import DriftlineError


@dataclass(frozen=True)
class Extra:
    name: str  # pip install 'driftline[name]'
    modules: tuple[str, ...]  # the top-level modules it installs
    gives: str  # what it adds, for the message

    @property
    def install(self) -> str:
        return f"pip install 'driftline[{self.name}]'"


REPORT = Extra("report", ("evidently",), "Evidently's data summary and model quality sections")
DEMO = Extra("demo", ("sklearn", "rich"), "the demo's churn model (scikit-learn) and live view (rich)")
ESTIMATION = Extra(
    "estimation", ("sklearn",), "the loss models a regression's quality is estimated with before its labels"
)


class MissingExtraError(DriftlineError):
    """A command needs an extra that is not installed."""


def missing(extra: Extra) -> tuple[str, ...]:
    """The extra's modules that cannot be imported here (empty when it is installed)."""
    return tuple(module for module in extra.modules if importlib.util.find_spec(module) is None)


def require(extra: Extra, command: str) -> None:
    """Raise :class:`MissingExtraError` naming the extra when any of its modules is missing."""
    absent = missing(extra)
    if absent:
        raise MissingExtraError(
            f"{command} needs the {extra.name} extra ({extra.gives}; not installed: {', '.join(absent)}): "
            f"{extra.install}"
        )
