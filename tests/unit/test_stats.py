"""The statistics against independent oracles (scipy, the formulas of docs/statistics.md) and their properties."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.stats
from hypothesis import given
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


def test_psi_equals_transcription_of_design() -> None:
    rng = np.random.default_rng(3)
    for k in (2, 5, 10, 51):
        ref = rng.integers(0, 10_000, k)
        cur = rng.integers(0, 300, k)
        assert stats.psi(ref, cur) == pytest.approx(design_psi(ref, cur), rel=1e-12, abs=1e-15)


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


@given(hnp.arrays(np.float64, st.integers(0, 300), elements=st.integers(-20, 20).map(float)))
def test_counting_at_cuts_equals_bin_counts(values: np.ndarray) -> None:
    edges = np.array([-5.0, 0.0, 0.5, 7.0])
    counts, _ = stats.counts_at_cuts(np.sort(values), stats.cut_points(edges))
    assert counts.tolist() == stats.bin_counts(values, edges).tolist()
