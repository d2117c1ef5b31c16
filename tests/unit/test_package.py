"""The package's shape: the public API resolves, and drift depends on nothing else of driftline."""

from __future__ import annotations

import subprocess
import sys

import drift


def test_every_public_name_resolves() -> None:
    for name in drift.__all__:
        assert getattr(drift, name) is not None, name
    assert callable(drift.evaluate) and callable(drift.load_config)


def test_drift_imports_none_of_the_other_packages() -> None:
    code = (
        "import sys, drift, drift.config, drift.profile, drift.evaluation, drift.reader, drift.storage;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('exporters', 'dashboards', 'alerts', 'driftline')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_reading_a_config_does_not_import_the_numeric_stack() -> None:
    code = "import sys, drift; drift.load_config; print('scipy' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"
