"""Windows as bin counts: counting against its definition, the binned KS against the exact one and its p-value
against kstwo."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from drift import stats
from drift.layout import Layout
from drift.reference.columns import NumericProfile
from drift.statistics import column_statistics
from tests.support.layouts import numeric_column, random_layout, window_of

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
with_gaps = st.one_of(finite, st.sampled_from([np.nan, np.inf, -np.inf]))


@settings(max_examples=200, deadline=None)
@given(
    arrays(np.float64, st.integers(0, 300), elements=with_gaps), arrays(np.float64, st.integers(1, 20), elements=finite)
)
def test_finite_bin_counts_equal_binning_the_finite_values(values: np.ndarray, raw_edges: np.ndarray) -> None:
    edges = np.unique(raw_edges)
    counts, missing = stats.counts_at_cuts(np.sort(values), stats.cut_points(edges))
    kept = values[np.isfinite(values)]
    assert counts.tolist() == np.bincount(np.digitize(kept, edges), minlength=edges.size + 1).tolist()
    assert missing == values.size - kept.size


@pytest.mark.parametrize(("n", "m"), [(100_000, 100), (20_000, 1_000), (100_000, 10_000), (1_000_000, 100_000)])
def test_ks_pvalue_is_within_the_documented_error_of_kstwo(n: int, m: int) -> None:
    ne = n * m / (n + m)
    d = np.linspace(0.2, 6.0, 40) / np.sqrt(ne)
    exactish = np.array([scipy.stats.kstwo.sf(x, round(ne)) for x in d])
    tolerance = 0.015 if m < 1000 else 0.005 if m < 10_000 else 0.002
    assert np.max(np.abs(stats.ks_pvalue(d, n, m) - exactish)) < tolerance


def test_binned_d_is_bounded_by_the_exact_d_and_the_largest_bin_share() -> None:
    rng = np.random.default_rng(7)
    ref, cur = rng.normal(0, 1, 50_000), rng.normal(0.05, 1.1, 3_000)
    layout = Layout((numeric_column("x", ref),))
    column = layout.columns[0]
    assert isinstance(column, NumericProfile)
    r, c = column.fine_counts, stats.bin_counts(cur, column.fine_edges)
    binned = column_statistics(layout, window_of(layout, 0, c)).values["ks_statistic"][0]
    exact = scipy.stats.ks_2samp(ref, cur).statistic
    assert binned <= exact <= binned + max(np.max(r / r.sum()), np.max(c / c.sum()))


def test_cell_codes_count_like_the_columns_for_any_run_of_rows() -> None:
    rng = np.random.default_rng(3)
    layout = random_layout(rng, [True, False, True, False])
    rows = 500
    numeric = rng.normal(0, 1, (rows, 2))
    numeric[::7, 0] = np.nan
    numeric[::11, 1] = -np.inf
    numeric[3, 0] = np.inf
    categorical = rng.choice(np.array(["v0", "v1", "v2", "other", None], dtype=object), (rows, 2))
    codes = layout.codes(numeric, categorical)  # what a window counts runs of rows with
    for run in (slice(0, rows), slice(100, 250)):
        by_column = layout.count(
            {"n0": numeric[run, 0], "c1": categorical[run, 0], "n2": numeric[run, 1], "c3": categorical[run, 1]}
        )
        assert np.bincount(codes[run].ravel(), minlength=layout.size).tolist() == by_column.tolist()
        assert by_column.sum() == (run.stop - run.start) * 4
