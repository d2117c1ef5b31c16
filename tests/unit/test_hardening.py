"""Findings of the hostile-input review, one test each, named after the finding: what once answered 500 (with a
traceback in the log) or was accepted and then broke later now gets a counted 4xx, or a value that cannot hurt."""

from __future__ import annotations

import gc
import json
import logging
import math
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from alerts.loader import load_deployment
from alerts.webhook import github
from alerts.webhook.app import WebhookApp
from alerts.webhook.config import RetryConfig
from alerts.webhook.notifications import drifted_features
from alerts.webhook.service import WebhookService
from exporters.app import ExporterApp
from exporters.service import ExporterService
from tests.support import (
    ENV,
    IRIS_MODEL,
    IRIS_REQUEST,
    TOKEN,
    alert,
    iris_config,
    labels,
    logger_headers,
    notification,
    webhook_config,
)
from tests.support.asgi import AsgiClient, lifespan

HUGE_INTEGER = "9" * 5000  # Python's json refuses integers of more than 4,300 digits with a plain ValueError


@pytest.fixture(scope="module")
def iris_sampled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The iris model with a categorical output, a target and half of the events sampled out."""
    directory = tmp_path_factory.mktemp("iris")
    path = iris_config(directory, cli=False)
    data = yaml.safe_load(path.read_text())
    data["models"][0]["sampling"] = {"rate": 0.5}
    data["models"][0]["target"] = {"name": "species", "task": "classification"}
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def exporter(iris_sampled: Path) -> AsgiClient:
    app = ExporterApp(ExporterService(load_deployment(iris_sampled)))
    app.service.refresh_references()
    return AsgiClient(app)


@pytest.fixture
def webhook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AsgiClient]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    config = webhook_config(tmp_path, "http://127.0.0.1:9", max_body_bytes=8 * 1024 * 1024)
    service = WebhookService(load_deployment(config))
    with lifespan(WebhookApp(service)) as client:
        yield client


def rejected(client: AsgiClient, metric: str = "driftline_events_rejected_total") -> dict[str, float]:
    return {dict(k)["reason"]: v for k, v in client.metrics()[metric].items() if v}


def test_finding_4_an_integer_of_5000_digits_in_an_event_is_a_counted_400(exporter: AsgiClient) -> None:
    answer = exporter.post("/", f'{{"instances": [[{HUGE_INTEGER}, 1, 2, 3]]}}', IRIS_REQUEST)
    assert (answer.status, answer.json()["reason"]) == (400, "over_limit")  # drift.boundary: valid JSON, over a limit
    assert "5,000 digits" in answer.json()["error"]
    assert rejected(exporter) == {"over_limit": 1}


def test_finding_4_an_integer_of_5000_digits_in_feedback_is_a_counted_400(exporter: AsgiClient) -> None:
    body = f'{{"model": "sklearn-iris", "labels": [{{"id": "a", "label": {HUGE_INTEGER}}}]}}'
    answer = exporter.post("/feedback", body)
    assert (answer.status, answer.json()["reason"]) == (400, "over_limit")
    assert rejected(exporter, "driftline_feedback_rejected_total") == {"over_limit": 1}


def kept_id(client: AsgiClient) -> str:
    """An event id that ``sampling.rate`` keeps."""
    model = client.app.service.models[("sklearn-iris", "default")]
    return next(f"id-{i}" for i in range(100) if model.keeps(f"id-{i}"))


def test_finding_4_a_categorical_cell_nested_1000_deep_is_refused_by_the_boundary(exporter: AsgiClient) -> None:
    """Once a missing value (the parser read a container as no category); since the bounded decoder nothing nested
    deeper than 64 levels reaches any code, so the event is refused whole, with the limit named."""
    deep = "[" * 1000 + "]" * 1000
    headers = logger_headers("sklearn-iris", "response", kept_id(exporter))
    answer = exporter.post("/", f'{{"predictions": [[{deep}], ["1"]]}}', headers)
    assert (answer.status, answer.json()["reason"]) == (400, "over_limit")
    assert "nested more than 64 levels" in answer.json()["error"]
    assert rejected(exporter) == {"over_limit": 1}


@pytest.mark.parametrize("name", [["petal_length"], {"column": "petal_length"}, 7])
def test_finding_4_a_v2_tensor_whose_name_is_not_a_string_is_a_counted_400(exporter: AsgiClient, name: object) -> None:
    tensors = [{"name": name, "shape": [1, 2], "datatype": "FP32", "data": [1, 2]},
               {"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]  # fmt: skip
    answer = exporter.post("/", {"inputs": tensors}, {**IRIS_REQUEST, "Ce-Id": kept_id(exporter)})
    assert (answer.status, answer.json()["reason"]) == (400, "shape_mismatch")
    assert rejected(exporter) == {"shape_mismatch": 1}


def test_finding_4_a_lone_surrogate_in_an_id_is_sampled_like_any_id(exporter: AsgiClient) -> None:
    event = ('{"specversion": "1.0", "type": "org.kubeflow.serving.inference.request", "id": "\\ud800-%d", '
             '"inferenceservicename": "sklearn-iris", "data": {"instances": [[1, 2, 3, 4]]}}')  # fmt: skip
    statuses = {exporter.post("/", event % i).json()["status"] for i in range(20)}
    assert statuses == {"accepted", "sampled_out"}
    feedback = '{"model": "sklearn-iris", "labels": [{"id": "\\udfff", "label": 1}]}'
    answer = exporter.post("/feedback", feedback)
    assert answer.status == 202 and answer.json()["joined"] == 0


def test_finding_4_a_notification_nested_100000_deep_is_a_counted_400(webhook: AsgiClient) -> None:
    answer = webhook.post("/alertmanager", "[" * 100_000 + "]" * 100_000, {"Authorization": f"Bearer {TOKEN}"})
    assert (answer.status, answer.json()["reason"]) == (400, "over_limit")


def test_finding_4_a_lone_surrogate_in_group_key_is_a_counted_400(webhook: AsgiClient) -> None:
    body = json.dumps({**notification(alert()), "groupKey": "\ud800"})  # json.dumps escapes it: \ud800
    answer = webhook.post("/alertmanager", body, {"Authorization": f"Bearer {TOKEN}"})
    assert (answer.status, answer.json()["reason"]) == (400, "bad_json")
    counted = webhook.metrics()["driftline_retrain_notifications_total"]
    assert counted[labels(outcome="invalid")] == 1 and counted[labels(outcome="dispatched")] == 0


@pytest.mark.parametrize("value", ["NaN", "Inf", "-Inf", "+Inf"])
def test_finding_5_a_non_finite_psi_in_drifted_features_is_left_out(value: str) -> None:
    features = drifted_features(f"contract={value}, tenure=0.150")
    assert features == {"tenure": 0.150}
    json.dumps(features, allow_nan=False)  # what requests sends to GitHub


def test_finding_3_a_10_mb_feedback_batch_does_not_block_the_event_loop(exporter: AsgiClient) -> None:
    labels_ = [{"id": f"c{i}", "label": i % 3} for i in range(350_000)]
    body = json.dumps({"model": "sklearn-iris", "labels": labels_}, separators=(",", ":"))
    assert 8_000_000 < len(body) <= 10 * 1024 * 1024  # a batch just under exporter.max_body_bytes
    (feedback_done, feedback), (health_done, health) = exporter.concurrently(
        ("POST", "/feedback", body, {}), ("GET", "/healthz", b"", {})
    )
    assert feedback.status == 202 and feedback.json()["unmatched"] + feedback.json()["sampled_out"] == 350_000
    assert health.status == 200
    assert health_done < feedback_done, "/healthz waited for the feedback batch to be parsed"


def test_finding_10_a_label_timestamp_of_1e308_is_refused(exporter: AsgiClient) -> None:
    for stamp in ("1e308", "-1", "1700000000000", '"9999-12-31T00:00:00Z"'):
        body = f'{{"model": "sklearn-iris", "labels": [{{"id": "a", "label": 1, "timestamp": {stamp}}}]}}'
        answer = exporter.post("/feedback", body)
        assert (answer.status, answer.json()["reason"]) == (400, "invalid_label"), stamp
        assert "between 1970 and 3000" in answer.json()["error"]
    body = '{"model": "sklearn-iris", "labels": [{"id": "a", "label": 1, "timestamp": 1700000000}]}'
    assert exporter.post("/feedback", body).status == 202


@pytest.mark.parametrize("label", ["Infinity", "-Infinity", "NaN"])
def test_finding_10_a_label_of_infinity_is_not_a_class(exporter: AsgiClient, label: str) -> None:
    answer = exporter.post("/feedback", f'{{"model": "sklearn-iris", "labels": [{{"id": "a", "label": {label}}}]}}')
    assert (answer.status, answer.json()["reason"]) == (400, "invalid_label")


@pytest.mark.parametrize("retry_after", ["inf", "nan", "1e400", "-5", "not-a-number"])
def test_finding_10_retry_after_inf_neither_gives_up_nor_sleeps_for_ever(retry_after: str) -> None:
    response = requests.Response()
    response.status_code = 429
    response.headers["retry-after"] = retry_after
    response._content = b'{"message": "slow down"}'
    retry = RetryConfig()
    outcome = github.classify(response, attempt=1, retry=retry, now=time.time())
    assert outcome.result == "rate_limited"
    assert 0.0 <= outcome.wait <= github.RATE_LIMIT_CEILING and math.isfinite(outcome.wait)
    assert outcome.wait < retry.give_up_after.seconds


def test_finding_10_alerts_for_2000_unconfigured_models_start_nothing(
    webhook: AsgiClient, caplog: pytest.LogCaptureFixture
) -> None:
    alerts = [alert(model=f"not-configured-{i}", fingerprint=f"{i:016x}") for i in range(2000)]
    with caplog.at_level(logging.WARNING, logger="driftline.webhook"):
        answer = webhook.post("/alertmanager", notification(*alerts), {"Authorization": f"Bearer {TOKEN}"})
    assert answer.status == 200 and answer.json()["outcomes"] == {"unknown_model": 2000}
    counted = webhook.metrics()["driftline_retrain_notifications_total"]
    assert counted[labels(outcome="unknown_model")] == 2000 and counted[labels(outcome="dispatched")] == 0
    assert len([r for r in caplog.records if "config does not name" in r.getMessage()]) == 1
    configured = webhook.post("/alertmanager", notification(alert()), {"Authorization": f"Bearer {TOKEN}"})
    assert configured.json()["outcomes"] == {"dispatched": 1}


def rss_mb() -> float:
    gc.collect()
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


def test_finding_1_ids_of_4_mb_are_stored_as_their_hash_and_still_join(exporter: AsgiClient) -> None:
    huge = "i" * (4 * 1024 * 1024)
    event = '{"specversion": "1.0", "type": "org.kubeflow.serving.inference.response", "id": "%s", ' \
            '"inferenceservicename": "sklearn-iris", "data": {"predictions": ["1"]}}'  # fmt: skip
    before = rss_mb()
    for i in range(40):
        assert exporter.post("/", event % f"{i:04d}{huge}").status == 202
    growth = rss_mb() - before
    assert growth < 40, f"+{growth:.0f} MB for 40 ids of 4 MB (once +171 MB)"
    labels_ = [{"id": f"{i:04d}{huge}", "label": "1"} for i in range(2)]
    answer = exporter.post("/feedback", {"model": "sklearn-iris", "labels": labels_})
    assert answer.json()["joined"] + answer.json()["sampled_out"] == 2 and answer.json()["unmatched"] == 0


def test_finding_1_category_values_of_4_mb_are_counted_and_not_kept(exporter: AsgiClient) -> None:
    huge = "c" * (4 * 1024 * 1024)
    headers = logger_headers("sklearn-iris", "response", kept_id(exporter))
    before = rss_mb()
    for _ in range(40):
        assert exporter.post("/", f'{{"predictions": [["{huge}"]]}}', headers).json() == {"status": "accepted"}
    growth = rss_mb() - before
    assert growth < 40, f"+{growth:.0f} MB for 40 categories of 4 MB (once +168 MB)"
    exporter.app.service.evaluate_all()
    metrics = exporter.metrics()
    assert metrics["driftline_long_values_total"][labels(**IRIS_MODEL)] == 40
    assert metrics["driftline_output_window_samples"][labels(**IRIS_MODEL)] == 40
    assert metrics["driftline_prediction_psi"][labels(**IRIS_MODEL, output="class")] > 0  # all of them __other__


def test_finding_1_a_class_label_of_4_mb_is_invalid(exporter: AsgiClient) -> None:
    label = "l" * (4 * 1024 * 1024)
    answer = exporter.post("/feedback", {"model": "sklearn-iris", "labels": [{"id": "a", "label": label}]})
    assert (answer.status, answer.json()["reason"]) == (400, "invalid_label")


def test_finding_8_the_webhook_says_so_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    service = WebhookService(load_deployment(webhook_config(tmp_path, "http://github.internal")))
    with caplog.at_level(logging.WARNING, logger="driftline.webhook"):
        service.prepare()
    warnings = [r for r in caplog.records if r.getMessage() == "unsafe setting"]
    assert len(warnings) == 1 and "webhook.github.api_url" in warnings[0].__dict__["warning"]
    assert service.outbox is not None
    service.outbox.close()
