"""`driftline serve` as a real subprocess on loopback: KServe's events in, metrics out, bad input never hurts."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests
import scipy.spatial.distance
import scipy.stats
import yaml

from tests.support import (
    ENV,
    FIXTURES,
    IRIS,
    IRIS_MODEL,
    ExporterProcess,
    churn_frame,
    config_dict,
    iris_config,
    labels,
    oracles,
    run_cli,
    scrape,
    wait_for,
    webhook_config,
)

pytestmark = pytest.mark.install


@pytest.fixture
def iris(tmp_path: Path) -> Iterator[ExporterProcess]:
    with ExporterProcess(iris_config(tmp_path), tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/readyz")
        yield exporter


def replay(url: str, fixture: dict[str, Any]) -> requests.Response:
    return requests.request(
        fixture["method"], url + fixture["path"], data=fixture["body"].encode(), headers=fixture["headers"], timeout=5
    )


def fixture_kind(fixture: dict[str, Any]) -> str:
    event_type = fixture["headers"].get("Ce-Type") or json.loads(fixture["body"])["type"]
    return "response" if event_type.endswith(".response") else "request"


def fixture_rows(fixture: dict[str, Any]) -> int:
    """Rows in a fixture's payload, counted independently of the exporter's parser."""
    body = json.loads(fixture["body"])
    body = body.get("data", body)
    for key in ("instances", "predictions"):
        if key in body:
            return len(body[key])
    tensors = body.get("inputs") or body.get("outputs")
    return int(tensors[0]["shape"][0])


def test_every_kserve_fixture_is_ingested(iris: ExporterProcess) -> None:
    fixtures = {
        p.name: json.loads(p.read_text()) for p in sorted(FIXTURES.glob("*.json")) if not p.name.startswith("s3-")
    }
    assert len(fixtures) == 8
    expected = {"request": 0, "response": 0}
    events = {"request": 0, "response": 0}
    for name, fixture in fixtures.items():
        response = replay(iris.url, fixture)
        assert response.status_code == 202, (name, response.text)
        assert response.json() == {"status": "accepted"}
        kind = fixture_kind(fixture)
        expected[kind] += fixture_rows(fixture)
        events[kind] += 1
    metrics = wait_for(
        lambda: (
            (m := scrape(iris.url))
            and m.get("driftline_window_samples", {}).get(labels(**IRIS_MODEL)) == expected["request"]
            and m.get("driftline_output_window_samples", {}).get(labels(**IRIS_MODEL)) == expected["response"]
            and m
        )
    )
    for kind, count in events.items():
        assert metrics["driftline_events_total"][labels(**IRIS_MODEL, type=kind, outcome="accepted")] == count
    for feature in IRIS:
        assert 0.0 <= metrics["driftline_feature_ks_pvalue"][labels(**IRIS_MODEL, feature=feature)] <= 1.0
        assert metrics["driftline_feature_missing_ratio"][labels(**IRIS_MODEL, feature=feature)] == 0.0
    assert labels(**IRIS_MODEL, output="class") in metrics["driftline_prediction_psi"]
    assert metrics["driftline_reference_samples"][labels(**IRIS_MODEL)] == 3000


def test_metrics_pass_promtool(iris: ExporterProcess) -> None:
    replay(iris.url, json.loads((FIXTURES / "v1-request.json").read_text()))
    replay(iris.url, json.loads((FIXTURES / "v1-response.json").read_text()))
    wait_for(lambda: scrape(iris.url).get("driftline_feature_psi"))
    exposition = requests.get(iris.url + "/metrics", timeout=5).text
    check = subprocess.run(["promtool", "check", "metrics"], input=exposition, capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout == "" and check.stderr == "", check.stdout + check.stderr


REQUEST_HEADERS = {"Ce-Type": "org.kubeflow.serving.inference.request", "Ce-Inferenceservicename": "churn-model",
                   "Ce-Namespace": "default", "Ce-Specversion": "1.0", "Content-Type": "application/json"}  # fmt: skip


def profiled_churn_model(tmp_path: Path) -> pd.DataFrame:
    """The churn model's config in ``tmp_path/monitor.yaml`` and its profile, built by `driftline profile` from
    8,000 reference rows (returned)."""
    reference = churn_frame(8000, seed=3)
    reference.to_csv(tmp_path / "train.csv", index=False)
    content = config_dict()
    content["exporter"] = {"evaluate_every": "200ms"}
    (tmp_path / "monitor.yaml").write_text(yaml.safe_dump(content))
    assert run_cli("profile", "--config", str(tmp_path / "monitor.yaml")).returncode == 0
    return reference


def test_exported_numbers_equal_the_formulas(tmp_path: Path) -> None:
    reference = profiled_churn_model(tmp_path)
    window = churn_frame(1200, seed=4, shift=0.08)
    features = ["tenure", "monthly_charges", "contract", "internet_service"]
    headers = REQUEST_HEADERS
    model = {"model": "churn-model", "model_namespace": "default"}
    with ExporterProcess(tmp_path / "monitor.yaml", tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/readyz")
        session = requests.Session()
        for start in range(0, len(window), 40):  # v1 object rows, 40 per event
            rows = window.iloc[start : start + 40][features].to_dict(orient="records")
            assert session.post(exporter.url, json={"instances": rows}, headers=headers, timeout=5).status_code == 202
        for start in range(0, len(window), 100):  # responses: one scalar prediction per row
            body = {"predictions": window["churn_probability"].iloc[start : start + 100].tolist()}
            response_headers = {**headers, "Ce-Type": "org.kubeflow.serving.inference.response"}
            assert session.post(exporter.url, json=body, headers=response_headers, timeout=5).status_code == 202
        metrics = wait_for(
            lambda: (
                (m := scrape(exporter.url)).get("driftline_window_samples", {}).get(labels(**model)) == 1200
                and m.get("driftline_output_window_samples", {}).get(labels(**model)) == 1200
                and m
            )
        )
    for name in [*features, "churn_probability"]:
        numeric = name not in ("contract", "internet_service")
        r, c = reference[name].to_numpy(), window[name].to_numpy()
        if numeric:
            edges = np.unique(np.quantile(r, np.linspace(0, 1, 11)[1:-1]))
            rc = np.bincount(np.searchsorted(edges, r, side="right"), minlength=edges.size + 1)
            cc = np.bincount(np.searchsorted(edges, c, side="right"), minlength=edges.size + 1)
        else:
            cats = sorted(pd.Series(r).value_counts().items(), key=lambda kv: (-kv[1], kv[0]))
            names = [k for k, _ in cats]
            rc = np.array([np.sum(r == k) for k in names] + [0])
            cc = np.array([np.sum(c == k) for k in names] + [np.sum(~np.isin(c, names))])
        k = rc.size
        p_ref, p_cur = (rc + 0.5) / (rc.sum() + 0.5 * k), (cc + 0.5) / (cc.sum() + 0.5 * k)
        psi = float(np.sum((p_cur - p_ref) * np.log(p_cur / p_ref)))
        psi_p = float(scipy.stats.chi2.sf(psi / (1 / r.size + 1 / c.size), k - 1))
        if name == "churn_probability":
            assert metrics["driftline_prediction_psi"][labels(**model, output=name)] == pytest.approx(psi, abs=1e-9)
            assert metrics["driftline_prediction_psi_pvalue"][labels(**model, output=name)] == pytest.approx(
                psi_p, abs=1e-9
            )
            continue
        key = labels(**model, feature=name)
        assert metrics["driftline_feature_psi"][key] == pytest.approx(psi, abs=1e-9)
        assert metrics["driftline_feature_psi_pvalue"][key] == pytest.approx(psi_p, abs=1e-9)
        js = scipy.spatial.distance.jensenshannon(p_ref, p_cur, base=2)
        assert metrics["driftline_feature_js_distance"][key] == pytest.approx(js, abs=1e-9)
        if numeric:
            d, p = oracles.binned_ks(r, c)
            assert metrics["driftline_feature_ks_statistic"][key] == pytest.approx(d, abs=1e-9)
            assert metrics["driftline_feature_ks_pvalue"][key] == pytest.approx(p, abs=1e-9)
        else:
            keep = (rc + cc) > 0
            chi2 = scipy.stats.chi2_contingency(np.vstack([rc, cc])[:, keep])
            assert metrics["driftline_feature_chi2_pvalue"][key] == pytest.approx(chi2.pvalue, abs=1e-9)


def test_sigterm_shuts_down_gracefully(tmp_path: Path) -> None:
    exporter = ExporterProcess(iris_config(tmp_path), tmp_path / "exporter.log")
    try:
        exporter.wait_until("/readyz")
    finally:
        code = exporter.stop()  # SIGTERM
    log = [json.loads(line) for line in (tmp_path / "exporter.log").read_text().splitlines()]
    # uvicorn finishes its graceful shutdown, then re-raises SIGTERM so the exit status says what ended it
    assert code in (0, -15)
    messages = [entry["msg"] for entry in log]
    assert "exporter stopped" in messages and "Application shutdown complete." in messages
    assert all({"ts", "level", "logger", "msg"} <= entry.keys() for entry in log)  # structured JSON logs


@pytest.mark.parametrize("command", ["serve", "webhook"])
def test_a_taken_port_is_one_line_and_exit_1(tmp_path: Path, command: str) -> None:
    """Bound before anything starts: no startup log, no profile load, no traceback — one line naming the address."""
    config = iris_config(tmp_path, cli=False) if command == "serve" else webhook_config(tmp_path, "http://127.0.0.1:9")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        result = run_cli(command, "--config", str(config), "--listen", address, env=ENV)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        f"driftline {command}: error: cannot listen on {address}: address already in use; another process listens "
        "there; stop it, or choose another address (--listen HOST:PORT)"
    ]


def test_data_quality_counters_equal_hand_counts(tmp_path: Path) -> None:
    """A real exporter's data-quality counters against counts taken by hand from the rows sent: values outside the
    reference's [min, max], an unseen category, a string where a number belongs, a row without a column."""
    reference = profiled_churn_model(tmp_path)
    features = ["tenure", "monthly_charges", "contract", "internet_service"]
    window = churn_frame(600, seed=4, shift=0.8)  # charges 80% higher: many beyond the reference's maximum
    odd = [
        {"tenure": "abc", "monthly_charges": 1e6, "contract": "lifetime", "internet_service": "dsl"},
        {"tenure": 3, "monthly_charges": 50.0, "contract": "one-year"},  # internet_service absent
    ]
    headers = REQUEST_HEADERS
    model = {"model": "churn-model", "model_namespace": "default"}
    with ExporterProcess(tmp_path / "monitor.yaml", tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/readyz")
        session = requests.Session()
        for start in range(0, len(window), 50):
            rows = window.iloc[start : start + 50][features].to_dict(orient="records")
            assert session.post(exporter.url, json={"instances": rows}, headers=headers, timeout=5).status_code == 202
        assert session.post(exporter.url, json={"instances": odd}, headers=headers, timeout=5).status_code == 202
        total = len(window) + len(odd)

        def counted_all() -> dict[str, Any] | None:
            metrics = scrape(exporter.url)
            tenure = [
                v for k, v in metrics.get("driftline_feature_values_total", {}).items() if ("feature", "tenure") in k
            ]
            return metrics if sum(tenure) == total else None

        metrics = wait_for(counted_all)
    values, errors = metrics["driftline_feature_values_total"], metrics["driftline_feature_payload_errors_total"]

    def quality(feature: str) -> dict[str, float]:
        return {
            dict(k)["quality"]: v
            for k, v in values.items()
            if dict(k)["feature"] == feature and ("model", "churn-model") in k
        }

    for name in ("tenure", "monthly_charges"):
        low, high = reference[name].min(), reference[name].max()
        outside = int(np.sum((window[name] < low) | (window[name] > high))) + (name == "monthly_charges")
        missing = int(name == "tenure")  # "abc"
        assert quality(name) == {"valid": total - outside - missing, "missing": missing, "out_of_range": outside}
    assert quality("monthly_charges")["out_of_range"] > 1, "the shifted charges leave the reference's range"
    assert quality("contract") == {"valid": total - 1, "missing": 0, "unseen_category": 1}  # "lifetime"
    assert quality("internet_service") == {"valid": total - 1, "missing": 1, "unseen_category": 0}
    assert errors[labels(**model, feature="tenure", error="type")] == 1
    assert errors[labels(**model, feature="internet_service", error="absent")] == 1
    assert sum(errors.values()) == 2
