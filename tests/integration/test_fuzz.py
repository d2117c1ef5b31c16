"""Every fuzz target (tests/fuzz) for a short budget, as `make test` runs them: coverage-guided with atheris where it
installs (Linux x86_64), the seeded mutation engine elsewhere. No input may break the boundary's invariants; the long
run (`make fuzz`, over a million executions) and its figures are in docs/operations.md."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.fuzz.targets import TARGETS
from tests.support import REPO

RUNS = 3000


def test_every_fuzz_target_runs_its_budget_with_no_escape() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.fuzz", "--runs", str(RUNS)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-6000:]
    summaries = dict(re.findall(r"^(\w+): ([\d,]+) executions", done.stdout, re.M))
    assert set(summaries) == set(TARGETS)
    assert all(int(n.replace(",", "")) >= RUNS for n in summaries.values()), summaries
    assert all(" 0 escapes" in line for line in done.stdout.splitlines() if "executions" in line)
