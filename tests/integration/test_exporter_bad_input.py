"""Bad input never hurts a running exporter: 1,000 generated deliveries over real HTTP, every one answered below 500 and
counted (each kind of bad input, answered with its reason, is tested in process in tests/unit/test_exporter_app.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import IRIS, IRIS_MODEL, IRIS_REQUEST, ExporterProcess, iris_config, labels, scrape, wait_for

REQUEST = IRIS_REQUEST


# --- fuzzing: 1,000 malformed (and some valid) deliveries against one live exporter ---

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=20,
)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**30), 10**30), st.text(max_size=3), st.none()
)
v1_bodies = st.builds(
    lambda rows: {"instances": rows},
    st.lists(
        st.one_of(
            st.lists(numbers, min_size=4, max_size=4),
            st.lists(numbers, min_size=3, max_size=5),
            st.dictionaries(st.sampled_from(IRIS), numbers),
        ),
        max_size=6,
    ),
)
v2_bodies = st.builds(
    lambda n, width, data, name: {"inputs": [{"name": name, "shape": [n, width], "datatype": "FP32", "data": data}]},
    st.integers(0, 4),
    st.integers(1, 5),
    st.lists(numbers, max_size=20),
    st.sampled_from(["input-0", *IRIS]),
)
bodies = st.one_of(
    st.binary(max_size=64),
    json_values.map(lambda v: json.dumps(v).encode()),
    v1_bodies.map(lambda v: json.dumps(v).encode()),
    v2_bodies.map(lambda v: json.dumps(v).encode()),
    st.builds(lambda v: json.dumps({"specversion": "1.0", "type": "org.kubeflow.serving.inference.request",
                                    "inferenceservicename": "sklearn-iris", "data": v}).encode(), json_values),
    st.integers(5000, 6000).map(lambda n: b"[" * n),
)  # fmt: skip
random_headers = st.fixed_dictionaries(
    {},
    optional={
        "Ce-Type": st.sampled_from(
            ["org.kubeflow.serving.inference.request", "org.kubeflow.serving.inference.response", "x", ""]
        ),
        "Ce-Inferenceservicename": st.sampled_from(["sklearn-iris", "other", ""]),
        "Ce-Namespace": st.sampled_from(["default", "prod"]),
        "Ce-Specversion": st.just("1.0"),
        "Content-Type": st.sampled_from(["application/json", "application/cloudevents+json", "text/plain"]),
    },
)
header_sets = st.one_of(
    st.just(REQUEST), st.just({**REQUEST, "Ce-Type": "org.kubeflow.serving.inference.response"}), random_headers
)


def accepted_rows(body: bytes) -> int:
    """Rows of a body the exporter accepted, counted without its parser."""
    document = json.loads(body)
    document = document.get("data", document) if "specversion" in document else document
    if "instances" in document:
        return len(document["instances"])
    if "inputs" in document:
        return int(document["inputs"][0]["shape"][0])
    if "predictions" in document:
        return len(document["predictions"])
    return int(document["outputs"][0]["shape"][0])


def test_fuzzed_deliveries_never_break_the_exporter(tmp_path: Path) -> None:
    sent: dict[str, Any] = {"total": 0, "accepted": {"request": 0, "response": 0}, "rows": 0, "rejected": 0}
    session = requests.Session()
    with ExporterProcess(iris_config(tmp_path, max_body_bytes=4096), tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/readyz")

        @settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(headers=header_sets, body=bodies)
        def deliver(headers: dict[str, str], body: bytes) -> None:
            response = session.post(exporter.url, data=body, headers=headers, timeout=10)
            sent["total"] += 1
            assert response.status_code < 500, (headers, body, response.text)
            answer = response.json()
            if response.status_code >= 400 or answer.get("reason") == "unknown_model":
                assert answer["reason"]
                sent["rejected"] += 1
            elif answer == {"status": "accepted"}:
                kind = "response" if headers.get("Ce-Type", "").endswith("response") else "request"
                sent["accepted"][kind] += 1
                if kind == "request":
                    sent["rows"] += accepted_rows(body)

        deliver()
        assert exporter.process.poll() is None, "the exporter died"
        assert requests.get(exporter.url + "/healthz", timeout=5).status_code == 200
        expected_window = min(sent["rows"], 1000)
        metrics = wait_for(
            lambda: (
                (m := scrape(exporter.url))["driftline_window_samples"][labels(**IRIS_MODEL)] == expected_window and m
            )
        )
    assert sent["total"] >= 1000
    events = metrics.get("driftline_events_total", {})
    for kind, count in sent["accepted"].items():
        assert events.get(labels(**IRIS_MODEL, type=kind, outcome="accepted"), 0) == count
    assert sum(metrics.get("driftline_events_rejected_total", {}).values()) == sent["rejected"]
    print(f"\nfuzz: {sent}")
