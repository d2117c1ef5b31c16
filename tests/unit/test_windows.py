"""SlidingWindow: keeps the last `size` rows in order, drops old rows, never grows."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from drift.config import ColumnConfig
from exporters.windows import SlidingWindow

COLUMNS = (ColumnConfig("x", "numeric"), ColumnConfig("c", "categorical"))


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 50), st.lists(st.integers(0, 80), max_size=30))
def test_window_holds_the_last_rows_in_order(size: int, batches: list[int]) -> None:
    window = SlidingWindow(COLUMNS, size=size, max_age=3600)
    everything: list[float] = []
    for i, n in enumerate(batches):
        values = np.arange(len(everything), len(everything) + n, dtype=float)
        window.append({"x": values, "c": [f"v{int(v)}" for v in values]}, n, timestamp=float(i))
        everything.extend(values.tolist())
    snap = window.snapshot(now=float(len(batches)))
    expected = everything[-size:] if everything else []
    assert snap.columns["x"].tolist() == expected
    assert snap.columns["c"].tolist() == [f"v{int(v)}" for v in expected]
    assert snap.rows == len(expected) == len(window)


def test_rows_older_than_max_age_leave_the_window() -> None:
    window = SlidingWindow(COLUMNS, size=10, max_age=60)
    window.append({"x": [1.0, 2.0], "c": ["a", "b"]}, 2, timestamp=1000.0)
    window.append({"x": [3.0], "c": [None]}, 1, timestamp=1050.0)
    assert window.snapshot(now=1059.0).columns["x"].tolist() == [1.0, 2.0, 3.0]
    late = window.snapshot(now=1100.0)
    assert late.columns["x"].tolist() == [3.0] and late.columns["c"].tolist() == [None] and late.rows == 1
    assert window.snapshot(now=2000.0).rows == 0


def test_snapshots_are_copies() -> None:
    window = SlidingWindow(COLUMNS, size=3, max_age=60)
    window.append({"x": [1.0], "c": ["a"]}, 1, timestamp=0.0)
    snap = window.snapshot(now=0.0)
    window.append({"x": [2.0, 3.0, 4.0], "c": ["b", "c", "d"]}, 3, timestamp=0.0)
    assert snap.columns["x"].tolist() == [1.0]
