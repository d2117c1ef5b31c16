"""The unit tier starts no process: `make unit` installs no binary (promtool, git, the services), and a subprocess
would make the tier as slow as the others. A test that needs one belongs in tests/integration."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest

# joblib (under scikit-learn's gradient boosting) counts physical cores with `cat /proc/cpuinfo` unless told to use
# fewer cores than the machine has; a fit in this tier must not start that process (and one thread does here).
os.environ.setdefault("LOKY_MAX_CPU_COUNT", "1")


@pytest.fixture(autouse=True)
def no_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"the unit tier starts no process ({args[1] if len(args) > 1 else kwargs.get('args')!r})"
                             ": this test belongs in tests/integration")  # fmt: skip

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
