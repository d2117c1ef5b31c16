"""`driftline demo` as a user runs it (a subprocess, output to a pipe): the loop shows the drift and exactly one
dispatch; Ctrl-C stops it cleanly; nothing it started outlives it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import HANG_TIMEOUT, wait

pytestmark = pytest.mark.install

DRIFTLINE = str(Path(sys.executable).parent / "driftline")


def leftovers(marker: Path) -> list[str]:
    """Processes whose command line mentions the demo's folder (Prometheus and Alertmanager run with it)."""
    found = subprocess.run(["ps", "-eww", "-o", "pid,args"], capture_output=True, text=True, check=True).stdout
    return [line for line in found.splitlines() if str(marker) in line and "ps -eww" not in line]


def test_the_demo_shows_drift_and_one_dispatch(tmp_path: Path) -> None:
    data = tmp_path / "demo-data"
    started = time.monotonic()
    result = subprocess.run(
        [DRIFTLINE, "demo", "--duration", "60s", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    summary = out[out.index("summary") :]
    assert "dataset drift:       DRIFTED" in summary
    assert "DriftlineDatasetDrift" in summary.split("alerts that fired:")[1].splitlines()[0]
    assert "GitHub dispatches:   1\n" in summary
    assert "monthly_charges" in summary.split("GitHub dispatches:")[1]
    assert "Slack: [FIRING:1] DriftlineDatasetDrift - default/churn-model" in out
    for written in ("monitor.yaml", "train.csv", "profile.json", "generated/prometheus/rules.yml"):
        assert (data / written).exists(), written
    assert leftovers(data) == []
    print(f"\ndemo wall time {time.monotonic() - started:.0f} s\n{summary}")


def test_ctrl_c_stops_everything(tmp_path: Path) -> None:
    data = tmp_path / "demo-data"
    demo = subprocess.Popen(
        [DRIFTLINE, "demo", "--duration", "10m", "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    try:
        lines: list[str] = []

        def traffic_started() -> bool:
            assert demo.stdout is not None
            line = demo.stdout.readline()
            lines.append(line)
            return line.startswith("4/4") or demo.poll() is not None

        wait(traffic_started, 120, "the demo to start its traffic")
        if demo.poll() is not None:
            assert demo.stdout is not None
            pytest.fail("the demo exited before its traffic:\n" + "".join(lines) + demo.stdout.read())
        assert leftovers(data), "Prometheus and Alertmanager should be running"
        demo.send_signal(signal.SIGINT)
        output, _ = demo.communicate(timeout=HANG_TIMEOUT)
        assert demo.returncode == 130, output
        assert "interrupted: everything the demo started is stopped" in output
        assert "summary" in output
        wait(lambda: leftovers(data) == [], 120, "no process of the demo left")
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()


def test_exporter_only(tmp_path: Path) -> None:
    result = subprocess.run(
        [DRIFTLINE, "demo", "--duration", "15s", "--no-servers", "--drift", "none", "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=HANG_TIMEOUT,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "no Prometheus/Alertmanager (--no-servers)" in result.stdout
    assert "dataset drift:       none" in result.stdout
    assert "GitHub dispatches:   0" in result.stdout


def test_data_and_profile_in_s3(tmp_path: Path, s3: Any, s3_endpoint: str) -> None:
    """--s3: training data and profile go to S3 (here a moto server, found through AWS_ENDPOINT_URL_S3)."""
    s3.create_bucket(Bucket="demo-bucket")
    env = {**os.environ, "AWS_ENDPOINT_URL_S3": s3_endpoint, "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(
        [
            DRIFTLINE,
            "demo",
            "--duration",
            "10s",
            "--no-servers",
            "--s3",
            "s3://demo-bucket/churn",
            "--data-dir",
            str(tmp_path / "d"),
        ],
        capture_output=True,
        text=True,
        timeout=HANG_TIMEOUT,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="demo-bucket")["Contents"]}
    assert keys == {"churn/train.csv", "churn/profile.json"}
    assert "s3://demo-bucket/churn/profile.json" in result.stdout
