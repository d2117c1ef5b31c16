"""The repository's packages as the layering tests see them: drift's modules, and the packages drift must not
import (dependencies flow one way)."""

from __future__ import annotations

import pkgutil

import drift

OTHERS = ("httpserver", "exporters", "dashboards", "alerts", "driftline", "tests", "benchmarks")


def drift_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(drift.__path__, "drift."))
