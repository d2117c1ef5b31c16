"""The registry is the source of truth for which reference is in production — on loopback, every part real: a real
``mlflow server`` (SQLite backend store, artifacts proxied to the moto S3 server), the training side logging and
registering with the real mlflow client, ``driftline profile`` attaching each version's profile, the exporter as a
``driftline serve`` subprocess following ``models:/churn-model@champion``, and Prometheus 2.42 scraping it.

Version 1 is trained on the usual customers and aliased ``champion``: the exporter serves drift against its profile,
labelled with registry version 1, and the drifted traffic is drift. Version 2 is trained on the drifted world and
``champion`` moves to it: within one reference check the exporter serves against version 2's profile — labelled 2,
the swap logged and counted, no restart, the config untouched — and the same traffic is no longer drift. The registry
stops: the exporter keeps serving version 2, says so on /readyz and counts the failed checks; it comes back and the
exporter says nothing any more.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import requests
import yaml

from driftline.demo import kserve
from driftline.demo.data import CATEGORICAL, FEATURES, NUMERIC, OUTPUT, Drift, customers, predict, train
from tests.support import ExporterProcess, PrometheusProcess, free_port, run_cli, wait_for
from tests.support.mlflow import ARTIFACT_BUCKET, MlflowServer

MODEL, NAMESPACE = "churn-model", "default"
CHAMPION = f"models:/{MODEL}@champion"


def _config(tmp: Path, s3_endpoint: str) -> Path:
    config = {
        "version": 1,
        "s3": {"endpoint_url": s3_endpoint, "region": "us-east-1"},
        "exporter": {"evaluate_every": "1s", "reference_check_every": "1s"},
        "models": [
            {
                "name": MODEL,
                "reference": {"data": str(tmp / "v1.parquet"), "profile": CHAMPION},
                "features": [{"name": n, "type": "numeric"} for n in NUMERIC]
                + [{"name": n, "type": "categorical"} for n in CATEGORICAL],
                "outputs": [{"name": OUTPUT, "type": "numeric"}],
                "window": {"size": 1000, "max_age": "1h", "min_rows": 200},
            }
        ],
    }
    path = tmp / "monitor.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _train_version(tmp: Path, mlflow: MlflowServer, config: Path, drift: Drift, seed: int) -> tuple[str, Any]:
    """A training run: the model fitted on its data, the version registered from the run, its profile attached."""
    rng = np.random.default_rng(seed)
    frame = customers(6000, rng, drift)
    model = train(frame)
    frame[OUTPUT] = predict(model, frame)
    data = tmp / f"training-{seed}.parquet"
    frame.to_parquet(data)
    registered = mlflow.client("register", MODEL, f"churn model trained on {data.name}")
    version = registered["version"]
    built = run_cli(
        "profile", "--config", str(config), "--model", MODEL, "--data", str(data),
        "--output", f"models:/{MODEL}/{version}",
        env={"MLFLOW_TRACKING_URI": mlflow.url},
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert f"written to models:/{MODEL}/{version} (mlflow-artifacts:/" in built.stdout
    return version, model


def _send(url: str, model: Any, rows: int, seed: int) -> None:
    """The drifted world's traffic (prices up, new customers, the two-year contract withdrawn)."""
    rng = np.random.default_rng(seed)
    for _ in range(rows // 50):
        frame = customers(50, rng, Drift(1.0))
        for headers, body in kserve.events(frame[FEATURES], predict(model, frame).tolist(), MODEL, NAMESPACE):
            answer = requests.post(url, data=body, headers=headers, timeout=10)
            assert answer.status_code == 202, answer.text


def _value(prometheus: PrometheusProcess, expr: str) -> list[dict[str, Any]]:
    body = prometheus.query(expr)
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def test_the_exporter_follows_the_champion_alias_in_the_mlflow_registry(tmp_path: Path, s3_endpoint: str) -> None:
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=ARTIFACT_BUCKET)
    customers(2000, np.random.default_rng(0)).assign(**{OUTPUT: 0.5}).to_parquet(tmp_path / "v1.parquet")
    config = _config(tmp_path, s3_endpoint)
    exporter_port = free_port()
    with ExitStack() as stack:
        mlflow = stack.enter_context(MlflowServer(tmp_path / "mlflow", s3_endpoint))
        mlflow.wait_ready()
        v1, model_1 = _train_version(tmp_path, mlflow, config, Drift(0.0), seed=1)
        mlflow.client("alias", MODEL, "champion", v1)

        exporter = stack.enter_context(
            ExporterProcess(
                config, tmp_path / "exporter.log", env={"MLFLOW_TRACKING_URI": mlflow.url}, port=exporter_port
            )
        )
        exporter.wait_until("/readyz")
        prometheus = stack.enter_context(
            PrometheusProcess(
                tmp_path / "prometheus",
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "scrape_configs": [
                        {"job_name": "driftline", "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}]}
                    ],
                },
            )
        )
        prometheus.wait_ready()

        # version 1 in production: the drifted traffic is drift against its profile
        _send(exporter.url + "/", model_1, 600, seed=10)
        info = f'driftline_reference_info{{model="{MODEL}",source="{CHAMPION}"}}'
        wait_for(lambda: _value(prometheus, f'{info[:-1]},registry_version="{v1}"}}'), timeout=120)
        drifted = f'driftline_dataset_drifted{{model="{MODEL}"}} == 1'
        wait_for(lambda: _value(prometheus, drifted), timeout=120)
        v1_profile = _value(prometheus, info)[0]["metric"]["version"]

        # version 2, trained on the drifted world, becomes the champion: no restart, no config change
        v2, model_2 = _train_version(tmp_path, mlflow, config, Drift(1.0), seed=2)
        assert mlflow.client("tags", MODEL, v2)["driftline.profile"].endswith("/artifacts/driftline/profile.json")
        mlflow.client("alias", MODEL, "champion", v2)
        (latest,) = wait_for(lambda: _value(prometheus, f'{info[:-1]},registry_version="{v2}"}}'), timeout=120)
        assert latest["metric"]["version"] != v1_profile
        assert _value(prometheus, f'{info[:-1]},registry_version="{v1}"}}') == [], "one reference at a time"
        swaps = f'driftline_reference_swaps_total{{model="{MODEL}"}}'
        wait_for(lambda: [r for r in _value(prometheus, swaps) if float(r["value"][1]) == 1.0], timeout=60)
        logged = [json.loads(line) for line in exporter.log().splitlines() if line.startswith("{")]
        swap_line = next(entry for entry in logged if entry["msg"] == "reference profile swapped")
        assert swap_line["registry_version"] == v2 and swap_line["source"] == CHAMPION
        _send(exporter.url + "/", model_2, 600, seed=11)
        # the window started over with the new profile's bins: it holds these 600 rows, and they are no drift
        wait_for(lambda: _value(prometheus, f'driftline_window_samples{{model="{MODEL}"}} == 600'), timeout=120)
        wait_for(lambda: _value(prometheus, f'driftline_dataset_drifted{{model="{MODEL}"}} == 0'), timeout=120)

        # the registry goes away: the exporter keeps serving version 2 and says why nothing is refreshed
        mlflow.stop()
        errors = f'driftline_reference_load_errors_total{{model="{MODEL}"}}'
        wait_for(lambda: [r for r in _value(prometheus, errors) if float(r["value"][1]) >= 1], timeout=120)
        ready = requests.get(exporter.url + "/readyz", timeout=10)
        assert ready.status_code == 200
        stale = ready.json()["references_not_refreshed"][f"{NAMESPACE}/{MODEL}"]
        assert "MLflow registry" in stale and "unreachable" in stale
        assert _value(prometheus, f'{info[:-1]},registry_version="{v2}"}}'), "still served"
        assert "reference profile not refreshed; the loaded one keeps serving; retrying" in exporter.log()

        # and comes back: the next check clears it, nothing is reloaded
        back = stack.enter_context(MlflowServer(tmp_path / "mlflow", s3_endpoint, port=mlflow.port))
        back.wait_ready()
        wait_for(
            lambda: "references_not_refreshed" not in requests.get(exporter.url + "/readyz", timeout=10).json(),
            timeout=120,
        )
        assert [float(r["value"][1]) for r in _value(prometheus, swaps)] == [1.0]
