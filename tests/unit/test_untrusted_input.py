"""The second hostile-input review's findings that an in-process service shows (docs/operations.md lists them all),
one test each, named after its finding: what once answered 500, froze the event loop, crashed start-up, blocked
every model or wrapped a window now gets a counted 4xx, a bounded answer, or affects only its own model."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import drift
from exporters.app import ExporterApp
from exporters.checkpoint import Checkpoints
from exporters.payloads import Columns, Rows, parse_request
from exporters.service import ExporterService
from tests.support import IRIS, IRIS_MODEL, IRIS_REQUEST, iris_config, labels, logger_headers
from tests.support.asgi import AsgiClient
from tests.support.service import only_stream

FEATURES = Columns(tuple(drift.ColumnConfig(n, "numeric") for n in IRIS))


def service_of(path: Path, clock: Any = time.time) -> ExporterService:
    service = ExporterService(drift.load_config(path), clock=clock)
    service.refresh_references()
    return service


def client_of(service: ExporterService) -> AsgiClient:
    return AsgiClient(ExporterApp(service))


def with_model(path: Path, **settings: Any) -> Path:
    content = yaml.safe_load(path.read_text())
    content["models"][0].update(settings)
    path.write_text(yaml.safe_dump(content))
    return path


def rejected(client: AsgiClient, metric: str = "driftline_events_rejected_total") -> dict[str, float]:
    return {dict(k)["reason"]: v for k, v in client.metrics()[metric].items() if v}


@pytest.fixture
def iris(tmp_path: Path) -> Path:
    return iris_config(tmp_path, cli=False)


# --- 1: memory from unauthenticated events ---


def test_review2_finding_1_waiting_requests_are_bounded_in_bytes_and_keyed_by_short_ids() -> None:
    """With versions.source: response, requests waited keyed by the raw 64 KB Ce-Id and bounded by rows only (a
    request of no rows not at all): 18,000 events took 1 GB. Now every held request is weighed — its key, its
    entry, its rows — and the oldest leave when the budget is spent."""
    from exporters.events import stored_id
    from exporters.waiting import MAX_WAITING_BYTES, WaitingRequests, held_bytes

    waiting = WaitingRequests(wait=3600.0, max_bytes=1 << 20)
    empty = parse_request({"instances": []}, FEATURES)
    one_row = parse_request({"instances": [[1.0, 2.0, 3.0, 4.0]]}, FEATURES)
    given_up = 0
    for i in range(5000):
        event_id = f"{i:08d}" + "x" * 65_000
        _, dropped = waiting.hold(event_id, empty if i % 2 else one_row, float(i))
        given_up += dropped
    assert waiting.bytes_waiting <= 1 << 20
    assert given_up > 0 and len(waiting._rows) * 1024 <= 1 << 20
    assert all(len(key) <= 128 for key in waiting._rows)
    assert stored_id("x" * 65_000).startswith("sha256:")
    assert held_bytes(empty, "k") >= 1024 and MAX_WAITING_BYTES == 64 << 20
    # the last request still finds its version by its full id
    last = f"{4999:08d}" + "x" * 65_000
    assert waiting.claim(last, "2", 5000.0) is not None


# --- 2 and 5: one event freezing the loop or answering 500 ---


def test_review2_finding_2_a_tensor_shape_of_huge_integers_is_refused_at_once(iris: Path) -> None:
    client = client_of(service_of(iris))
    shapes = ["[" + ",".join(["9" * 4300] * 600) + "]", "[" + ",".join(["9" * 18] * 100_000) + "]"]
    for shape in shapes:
        tensor = '{"name": "x", "shape": SHAPE, "datatype": "FP32", "data": [1, 2, 3, 4]}'.replace("SHAPE", shape)
        body = '{"inputs": [' + tensor + "]}"
        answer = client.post("/", body, IRIS_REQUEST)
        assert answer.status == 400 and answer.json()["reason"] in ("over_limit", "shape_mismatch")
        assert len(answer.json()["error"]) < 200
    assert sum(rejected(client).values()) == 2


@pytest.mark.parametrize(
    ("path", "headers", "body", "reason"),
    [
        pytest.param("/", {"content-type": "application/cloudevents+json"},
                     '{"specversion": "1.0", "type": "org.kubeflow.serving.inference.request", "id": "a", '
                     '"inferenceservicename": "sklearn-iris", "data": "{\\"instances\\": [\\"\\ud800\\"]}"}',
                     "shape_mismatch", id="structured-data-string-with-a-lone-surrogate"),
        pytest.param("/feedback", {"content-type": "application/cloudevents+json"},
                     '{"specversion": "1.0", "type": "org.kubeflow.serving.inference.feedback", "id": "a", '
                     '"inferenceservicename": "sklearn-iris", "data": "\\ud800"}',
                     "bad_json", id="feedback-data-string-with-a-lone-surrogate"),
        pytest.param("/feedback", {},
                     '{"model": "sklearn-iris", "labels": [{"id": "a", "label": 1, "timestamp": %s}]}' % ("9" * 309),
                     "over_limit", id="feedback-timestamp-of-309-digits"),
        pytest.param("/", {**IRIS_REQUEST, "Ce-Metadata": '{"X-Model-Version": ' + "[" * 1000 + "]" * 1000 + "}"},
                     '{"instances": [[1, 2, 3, 4]]}', None, id="ce-metadata-nested-1000-deep"),
    ],
)  # fmt: skip
def test_review2_finding_5_what_answered_500_gets_a_counted_4xx(
    iris: Path, path: str, headers: dict[str, str], body: str, reason: str | None
) -> None:
    with_model(iris, target={"name": "species", "task": "classification"})
    if "Ce-Metadata" in headers:  # a model whose version is read from a header the logger copies into Ce-Metadata
        with_model(iris, versions={"source": "header", "name": "X-Model-Version"})
    client = client_of(service_of(iris))
    answer = client.post(path, body, headers)
    assert answer.status < 500, answer.body
    if reason is None:  # metadata that cannot be read names no version: the event is counted as such
        assert answer.json() == {"status": "ignored", "reason": "no_version"}
        return
    assert answer.status == 400 and answer.json()["reason"] == reason
    metric = "driftline_events_rejected_total" if path == "/" else "driftline_feedback_rejected_total"
    assert rejected(client, metric) == {reason: 1}


# --- 7: a foreign checkpoint ---


def foreign_checkpoint(path: Path, meta: Any, arrays: dict[str, Any] | None = None) -> None:
    buffer = io.BytesIO()
    payload = json.dumps(meta) if not isinstance(meta, str) else meta
    np.savez(buffer, meta=np.frombuffer(payload.encode(), dtype=np.uint8), **(arrays or {}))
    path.write_bytes(buffer.getvalue())


@pytest.mark.parametrize(
    "meta",
    [
        ["driftline.window-checkpoint", 1],
        "[" * 5000 + "]" * 5000,
        {"format": "driftline.window-checkpoint", "format_version": 1, "model": ["default", "sklearn-iris"],
         "ground_truth": ["store", "labelled"]},
        {"format": "driftline.window-checkpoint", "format_version": 1, "model": ["default", "sklearn-iris"],
         "features": {"version": "x", "current": "0"}},
    ],
    ids=["meta-a-list", "meta-nested-5000-deep", "ground-truth-a-list", "current-a-string"],
)  # fmt: skip
def test_review2_finding_7_a_foreign_checkpoint_is_moved_aside_and_only_its_model_starts_empty(
    iris: Path, meta: Any
) -> None:
    with_model(iris, target={"name": "species", "task": "classification"})
    content = yaml.safe_load(iris.read_text())
    content["exporter"]["state_dir"] = str(iris.parent / "state")
    iris.write_text(yaml.safe_dump(content))
    checkpoints = Checkpoints(str(iris.parent / "state"))
    target = checkpoints.path("default", "sklearn-iris")
    foreign_checkpoint(target, meta)
    for _ in range(2):  # and again: the second start does not meet it
        service = ExporterService(drift.load_config(iris))
        resets = service.instruments.window_resets.labels("sklearn-iris", "default", "unreadable_checkpoint")
        assert resets._value.get() == (1.0 if _ == 0 else 0.0)
        assert not target.exists() and target.with_name(target.name + ".unusable").exists()


def test_review2_finding_7_a_zip_bomb_checkpoint_is_refused_from_its_directory(tmp_path: Path) -> None:
    checkpoints = Checkpoints(str(tmp_path))
    path = checkpoints.path("default", "m")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("meta.npy", b"\0" * (1100 << 20))  # 1.1 GB of zeros deflates to about 1 MB
    with pytest.raises(drift.DriftlineError, match="inflates to"):
        checkpoints.load("default", "m")


# --- 8: one bad profile ---


@pytest.mark.parametrize(
    "profile",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"format": "driftline.profile", "format_version": 2, "rows": ' + b"9" * 5000 + b"}",
        b'{"format": "driftline.profile", "format_version": 2, "rows": Infinity, "model": "m", "namespace": "n"}',
    ],
    ids=["nested-100000-deep", "integer-of-5000-digits", "rows-infinite"],
)  # fmt: skip
def test_review2_finding_8_one_bad_profile_leaves_the_other_models_loaded(iris: Path, profile: bytes) -> None:
    content = yaml.safe_load(iris.read_text())
    other = {**content["models"][0], "name": "other-model", "reference": {"data": "iris.csv", "profile": "bad.json"}}
    content["models"].append(other)
    iris.write_text(yaml.safe_dump(content))
    (iris.parent / "bad.json").write_bytes(profile)
    service = service_of(iris)
    ready, detail = service.ready()
    assert not ready and list(detail["waiting_for"]) == ["default/other-model"]
    why = detail["waiting_for"]["default/other-model"]
    assert "profile" in why and len(why) < 400
    loaded = service.models[("sklearn-iris", "default")].reference
    assert loaded is not None and loaded.profile is not None


# --- 10: a smaller window.size across a restart ---


def test_review2_finding_10_a_window_restored_into_a_smaller_layout_starts_empty_never_wrapped(iris: Path) -> None:
    content = yaml.safe_load(iris.read_text())
    content["exporter"].update(state_dir=str(iris.parent / "state"))
    content["models"][0]["window"] = {"size": 10_000_000, "max_age": "1h"}
    iris.write_text(yaml.safe_dump(content))
    service = service_of(iris)
    rows = np.random.default_rng(0).normal(5, 1, size=(70_000, 4)).round(3).tolist()
    for start in range(0, 70_000, 10_000):
        body = json.dumps({"instances": rows[start : start + 10_000]}).encode()
        service.ingest({k.lower(): v for k, v in IRIS_REQUEST.items()}, body)
    service.checkpoint()
    content["models"][0]["window"] = {"size": 5000, "max_age": "1h"}
    iris.write_text(yaml.safe_dump(content))
    restarted = service_of(iris)
    monitor = only_stream(restarted)
    assert monitor.features.rows(time.time()) == 0, "the 70,000 rows do not fit 5,000: the window starts empty"
    counted = restarted.instruments.window_resets.labels("sklearn-iris", "default", "layout_changed")
    assert counted._value.get() == 1.0
    content["models"][0]["window"] = {"size": 10_000_000, "max_age": "1h"}  # the same layout restores as before
    iris.write_text(yaml.safe_dump(content))
    assert only_stream(service_of(iris)).features.rows(time.time()) == 70_000


# --- 13: a legal 10 MB body ---


def test_review2_finding_13_a_10_mb_body_is_handled_off_the_event_loop(iris: Path) -> None:
    """A 10 MB body of v1 object rows held the loop ~0.5 s; now a large body is handled in a thread, so /healthz
    (sent after it) answers before it does."""
    client = client_of(service_of(iris))
    row = {name: 5.0 for name in IRIS}
    body = json.dumps({"instances": [row] * 120_000})
    assert 9.5 * (1 << 20) < len(body) <= 10 << 20  # exporter.max_body_bytes
    (order_big, big), (order_health, health) = client.concurrently(
        ("POST", "/", body, IRIS_REQUEST), ("GET", "/healthz", b"", {})
    )
    assert big.json() == {"status": "accepted"} and health.status == 200
    assert order_health < order_big


# --- the KServe boundary ---


def test_review2_kserve_transformer_and_explainer_events_are_counted_not_windowed(iris: Path) -> None:
    service = service_of(iris)
    client = client_of(service)
    for component, n in (("predictor", 30), ("transformer", 4), ("explainer", 2), ("custom", 1)):
        for _ in range(n):
            headers = {**IRIS_REQUEST, "Ce-Component": component}
            answer = client.post("/", {"instances": [[5.0, 3.0, 4.0, 1.0]]}, headers)
            assert answer.status == 202
    service.evaluate_all()
    metrics = client.metrics()
    assert metrics["driftline_window_samples"][labels(**IRIS_MODEL)] == 30
    other = {dict(k)["component"]: v for k, v in metrics["driftline_other_component_events_total"].items()}
    assert other == {"predictor": 0.0, "transformer": 4.0, "explainer": 2.0, "other": 1.0}


def test_review2_kserve_batch_mode_cloudevents_are_accepted_with_the_same_bounds(iris: Path) -> None:
    service = service_of(iris)
    client = client_of(service)

    def event(i: int, data: Any) -> dict[str, Any]:
        kind = "org.kubeflow.serving.inference.request"
        return {"specversion": "1.0", "type": kind, "id": f"b-{i}", "source": "replay",
                "inferenceservicename": "sklearn-iris", "namespace": "default", "data": data}  # fmt: skip

    batch = [event(i, {"instances": [[5.0, 3.0, 4.0, 1.0]]}) for i in range(5)] + [event(9, {"instances": "x"})]
    answer = client.post("/", json.dumps(batch), {"content-type": "application/cloudevents-batch+json"})
    assert answer.status == 202
    assert answer.json() == {"status": "accepted", "events": 6, "accepted": 5, "rejected": {"shape_mismatch": 1}}
    nested: Any = 1.0
    for _ in range(70):
        nested = [nested]
    answer = client.post("/", json.dumps([event(0, {"instances": nested}), batch[0]]), {})
    assert answer.status == 400 and answer.json()["reason"] == "over_limit"
    answer = client.post("/", json.dumps([event(0, {"instances": "x"})]), {})
    assert answer.status == 400 and "none of the batch's 1 events" in answer.json()["error"]
    service.evaluate_all()
    assert client.metrics()["driftline_window_samples"][labels(**IRIS_MODEL)] == 5


def test_review2_kserve_ids_of_a_feedback_join_only_what_the_client_named(iris: Path) -> None:
    """docs/exporter.md says who must set Ce-Id: labels join by the id the client sent with its request (KServe
    makes one up when it is absent and never returns it)."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "exporter.md").read_text()
    assert "Ce-Id" in text and "the model's client must set" in " ".join(text.split())


def test_an_event_with_the_fixtures_component_header_is_accepted(iris: Path) -> None:
    headers = logger_headers("sklearn-iris", "request", "x", **{"Ce-Component": "predictor"})
    answer = client_of(service_of(iris)).post("/", {"instances": [[5.0, 3.0, 4.0, 1.0]]}, headers)
    assert answer.json() == {"status": "accepted"}


def test_limits_of_the_exporter_are_its_configured_body_size(iris: Path) -> None:
    from drift.boundary import Limits

    service = service_of(iris)
    assert service.intake.limits == Limits(drift.load_config(iris).exporter.max_body_bytes)
    assert isinstance(parse_request({"instances": [[1, 2, 3, 4]]}, FEATURES), Rows)
