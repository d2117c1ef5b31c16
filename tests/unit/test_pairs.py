"""A regression's requests joined to their responses by CloudEvent id: either order, row counts that disagree,
a duplicate half, the bounds on what waits, the ring of the newest joined rows and its age limit."""

from __future__ import annotations

import numpy as np

from drift.config import CATEGORICAL, NUMERIC, ColumnConfig
from exporters.pairs import MAX_WAITING, PairedRows
from exporters.payloads import Rows

FEATURES = (ColumnConfig("x", NUMERIC), ColumnConfig("region", CATEGORICAL))
OUTPUTS = (ColumnConfig("label", CATEGORICAL), ColumnConfig("y_pred", NUMERIC))


def request(xs: list[float], regions: list[str]) -> Rows:
    return Rows(np.array(xs)[:, None], np.array(regions, dtype=object)[:, None], len(xs))


def response(predictions: list[float]) -> Rows:
    n = len(predictions)
    return Rows(np.array(predictions)[:, None], np.full((n, 1), "a", dtype=object), n)


def test_either_half_may_come_first_and_rows_pair_in_order() -> None:
    pairs = PairedRows(FEATURES, OUTPUTS, "y_pred", capacity=10, max_age=60.0)
    pairs.request("a", request([1.0, 2.0], ["n", "s"]), now=0.0)
    pairs.response("a", response([10.0, 20.0]), now=0.0)
    pairs.response("b", response([30.0]), now=1.0)
    pairs.request("b", request([3.0], ["n"]), now=1.0)
    columns, rows = pairs.sample(now=1.0)
    assert rows == 3
    assert columns["x"].tolist() == [1.0, 2.0, 3.0] and columns["y_pred"].tolist() == [10.0, 20.0, 30.0]
    assert columns["region"].tolist() == ["n", "s", "n"]


def test_halves_that_disagree_on_rows_or_repeat_are_not_joined() -> None:
    pairs = PairedRows(FEATURES, OUTPUTS, "y_pred", capacity=10, max_age=60.0)
    pairs.request("a", request([1.0, 2.0], ["n", "s"]), now=0.0)
    pairs.response("a", response([10.0]), now=0.0)  # one prediction for two rows: dropped, not guessed
    pairs.request("b", request([1.0], ["n"]), now=0.0)
    pairs.request("b", request([2.0], ["s"]), now=0.0)  # the same half again: the newer waits
    pairs.response("b", response([5.0]), now=0.0)
    columns, rows = pairs.sample(now=0.0)
    assert rows == 1 and columns["x"].tolist() == [2.0] and columns["y_pred"].tolist() == [5.0]


def test_the_ring_keeps_the_newest_rows_younger_than_max_age() -> None:
    pairs = PairedRows(FEATURES, OUTPUTS, "y_pred", capacity=4, max_age=10.0)
    for i in range(6):
        pairs.request(str(i), request([float(i)], ["n"]), now=float(i))
        pairs.response(str(i), response([float(i)]), now=float(i))
    columns, rows = pairs.sample(now=5.0)
    assert rows == 4 and sorted(columns["x"].tolist()) == [2.0, 3.0, 4.0, 5.0]
    _, rows = pairs.sample(now=13.5)  # only the rows joined at 4 and 5 are younger than 10 s
    assert rows == 2


def test_what_waits_is_bounded_in_events_and_rows() -> None:
    pairs = PairedRows(FEATURES, OUTPUTS, "y_pred", capacity=2, max_age=60.0)
    for i in range(MAX_WAITING + 10):
        pairs.response(str(i), response([1.0]), now=0.0)
    assert len(pairs._waiting) <= 4 * 2 and pairs._waiting_rows <= 4 * 2
    pairs.request("too-big", request([1.0] * 9, ["n"] * 9), now=0.0)  # above 4 × capacity rows: never waits
    assert "too-big" not in pairs._waiting
    pairs.request(str(MAX_WAITING + 9), request([7.0], ["s"]), now=0.0)  # the newest response still waits
    columns, rows = pairs.sample(now=0.0)
    assert rows == 1 and columns["x"].tolist() == [7.0]
