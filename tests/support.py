"""Helpers shared by the test suites: synthetic data, config dicts, running the real CLI."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

import drift

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def churn_frame(n: int, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    """A synthetic customer-churn table: numeric and categorical features and a model output."""
    rng = np.random.default_rng(seed)
    tenure = rng.gamma(2.0, 12.0, n).round(0)
    monthly = rng.normal(70.0 * (1 + shift), 20.0, n)
    contract = rng.choice(["month-to-month", "one-year", "two-year"], n, p=[0.55, 0.25, 0.20])
    internet = rng.choice(["dsl", "fiber", "none"], n, p=[0.35, 0.45, 0.20])
    probability = 1 / (1 + np.exp(-(monthly - 70) / 20 + tenure / 30))
    return pd.DataFrame(
        {
            "tenure": tenure,
            "monthly_charges": monthly,
            "contract": contract,
            "internet_service": internet,
            "churn_probability": probability,
        }
    )


CHURN_FEATURES = [
    {"name": "tenure", "type": "numeric"},
    {"name": "monthly_charges", "type": "numeric"},
    {"name": "contract", "type": "categorical"},
    {"name": "internet_service", "type": "categorical"},
]
CHURN_OUTPUTS = [{"name": "churn_probability", "type": "numeric"}]


def model_config(**drift_settings: Any) -> drift.ModelConfig:
    return write_config_dict(drift_settings=drift_settings).models[0]


def config_dict(
    data: str = "train.csv",
    profile: str = "profile.json",
    endpoint: str | None = None,
    drift_settings: dict[str, Any] | None = None,
    sample_size: int = 20000,
) -> dict[str, Any]:
    return {
        "version": 1,
        "s3": {"endpoint_url": endpoint, "region": "us-east-1"},
        "models": [
            {
                "name": "churn-model",
                "namespace": "default",
                "reference": {"data": data, "profile": profile, "sample_size": sample_size},
                "features": CHURN_FEATURES,
                "outputs": CHURN_OUTPUTS,
                "drift": drift_settings or {},
            }
        ],
    }


def write_config_dict(directory: Path | None = None, **kwargs: Any) -> drift.MonitorConfig:
    return drift.parse_config(config_dict(**kwargs), base_dir=directory or Path("."))


def write_config(directory: Path, content: dict[str, Any]) -> Path:
    path = directory / "monitor.yaml"
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``driftline`` console script as a user would."""
    exe = shutil.which("driftline", path=str(Path(sys.executable).parent)) or "driftline"
    full_env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", **(env or {})}
    return subprocess.run([exe, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300)


class DriftlineProcess:
    """A long-running `driftline` command (`serve`, `webhook`) as a real subprocess on a loopback port, its output
    appended to ``log_path``; always stopped, even when a test fails."""

    command = "serve"

    def __init__(
        self, config_path: Path, log_path: Path, env: dict[str, str] | None = None, port: int | None = None
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        exe = str(Path(sys.executable).parent / "driftline")
        full_env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", **(env or {})}
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [exe, self.command, "--config", str(config_path), "--listen", f"127.0.0.1:{self.port}"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=full_env,
        )

    def wait_until(self, path: str, status: int = 200, timeout: float = 30.0) -> None:
        import time

        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()
            try:
                if requests.get(self.url + path, timeout=1).status_code == status:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"{path} never answered {status}:\n{self.log_path.read_text()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return int(self.process.returncode)

    def __enter__(self) -> DriftlineProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ExporterProcess(DriftlineProcess):
    """`driftline serve`."""

    command = "serve"


def scrape(url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """/metrics parsed with prometheus_client's parser: {sample name: {sorted labels: value}}."""
    from driftline.demo.view import read_exporter

    return read_exporter(url)


def labels(**kv: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(kv.items()))
