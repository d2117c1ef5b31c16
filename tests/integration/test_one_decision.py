"""One decision rule: the notebook API, a real exporter's /metrics and `driftline report` decide alike — the same
columns drifted, or nothing decided and the same reason — for windows of 5, 31, 99, 100 and 10,000 rows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
import yaml

import drift
from tests.support import ExporterProcess, churn_frame, config_dict, run_cli, scrape, wait_for

pytestmark = pytest.mark.install

SIZES = (5, 31, 99, 100, 10_000)
FEATURES = ["tenure", "monthly_charges", "contract", "internet_service"]
HEADERS = {"Ce-Type": "org.kubeflow.serving.inference.request", "Ce-Inferenceservicename": "churn-model",
           "Ce-Namespace": "default", "Ce-Specversion": "1.0", "Content-Type": "application/json"}  # fmt: skip


def exporter_decision(url: str, window: pd.DataFrame) -> dict[str, Any]:
    """Send the window's requests and responses; once an evaluation has seen all of them, what /metrics decided."""
    session = requests.Session()
    for start in range(0, len(window), 500):
        rows = window.iloc[start : start + 500][FEATURES].to_dict(orient="records")
        assert session.post(url, json={"instances": rows}, headers=HEADERS, timeout=10).status_code == 202
        body = {"predictions": window["churn_probability"].iloc[start : start + 500].tolist()}
        response = {**HEADERS, "Ce-Type": "org.kubeflow.serving.inference.response"}
        assert session.post(url, json=body, headers=response, timeout=10).status_code == 202

    def one(metrics: dict[str, Any], name: str) -> float | None:
        values = list(metrics.get(name, {}).values())
        return values[0] if values else None

    def counted() -> dict[str, Any] | None:
        m = scrape(url)
        full = one(m, "driftline_window_samples") == len(window) == one(m, "driftline_output_window_samples")
        return m if full else None

    seen = wait_for(counted, 120)
    after = one(seen, "driftline_last_evaluation_timestamp_seconds") or 0.0
    metrics = wait_for(
        lambda: (m := scrape(url)) and (one(m, "driftline_last_evaluation_timestamp_seconds") or 0.0) > after and m, 120
    )

    def drifted(name: str, key: str) -> set[str] | None:
        series = metrics.get(name, {})
        return {dict(k)[key] for k, v in series.items() if v == 1.0} if series else None

    return {
        "decided": "driftline_dataset_drifted" in metrics,
        "dataset": one(metrics, "driftline_dataset_drifted"),
        "features": drifted("driftline_feature_drifted", "feature"),
        "outputs": drifted("driftline_prediction_drifted", "output"),
        "psi served": len(metrics.get("driftline_feature_psi", {})),
        "below": (one(metrics, "driftline_window_samples") or 0) < (one(metrics, "driftline_window_min_samples") or 0),
    }


def report_decision(tmp_path: Path, window: pd.DataFrame) -> dict[str, Any]:
    current = tmp_path / f"current-{len(window)}.csv"
    window.to_csv(current, index=False)
    out = tmp_path / f"report-{len(window)}.html"
    result = run_cli("report", "--config", str(tmp_path / "monitor.yaml"), "--model", "churn-model",
                     "--current", str(current), "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    page = out.read_text()
    headline = re.search(r'id="driftline-decision"[^>]*><h2>(.*?)</h2>', page)
    assert headline is not None
    tables = {
        kind: re.search(rf'<table id="driftline-{kind}">(.*?)</table>', page, re.S) for kind in ("features", "outputs")
    }
    drifted = {
        kind: set(re.findall(r'<tr class="drifted"><td><b>(.*?)</b>', table.group(1))) if table else set()
        for kind, table in tables.items()
    }
    return {"headline": headline.group(1), **drifted}


def test_the_api_the_exporter_and_the_report_decide_alike(tmp_path: Path) -> None:
    churn_frame(8000, seed=3).to_csv(tmp_path / "train.csv", index=False)
    content = config_dict()
    content["exporter"] = {"evaluate_every": "200ms"}
    content["models"][0]["window"] = {"size": max(SIZES)}  # min_rows: the default, wherever it is read
    (tmp_path / "monitor.yaml").write_text(yaml.safe_dump(content))
    assert run_cli("profile", "--config", str(tmp_path / "monitor.yaml")).returncode == 0
    model = drift.load_config(tmp_path / "monitor.yaml").models[0]
    profile = drift.ReferenceProfile.load(str(tmp_path / "profile.json"))
    moved = churn_frame(max(SIZES), seed=4, shift=0.8)  # charges 80% higher: drift any decision can see

    for size in SIZES:
        window = moved.iloc[:size].reset_index(drop=True)
        api = drift.evaluate(profile, window, model)
        with ExporterProcess(tmp_path / "monitor.yaml", tmp_path / f"exporter-{size}.log") as exporter:
            exporter.wait_until("/readyz")
            served = exporter_decision(exporter.url, window)
        report = report_decision(tmp_path, window)
        where = f"{size} rows"

        assert api.decided == (size >= model.window.min_rows) == served["decided"], (where, api.not_decided, served)
        assert served["psi served"] == len(FEATURES), where  # the statistics, decided or not
        if api.decided:
            assert api.not_decided is None and not served["below"]
            assert served["dataset"] == float(api.drifted), where
            assert served["features"] == set(api.drifted_features) == report["features"], (where, served, report)
            api_outputs = {name for name, column in api.outputs.items() if column.drifted}
            assert served["outputs"] == api_outputs == report["outputs"], (where, served, report)
            assert report["headline"] == ("DATASET DRIFTED" if api.drifted else "NO DATASET DRIFT"), where
        else:
            reason = f"{size:,} rows in the window; a drift decision needs 100 (window.min_rows)"
            assert api.not_decided == reason and api.drift_share is None and not api.drifted_features, where
            assert served["below"] and served["features"] is None and served["outputs"] is None, (where, served)
            assert report["headline"] == f"NOT DECIDED — {reason}", where
            assert report["features"] == report["outputs"] == set(), where
            # Not a window without drift: decided regardless of its size, the same rows would have drifted.
            if size >= 31:
                assert drift.evaluate(profile, window, model, min_rows=0).drifted_features, where
    # 10,000 rows: the drift is decided (one feature of four: below drift_share, so not the dataset)
    assert api.drifted_features == ("monthly_charges",) and api.outputs["churn_probability"].drifted
