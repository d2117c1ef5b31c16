"""The exporter's ASGI app in process (the fast tier): routing, every kind of bad input answered with its reason and
counted, feedback in each CloudEvent mode, and /metrics as prometheus-client renders it."""

from __future__ import annotations

import base64
import gzip
import json
import platform
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

import drift
import driftline
from drift.catalogue import EVENT_REJECT_REASONS, FEEDBACK_REJECT_REASONS
from exporters.app import ExporterApp
from exporters.service import ExporterService
from tests.support import IRIS, IRIS_MODEL, IRIS_REQUEST, iris_config, labels
from tests.support.asgi import AsgiClient

REQUEST = IRIS_REQUEST
RESPONSE = {**REQUEST, "Ce-Type": "org.kubeflow.serving.inference.response"}
FEEDBACK_TYPE = "org.kubeflow.serving.inference.feedback"


@pytest.fixture(scope="module")
def iris_config_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return iris_config(tmp_path_factory.mktemp("iris"), cli=False, max_body_bytes=4096)


def make_app(config_path: Path, target: bool = False) -> tuple[ExporterApp, AsgiClient]:
    config = drift.load_config(config_path)
    if target:
        model = config.models[0]
        data = {"version": 1, "models": [{"name": model.name, "namespace": model.namespace,
                "reference": {"data": model.reference.data, "profile": model.reference.profile},
                "features": [{"name": n, "type": "numeric"} for n in IRIS],
                "outputs": [{"name": "class", "type": "categorical"}],
                "target": {"name": "species", "task": "classification"}}],
                "exporter": {"max_body_bytes": 4096}}  # fmt: skip
        config = drift.parse_config(data)
    app = ExporterApp(ExporterService(config))
    return app, AsgiClient(app)


@pytest.fixture
def client(iris_config_path: Path) -> AsgiClient:
    app, client = make_app(iris_config_path)
    app.service.refresh_references()
    return client


@pytest.fixture
def labelled(iris_config_path: Path) -> AsgiClient:
    """The iris model with a target (its class): a profile without the target still serves drift and joins labels."""
    app, client = make_app(iris_config_path, target=True)
    app.service.refresh_references()
    return client


def test_routes_answer_404_and_405_with_a_reason(client: AsgiClient) -> None:
    assert client.get("/nope").status == 404 and client.get("/nope").json()["reason"] == "not_found"
    for path, wrong in (("/", "GET"), ("/feedback", "GET"), ("/metrics", "POST"), ("/healthz", "POST"),
                        ("/readyz", "DELETE"), ("/report/default/sklearn-iris", "POST")):  # fmt: skip
        answer = client.request(wrong, path)
        assert answer.status == 405 and answer.json()["reason"] == "method_not_allowed", path
    assert client.get("/report/only-one-part").json()["reason"] == "not_found"
    assert client.get("/report/default/unknown").json()["reason"] == "unknown_model"
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.request("HEAD", "/healthz").status == 200


def test_readyz_waits_for_every_profile(iris_config_path: Path) -> None:
    app, client = make_app(iris_config_path)
    waiting = client.get("/readyz")
    assert waiting.status == 503 and "default/sklearn-iris" in waiting.json()["waiting_for"]
    app.service.refresh_references()
    assert client.get("/readyz").status == 200


@pytest.mark.parametrize(
    ("body", "headers", "status", "reason"),
    [
        ("not json", REQUEST, 400, "bad_json"),
        ("", REQUEST, 400, "bad_json"),
        ('{"instances": [[1, 2, 3]]}', REQUEST, 400, "shape_mismatch"),
        ('{"instances": [[1, 2, 3, 4], [1, 2]]}', REQUEST, 400, "shape_mismatch"),
        ('{"instances": 5}', REQUEST, 400, "shape_mismatch"),
        ('{"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP32", "data": [1, 2]}]}', REQUEST, 400,
         "shape_mismatch"),
        ('{"rows": []}', REQUEST, 400, "unsupported_payload"),
        (b'{"inputs": []}\x00\x01\x02\xff', REQUEST, 400, "binary_payload"),
        (b"\x00\x01\x02binary", REQUEST, 400, "binary_payload"),
        ('{"instances": [[1, 2, 3, 4]]}', {k: v for k, v in REQUEST.items() if k != "Ce-Inferenceservicename"}, 400,
         "missing_attributes"),
        ('{"instances": [[1, 2, 3, 4]]}', {**REQUEST, "Ce-Type": "something.else"}, 400, "unsupported_type"),
        ('{"instances": [[1, 2, 3, 4]]}', {"Content-Type": "application/json"}, 400, "missing_attributes"),
        ('{"specversion": "1.0", "type": "org.kubeflow.serving.inference.request", "inferenceservicename": '
         '"sklearn-iris", "data_base64": "not base64!"}', {"Content-Type": "application/cloudevents+json"}, 400,
         "bad_json"),
        ('{"instances": [[1, 2, 3, 4]]}', {**REQUEST, "Ce-Inferenceservicename": "fraud"}, 202, "unknown_model"),
        ("x" * 5000, REQUEST, 413, "too_large"),
    ],
)  # fmt: skip
def test_each_bad_event_is_answered_and_counted(
    client: AsgiClient, body: str | bytes, headers: dict[str, str], status: int, reason: str
) -> None:
    answer = client.request("POST", "/", body, headers, chunk_size=1000)
    assert answer.status == status, answer.body
    assert answer.json()["reason"] == reason
    if status >= 400:
        assert answer.json()["error"]
    metrics = client.metrics()
    rejected = metrics["driftline_events_rejected_total"]
    assert {k: v for k, v in rejected.items() if v} == {labels(reason=reason): 1.0}
    assert set(rejected) == {labels(reason=r) for r in EVENT_REJECT_REASONS}, "a reason outside the catalogue"
    client.app.service.evaluate_all()
    assert client.metrics()["driftline_window_samples"][labels(**IRIS_MODEL)] == 0


def test_a_declared_length_above_the_limit_is_refused_before_reading(client: AsgiClient) -> None:
    answer = client.request("POST", "/", b"{}", {**REQUEST, "Content-Length": "999999"})
    assert answer.status == 413 and answer.json()["reason"] == "too_large"


def test_good_events_in_both_modes_fill_the_windows(client: AsgiClient) -> None:
    row = [5.0, 3.0, 4.0, 1.0]
    assert client.post("/", {"instances": [row, row]}, REQUEST).json() == {"status": "accepted"}
    structured = {"specversion": "1.0", "type": "org.kubeflow.serving.inference.request", "id": "y",
                  "inferenceservicename": "sklearn-iris", "namespace": "default",
                  "data_base64": base64.b64encode(json.dumps({"instances": [row]}).encode()).decode()}  # fmt: skip
    assert client.post("/", structured, {"Content-Type": "application/cloudevents+json"}).status == 202
    assert client.post("/", {"predictions": [1, 2, 0]}, RESPONSE).status == 202
    client.app.service.evaluate_all()
    metrics = client.metrics()
    assert metrics["driftline_window_samples"][labels(**IRIS_MODEL)] == 3
    assert metrics["driftline_output_window_samples"][labels(**IRIS_MODEL)] == 3
    events = metrics["driftline_events_total"]
    assert events[labels(**IRIS_MODEL, type="request", outcome="accepted")] == 2
    assert events[labels(**IRIS_MODEL, type="response", outcome="accepted")] == 1


def test_bad_values_inside_good_rows_are_missing_not_rejected(client: AsgiClient) -> None:
    body = '{"instances": [[1.0, "abc", null, 4.0], [NaN, Infinity, true, 1e999], [5.0, 2.0, 1.0, 0.5]]}'
    assert client.post("/", body, REQUEST).status == 202
    client.app.service.evaluate_all()
    metrics = client.metrics()
    missing = metrics["driftline_feature_missing_ratio"]
    for feature, ratio in zip(IRIS, (1 / 3, 2 / 3, 2 / 3, 1 / 3), strict=True):
        assert missing[labels(**IRIS_MODEL, feature=feature)] == pytest.approx(ratio)
    assert not any(metrics["driftline_events_rejected_total"].values())


def test_feedback_in_every_mode_joins_labels(labelled: AsgiClient) -> None:
    for i in range(4):
        assert labelled.post("/", {"predictions": [i % 3]}, {**RESPONSE, "Ce-Id": f"call-{i}"}).status == 202
    plain = {"model": "sklearn-iris", "namespace": "default", "labels": [{"id": "call-0", "label": 0}]}
    assert labelled.post("/feedback", plain).json() == {
        "status": "accepted", "joined": 1, "duplicate": 0, "unmatched": 0, "sampled_out": 0}  # fmt: skip
    binary = {"Ce-Specversion": "1.0", "Ce-Type": FEEDBACK_TYPE, "Ce-Id": "f1",
              "Ce-Inferenceservicename": "sklearn-iris", "Ce-Namespace": "default"}  # fmt: skip
    assert labelled.post("/feedback", {"labels": [{"id": "call-1", "label": 1}]}, binary).json()["joined"] == 1
    structured = {"specversion": "1.0", "type": FEEDBACK_TYPE, "id": "f2", "inferenceservicename": "sklearn-iris",
                  "data": [{"id": "call-2", "label": 2}]}  # fmt: skip
    assert labelled.post("/feedback", structured).json()["joined"] == 1
    encoded = {**structured, "id": "f3", "data_base64": base64.b64encode(b'{"id": "call-3", "label": 0}').decode()}
    del encoded["data"]
    assert labelled.post("/feedback", encoded).json()["joined"] == 1, "data_base64 is read like data"
    assert labelled.post("/feedback", plain).json()["duplicate"] == 1
    joined = labelled.metrics()["driftline_labels_total"][labels(**IRIS_MODEL, outcome="joined")]
    assert joined == 4


@pytest.mark.parametrize(
    ("body", "headers", "status", "reason"),
    [
        ("not json", {}, 400, "bad_json"),
        (b"\x00\x01\x02\x03 labels", {}, 400, "binary_payload"),
        (b'{"model": "sklearn-iris", "labels": []}\x00\x01\xff', {}, 400, "binary_payload"),
        ('{"specversion": "1.0", "type": "x", "data_base64": "%%%"}', {}, 400, "bad_json"),
        ('{"labels": [{"id": "a", "label": 1}]}', {}, 400, "missing_attributes"),
        ('{"model": "sklearn-iris", "labels": []}', {}, 400, "invalid_label"),
        ('{"model": "sklearn-iris", "labels": [{"id": "a", "label": null}]}', {}, 400, "invalid_label"),
        ('{"model": "sklearn-iris", "labels": [{"id": "a", "row": -1, "label": 1}]}', {}, 400, "invalid_label"),
        ('{"model": "fraud", "labels": [{"id": "a", "label": 1}]}', {}, 404, "unknown_model"),
        ('{"labels": [{"id": "a", "label": 1}]}', {"Ce-Specversion": "1.0", "Ce-Type": "org.kubeflow.serving."
         "inference.request", "Ce-Inferenceservicename": "sklearn-iris"}, 400, "unsupported_type"),
        ("x" * 5000, {}, 413, "too_large"),
    ],
)  # fmt: skip
def test_each_bad_feedback_is_answered_and_counted(
    labelled: AsgiClient, body: str | bytes, headers: dict[str, str], status: int, reason: str
) -> None:
    answer = labelled.request("POST", "/feedback", body, headers)
    assert (answer.status, answer.json()["reason"]) == (status, reason), answer.body
    rejected = labelled.metrics()["driftline_feedback_rejected_total"]
    assert {k: v for k, v in rejected.items() if v} == {labels(reason=reason): 1.0}
    assert set(rejected) == {labels(reason=r) for r in FEEDBACK_REJECT_REASONS}


def test_feedback_for_a_model_without_target_is_422(client: AsgiClient) -> None:
    answer = client.post("/feedback", {"model": "sklearn-iris", "labels": [{"id": "a", "label": 1}]})
    assert (answer.status, answer.json()["reason"]) == (422, "no_target")


def test_metrics_negotiate_openmetrics_and_gzip(client: AsgiClient) -> None:
    assert client.post("/", {"instances": [[5.0, 3.0, 4.0, 1.0]]}, REQUEST).status == 202
    client.app.service.evaluate_all()
    plain = client.get("/metrics")
    assert (
        plain.headers["content-type"].startswith("text/plain; version=0.0.4")
        and "content-encoding" not in plain.headers
    )
    assert "# EOF" not in plain.text and "driftline_feature_psi{" in plain.text
    zipped = client.get("/metrics", {"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["content-encoding"] == "gzip" and len(zipped.body) < len(plain.body) / 3
    unzipped = gzip.decompress(zipped.body).decode()
    assert [line for line in unzipped.splitlines() if line.startswith("driftline_")] == [
        line for line in plain.text.splitlines() if line.startswith("driftline_")
    ]
    open_metrics = client.get("/metrics", {"Accept": "application/openmetrics-text; version=1.0.0"})
    assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
    assert open_metrics.text.endswith("# EOF\n")
    families = {f.name: f for f in text_string_to_metric_families(plain.text)}
    build = families["driftline_build_info"].samples[0]
    assert build.value == 1 and build.labels["version"] == driftline.__version__
    assert build.labels["python_version"] == platform.python_version()
