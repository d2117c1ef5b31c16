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
