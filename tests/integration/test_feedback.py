"""Ground truth through a real `driftline serve`: predictions from KServe events, labels late and out of order on
POST /feedback (plain JSON and CloudEvents), and what the exporter makes of them on /metrics."""

from __future__ import annotations

import io
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests
import yaml

from tests.support import (
    FEEDBACK,
    ExporterProcess,
    label_entries,
    labelled_churn_frame,
    labels,
    logger_headers,
    post_labels,
    run_cli,
    scrape,
    send_predictions,
    target_config,
)

MODEL = {"model": "churn-model", "model_namespace": "default"}


@pytest.fixture
def exporter(tmp_path: Path) -> Iterator[ExporterProcess]:
    config, _ = target_config(tmp_path)
    result = run_cli("profile", "--config", str(config))
    assert result.returncode == 0, result.stderr
    with ExporterProcess(config, tmp_path / "exporter.log") as process:
        process.wait_until("/readyz")
        yield process


def metric(url: str, name: str, **extra: str) -> float | None:
    return scrape(url).get(name, {}).get(labels(**MODEL, **extra))


def wait_for_window(url: str, rows: int, timeout: float = 30.0) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """The scrape after the evaluator has seen ``rows`` labelled predictions."""
    deadline = time.monotonic() + timeout
    while True:
        metrics = scrape(url)
        if metrics.get("driftline_labelled_window_samples", {}).get(labels(**MODEL)) == rows:
            time.sleep(0.5)  # one more evaluation, so every gauge comes from the same window
            return scrape(url)
        assert time.monotonic() < deadline, "the labelled window never reached the expected size"
        time.sleep(0.1)


def test_late_out_of_order_labels_accuracy_drop_is_detected_and_quiet_before(exporter: ExporterProcess) -> None:
    url = exporter.url
    frame = labelled_churn_frame(4000, seed=5)
    ids = send_predictions(url, frame)
    truth = frame["churned"].to_numpy().copy()
    # From prediction 2000 on, the relation between inputs and the label changes: 40% of labels flip.
    rng = np.random.default_rng(7)
    flip = rng.random(4000) < 0.4
    flip[:2000] = False
    truth[flip] = 1 - truth[flip]
    entries = label_entries(ids, truth)

    before = [entries[i] for i in rng.permutation(2000)]  # late and out of order
    before[0] = {**before[0], "timestamp": "2026-01-01T00:00:00Z"}  # a label job may say when it learnt the label
    assert post_labels(url, before) == {"joined": 2000, "duplicate": 0, "unmatched": 0, "sampled_out": 0}
    quiet = wait_for_window(url, 2000)
    reference_accuracy = quiet["driftline_reference_performance"][labels(**MODEL, metric="accuracy")]
    accuracy = quiet["driftline_performance"][labels(**MODEL, metric="accuracy")]
    assert abs(accuracy - reference_accuracy) < 0.05
    for name in ("driftline_performance_dropped", "driftline_concept_drift_detected"):
        assert quiet[name][labels(**MODEL)] == 0.0, name
    assert quiet["driftline_labels_total"][labels(**MODEL, outcome="joined")] == 2000
    # The accuracy CBPE estimates from the 4,000 calibrated scores alone: its band holds what their labels (before
    # the flip below) say
    estimated = {m: quiet[f"driftline_estimated_performance{m}"] for m in ("", "_lower", "_upper")}
    at = labels(**MODEL, metric="accuracy")
    realised = float(np.mean((frame["churn_probability"] >= 0.5) == (frame["churned"] == 1)))
    assert estimated["_lower"][at] <= realised <= estimated["_upper"][at], (estimated, realised)
    assert quiet["driftline_estimated_performance_samples"][labels(**MODEL)] == 4000
    assert abs(estimated[""][at] - reference_accuracy) < 0.03
    assert quiet["driftline_estimated_performance_dropped"][labels(**MODEL)] == 0.0

    after = [entries[2000 + i] for i in rng.permutation(2000)]
    again = post_labels(url, after + before[:100])  # 100 labels sent twice
    assert again == {"joined": 2000, "duplicate": 100, "unmatched": 0, "sampled_out": 0}
    drifted = wait_for_window(url, 4000)
    accuracy_after = drifted["driftline_performance"][labels(**MODEL, metric="accuracy")]
    assert accuracy_after < reference_accuracy - 0.1
    assert drifted["driftline_performance_degradation"][labels(**MODEL)] > 0.1
    assert drifted["driftline_performance_dropped"][labels(**MODEL)] == 1.0
    assert drifted["driftline_concept_drift_detected"][labels(**MODEL)] == 1.0
    # The inputs did not move, the concept did: the estimate (which assumes P(label | inputs) holds) cannot see it
    assert drifted["driftline_estimated_performance_dropped"][labels(**MODEL)] == 0.0
    for metric_name in ("precision", "recall", "f1", "roc_auc", "log_loss"):
        assert labels(**MODEL, metric=metric_name) in drifted["driftline_performance"], metric_name
    # Flipping labels also shifts the churn rate (more 0s become 1s than the reverse): the label PSI is served.
    assert drifted["driftline_label_psi"][labels(**MODEL)] > 0
    assert drifted["driftline_label_delay_seconds_count"][labels(**MODEL)] == 4000
    assert drifted["driftline_labels_total"][labels(**MODEL, outcome="duplicate")] == 100
    exposition = requests.get(url + "/metrics", timeout=5).text
    check = subprocess.run(["promtool", "check", "metrics"], input=exposition, capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout == "" and check.stderr == "", check.stdout + check.stderr


def test_feedback_faults_are_counted_and_answered(exporter: ExporterProcess) -> None:
    url = exporter.url
    frame = labelled_churn_frame(20, seed=3)
    ids = send_predictions(url, frame, rows_per_call=10)

    def post(body: object, **headers: str) -> requests.Response:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return requests.post(url + "/feedback", data=data, headers=headers, timeout=10)

    plain = {"model": "churn-model", "namespace": "default"}
    # Unknown ids and rows beyond a request's batch: counted, not errors.
    answer = post({**plain, "labels": [{"id": "never-seen", "label": 1}, {"id": ids[0], "row": 10, "label": 0}]})
    assert answer.status_code == 202 and answer.json()["unmatched"] == 2
    # A CloudEvent in binary mode carries the model in its attributes.
    ce = logger_headers("churn-model", "feedback", "f-1", **{"Ce-Source": "label-job"})
    answer = post({"labels": [{"id": ids[0], "row": 0, "label": "1"}]}, **ce)
    assert answer.status_code == 202 and answer.json()["joined"] == 1
    answer = post([{"id": ids[0], "row": 0, "label": 1}], **ce)  # the same label again
    assert answer.status_code == 202 and answer.json()["duplicate"] == 1
    # Structured mode, one label.
    structured = {"specversion": "1.0", "id": "f-2", "type": FEEDBACK, "source": "label-job",
                  "inferenceservicename": "churn-model", "namespace": "default",
                  "data": {"id": ids[1], "row": 3, "label": True}}  # fmt: skip
    answer = post(structured, **{"Content-Type": "application/cloudevents+json"})
    assert answer.status_code == 202 and answer.json()["joined"] == 1

    faults = [
        (b"{not json", {}, 400, "bad_json"),
        ({**plain, "labels": [{"id": ids[1], "row": 0, "label": 1}, {"id": ids[1], "row": 1, "label": [1]}]}, {},
         400, "invalid_label"),
        ({**plain, "labels": [{"id": ids[1], "row": -1, "label": 1}]}, {}, 400, "invalid_label"),
        ({**plain, "labels": [{"row": 0, "label": 1}]}, {}, 400, "invalid_label"),
        ({**plain, "labels": [{"id": ids[1], "label": {"churned": 1}}]}, {}, 400, "invalid_label"),
        ({**plain, "labels": []}, {}, 400, "invalid_label"),
        ({"labels": [{"id": ids[1], "label": 1}]}, {}, 400, "missing_attributes"),
        ({"model": "other-model", "labels": [{"id": "x", "label": 1}]}, {}, 404, "unknown_model"),
        ({"labels": [{"id": ids[1], "label": 1}]}, {**ce, "Ce-Type": "org.kubeflow.serving.inference.request"}, 400,
         "unsupported_type"),
        (b"x" * (10 * 1024 * 1024 + 1), {}, 413, "too_large"),
    ]  # fmt: skip
    for body, headers, status, reason in faults:
        answer = post(body, **headers)
        assert answer.status_code == status, (body if len(body) < 200 else "large", answer.text)
        assert answer.json()["reason"] == reason
    # The rejected batch changed nothing: row 0 of the second call is still unlabelled.
    answer = post({**plain, "labels": [{"id": ids[1], "row": 0, "label": 1}]})
    assert answer.json()["joined"] == 1

    metrics = scrape(url)
    rejected = metrics["driftline_feedback_rejected_total"]
    assert rejected[labels(reason="invalid_label")] == 5
    assert rejected[labels(reason="bad_json")] == 1
    assert rejected[labels(reason="unsupported_type")] == 1
    assert rejected[labels(reason="unknown_model")] == 1
    assert rejected[labels(reason="too_large")] == 1
    assert rejected[labels(reason="no_target")] == 0  # exported from zero
    outcomes = metrics["driftline_labels_total"]
    assert outcomes[labels(**MODEL, outcome="unmatched")] == 2
    assert outcomes[labels(**MODEL, outcome="duplicate")] == 1
    assert outcomes[labels(**MODEL, outcome="joined")] == 3
    assert metrics["driftline_prediction_store_rows"][labels(**MODEL)] == 20
    assert requests.get(url + "/healthz", timeout=5).status_code == 200


def test_label_files_in_s3_are_pulled_and_joined(tmp_path: Path, s3: Any, s3_endpoint: str) -> None:
    s3.create_bucket(Bucket="labels")
    config, content = target_config(tmp_path)
    content["s3"] = {"endpoint_url": s3_endpoint, "region": "us-east-1"}
    content["models"][0]["feedback"].update(
        {"s3_labels": "s3://labels/churn", "poll": "200ms", "watermark": "s3://labels/driftline/watermark.json"}
    )
    config.write_text(yaml.safe_dump(content, sort_keys=False))
    assert run_cli("profile", "--config", str(config)).returncode == 0
    with ExporterProcess(config, tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/readyz")
        frame = labelled_churn_frame(40, seed=11)
        ids = send_predictions(exporter.url, frame, rows_per_call=10)
        entries = label_entries(ids, frame["churned"].to_numpy())
        csv = pd.DataFrame(entries[:10]).assign(timestamp="2026-11-27T10:00:00Z").to_csv(index=False)
        s3.put_object(Bucket="labels", Key="churn/2026-11-27/a.csv", Body=csv.encode())
        buffer = io.BytesIO()
        pd.DataFrame(entries[10:20]).to_parquet(buffer)
        s3.put_object(Bucket="labels", Key="churn/2026-11-27/b.parquet", Body=buffer.getvalue())
        lines = [json.dumps(e) for e in entries[20:40]] + [json.dumps({"id": ids[0], "row": 1, "label": [1]})]
        s3.put_object(Bucket="labels", Key="churn/2026-11-27/c.jsonl", Body="\n".join(lines).encode())
        s3.put_object(Bucket="labels", Key="churn/2026-11-27/d.jsonl", Body=b"{not json")

        def joined() -> bool:
            value = metric(exporter.url, "driftline_labels_total", outcome="joined")
            return value is not None and value >= 40

        deadline = time.monotonic() + 30
        while not joined():
            assert time.monotonic() < deadline, (tmp_path / "exporter.log").read_text()[-3000:]
            time.sleep(0.2)
        metrics = scrape(exporter.url)
    assert metrics["driftline_labels_total"][labels(**MODEL, outcome="joined")] == 40
    assert metrics["driftline_feedback_rejected_total"][labels(reason="invalid_label")] == 1
    assert metrics["driftline_label_objects_total"][labels(**MODEL, outcome="quarantined")] == 1
    assert metrics["driftline_label_objects_total"][labels(**MODEL, outcome="processed")] == 3
    watermark = json.loads(s3.get_object(Bucket="labels", Key="driftline/watermark.json")["Body"].read())
    assert len(watermark["keys"]) >= 1
