"""What the tests feed driftline: synthetic reference data and configs (a churn model, a labelled churn model, the iris
model of the KServe fixtures, a webhook), and Alertmanager notifications as Alertmanager 0.25 sends them."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

import drift
from alerts.config import DeploymentConfig
from alerts.loader import load_deployment, parse_deployment

REPO = Path(__file__).resolve().parent.parent.parent


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
) -> dict[str, Any]:
    return {
        "version": 1,
        "s3": {"endpoint_url": endpoint, "region": "us-east-1"},
        "models": [
            {
                "name": "churn-model",
                "namespace": "default",
                "reference": {"data": data, "profile": profile},
                "features": CHURN_FEATURES,
                "outputs": CHURN_OUTPUTS,
                "drift": drift_settings or {},
            }
        ],
    }


def write_config_dict(directory: Path | None = None, **kwargs: Any) -> DeploymentConfig:
    return parse_deployment(config_dict(**kwargs), base_dir=directory or Path("."))


def write_config(directory: Path, content: dict[str, Any]) -> Path:
    path = directory / "monitor.yaml"
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def labelled_churn_frame(n: int, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    """churn_frame plus `churned` (0/1), drawn from the model's own probability: the model is calibrated."""
    frame = churn_frame(n, seed, shift)
    rng = np.random.default_rng(seed + 1000)
    frame["churned"] = (rng.random(n) < frame["churn_probability"]).astype(int)
    return frame


def target_config(
    tmp_path: Path, *, store_size: int = 100_000, ttl: str = "1d", **target: Any
) -> tuple[Path, dict[str, Any]]:
    """Reference data with labels, its profile built by `driftline profile`, and the config's path."""
    labelled_churn_frame(20_000, seed=1).to_csv(tmp_path / "train.csv", index=False)
    content = config_dict()
    content["exporter"] = {"evaluate_every": "200ms", "reference_check_every": "1s", "report_interval": "2s"}
    model = content["models"][0]
    model["window"] = {"size": 5000, "max_age": "1h"}
    model["target"] = {
        "name": "churned",
        "task": "classification",
        "prediction": "churn_probability",
        "positive": 1,
        "min_samples": 200,
        "max_degradation": 0.1,
        **target,
    }
    model["feedback"] = {"store_size": store_size, "ttl": ttl}
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path, content


FIXTURES = REPO / "tests" / "fixtures" / "kserve"  # events in the exact shapes KServe's logger sends
IRIS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
IRIS_MODEL = {"model": "sklearn-iris", "model_namespace": "default"}


def logger_headers(model: str, kind: str = "request", event_id: str | None = None, **extra: str) -> dict[str, str]:
    """The headers of a binary-mode CloudEvent as KServe's logger sends it (``kind``: request, response, feedback)."""
    headers = {
        "Ce-Specversion": "1.0",
        "Ce-Type": f"org.kubeflow.serving.inference.{kind}",
        "Ce-Inferenceservicename": model,
        "Ce-Namespace": "default",
        "Content-Type": "application/json",
    }
    return {**headers, **({"Ce-Id": event_id} if event_id else {}), **extra}


IRIS_REQUEST = logger_headers("sklearn-iris", event_id="x")


def iris_config(tmp_path: Path, *, cli: bool = True, **exporter: Any) -> Path:
    """The iris model of the KServe fixtures, its reference data and its profile — built by ``driftline profile``, or
    in process with ``cli=False`` (the fast tier)."""
    rng = np.random.default_rng(0)
    n = 3000
    pd.DataFrame(
        {
            "sepal_length": rng.normal(5.8, 0.8, n),
            "sepal_width": rng.normal(3.0, 0.4, n),
            "petal_length": rng.normal(3.7, 1.7, n),
            "petal_width": rng.normal(1.2, 0.7, n),
            "class": rng.choice([0, 1, 2], n),
        }
    ).to_csv(tmp_path / "iris.csv", index=False)
    content = {
        "version": 1,
        "exporter": {"evaluate_every": "200ms", "reference_check_every": "1s", **exporter},
        "models": [
            {
                "name": "sklearn-iris",
                "namespace": "default",
                "reference": {"data": "iris.csv", "profile": "iris-profile.json"},
                "features": [{"name": n, "type": "numeric"} for n in IRIS],
                "outputs": [{"name": "class", "type": "categorical"}],
                "window": {"size": 1000, "max_age": "1h"},
            }
        ],
    }
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(content))
    if cli:
        from .processes import run_cli

        assert run_cli("profile", "--config", str(path)).returncode == 0
    else:
        model = load_deployment(path).models[0]
        drift.profile_from_source(model).save(model.reference.profile)
    return path


TOKEN = "am-token-5b1f0c"
GITHUB_TOKEN = "ghs_fake_github_token_91d3"
ENV = {"DRIFTLINE_WEBHOOK_TOKEN": TOKEN, "GITHUB_TOKEN": GITHUB_TOKEN}


WEBHOOK_MODELS = (("churn-model", "default"), ("fraud-scorer", "risk"), ("price", "retail"))


def iris_pull_config(tmp_path: Path, endpoint: str, *, per_poll: int, watermark: str) -> Path:
    """:func:`iris_config` reading its events from the KServe archive in moto S3 (``s3://kserve-logs/logs``) every
    200 ms, ``per_poll`` objects a poll, its watermark at ``s3://kserve-logs/driftline/<watermark>``."""
    path = iris_config(tmp_path)
    content = yaml.safe_load(path.read_text())
    content["s3"] = {"endpoint_url": endpoint, "region": "us-east-1"}
    content["models"][0]["source"] = {
        "s3_logs": "s3://kserve-logs/logs",
        "poll": "200ms",
        "max_objects_per_poll": per_poll,
        "watermark": f"s3://kserve-logs/driftline/{watermark}",
    }
    path.write_text(yaml.safe_dump(content))
    return path


def webhook_config(
    tmp_path: Path, github_url: str, models: tuple[tuple[str, str], ...] = WEBHOOK_MODELS, **webhook: Any
) -> Path:
    """A config for the retraining webhook: only ``models`` (name, namespace) may start a retraining."""
    content = {
        "version": 1,
        "models": [
            {
                "name": name,
                "namespace": namespace,
                "reference": {"data": "train.csv", "profile": "profile.json"},
                "features": [{"name": "tenure", "type": "numeric"}],
            }
            for name, namespace in models
        ],
        "webhook": {
            "listen": "127.0.0.1:8081",
            "token": "env:DRIFTLINE_WEBHOOK_TOKEN",
            "cooldown": "1h",
            "state": str(tmp_path / "state" / "webhook.sqlite"),
            "retry": {"initial_backoff": "100ms", "max_backoff": "500ms", "give_up_after": "1h"},
            "github": {
                "repository": "my-org/churn-model",
                "token": "env:GITHUB_TOKEN",
                "api_url": github_url,
                "timeout": "1s",
                "repositories": {"fraud-scorer": "my-org/fraud"},
            },
            **webhook,
        },
    }
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(content))
    (tmp_path / "train.csv").write_text("tenure\n1\n24\n")  # what check-config reads of the reference data
    (tmp_path / "state").mkdir(exist_ok=True)
    return path


def alert(
    model: str = "churn-model",
    namespace: str = "default",
    status: str = "firing",
    starts_at: str = "2026-11-27T07:00:00Z",
    alertname: str = "DriftlineDatasetDrift",
    action: str | None = "retrain",
    fingerprint: str | None = None,
) -> dict[str, Any]:
    labels = {
        "alertname": alertname,
        "severity": "critical",
        "model": model,
        "model_namespace": namespace,
        "job": "driftline-exporter",
    }
    if action:
        labels["action"] = action
    return {
        "status": status,
        "labels": labels,
        "annotations": {
            "summary": "A model's input data drifted away from its training data; retraining is due.",
            "description": f"67% of the features of {namespace}/{model} drifted.",
            "drifted_features": "contract=0.210, monthly_charges=0.340",
            "runbook_url": "https://example.org/runbooks/DriftlineDatasetDrift",
            "dashboard_url": f"https://grafana.example.org/d/driftline-model-drift?var-model={model}",
            "reference_source": f"models:/{model}@champion",
            "reference_registry_version": "3",
            "reference_profile": "5f2c0a9e41d7b3c8",
        },
        "startsAt": starts_at,
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-27T09:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=...",
        "fingerprint": fingerprint or f"{abs(hash((model, namespace, alertname))):016x}",
    }


def notification(*alerts: dict[str, Any], group: str = "churn-model", status: str | None = None) -> dict[str, Any]:
    first = alerts[0]
    return {
        "receiver": "retrain-webhook",
        "status": status or ("firing" if any(a["status"] == "firing" for a in alerts) else "resolved"),
        "alerts": list(alerts),
        "groupLabels": {"alertname": first["labels"]["alertname"], "model": first["labels"]["model"]},
        "commonLabels": first["labels"],
        "commonAnnotations": first["annotations"],
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": '{}/{action="retrain",severity="critical"}:'
        + f'{{alertname="DriftlineDatasetDrift", model="{group}"}}',
        "truncatedAlerts": 0,
    }


def archived_record(payload: Any, req_type: str, record_id: str) -> dict[str, Any]:
    """One record as KServe's logger archives it in S3 (the payload base64 in ``bytes``) for the iris model."""
    return {
        "bytes": base64.b64encode(json.dumps(payload).encode()).decode(),
        "contentType": "application/json",
        "reqType": req_type,
        "id": record_id,
        "inferenceService": "sklearn-iris",
        "namespace": "default",
        "component": "predictor",
        "endpoint": "",
        "metadata": "{}",
        "annotations": "{}",
    }
