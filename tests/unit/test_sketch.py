"""Statistics from bin counts: the binned KS against scipy on quantised data, the vectorised all-columns path
against the per-column formulas, and counting against its definition."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from drift import stats
from drift.reference.columns import CategoricalProfile, NumericProfile
from drift.sketch import Layout, column_statistics

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
with_gaps = st.one_of(finite, st.sampled_from([np.nan, np.inf, -np.inf]))


@settings(max_examples=200, deadline=None)
@given(
    arrays(np.float64, st.integers(0, 300), elements=with_gaps), arrays(np.float64, st.integers(1, 20), elements=finite)
)
def test_finite_bin_counts_equal_binning_the_finite_values(values: np.ndarray, raw_edges: np.ndarray) -> None:
    edges = np.unique(raw_edges)
    counts, missing = stats.finite_bin_counts(values, edges)
    kept = values[np.isfinite(values)]
    assert counts.tolist() == np.bincount(np.digitize(kept, edges), minlength=edges.size + 1).tolist()
    assert missing == values.size - kept.size


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 40), min_size=2, max_size=30),
    st.lists(st.integers(0, 40), min_size=2, max_size=30),
)
def test_binned_ks_is_scipys_ks_of_the_quantised_data(ref: list[int], cur: list[int]) -> None:
    k = min(len(ref), len(cur))
    r, c = np.array(ref[:k]), np.array(cur[:k])
    if r.sum() == 0 or c.sum() == 0:
        return
    d, p = stats.binned_ks(r, c)
    bins = np.arange(k)
    expected = scipy.stats.ks_2samp(np.repeat(bins, r), np.repeat(bins, c), method="asymp")
    assert d == pytest.approx(expected.statistic, abs=1e-12)
    n, m = r.sum(), c.sum()
    ne = n * m / (n + m)
    assert p == pytest.approx(scipy.special.kolmogorov((np.sqrt(ne) + 0.12 + 0.11 / np.sqrt(ne)) * d), abs=1e-15)


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
    _, fine = stats.nested_quantile_edges(ref, 10, 100)
    r, c = stats.bin_counts(ref, fine), stats.bin_counts(cur, fine)
    binned, _ = stats.binned_ks(r, c)
    exact = scipy.stats.ks_2samp(ref, cur).statistic
    assert binned <= exact <= binned + max(np.max(r / r.sum()), np.max(c / c.sum()))


def _layout(rng: np.random.Generator, kinds: list[bool]) -> Layout:
    columns: list[NumericProfile | CategoricalProfile] = []
    for i, numeric in enumerate(kinds):
        if numeric:
            ref = np.round(rng.normal(0, 1, int(rng.integers(50, 3000))), int(rng.integers(0, 3)))
            edges, fine = stats.nested_quantile_edges(ref, 10, 100)
            columns.append(
                NumericProfile(
                    f"n{i}",
                    ref.size,
                    0,
                    edges,
                    stats.bin_counts(ref, edges),
                    fine,
                    stats.bin_counts(ref, fine),
                    0.0,
                    1.0,
                    float(ref.min()),
                    float(ref.max()),
                )
            )
        else:
            k = int(rng.integers(1, 8))
            counts = rng.integers(0, 200, k + 1)
            counts[0] += 1
            columns.append(CategoricalProfile(f"c{i}", int(counts.sum()), 0, tuple(f"v{j}" for j in range(k)), counts))
    return Layout(tuple(columns))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=8), st.integers(0, 2**32 - 1))
def test_all_columns_at_once_equal_the_per_column_formulas(kinds: list[bool], seed: int) -> None:
    rng = np.random.default_rng(seed)
    layout = _layout(rng, kinds)
    counts = rng.integers(0, 30, layout.size) * rng.integers(0, 2, layout.size)
    found = column_statistics(layout, counts)
    for i, (profile, offset, fine) in enumerate(zip(layout.columns, layout.offsets, layout.fine, strict=True)):
        window, missing = counts[offset : offset + fine], counts[offset + fine]
        assert found.samples[i] == window.sum() and found.missing[i] == missing
        if window.sum() == 0:
            assert np.isnan(found.psi[i]) and np.isnan(found.ks_pvalue[i]) and np.isnan(found.chi2_pvalue[i])
            continue
        psi_counts = np.add.reduceat(window, profile.psi_starts) if isinstance(profile, NumericProfile) else window
        psi = stats.psi(profile.counts, psi_counts)
        assert found.psi[i] == pytest.approx(psi, rel=1e-9, abs=1e-12)
        expected_p = stats.psi_pvalue(psi, int(profile.counts.sum()), int(window.sum()), profile.nbins)
        assert found.psi_pvalue[i] == pytest.approx(expected_p, rel=1e-6, abs=1e-12)
        assert found.js_distance[i] == pytest.approx(stats.js_distance(profile.counts, psi_counts), rel=1e-9, abs=1e-9)
        if isinstance(profile, NumericProfile):
            d, p = stats.binned_ks(profile.fine_counts, window)
            assert found.ks_statistic[i] == pytest.approx(d, abs=1e-12)
            assert found.ks_pvalue[i] == pytest.approx(p, rel=1e-9, abs=1e-12)
            assert np.isnan(found.chi2_pvalue[i])
        else:
            chi2, p = stats.chi2_test(profile.counts, window)
            assert (found.chi2_statistic[i], found.chi2_pvalue[i]) == pytest.approx((chi2, p))
            assert np.isnan(found.ks_pvalue[i])


def test_cell_codes_count_like_the_columns_for_any_run_of_rows() -> None:
    rng = np.random.default_rng(3)
    layout = _layout(rng, [True, False, True, False])
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
