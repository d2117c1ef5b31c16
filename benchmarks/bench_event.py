"""The exporter's cost per event in process, from the headers and body the HTTP layer hands over to the answer
(``ExporterService.ingest``: decoding the CloudEvent through the boundary, routing, parsing, staging the rows), for
the shapes KServe's logger sends. With ``--against DIR`` the same timings are taken for the checkout in DIR (e.g. a
``git worktree`` of an older commit) in the same run, interleaved, and their ratio printed.

    python benchmarks/bench_event.py [--against DIR] [--rounds 3]
"""

from __future__ import annotations

import json
import tempfile
import timeit
from pathlib import Path

import checkouts

ROW = [5.1, 3.5, 1.4, 0.2]
HEADERS = {
    "ce-specversion": "1.0",
    "ce-type": "org.kubeflow.serving.inference.request",
    "ce-id": "0009174a-24a8",
    "ce-inferenceservicename": "sklearn-iris",
    "ce-namespace": "default",
    "ce-component": "predictor",
}
SHAPES = {
    "v1, 1 row": (HEADERS, {"instances": [ROW]}, 20_000),
    "v1, 1 object row": (
        HEADERS,
        {"instances": [dict(zip(("sepal_length", "sepal_width", "petal_length", "petal_width"), ROW, strict=True))]},
        20_000,
    ),
    "v1, 100 rows": (HEADERS, {"instances": [ROW] * 100}, 2_000),
    "v2, 1 row": (HEADERS, {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": ROW}]}, 20_000),
    "structured, 1 row": (
        {"content-type": "application/cloudevents+json"},
        {
            "specversion": "1.0",
            "type": "org.kubeflow.serving.inference.request",
            "id": "1",
            "inferenceservicename": "sklearn-iris",
            "data": {"instances": [ROW]},
        },
        20_000,
    ),
}


def measure() -> dict[str, float]:
    """Microseconds per event for each shape (the best of 7 repeats), in this interpreter's tree."""
    import drift
    from exporters.service import ExporterService
    from tests.support import iris_config

    path = iris_config(Path(tempfile.mkdtemp()), cli=False)
    service = ExporterService(drift.load_config(path))
    service.refresh_references()
    out = {}
    for name, (headers, body, number) in SHAPES.items():
        data = json.dumps(body).encode()
        assert service.ingest(headers, data)[0] == 202
        best = min(timeit.repeat(lambda h=headers, d=data: service.ingest(h, d), number=number, repeat=7))
        out[name] = best / number * 1e6
    return out


if __name__ == "__main__":
    checkouts.main(__file__, __doc__, measure, "event shape", "µs per event", list(SHAPES))
