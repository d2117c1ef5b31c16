"""A reference file far larger than what the profile keeps is streamed, not loaded: memory grows with the
configured columns only, and progress is shown on a terminal."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.support import config_dict, run_cli, write_config

pytestmark = pytest.mark.install


def peak_rss_of(args: list[str], cwd: Path) -> int:
    """Peak resident memory (bytes) of a child running the real CLI, from wait4's rusage."""
    exe = str(Path(sys.executable).parent / "driftline")
    child = subprocess.Popen([exe, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, child.stderr.read() if child.stderr else ""
    return int(usage.ru_maxrss) * 1024


def write_wide_csv(path: Path, rows: int, seed: int = 0) -> None:
    """The churn columns plus 30 unconfigured numeric columns, written in slices to keep the test itself small."""
    rng = np.random.default_rng(seed)
    header = "tenure,monthly_charges,contract,internet_service,churn_probability," + ",".join(
        f"extra_{i}" for i in range(30)
    )
    with path.open("w") as fh:
        fh.write(header + "\n")
        for start in range(0, rows, 50_000):
            n = min(50_000, rows - start)
            block = np.column_stack(
                [rng.gamma(2, 12, n), rng.normal(70, 20, n)] + [rng.normal(size=n) for _ in range(31)]
            )
            contract = rng.choice(["month-to-month", "one-year", "two-year"], n)
            internet = rng.choice(["dsl", "fiber", "none"], n)
            buffer = io.StringIO()
            for i in range(n):
                numbers = block[i]
                buffer.write(
                    f"{numbers[0]:.3f},{numbers[1]:.4f},{contract[i]},{internet[i]},{abs(numbers[2]) % 1:.5f},"
                    + ",".join(f"{v:.6f}" for v in numbers[3:])
                    + "\n"
                )
            fh.write(buffer.getvalue())


def test_memory_grows_with_configured_columns_not_with_the_file(tmp_path: Path) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    for folder, rows in ((small, 2_000), (large, 600_000)):
        folder.mkdir()
        write_wide_csv(folder / "train.csv", rows)
        write_config(folder, config_dict())
    size = (large / "train.csv").stat().st_size
    baseline = peak_rss_of(["profile", "--config", "monitor.yaml"], small)
    peak = peak_rss_of(["profile", "--config", "monitor.yaml"], large)
    kept = 600_000 * 3 * 8  # three numeric columns as float64
    print(f"\nCSV {size / 1e6:.0f} MB: peak RSS {peak / 1e6:.0f} MB vs {baseline / 1e6:.0f} MB for a tiny file")
    assert size > 150e6
    # The values kept, twice for the column being finished, plus the reader's blocks — far less than the file.
    assert peak - baseline < 2 * kept + 64e6 < size / 2


def test_progress_is_shown_on_a_terminal_only(tmp_path: Path) -> None:
    write_wide_csv(tmp_path / "train.csv", 120_000)
    write_config(tmp_path, config_dict())
    piped = run_cli("profile", "--config", "monitor.yaml", cwd=tmp_path)
    assert piped.returncode == 0 and "reading" not in piped.stderr
    exe = str(Path(sys.executable).parent / "driftline")
    pid, fd = pty.fork()
    if pid == 0:  # the child: stderr is the terminal
        os.chdir(tmp_path)
        os.execv(exe, [exe, "profile", "--config", "monitor.yaml"])  # noqa: S606 - our own CLI
    output = b""
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    text = output.decode(errors="replace")
    assert f"reading {tmp_path / 'train.csv'}:" in text and "100.0%" in text and "rows" in text
