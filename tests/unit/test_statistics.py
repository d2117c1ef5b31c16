"""The registered statistics (drift.statistics) against their per-column oracles (scipy, or a transcription of
docs/statistics.md in tests/support/oracles.py), and the properties every one of them keeps."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.special
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from drift.layout import Layout
from drift.reference.columns import NumericProfile
from drift.statistics import STATISTICS, column_statistics
from tests.support import oracles
from tests.support.layouts import categorical_column, column_windows, random_window, window_of


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=8), st.integers(0, 2**32 - 1))
def test_all_columns_at_once_equal_the_per_column_oracles(kinds: list[bool], seed: int) -> None:
    layout, counts = random_window(seed, kinds)
    found = column_statistics(layout, counts)
    value = {name: array.tolist() for name, array in found.values.items()}
    for i, profile, window, missing, psi_counts in column_windows(layout, counts):
        assert found.samples[i] == window.sum() and found.missing[i] == missing
        if window.sum() == 0:
            assert all(np.isnan(column[i]) for column in value.values())
            continue
        psi = oracles.psi(profile.counts, psi_counts)
        assert value["psi"][i] == pytest.approx(psi, rel=1e-9, abs=1e-12)
        expected_p = oracles.psi_pvalue(psi, int(profile.counts.sum()), int(window.sum()), profile.nbins)
        assert value["psi_pvalue"][i] == pytest.approx(expected_p, rel=1e-6, abs=1e-12)
        assert value["js_distance"][i] == pytest.approx(oracles.js_distance(profile.counts, psi_counts), abs=1e-9)
        if isinstance(profile, NumericProfile):
            d, p = oracles.ks_of_counts(profile.fine_counts, window)
            assert value["ks_statistic"][i] == pytest.approx(d, abs=1e-12)
            assert value["ks_pvalue"][i] == pytest.approx(p, rel=1e-9, abs=1e-12)
            assert np.isnan(value["chi2_pvalue"][i])
        else:
            chi2, p = oracles.chi2_test(profile.counts, window)
            assert (value["chi2_statistic"][i], value["chi2_pvalue"][i]) == pytest.approx((chi2, p))
            assert np.isnan(value["ks_pvalue"][i])


@pytest.mark.parametrize("k", [2, 3, 8, 51])
def test_chi2_equals_chi2_contingency_with_a_bin_empty_in_both(k: int) -> None:
    rng = np.random.default_rng(k)
    reference, current = rng.integers(0, 500, k + 1), rng.integers(0, 80, k + 1)
    reference[0] = current[0] = 0  # an empty bin in both is left out, as docs/statistics.md says
    reference[1] += 1
    current[1] += 1
    layout = Layout((categorical_column("c", reference),))
    found = column_statistics(layout, window_of(layout, 0, current)).values
    keep = (reference + current) > 0
    expected = scipy.stats.chi2_contingency(np.vstack([reference, current])[:, keep])
    assert found["chi2_statistic"][0] == pytest.approx(float(expected.statistic), rel=1e-12)
    assert found["chi2_pvalue"][0] == pytest.approx(float(expected.pvalue), rel=1e-12, abs=1e-300)


def test_chi2_of_a_single_non_empty_bin_has_nothing_to_test() -> None:
    layout = Layout((categorical_column("c", np.array([10, 0, 0])),))
    found = column_statistics(layout, window_of(layout, 0, np.array([4, 0, 0]))).values
    assert (found["chi2_statistic"][0], found["chi2_pvalue"][0]) == (0.0, 1.0)


def test_js_equals_scipy_and_the_psi_pvalue_the_chi2_tail() -> None:
    rng = np.random.default_rng(4)
    for k in (2, 10, 51):
        reference, current = rng.integers(1, 1000, k + 1), rng.integers(0, 1000, k + 1)
        layout = Layout((categorical_column("c", reference),))
        found = column_statistics(layout, window_of(layout, 0, current)).values
        p_ref = (reference + 0.5) / (reference.sum() + 0.5 * (k + 1))
        p_cur = (current + 0.5) / (current.sum() + 0.5 * (k + 1))
        expected = scipy.spatial.distance.jensenshannon(p_ref, p_cur, base=2)
        assert found["js_distance"][0] == pytest.approx(float(expected), abs=1e-12)
        psi = float(np.sum((p_cur - p_ref) * np.log(p_cur / p_ref)))
        tail = scipy.stats.chi2.sf(psi / (1 / reference.sum() + 1 / current.sum()), k)
        assert found["psi_pvalue"][0] == pytest.approx(tail, rel=1e-9, abs=1e-300)


counts_pairs = st.integers(2, 60).flatmap(
    lambda k: st.tuples(
        hnp.arrays(np.int64, k, elements=st.integers(0, 10**6)).filter(lambda c: c.sum() > 0),
        hnp.arrays(np.int64, k, elements=st.integers(0, 10**6)).filter(lambda c: c.sum() > 0),
    )
)


def _one_column(reference: np.ndarray, current: np.ndarray) -> dict[str, float]:
    layout = Layout((categorical_column("c", reference),))
    return {
        name: float(array[0]) for name, array in column_statistics(layout, window_of(layout, 0, current)).values.items()
    }


@given(counts_pairs)
def test_every_distance_is_non_negative_and_every_pvalue_a_probability(pair: tuple[np.ndarray, np.ndarray]) -> None:
    found = _one_column(*pair)
    for statistic in STATISTICS:
        for output in statistic.outputs:
            value = found[output.name]
            if np.isnan(value):
                continue
            assert value >= 0.0, output.name
            if output.name.endswith(("pvalue", "distance")):
                assert value <= 1.0 + 1e-12, output.name


@given(hnp.arrays(np.int64, st.integers(2, 60), elements=st.integers(0, 10**6)).filter(lambda c: c.sum() > 0))
def test_every_distance_of_identical_counts_is_zero(counts: np.ndarray) -> None:
    found = _one_column(counts, counts)
    assert found["psi"] == 0.0
    for statistic in STATISTICS:
        for output in statistic.outputs:
            if output.name.endswith("distance"):
                assert found[output.name] == pytest.approx(0.0, abs=1e-7), output.name


def test_every_statistic_says_what_it_is() -> None:
    names = [output.name for statistic in STATISTICS for output in statistic.outputs]
    assert len(names) == len(set(names))
    assert [s.name for s in STATISTICS][:4] == ["psi", "ks", "chi2", "js"]  # the order metrics and docs keep
    for statistic in STATISTICS:
        assert statistic.compute.__doc__ and "Reference" in statistic.compute.__doc__, statistic.name
        assert statistic.applies_to and statistic.formula and statistic.reference, statistic.name
