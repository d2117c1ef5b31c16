"""Performance estimated before the labels by a real exporter, beyond binary classifiers: a multiclass classifier's
class scores sent as KServe responses, its estimated metrics on /metrics equal to `drift.evaluate` on the same rows,
and the estimated drop decided once the traffic moves into the model's weak region."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests
import yaml

import drift
from tests.support import ExporterProcess, run_cli, scrape, wait_for
from tests.support.data import logger_headers
from tests.support.estimation import CLASSES, MULTICLASS_SPEC, REGRESSION_SPEC, multiclass_rows, regression_rows

pytestmark = pytest.mark.install


def send(
    url: str, frame: pd.DataFrame, model: str, features: list[str], outputs: list[str], rows_per_call: int = 50
) -> None:
    """Each call's request and response, with one CloudEvent id as KServe's logger gives them."""
    with requests.Session() as session:
        for start in range(0, len(frame), rows_per_call):
            chunk = frame.iloc[start : start + rows_per_call]
            event = str(uuid.uuid4())
            for kind, body in (
                ("request", {"instances": chunk[features].to_numpy(dtype=object).tolist()}),
                ("response", {"predictions": chunk[outputs].to_numpy(dtype=object).tolist()}),
            ):
                headers = logger_headers(model, kind, event)
                answer = session.post(url, data=json.dumps(body), headers=headers, timeout=10)
                assert answer.status_code == 202, answer.text


def profiled(tmp_path: Path, spec: dict[str, Any], reference: pd.DataFrame) -> tuple[Any, Any]:
    """The model's config (500 predictions for a drop decision, an evaluation every 200 ms) and its profile, built
    by `driftline profile` from ``reference``."""
    reference.to_csv(tmp_path / "train.csv", index=False)
    spec = {**spec, "target": {**spec["target"], "min_samples": 500}}
    content = {"version": 1, "exporter": {"evaluate_every": "200ms"}, "models": [spec]}
    (tmp_path / "monitor.yaml").write_text(yaml.safe_dump(content, sort_keys=False))
    result = run_cli("profile", "--config", str(tmp_path / "monitor.yaml"))
    assert result.returncode == 0, result.stderr
    return drift.load_config(tmp_path / "monitor.yaml").models[0], drift.ReferenceProfile.load(
        str(tmp_path / "profile.json")
    )


def estimated(url: str, rows: int, **model: str) -> dict[str, Any]:
    """Once an evaluation has seen ``rows`` scored predictions: the estimate's metrics, band and decision."""

    def seen() -> dict[str, Any] | None:
        metrics = scrape(url)
        samples = metrics.get("driftline_estimated_performance_samples", {})
        return metrics if list(samples.values()) == [rows] else None

    metrics = wait_for(seen, 120)

    def by_metric(name: str) -> dict[str, float]:
        return {dict(k)["metric"]: v for k, v in metrics.get(name, {}).items()}

    return {
        "metrics": by_metric("driftline_estimated_performance"),
        "lower": by_metric("driftline_estimated_performance_lower"),
        "upper": by_metric("driftline_estimated_performance_upper"),
        "dropped": next(iter(metrics["driftline_estimated_performance_dropped"].values())),
    }


def test_a_multiclass_classifiers_quality_is_estimated_from_its_class_scores(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    model, profile = profiled(tmp_path, MULTICLASS_SPEC, multiclass_rows(rng, 20_000))
    outputs = ["y_pred", *(f"p_{c}" for c in CLASSES)]
    like_training = multiclass_rows(rng, 1500)
    weak = multiclass_rows(rng, 1500, spread=0.4, centre=-0.6)  # where the bias towards "a" errs

    with ExporterProcess(tmp_path / "monitor.yaml", tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/readyz")
        send(exporter.url, like_training, "species", ["x1", "x2"], outputs)
        quiet = estimated(exporter.url, 1500)
        send(exporter.url, weak, "species", ["x1", "x2"], outputs)
        moved = estimated(exporter.url, 3000)

    for served, rows in ((quiet, like_training), (moved, pd.concat([like_training, weak], ignore_index=True))):
        offline = drift.evaluate(profile, rows, model).estimated
        assert offline is not None
        assert set(served["metrics"]) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
        for name, value in offline.metrics.items():
            assert served["metrics"][name] == pytest.approx(value, abs=1e-9), name
            assert served["lower"][name] <= value <= served["upper"][name], name
        assert served["dropped"] == float(offline.dropped)
    realised = float(np.mean(like_training["y"] == like_training["y_pred"]))
    assert quiet["lower"]["accuracy"] <= realised <= quiet["upper"]["accuracy"]
    assert quiet["dropped"] == 0.0 and moved["dropped"] == 1.0
    reference = profile.performance
    assert reference is not None and moved["metrics"]["accuracy"] < reference.metrics["accuracy"] - 0.1


def test_a_regressions_quality_is_estimated_from_its_joined_requests_and_responses(tmp_path: Path) -> None:
    """DLE reads each row's features with its prediction: the exporter joins a request to its response by their
    CloudEvent id, whichever comes first."""
    rng = np.random.default_rng(12)
    model, profile = profiled(tmp_path, REGRESSION_SPEC, regression_rows(rng, 20_000))
    assert profile.performance is not None and profile.performance.loss_models is not None
    features = ["x1", "x2", "region"]
    like_training = regression_rows(rng, 1500)
    away = regression_rows(rng, 1500, spread=1.6, centre=1.5)  # where the model's line misses the sine

    with ExporterProcess(tmp_path / "monitor.yaml", tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/readyz")
        send(exporter.url, like_training, "price", features, ["y_pred"])
        quiet = estimated(exporter.url, 1500)
        reversed_order = away.iloc[::-1].reset_index(drop=True)  # the same rows; each call's response first below
        send_responses_first(exporter.url, reversed_order, "price", features, ["y_pred"])
        moved = estimated(exporter.url, 3000)

    for served, rows in ((quiet, like_training), (moved, pd.concat([like_training, away], ignore_index=True))):
        offline = drift.evaluate(profile, rows, model).estimated
        assert offline is not None
        assert set(served["metrics"]) == {"mae", "rmse", "mape"}
        for name, value in offline.metrics.items():
            assert served["metrics"][name] == pytest.approx(value, rel=1e-9), name
        assert served["dropped"] == float(offline.dropped)
    realised = float(np.mean(np.abs(like_training["y"] - like_training["y_pred"])))
    assert quiet["lower"]["mae"] <= realised <= quiet["upper"]["mae"]
    assert quiet["dropped"] == 0.0 and moved["dropped"] == 1.0


def send_responses_first(url: str, frame: pd.DataFrame, model: str, features: list[str], outputs: list[str]) -> None:
    with requests.Session() as session:
        for start in range(0, len(frame), 50):
            chunk = frame.iloc[start : start + 50]
            event = str(uuid.uuid4())
            for kind, body in (
                ("response", {"predictions": chunk[outputs[0]].tolist()}),
                ("request", {"instances": chunk[features].to_numpy(dtype=object).tolist()}),
            ):
                headers = logger_headers(model, kind, event)
                answer = session.post(url, data=json.dumps(body), headers=headers, timeout=10)
                assert answer.status_code == 202, answer.text
