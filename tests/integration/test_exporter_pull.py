"""Pull mode: the exporter reads the payloads KServe's logger archived in S3 (a moto server), in the logger's key
layout and record formats, skips what it cannot decode, and resumes from its persisted watermark."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd

from tests.support import (
    IRIS,
    IRIS_MODEL,
    REPO,
    ExporterProcess,
    archived_record,
    iris_pull_config,
    labels,
    scrape,
    wait_for,
)

FIXTURES = REPO / "tests" / "fixtures" / "kserve"  # events in the exact shapes KServe's logger sends
PREFIX = "logs/default/sklearn-iris/predictor/v1"


def pull_config(tmp_path: Path, endpoint: str) -> Path:
    return iris_pull_config(tmp_path, endpoint, per_poll=3, watermark="watermark-iris.json")


def rows(url: str) -> tuple[float, float]:
    metrics = scrape(url)
    return (
        metrics["driftline_window_samples"][labels(**IRIS_MODEL)],
        metrics["driftline_output_window_samples"][labels(**IRIS_MODEL)],
    )


def test_archived_payloads_feed_the_windows(tmp_path: Path, s3: Any, s3_endpoint: str) -> None:
    s3.create_bucket(Bucket="kserve-logs")
    config = pull_config(tmp_path, s3_endpoint)
    with ExporterProcess(config, tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/readyz")
        # objects written after the exporter started, in every format the logger writes
        single = json.loads((FIXTURES / "s3-record-single.json").read_text())
        s3.put_object(Bucket="kserve-logs", Key=f"{PREFIX}/s-{single['id']}-request.json", Body=json.dumps(single))
        batch = json.loads((FIXTURES / "s3-records-batch.json").read_text())
        s3.put_object(Bucket="kserve-logs", Key=f"{PREFIX}/{batch[0]['id']}-request.json", Body=json.dumps(batch))
        response = "org.kubeflow.serving.inference.response"
        csv_records = [archived_record({"instances": [[5.0, 3.1, 1.5, 0.2], [6.1, 2.9, 4.7, 1.4]]}, "request", "c1"),
                       archived_record({"predictions": [0, 1]}, response, "c1")]  # fmt: skip
        s3.put_object(Bucket="kserve-logs", Key=f"{PREFIX}/c1-request.csv",
                      Body=pd.DataFrame(csv_records).to_csv(index=False).encode())  # fmt: skip
        buffer = io.BytesIO()
        pd.DataFrame([archived_record({"instances": [[6.3, 3.3, 6.0, 2.5]]}, "request", "p1")]).to_parquet(buffer)
        s3.put_object(Bucket="kserve-logs", Key=f"{PREFIX}/p1-request.parquet", Body=buffer.getvalue())
        s3.put_object(Bucket="kserve-logs", Key=f"{PREFIX}/bad-request.json", Body=b"{not json")
        s3.put_object(
            Bucket="kserve-logs", Key=f"{PREFIX}/bad2-request.json", Body=b'[{"bytes": "%%%", "reqType": "x"}]'
        )
        # independent count: single 1 row; batch 2 request rows + 1 response row; CSV 2 + 2; Parquet 1
        wait_for(lambda: rows(exporter.url) == (6.0, 3.0), timeout=120)
        metrics = wait_for(
            lambda: (
                (m := scrape(exporter.url))
                and m.get("driftline_log_objects_total", {}).get(labels(**IRIS_MODEL, outcome="quarantined")) == 2
                and m
            )
        )
        assert metrics["driftline_log_objects_total"][labels(**IRIS_MODEL, outcome="processed")] == 4
        assert metrics["driftline_events_total"][labels(**IRIS_MODEL, type="request", outcome="accepted")] == 5
        for feature in IRIS:
            assert labels(**IRIS_MODEL, feature=feature) in metrics["driftline_feature_psi"]
        watermark = json.loads(s3.get_object(Bucket="kserve-logs", Key="driftline/watermark-iris.json")["Body"].read())
        assert watermark["modified"] > 0
    assert "archived object quarantined" in (tmp_path / "exporter.log").read_text()

    # A restart resumes after the persisted watermark: nothing is read twice, new objects are read.
    with ExporterProcess(config, tmp_path / "exporter2.log") as exporter:
        exporter.wait_until("/readyz")
        s3.put_object(
            Bucket="kserve-logs",
            Key=f"{PREFIX}/n1-request.json",
            Body=json.dumps(archived_record({"instances": [[5.5, 2.5, 4.0, 1.3]]}, "request", "n1")),
        )
        wait_for(lambda: rows(exporter.url)[0] == 1.0, timeout=120)
        metrics = scrape(exporter.url)
        assert metrics["driftline_log_objects_total"][labels(**IRIS_MODEL, outcome="processed")] == 1
        assert metrics["driftline_log_objects_total"][labels(**IRIS_MODEL, outcome="quarantined")] == 0
