"""Traffic as KServe's logger and a label job send it, over real HTTP."""

from __future__ import annotations

import json
import uuid
from typing import Any

import numpy as np
import pandas as pd
import requests

from .data import churn_frame, logger_headers

RESPONSE = "org.kubeflow.serving.inference.response"
REQUEST = "org.kubeflow.serving.inference.request"
FEEDBACK = "org.kubeflow.serving.inference.feedback"


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
                ("request", {"instances": chunk[features].to_dict(orient="records")}),
                ("response", {"predictions": chunk["churn_probability"].tolist()}),
            ):
                headers = logger_headers("churn-model", kind, event_id, **{"Ce-Source": "http://localhost:9081/"})
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


def send_traffic(url: str, rows: int = 400) -> None:
    frame = churn_frame(rows, seed=42, shift=0.3)
    features = frame[["tenure", "monthly_charges", "contract", "internet_service"]]
    headers = {"Ce-Specversion": "1.0", "Ce-Inferenceservicename": "churn-model", "Ce-Namespace": "default"}
    for start in range(0, rows, 50):
        event_id = str(uuid.uuid4())
        batch = features.iloc[start : start + 50].to_dict(orient="records")
        predictions = frame["churn_probability"].iloc[start : start + 50].tolist()
        request = {**headers, "Ce-Id": event_id, "Ce-Type": "org.kubeflow.serving.inference.request"}
        response = {**headers, "Ce-Id": event_id, "Ce-Type": "org.kubeflow.serving.inference.response"}
        assert requests.post(url, json={"instances": batch}, headers=request, timeout=5).status_code == 202
        assert requests.post(url, json={"predictions": predictions}, headers=response, timeout=5).status_code == 202
    bad = {**headers, "Ce-Id": "bad", "Ce-Type": "org.kubeflow.serving.inference.request"}
    assert requests.post(url, data=b"{not json", headers=bad, timeout=5).status_code == 400
