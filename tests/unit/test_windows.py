"""CountWindow: the counts of exactly the rows the documented bucket rule keeps, aging by time, a bounded sample,
and a state that round-trips and never mixes two profiles' bins."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import drift
from drift.config import ColumnConfig
from drift.layout import layouts
from exporters.windows import BUCKETS, STAGING_ROWS, CountWindow
from tests.support import model_config

COLUMNS = (ColumnConfig("x", "numeric"), ColumnConfig("c", "categorical"))


@pytest.fixture(scope="module")
def profile() -> drift.ReferenceProfile:
    rng = np.random.default_rng(0)
    model = replace(model_config(), features=COLUMNS, outputs=())
    frame = pd.DataFrame({"x": rng.normal(0, 100, 5000), "c": rng.choice(["a", "b", "c"], 5000)})
    return drift.build_profile(frame, model)


def rows_of(start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    values = np.arange(start, start + n, dtype=float)
    return values.reshape(-1, 1), np.array([[("a", "b", "z")[int(v) % 3]] for v in values], dtype=object).reshape(-1, 1)


def held_rows(total: int, size: int) -> int:
    """The bucket rule with the clock standing still: a ring of K slots whose capacities add up to ``size``, filled
    in turn; a full slot makes the next one (emptied) current."""
    buckets = min(BUCKETS, size)
    caps = [size // buckets + (1 if b < size % buckets else 0) for b in range(buckets)]
    held, current, remaining = [0] * buckets, -1, total
    while remaining:
        if current < 0 or held[current] >= caps[current]:
            current = (current + 1) % buckets
            held[current] = 0
        take = min(remaining, caps[current] - held[current])
        held[current] += take
        remaining -= take
    return sum(held)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 400), st.lists(st.integers(0, 300), max_size=25))
def test_the_window_counts_exactly_the_newest_rows_the_bucket_rule_keeps(
    profile: drift.ReferenceProfile, size: int, batches: list[int]
) -> None:
    layout = layouts(profile)[0]
    window = CountWindow(COLUMNS, size=size, max_age=3600)
    window.set_layout(layout, "v1")
    total = 0
    for n in batches:
        numeric, categorical = rows_of(total, n)
        window.append_block(numeric, categorical, n, timestamp=1000.0)
        total += n
    got = window.totals(now=1000.0)
    held = held_rows(total, size)
    assert got.rows == held <= size
    numeric, categorical = rows_of(total - held, held)
    assert got.counts.tolist() == layout.count({"x": numeric[:, 0], "c": categorical[:, 0]}).tolist()


def test_rows_leave_in_steps_of_a_bucket_span(profile: drift.ReferenceProfile) -> None:
    window = CountWindow(COLUMNS, size=10_000, max_age=600)  # buckets of 10 s
    window.set_layout(layouts(profile)[0], profile.version)
    for second in range(0, 600, 5):
        window.append_block(*rows_of(second, 2), 2, timestamp=1000.0 + second)
    assert window.totals(now=1599.0).rows == 240
    # 30 s later the buckets whose newest row is older than 600 s have left: 3 buckets of 10 s, 4 rows each
    assert window.totals(now=1629.0).rows == 240 - 12
    assert window.totals(now=1000.0 + 595 + 601).rows == 0


def test_rows_before_the_profile_wait_and_are_counted_when_it_loads(profile: drift.ReferenceProfile) -> None:
    window = CountWindow(COLUMNS, size=100_000, max_age=3600)
    window.append_block(*rows_of(0, 100), 100, timestamp=1.0)
    assert window.totals(now=1.0).rows == 0 and window.rows(now=1.0) == 100
    assert window.set_layout(layouts(profile)[0], profile.version) == "empty"
    assert window.totals(now=1.0).rows == 100
    # more than the staging block before a profile: the newest rows wait
    late = CountWindow(COLUMNS, size=100_000, max_age=3600)
    late.append_block(*rows_of(0, 3 * STAGING_ROWS), 3 * STAGING_ROWS, timestamp=1.0)
    late.set_layout(layouts(profile)[0], profile.version)
    assert STAGING_ROWS // 2 <= late.totals(now=1.0).rows <= STAGING_ROWS


def test_state_round_trips_and_another_profile_starts_empty(profile: drift.ReferenceProfile) -> None:
    layout = layouts(profile)[0]
    window = CountWindow(COLUMNS, size=5000, max_age=3600)
    window.set_layout(layout, profile.version)
    window.append_block(*rows_of(0, 3000), 3000, timestamp=50.0)
    state = window.state()
    assert state is not None
    again = CountWindow(COLUMNS, size=5000, max_age=3600)
    assert again.set_layout(layout, profile.version, restored=state) == "restored"
    assert again.totals(now=60.0).counts.tolist() == window.totals(now=60.0).counts.tolist()
    other = CountWindow(COLUMNS, size=5000, max_age=3600)
    assert other.set_layout(layout, "another-version", restored=state) == "reset"
    assert other.totals(now=60.0).rows == 0
    assert window.set_layout(layout, "another-version") == "reset" and window.totals(now=60.0).rows == 0


def test_the_sample_is_bounded_and_drawn_from_the_window(profile: drift.ReferenceProfile) -> None:
    window = CountWindow(COLUMNS, size=6000, max_age=3600, sample_rows=600)
    window.set_layout(layouts(profile)[0], profile.version)
    window.append_block(*rows_of(0, 20_000), 20_000, timestamp=5.0)
    sample = window.sample(now=5.0, rows=600)
    assert 0 < sample.rows <= 600
    held = window.totals(now=5.0).rows
    assert np.all(sample.columns["x"] >= 20_000 - held)  # only rows still in the window
    assert set(sample.columns["c"]) <= {"a", "b", "z"}
    assert len(np.unique(sample.columns["x"])) == sample.rows


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200), st.floats(0, 50), st.floats(0, 120)), max_size=30))
def test_the_running_total_is_the_sum_of_the_live_buckets(
    profile: drift.ReferenceProfile, steps: list[tuple[int, float, float]]
) -> None:
    window = CountWindow(COLUMNS, size=600, max_age=60)
    window.set_layout(layouts(profile)[0], profile.version)
    clock, total, now = 0.0, 0, 0.0
    for rows, advance, look_ahead in steps:
        clock = max(clock + advance, now)  # rows arrive at the current time, reads happen later
        window.append_block(*rows_of(total, rows), rows, timestamp=clock)
        total += rows
        now = clock + look_ahead
        got = window.totals(now)
        state = window.state()
        assert state is not None
        live = (state.rows > 0) & (state.last >= now - 60)
        assert got.counts.tolist() == state.counts[live].sum(axis=0, dtype=np.int64).tolist()
        assert got.rows == int(state.rows[live].sum())


def test_float_rows_kept_as_lists_count_like_arrays_and_huge_integers_never_reach_the_window(
    profile: drift.ReferenceProfile,
) -> None:
    from exporters.payloads import Columns, parse_request

    numeric_only = replace(model_config(), features=(ColumnConfig("x", "numeric"),), outputs=())
    layout = layouts(drift.build_profile(pd.DataFrame({"x": np.arange(100.0)}), numeric_only))[0]
    columns = Columns(numeric_only.features)
    window = CountWindow(numeric_only.features, size=1000, max_age=3600)
    window.set_layout(layout, "v")
    parsed = [
        parse_request({"instances": [[1.5], [2.5]]}, columns),  # floats: kept as the parser's lists
        parse_request({"instances": [[3]]}, columns),  # an int: converted at once
        parse_request({"instances": [[10**400]]}, columns),  # beyond float range: missing, never an error later
    ]
    assert isinstance(parsed[0].numeric, list) and isinstance(parsed[1].numeric, np.ndarray)
    for rows in parsed:
        window.append_block(rows.numeric, rows.categorical, rows.count, 1.0)
    expected = layout.count({"x": np.array([1.5, 2.5, 3.0, np.nan])})
    assert window.totals(now=1.0).counts.tolist() == expected.tolist()
