"""The core install (`pip install driftline`) without its extras: every command but the demo works when Evidently,
scikit-learn and rich cannot be imported, and a command that needs an extra names it in one line.

The extras are hidden the way Python documents for blocking an import (``sys.modules[name] = None``), so this runs
in the full test virtualenv too; `make test`'s pandas-3 run has no Evidently installed at all."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from tests.support import HANG_TIMEOUT, labelled_churn_frame, target_config
from tests.support.processes import REPO

pytestmark = pytest.mark.install

EXTRAS = ("evidently", "sklearn", "rich")
HIDE_EXTRAS = f"import sys; sys.modules.update(dict.fromkeys({EXTRAS!r}))"


def run_core(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``driftline ARGS`` in a Python where the extras' modules cannot be imported."""
    code = f"{HIDE_EXTRAS}; from driftline.cli import main; raise SystemExit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": str(REPO), "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_every_core_module_imports_without_the_extras() -> None:
    code = f"""{HIDE_EXTRAS}
import importlib, pkgutil
names = []
for package in ("drift", "httpserver", "exporters", "alerts", "dashboards", "driftline"):
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        # the demo is the demo extra; __main__ runs the command line when imported
        if not info.name.startswith("driftline.demo") and not info.name.endswith("__main__"):
            importlib.import_module(info.name)
            names.append(info.name)
print(len(names))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=HANG_TIMEOUT
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 40  # the walk saw the packages, not nothing


def test_core_commands_work_without_the_extras_and_the_demo_names_its_extra(tmp_path: Path) -> None:
    config, _ = target_config(tmp_path)
    checked = run_core("check-config", "--config", str(config))
    assert checked.returncode == 0, checked.stderr
    profiled = run_core("profile", "--config", str(config))
    assert profiled.returncode == 0, profiled.stderr
    generated = run_core("generate", "--config", str(config), "--out", str(tmp_path / "out"))
    assert generated.returncode == 0, generated.stderr
    assert yaml.safe_load((tmp_path / "out" / "prometheus" / "rules.yml").read_text())["groups"]

    demo = run_core("demo", "--no-servers", "--duration", "1s", "--data-dir", str(tmp_path / "demo"))
    assert demo.returncode == 1 and demo.stdout == ""
    assert demo.stderr.count("\n") == 1, demo.stderr
    assert "driftline demo needs the demo extra" in demo.stderr and "pip install 'driftline[demo]'" in demo.stderr
    assert not (tmp_path / "demo").exists()


def test_a_report_without_evidently_is_the_verdict_and_says_which_extra_adds_the_rest(tmp_path: Path) -> None:
    config, _ = target_config(tmp_path)
    assert run_core("profile", "--config", str(config)).returncode == 0
    labelled_churn_frame(3000, seed=4, shift=0.5).to_csv(tmp_path / "current.csv", index=False)
    out = tmp_path / "report.html"
    report = run_core("report", "--config", str(config), "--model", "churn-model",
                      "--current", str(tmp_path / "current.csv"), "--out", str(out))  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert report.stderr.count("\n") == 1 and "pip install 'driftline[report]'" in report.stderr
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert 'id="driftline-verdict"' in page and "DRIFTED" in page  # driftline's verdict, with the shift found
    assert "need the report extra: pip install &#x27;driftline[report]&#x27;" in page
    assert "evidently" not in page.lower().replace("evidently&#x27;s", "")  # no Evidently script or section


def test_the_core_requirements_carry_no_extra_and_no_pandas_cap() -> None:
    requirements = [Requirement(r) for r in importlib.metadata.requires("driftline") or []]
    core = {r.name.lower(): r for r in requirements if r.marker is None}
    by_extra: dict[str, set[str]] = {}
    for r in requirements:
        if r.marker is not None:
            extra = re.search(r'extra == "([^"]+)"', str(r.marker))
            if extra is not None:
                by_extra.setdefault(extra.group(1), set()).add(r.name.lower())
    assert not {"evidently", "scikit-learn", "rich"} & core.keys()
    assert core["pandas"].specifier.contains("3.1.1")  # pandas 3 is allowed
    assert by_extra["report"] == {"evidently", "pandas"}  # Evidently and the pandas cap it needs, nothing else
    assert by_extra["server"] == {"uvloop"} and "uvloop" not in core  # no Windows wheel: not in the core
    assert {"scikit-learn", "rich"} <= by_extra["demo"]
    assert {"driftline", "pytest"} <= by_extra["test"] and "driftline" in by_extra["dev"]
