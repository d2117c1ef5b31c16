"""KServe payload shapes → the window's blocks (exporters.payloads), including the careful path for odd values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from drift.boundary import Limits
from drift.config import ColumnConfig
from exporters.events import InferenceEvent, RejectedEventError, decode_body
from exporters.payloads import Columns, PayloadError, parse_request, parse_response

MIXED = Columns(
    (ColumnConfig("tenure", "numeric"), ColumnConfig("contract", "categorical"), ColumnConfig("x", "numeric"))
)
NUMERIC = Columns((ColumnConfig("a", "numeric"), ColumnConfig("b", "numeric")))


def columns(rows: object, cols: Columns) -> dict[str, list[object]]:
    parsed = rows.columns(cols)  # type: ignore[attr-defined]
    return {
        k: [None if isinstance(v, float) and math.isnan(v) else v for v in np.asarray(a).tolist()]
        for k, a in parsed.items()
    }


@pytest.mark.parametrize(
    "payload",
    [
        {"instances": [[12, "one-year", 1.5], [3, "monthly", None]]},
        {"instances": [{"tenure": 12, "contract": "one-year", "x": 1.5}, {"tenure": 3, "contract": "monthly"}]},
        {"inputs": [{"name": "tenure", "shape": [2], "datatype": "INT64", "data": [12, 3]},
                    {"name": "contract", "shape": [2, 1], "datatype": "BYTES", "data": [["one-year"], ["monthly"]]},
                    {"name": "x", "shape": [2], "datatype": "FP32", "data": [1.5, None]}]},
        {"inputs": [{"name": "input-0", "shape": [2, 3], "datatype": "BYTES",
                     "data": [[12, "one-year", 1.5], [3, "monthly", None]]}]},
        {"inputs": [{"name": "input-0", "shape": [2, 3], "datatype": "BYTES",
                     "data": [12, "one-year", 1.5, 3, "monthly", None]}]},
    ],
)  # fmt: skip
def test_every_request_shape_gives_the_same_rows(payload: dict[str, object]) -> None:
    rows = parse_request(payload, MIXED)
    assert rows.count == 2
    assert columns(rows, MIXED) == {"tenure": [12.0, 3.0], "contract": ["one-year", "monthly"], "x": [1.5, None]}


def test_fast_and_careful_paths_agree_on_odd_values() -> None:
    odd = parse_request({"instances": [[True, "2.5"], [10**400, "abc"], [1, 2.0]]}, NUMERIC)
    assert columns(odd, NUMERIC) == {"a": [None, None, 1.0], "b": [2.5, None, 2.0]}
    fast = parse_request({"instances": [[1, 2.0], [3.5, -1]]}, NUMERIC)
    assert fast.numeric_array.tolist() == [[1.0, 2.0], [3.5, -1.0]]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"predictions": [0.2, 0.9]}, [0.2, 0.9]),
        ({"predictions": [{"p": 0.2}, {"p": 0.9}]}, [0.2, 0.9]),
        ({"predictions": [[0.2], [0.9]]}, [0.2, 0.9]),
        ({"outputs": [{"name": "output-0", "shape": [2], "datatype": "FP32", "data": [0.2, 0.9]}]}, [0.2, 0.9]),
        ({"outputs": [{"name": "p", "shape": [2, 1], "datatype": "FP32", "data": [[0.2], [0.9]]}]}, [0.2, 0.9]),
    ],
)
def test_response_shapes(payload: dict[str, object], expected: list[float]) -> None:
    outputs = Columns((ColumnConfig("p", "numeric"),))
    assert parse_response(payload, outputs).numeric_array[:, 0].tolist() == expected


@pytest.mark.parametrize(
    "payload",
    [
        {"instances": [[1, 2, 3]]},
        {"instances": [{"zzz": 1}]},
        {"instances": [1, 2]},
        {"instances": [[1, 2], {"a": 1}]},
        {"inputs": [{"name": "input-0", "shape": [2, 2], "data": [1, 2, 3]}]},
        {"inputs": [{"name": "input-0", "shape": "2x2", "data": [1, 2, 3, 4]}]},
        {"inputs": [{"name": "a", "shape": [2], "data": [1, 2]}, {"name": "b", "shape": [3], "data": [1, 2, 3]}]},
        {"inputs": [{"name": "i", "shape": [1, 2], "data": [1, 2]}, {"name": "j", "shape": [1, 2], "data": [1, 2]}]},
    ],
)
def test_wrong_shapes_are_rejected(payload: dict[str, object]) -> None:
    with pytest.raises(PayloadError) as info:
        parse_request(payload, NUMERIC)
    assert info.value.reason == "shape_mismatch"


def decode_event(headers: dict[str, str], body: bytes) -> InferenceEvent:
    event = decode_body(headers, body, Limits(1 << 20))
    assert isinstance(event, InferenceEvent)
    return event


def test_cloudevent_modes() -> None:
    body = b'{"instances": [[1, 2]]}'
    binary = decode_event({"ce-type": "org.kubeflow.serving.inference.request", "ce-inferenceservicename": "m"}, body)
    assert (binary.kind, binary.model, binary.namespace) == ("request", "m", "default")
    structured = decode_event(
        {"content-type": "application/cloudevents+json"},
        b'{"specversion": "1.0", "type": "org.kubeflow.serving.inference.response", "inferenceservicename": "m",'
        b' "namespace": "prod", "id": "1", "data_base64": "eyJwcmVkaWN0aW9ucyI6IFsxXX0="}',
    )
    assert (structured.kind, structured.namespace, structured.payload) == ("response", "prod", {"predictions": [1]})
    nan = decode_event({"ce-type": "x.request", "ce-inferenceservicename": "m"}, b'{"instances": [[NaN, 1]]}')
    assert math.isnan(nan.payload["instances"][0][0])
    with pytest.raises(RejectedEventError):
        decode_event({"ce-type": "x.request", "ce-inferenceservicename": "m"}, b'{"instances": ')
