"""The exporter with its reference profiles on S3 (a real moto server): load, hot swap, and S3 down at start."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import boto3
import requests
import yaml

from tests.support import (
    ExporterProcess,
    churn_frame,
    config_dict,
    free_port,
    labels,
    logger_headers,
    run_cli,
    scrape,
    wait_for,
)

MODEL = {"model": "churn-model", "model_namespace": "default"}
HEADERS = logger_headers("churn-model")
FEATURES = ["tenure", "monthly_charges", "contract", "internet_service"]


def s3_config(tmp_path: Path, endpoint: str, bucket: str) -> Path:
    content = config_dict(
        data=f"s3://{bucket}/data/train.csv", profile=f"s3://{bucket}/monitoring/profile.json", endpoint=endpoint
    )
    content["exporter"] = {"evaluate_every": "200ms", "reference_check_every": "1s"}
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(content))
    return path


def upload_training_data(s3: Any, bucket: str, seed: int) -> None:
    buffer = io.StringIO()
    churn_frame(3000, seed=seed).to_csv(buffer, index=False)
    s3.put_object(Bucket=bucket, Key="data/train.csv", Body=buffer.getvalue().encode())


def version_of(url: str) -> str | None:
    info = scrape(url).get("driftline_reference_info", {})
    versions = [dict(k)["version"] for k in info]
    return versions[0] if versions else None


def test_profile_from_s3_is_swapped_when_it_changes(tmp_path: Path, s3: Any, s3_endpoint: str) -> None:
    s3.create_bucket(Bucket="swap-bucket")
    upload_training_data(s3, "swap-bucket", seed=1)
    config = s3_config(tmp_path, s3_endpoint, "swap-bucket")
    assert run_cli("profile", "--config", str(config)).returncode == 0
    first = json.loads(s3.get_object(Bucket="swap-bucket", Key="monitoring/profile.json")["Body"].read())["version"]
    with ExporterProcess(config, tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/readyz")
        assert version_of(exporter.url) == first
        built = scrape(exporter.url)["driftline_reference_created_timestamp_seconds"][labels(**MODEL)]
        assert 0 <= time.time() - built < 600  # the profile was built moments ago (created_at has 1 s resolution)
        rows = churn_frame(50, seed=9)[FEATURES].to_dict(orient="records")
        assert requests.post(exporter.url, json={"instances": rows}, headers=HEADERS, timeout=5).status_code == 202
        wait_for(lambda: scrape(exporter.url)["driftline_window_samples"][labels(**MODEL)] == 50)
        # a retrained model ships a new reference: the exporter swaps it in and, as the bins changed, starts the
        # window afresh and says so
        upload_training_data(s3, "swap-bucket", seed=2)
        assert run_cli("profile", "--config", str(config)).returncode == 0
        second = json.loads(s3.get_object(Bucket="swap-bucket", Key="monitoring/profile.json")["Body"].read())[
            "version"
        ]
        assert second != first
        wait_for(lambda: version_of(exporter.url) == second, timeout=120)
        # the next evaluation after the swap sees the window empty
        metrics = wait_for(lambda: (m := scrape(exporter.url))["driftline_window_samples"][labels(**MODEL)] == 0 and m)
        assert metrics["driftline_window_resets_total"][labels(**MODEL, reason="new_profile")] == 1
        assert len(metrics["driftline_reference_info"]) == 1
        assert requests.post(exporter.url, json={"instances": rows}, headers=HEADERS, timeout=5).status_code == 202
        wait_for(lambda: scrape(exporter.url)["driftline_window_samples"][labels(**MODEL)] == 50)
    log = (tmp_path / "exporter.log").read_text()
    assert '"reference profile swapped"' in log and '"new reference profile: the window starts empty' in log


def test_s3_down_at_start_then_up(tmp_path: Path) -> None:
    from moto.server import ThreadedMotoServer

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    config = s3_config(tmp_path, endpoint, "late-bucket")
    server = None
    with ExporterProcess(config, tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/healthz")
        not_ready = requests.get(exporter.url + "/readyz", timeout=5)
        assert not_ready.status_code == 503
        assert "churn-model" in json.dumps(not_ready.json()["waiting_for"])
        metrics = scrape(exporter.url)
        assert metrics["driftline_reference_loaded"][labels(**MODEL)] == 0
        assert metrics["driftline_window_samples"][labels(**MODEL)] == 0
        assert "driftline_feature_psi" not in metrics or not metrics["driftline_feature_psi"]
        try:
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            server.start()
            s3 = boto3.client(
                "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
            )
            s3.create_bucket(Bucket="late-bucket")
            upload_training_data(s3, "late-bucket", seed=3)
            assert run_cli("profile", "--config", str(config)).returncode == 0
            exporter.wait_until("/readyz", timeout=90)
            assert scrape(exporter.url)["driftline_reference_loaded"][labels(**MODEL)] == 1
        finally:
            if server is not None:
                server.stop()
    log = (tmp_path / "exporter.log").read_text()
    assert "reference profile not loaded; retrying" in log and "reference profile loaded" in log
