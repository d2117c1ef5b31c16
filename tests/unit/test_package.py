"""The package's shape: the public API resolves, and drift depends on nothing else of driftline."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import drift
from tests.support import REPO

OTHERS = ("exporters", "dashboards", "alerts", "driftline", "tests", "benchmarks")


def drift_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(drift.__path__, "drift."))


def test_every_public_name_resolves() -> None:
    for name in drift.__all__:
        assert getattr(drift, name) is not None, name
    assert callable(drift.evaluate) and callable(drift.load_config)


# Each package may import only those after it: driftline → dashboards → alerts → exporters → drift.
ORDER = ("driftline", "dashboards", "alerts", "exporters", "drift")


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


@pytest.mark.parametrize("package", ORDER)
def test_dependencies_flow_one_way(package: str) -> None:
    earlier = set(ORDER[: ORDER.index(package)]) | {"tests", "benchmarks"}
    assert [(where, name) for where, name in imported_packages(package) if name in earlier] == []


def test_importing_every_module_of_drift_loads_nothing_else_of_driftline() -> None:
    modules = drift_modules()
    assert len(modules) >= 15 and "drift.config.loader" in modules and "drift.quality.adwin" in modules
    code = (
        f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {OTHERS!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert out.strip() == "[]"


def test_every_module_of_drift_is_small_enough_to_read_in_one_sitting() -> None:
    sizes = {p.relative_to(REPO): len(p.read_text().splitlines()) for p in (REPO / "drift").rglob("*.py")}
    assert max(sizes.values()) <= 560, sizes
    assert Path("drift/config.py") not in sizes and Path("drift/configvalues.py") not in sizes


def test_reading_a_config_does_not_import_the_numeric_stack() -> None:
    code = "import sys, drift; drift.load_config; print('scipy' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


def test_make_clean_restores_a_fresh_clone(tmp_path: Path) -> None:
    """What the Makefile's targets, the demo and the Quick start leave behind, `make clean` removes: afterwards git
    sees nothing, ignored files included."""
    import shutil

    for name in ("Makefile", ".gitignore"):
        shutil.copyfile(REPO / name, tmp_path / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    for command in (["init", "-q"], ["add", "Makefile", ".gitignore"], ["commit", "-q", "-m", "clone"]):
        subprocess.run([*git, *command], cwd=tmp_path, check=True, capture_output=True)
    left_behind = [".venv/bin/python", ".venv-demo/bin/python", ".venv-core/bin/python",
                   "demo-data/monitoring/prometheus/rules.yml", "demo-data/report.html",
                   ".pytest_cache/v", ".mypy_cache/x", ".ruff_cache/x", ".hypothesis/x", ".peers/x",
                   "pkg/__pycache__/m.pyc", "driftline.egg-info/PKG-INFO"]  # fmt: skip
    for left in left_behind:
        (tmp_path / left).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / left).write_text("x")
    subprocess.run(["make", "clean"], cwd=tmp_path, check=True, capture_output=True)
    status = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=tmp_path, capture_output=True,
                            text=True, check=True)  # fmt: skip
    assert status.stdout == "", status.stdout
