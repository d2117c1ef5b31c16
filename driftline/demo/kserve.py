"""Inference events exactly as KServe's logger sends them (binary-mode CloudEvents), for the demo's traffic.

A request event and a response event share their ``Ce-Id``; v1 bodies are ``{"instances": [...]}`` /
``{"predictions": [...]}``, v2 (Open Inference Protocol) bodies carry one tensor per column (``BYTES`` for
strings). The logger copies the request's ``Content-Type`` onto both events.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pandas as pd

REQUEST = "org.kubeflow.serving.inference.request"
RESPONSE = "org.kubeflow.serving.inference.response"


def _headers(model: str, namespace: str, event_id: str, kind: str) -> dict[str, str]:
    return {
        "Ce-Specversion": "1.0",
        "Ce-Id": event_id,
        "Ce-Type": kind,
        "Ce-Source": "http://localhost:9081/",
        "Ce-Time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "Ce-Inferenceservicename": model,
        "Ce-Namespace": namespace,
        "Ce-Component": "predictor",
        "Ce-Endpoint": "",
        "Ce-Metadata": "{}",
        "Content-Type": "application/json",
    }


def _tensor(name: str, values: list[Any]) -> dict[str, Any]:
    numeric = all(isinstance(v, int | float) for v in values)
    return {"name": name, "shape": [len(values)], "datatype": "FP64" if numeric else "BYTES", "data": values}


FEEDBACK = "org.kubeflow.serving.inference.feedback"


def feedback(model: str, namespace: str, event_id: str, labels: list[Any]) -> tuple[dict[str, str], bytes]:
    """Ground truth for the rows of one earlier inference call, as a CloudEvent (binary mode) for POST /feedback."""
    headers = {**_headers(model, namespace, f"{event_id}-feedback", FEEDBACK)}
    body = {"labels": [{"id": event_id, "row": row, "label": label} for row, label in enumerate(labels)]}
    return headers, json.dumps(body).encode()


def events(
    features: pd.DataFrame, predictions: list[float], model: str, namespace: str, protocol: str = "v1"
) -> list[tuple[dict[str, str], bytes]]:
    """The request and the response event of one inference call over ``features`` (one row per instance)."""
    event_id = str(uuid.uuid4())
    if protocol == "v1":
        request: dict[str, Any] = {"instances": features.to_dict(orient="records")}
        response: dict[str, Any] = {"predictions": predictions}
    else:
        request = {"inputs": [_tensor(str(c), features[c].tolist()) for c in features.columns]}
        response = {
            "id": event_id,
            "model_name": model,
            "model_version": None,
            "outputs": [_tensor("churn_probability", predictions)],
        }
    return [
        (_headers(model, namespace, event_id, REQUEST), json.dumps(request).encode()),
        (_headers(model, namespace, event_id, RESPONSE), json.dumps(response).encode()),
    ]
