"""One window, three ways in — ``drift.evaluate`` on a DataFrame, the exporter fed the same rows as events (its
``/metrics``), and the reports (the exporter's live ``/report`` and ``driftline report`` on a file of the rows) — and
one result: the same statistics, decisions, multivariate drift and estimated performance, because all three call
the same detector (drift/detector.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import drift
from drift import catalogue as m
from drift.report import file_report
from exporters.app import ExporterApp
from exporters.service import ExporterService
from tests.support import CHURN_FEATURES, CHURN_OUTPUTS, labelled_churn_frame, logger_headers
from tests.support.asgi import AsgiClient

FEATURES = [c["name"] for c in CHURN_FEATURES]
ROWS = 600


def _config(tmp_path: Path) -> drift.MonitorConfig:
    labelled_churn_frame(5000, seed=1).to_csv(tmp_path / "train.csv", index=False)
    model = {
        "name": "churn-model",
        "reference": {"data": str(tmp_path / "train.csv"), "profile": str(tmp_path / "profile.json")},
        "features": CHURN_FEATURES,
        "outputs": CHURN_OUTPUTS,
        "window": {"size": 10_000, "max_age": "1h"},
        "target": {"name": "churned", "task": "classification", "prediction": "churn_probability", "positive": 1},
        "multivariate": {"reference_rows": 2000},
        "drift": {"drift_share": 0.25},  # one of the four features moves
    }
    # a reservoir large enough to hold the whole window: the exporter's multivariate and CBPE see every row
    config = drift.parse_config({"version": 1, "models": [model], "exporter": {"report_max_rows": 60_000}})
    drift.profile_from_source(config.models[0]).save(config.models[0].reference.profile)
    return config


def _window() -> pd.DataFrame:
    frame = labelled_churn_frame(ROWS, seed=7, shift=0.15)  # drifted monthly charges
    return frame[[*FEATURES, "churn_probability"]]


def _exporter(config: drift.MonitorConfig, window: pd.DataFrame) -> tuple[ExporterApp, AsgiClient]:
    app = ExporterApp(ExporterService(config))
    app.service.refresh_references()
    client = AsgiClient(app)
    for i, row in enumerate(window.to_dict("records")):
        request = {"instances": [{name: row[name] for name in FEATURES}]}
        assert client.post("/", request, logger_headers("churn-model", "request", f"e{i}")).status == 202
        response = {"predictions": [row["churn_probability"]]}
        assert client.post("/", response, logger_headers("churn-model", "response", f"e{i}")).status == 202
    app.service.evaluate_all()
    return app, client


def _by_feature(client: AsgiClient, metric: m.Metric) -> dict[str, float]:
    return {dict(labels)["feature"]: value for labels, value in client.metrics().get(metric.series, {}).items()}


def _scalar(client: AsgiClient, family: m.Metric, **labels: str) -> float:
    (value,) = [v for k, v in client.metrics()[family.series].items() if labels.items() <= dict(k).items()]
    return value


def test_evaluate_and_the_exporters_metrics_give_one_result(tmp_path: Path) -> None:
    config = _config(tmp_path)
    model = config.models[0]
    window = _window()
    expected = drift.evaluate(drift.ReferenceProfile.load(model.reference.profile), window, model)
    assert expected.drifted and expected.multivariate is not None and expected.estimated is not None
    _, client = _exporter(config, window)

    for name, metric in m.FEATURE_STATISTICS.items():  # every registered statistic, bit for bit
        assert _by_feature(client, metric) == {
            feature: column.statistics[name]
            for feature, column in expected.features.items()
            if name in column.statistics
        }, name
    assert _by_feature(client, m.FEATURE_DRIFTED) == {f: float(c.drifted) for f, c in expected.features.items()}
    assert _scalar(client, m.DATASET_DRIFT_SHARE) == expected.drift_share
    assert _scalar(client, m.DATASET_DRIFTED) == 1.0
    output = expected.outputs["churn_probability"]
    assert _scalar(client, m.PREDICTION_PSI, output="churn_probability") == output.psi
    # from the rows rather than the counts: the same rows, summed in another order
    assert _scalar(client, m.MULTIVARIATE_ERROR) == pytest.approx(expected.multivariate.error, rel=1e-12)
    assert _scalar(client, m.MULTIVARIATE_DRIFTED) == float(expected.multivariate.drifted)
    for metric, value in expected.estimated.metrics.items():
        assert _scalar(client, m.ESTIMATED_PERFORMANCE, metric=metric) == pytest.approx(value, rel=1e-12)
    assert _scalar(client, m.ESTIMATED_DROPPED) == float(expected.estimated.dropped)


VERDICT = re.compile(r'<section id="driftline-verdict">.*?</section>', re.S)


@pytest.mark.report
def test_the_live_report_and_the_file_report_give_the_same_verdict(tmp_path: Path) -> None:
    config = _config(tmp_path)
    window = _window()
    _, client = _exporter(config, window)
    live = client.get("/report/default/churn-model")
    assert live.status == 200
    window.to_csv(tmp_path / "window.csv", index=False)
    offline = file_report(config, config.models[0], str(tmp_path / "window.csv")).html
    verdicts = [VERDICT.search(page) for page in (live.body.decode(), offline)]
    assert all(v is not None for v in verdicts)
    live_verdict, file_verdict = (v.group(0) for v in verdicts if v is not None)
    assert "DATASET DRIFTED" in live_verdict
    assert live_verdict == file_verdict


def test_a_result_reads_as_a_table_and_as_plain_values(tmp_path: Path) -> None:
    config = _config(tmp_path)
    model = config.models[0]
    result = drift.evaluate(drift.ReferenceProfile.load(model.reference.profile), _window(), model)
    frame = result.to_frame()
    assert set(frame.index) == {("feature", f) for f in FEATURES} | {("output", "churn_probability")}
    assert frame.loc[("feature", "monthly_charges"), "psi"] == result.features["monthly_charges"].psi
    assert bool(frame.loc[("feature", "monthly_charges"), "drifted"])
    plain: dict[str, Any] = result.to_dict()
    assert plain["drifted"] is True and plain["features"]["tenure"]["samples"] == ROWS
    assert plain["multivariate"]["rows"] == ROWS and "accuracy" in plain["estimated"]["metrics"]
    assert "churn-model" in result._repr_html_() and "<table" in result._repr_html_()
    assert {"Detector", "evaluate", "ReferenceProfile", "build_profile"} <= set(dir(drift))
    assert not np.isnan(frame["js_distance"]).all()
