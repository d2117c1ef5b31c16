"""The package's shape: the public API resolves, and drift depends on nothing else of driftline (in its sources
here; tests/integration/test_shipping.py imports every module in a fresh interpreter)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import drift
from tests.support import REPO
from tests.support.packages import OTHERS


def test_every_public_name_resolves() -> None:
    for name in drift.__all__:
        assert getattr(drift, name) is not None, name
    assert callable(drift.evaluate) and callable(drift.load_config)


# What each package may import (besides itself): the services share the HTTP layer and neither imports the other;
# only the command line sees everything.
ALLOWED = {
    "drift": set(),
    "httpserver": {"drift"},
    "exporters": {"drift", "httpserver"},
    "alerts": {"drift", "httpserver"},
    "dashboards": {"drift", "alerts"},
    "driftline": {"drift", "httpserver", "exporters", "alerts", "dashboards"},
}


def imported_packages(package: str) -> list[tuple[str, str]]:
    """``(where, imported top-level package)`` for every import statement of every module of ``package``, including
    those inside functions."""
    found = []
    for path in sorted((REPO / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            found += [(f"{path.relative_to(REPO)}:{node.lineno}", name.split(".")[0]) for name in names]
    return found


def test_no_module_of_drift_names_another_package_in_an_import() -> None:
    assert [(where, name) for where, name in imported_packages("drift") if name in OTHERS] == []


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_dependencies_flow_one_way(package: str) -> None:
    ours = set(ALLOWED) | {"tests", "benchmarks"}
    refused = ours - ALLOWED[package] - {package}
    assert [(where, name) for where, name in imported_packages(package) if name in refused] == []


def test_every_module_of_drift_is_small_enough_to_read_in_one_sitting() -> None:
    sizes = {p.relative_to(REPO): len(p.read_text().splitlines()) for p in (REPO / "drift").rglob("*.py")}
    assert max(sizes.values()) <= 560, sizes
    assert Path("drift/config.py") not in sizes and Path("drift/configvalues.py") not in sizes
