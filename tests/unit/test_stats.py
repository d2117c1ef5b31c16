"""The statistics against independent oracles (scipy, the formulas of docs/statistics.md) and their properties."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.stats
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from drift import stats


def design_psi(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """docs/statistics.md transcribed: p = (counts + 0.5) / (n + 0.5·nbins); PSI = Σ (p_cur − p_ref) ln(p_cur/p_ref)."""
    k = len(ref_counts)
    p_ref = (ref_counts + 0.5) / (ref_counts.sum() + 0.5 * k)
    p_cur = (cur_counts + 0.5) / (cur_counts.sum() + 0.5 * k)
    return float(np.sum((p_cur - p_ref) * np.log(p_cur / p_ref)))


# --- oracles ---


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "shift"),
    [
        (50, 40, 0.0),  # exact p-value branch
        (800, 3000, 0.3),
        (10_000, 10_000, 0.05),  # the largest exact case
        (20_000, 10_000, 0.0),  # asymptotic branch, computed by driftline itself
        (20_000, 10_000, 0.1),
        (20_000, 25_000, 0.02),
        (10_001, 7, 1.0),
    ],
)
def test_ks_equals_scipy(n_ref: int, n_cur: int, shift: float) -> None:
    rng = np.random.default_rng(n_ref + n_cur)
    ref = np.sort(rng.normal(size=n_ref))
    cur = rng.normal(loc=shift, size=n_cur)
    expected = scipy.stats.ks_2samp(ref, cur)
    statistic, pvalue = stats.ks_2samp(ref, cur)
    assert statistic == pytest.approx(float(expected.statistic), abs=1e-12)
    assert pvalue == pytest.approx(float(expected.pvalue), abs=1e-12)


def test_ks_equals_scipy_with_ties() -> None:
    rng = np.random.default_rng(7)
    ref = np.sort(rng.integers(0, 30, 30_000).astype(float))
    cur = rng.integers(0, 31, 12_000).astype(float)
    expected = scipy.stats.ks_2samp(ref, cur)
    statistic, pvalue = stats.ks_2samp(ref, cur)
    assert statistic == pytest.approx(float(expected.statistic), abs=1e-12)
    assert pvalue == pytest.approx(float(expected.pvalue), abs=1e-12)


@pytest.mark.parametrize("k", [2, 3, 8, 51])
def test_chi2_equals_chi2_contingency(k: int) -> None:
    rng = np.random.default_rng(k)
    ref = rng.integers(0, 500, k)
    cur = rng.integers(0, 80, k)
    ref[0] = cur[0] = 0  # an empty bin in both is left out, as docs/statistics.md says
    keep = (ref + cur) > 0
    expected = scipy.stats.chi2_contingency(np.vstack([ref, cur])[:, keep])
    statistic, pvalue = stats.chi2_test(ref, cur)
    assert statistic == pytest.approx(float(expected.statistic), rel=1e-12)
    assert pvalue == pytest.approx(float(expected.pvalue), rel=1e-12, abs=1e-300)


def test_chi2_single_bin_has_nothing_to_test() -> None:
    assert stats.chi2_test([10, 0, 0], [4, 0, 0]) == (0.0, 1.0)


def test_psi_equals_transcription_of_design() -> None:
    rng = np.random.default_rng(3)
    for k in (2, 5, 10, 51):
        ref = rng.integers(0, 10_000, k)
        cur = rng.integers(0, 300, k)
        assert stats.psi(ref, cur) == pytest.approx(design_psi(ref, cur), rel=1e-12, abs=1e-15)


def test_psi_pvalue_equals_design_formula() -> None:
    psi, n, m, k = 0.0123, 100_000, 500, 10
    expected = scipy.stats.chi2.sf(psi / (1 / n + 1 / m), k - 1)
    assert stats.psi_pvalue(psi, n, m, k) == pytest.approx(expected, rel=1e-14)


def test_js_equals_scipy() -> None:
    rng = np.random.default_rng(4)
    for k in (2, 10, 51):
        ref = rng.integers(0, 1000, k)
        cur = rng.integers(0, 1000, k)
        p_ref = (ref + 0.5) / (ref.sum() + 0.5 * k)
        p_cur = (cur + 0.5) / (cur.sum() + 0.5 * k)
        expected = scipy.spatial.distance.jensenshannon(p_ref, p_cur, base=2)
        assert stats.js_distance(ref, cur) == pytest.approx(float(expected), abs=1e-12)


def test_quantile_edges_and_bins_follow_design() -> None:
    rng = np.random.default_rng(5)
    ref = rng.lognormal(size=5000)
    edges = stats.quantile_edges(ref, 10)
    np.testing.assert_allclose(edges, np.unique(np.quantile(ref, np.linspace(0, 1, 11)[1:-1])), rtol=1e-14, atol=0)
    values = np.array([-1e300, edges[0], edges[0] - 1e-9, 1e300])
    assert stats.bin_index(values, edges).tolist() == [0, 1, 0, len(edges)]
    assert stats.bin_counts(ref, edges).sum() == ref.size


def test_discrete_reference_gets_fewer_bins() -> None:
    ref = np.repeat([1.0, 2.0, 3.0], [501, 300, 200])
    edges = stats.quantile_edges(ref, 10)
    assert edges.tolist() == [1.0, 2.0, 3.0]  # nine quantiles, three distinct values
    assert stats.bin_counts(ref, edges).tolist() == [0, 501, 300, 200]


@pytest.mark.parametrize("method", ["fdr", "bonferroni", "none"])
def test_pvalue_corrections(method: str) -> None:
    rng = np.random.default_rng(6)
    p = np.concatenate([rng.uniform(size=15), [1e-6, 0.001, 0.02, 0.02, 1.0]])
    adjusted = stats.adjust_pvalues(p, method)
    if method == "fdr":
        expected = scipy.stats.false_discovery_control(p, method="bh")
    elif method == "bonferroni":
        expected = np.minimum(p * p.size, 1.0)
    else:
        expected = p
    np.testing.assert_allclose(adjusted, expected, rtol=1e-12, atol=0)


# --- properties ---

counts_pairs = st.integers(2, 60).flatmap(
    lambda k: st.tuples(
        hnp.arrays(np.int64, k, elements=st.integers(0, 10**6)),
        hnp.arrays(np.int64, k, elements=st.integers(0, 10**6)),
    )
)


@given(counts_pairs)
def test_psi_is_never_negative(pair: tuple[np.ndarray, np.ndarray]) -> None:
    assert stats.psi(*pair) >= 0.0


@given(hnp.arrays(np.int64, st.integers(2, 60), elements=st.integers(0, 10**6)))
def test_psi_of_identical_counts_is_zero(counts: np.ndarray) -> None:
    assert stats.psi(counts, counts) == 0.0
    assert stats.js_distance(counts, counts) == 0.0


@given(counts_pairs, st.integers(1, 10**7), st.integers(1, 10**7))
def test_pvalues_lie_in_unit_interval(pair: tuple[np.ndarray, np.ndarray], n: int, m: int) -> None:
    ref, cur = pair
    assert 0.0 <= stats.psi_pvalue(stats.psi(ref, cur), n, m, ref.size) <= 1.0
    assert 0.0 <= stats.js_distance(ref, cur) <= 1.0
    if ref.sum() > 0 and cur.sum() > 0:
        _, p = stats.chi2_test(ref, cur)
        assert 0.0 <= p <= 1.0


grid_values = st.integers(-50_000, 50_000).map(lambda i: i / 1000.0)


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(1, 400), elements=grid_values),
    hnp.arrays(np.float64, st.integers(1, 400), elements=grid_values),
)
def test_ks_is_invariant_under_a_strictly_increasing_transform(ref: np.ndarray, cur: np.ndarray) -> None:
    # exp is strictly increasing, and on a 0.001 grid in [-50, 50] it keeps distinct values distinct.
    before = stats.ks_2samp(np.sort(ref), cur)
    after = stats.ks_2samp(np.sort(np.exp(ref)), np.exp(cur))
    assert after[0] == before[0]
    assert after[1] == pytest.approx(before[1], abs=1e-12)
    assert 0.0 <= before[1] <= 1.0


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(10, 3000),
    st.integers(1, 3000),
    st.floats(-2.0, 2.0),
    st.floats(1e-2, 1e2),
    st.floats(-100.0, 100.0),
    st.integers(2, 20),
)
def test_psi_is_invariant_under_a_positive_affine_transform(
    seed: int, n_ref: int, n_cur: int, shift: float, scale: float, offset: float, bins: int
) -> None:
    # A change of units (scale, offset) moves every quantile edge and every value together.
    rng = np.random.default_rng(seed)
    ref = rng.standard_t(5, n_ref)
    cur = rng.standard_t(5, n_cur) + shift

    def binned_psi(r: np.ndarray, c: np.ndarray) -> float:
        edges = stats.quantile_edges(r, bins)
        return stats.psi(stats.bin_counts(r, edges), stats.bin_counts(c, edges))

    assert binned_psi(scale * ref + offset, scale * cur + offset) == pytest.approx(binned_psi(ref, cur), abs=1e-9)


@given(
    hnp.arrays(np.float64, st.integers(1, 50), elements=st.floats(0, 1)), st.sampled_from(["fdr", "bonferroni", "none"])
)
def test_adjusted_pvalues_are_valid_and_never_smaller(p: np.ndarray, method: str) -> None:
    adjusted = stats.adjust_pvalues(p, method)
    assert np.all((adjusted >= 0) & (adjusted <= 1))
    assert np.all(adjusted >= p - 1e-15)


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(1, 400), elements=st.integers(-400, 400).map(lambda i: i / 8.0)),
    hnp.arrays(np.float64, st.integers(1, 200), elements=st.integers(-400, 400).map(lambda i: i / 8.0)),
    st.sampled_from([0.5, 2.0, 3.0, 1000.0]),
    st.sampled_from([0.0, 1.0, -7.0, 32.0]),
    st.integers(2, 20),
)
def test_binning_commutes_with_a_change_of_units_even_with_ties(
    ref: np.ndarray, cur: np.ndarray, scale: float, offset: float, bins: int
) -> None:
    # Heavy ties put quantile positions on order statistics; the counts must still match bin for bin. An edge
    # interpolated between two reference values is rounded differently in each unit, so a current value exactly on
    # one may change sides (found by hypothesis: 0.125 on the edge 0.2 * 0.625, -2.0 on -2.5 + 0.2 * 2.5); data that
    # is not on such an edge bins the same in any unit.
    interpolated = np.setdiff1d(stats.quantile_edges(ref, bins), ref)
    on_edge = np.abs(cur[:, None] - interpolated[None, :]) <= 1e-9 * (1.0 + np.abs(interpolated))
    assume(not on_edge.any())

    def counts(r: np.ndarray, c: np.ndarray) -> tuple[list[int], list[int]]:
        edges = stats.quantile_edges(r, bins)
        return stats.bin_counts(r, edges).tolist(), stats.bin_counts(c, edges).tolist()

    assert counts(scale * ref + offset, scale * cur + offset) == counts(ref, cur)


@given(hnp.arrays(np.float64, st.integers(0, 300), elements=st.integers(-20, 20).map(float)))
def test_fast_paths_equal_their_definitions(values: np.ndarray) -> None:
    ordered = np.sort(values)
    assert stats.right_ranks(ordered).tolist() == np.searchsorted(ordered, ordered, side="right").tolist()
    assert stats.left_ranks(ordered).tolist() == np.searchsorted(ordered, ordered, side="left").tolist()
    edges = np.array([-5.0, 0.0, 0.5, 7.0])
    assert stats.finite_bin_counts(values, edges)[0].tolist() == stats.bin_counts(values, edges).tolist()


@settings(max_examples=300)
@given(
    hnp.arrays(np.float64, st.integers(1, 300), elements=st.integers(-15, 15).map(lambda i: i / 4.0)),
    hnp.arrays(np.float64, st.integers(1, 300), elements=st.integers(-15, 15).map(lambda i: i / 4.0)),
)
def test_ks_statistic_is_bit_for_bit_scipys(ref: np.ndarray, cur: np.ndarray) -> None:
    # Heavy ties, samples entirely below or above each other: the shortcut must still find scipy's extreme.
    # (scipy's exact mode rounds D to a multiple of 1/lcm(N, M); driftline's shortcut serves the asymptotic mode.)
    expected = scipy.stats.ks_2samp(ref, cur, method="asymp").statistic
    assert stats.ks_statistic(np.sort(ref), np.sort(cur)) == float(expected)
