"""A labelled churn model for the ground-truth tests: reference data with a `churned` label, a config with a target,
and helpers that send predictions and labels the way KServe's logger and a label job do."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import requests
import yaml

from tests.support import churn_frame, config_dict

RESPONSE = "org.kubeflow.serving.inference.response"
REQUEST = "org.kubeflow.serving.inference.request"
FEEDBACK = "org.kubeflow.serving.inference.feedback"


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


def send_predictions(url: str, frame: pd.DataFrame, rows_per_call: int = 10) -> list[str]:
    """Request and response events for ``frame`` in calls of ``rows_per_call`` rows; returns each call's Ce-Id."""
    ids = []
    features = ["tenure", "monthly_charges", "contract", "internet_service"]
    with requests.Session() as session:
        for start in range(0, len(frame), rows_per_call):
            chunk = frame.iloc[start : start + rows_per_call]
            event_id = str(uuid.uuid4())
            ids.append(event_id)
            for kind, body in (
                (REQUEST, {"instances": chunk[features].to_dict(orient="records")}),
                (RESPONSE, {"predictions": chunk["churn_probability"].tolist()}),
            ):
                headers = {
                    "Ce-Specversion": "1.0",
                    "Ce-Id": event_id,
                    "Ce-Type": kind,
                    "Ce-Source": "http://localhost:9081/",
                    "Ce-Inferenceservicename": "churn-model",
                    "Ce-Namespace": "default",
                    "Content-Type": "application/json",
                }
                answer = session.post(url + "/", data=json.dumps(body), headers=headers, timeout=10)
                assert answer.status_code == 202, answer.text
    return ids


def label_entries(ids: list[str], labels: np.ndarray[Any, Any], rows_per_call: int = 10) -> list[dict[str, Any]]:
    """One label entry per row: row i of the frame is row i % rows_per_call of call i // rows_per_call."""
    return [
        {"id": ids[i // rows_per_call], "row": i % rows_per_call, "label": int(label)}
        for i, label in enumerate(labels.tolist())
    ]


def post_labels(url: str, entries: list[dict[str, Any]], batch: int = 250) -> dict[str, int]:
    """Plain-JSON feedback in batches; the summed outcome counts."""
    totals: dict[str, int] = {}
    with requests.Session() as session:
        for start in range(0, len(entries), batch):
            document = {"model": "churn-model", "namespace": "default", "labels": entries[start : start + batch]}
            answer = session.post(url + "/feedback", json=document, timeout=10)
            assert answer.status_code == 202, answer.text
            for key, value in answer.json().items():
                if isinstance(value, int):
                    totals[key] = totals.get(key, 0) + value
    return totals
