"""The Hellinger distance (drift/statistics/hellinger.py) against scipy: the Euclidean distance of the square-root
shares over √2, column by column of random layouts."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.spatial.distance
from hypothesis import given, settings
from hypothesis import strategies as st

from drift.layout import Layout
from drift.statistics import column_statistics
from tests.support.layouts import categorical_column, column_windows, random_window, window_of


def oracle(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    p = reference_counts / reference_counts.sum()
    q = current_counts / current_counts.sum()
    return float(scipy.spatial.distance.euclidean(np.sqrt(p), np.sqrt(q)) / np.sqrt(2))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=8), st.integers(0, 2**32 - 1))
def test_hellinger_of_every_column_is_scipys(kinds: list[bool], seed: int) -> None:
    layout, counts = random_window(seed, kinds)
    found = column_statistics(layout, counts).values["hellinger_distance"]
    for column in column_windows(layout, counts):
        if column.fine.sum() == 0:
            assert np.isnan(found[column.index])
        else:
            assert found[column.index] == pytest.approx(oracle(column.profile.counts, column.binned), abs=1e-12)


def test_hellinger_is_0_for_identical_and_1_for_disjoint_distributions() -> None:
    layout = Layout((categorical_column("c", np.array([30, 10, 0, 0])),))
    same = column_statistics(layout, window_of(layout, 0, np.array([3, 1, 0, 0]))).values["hellinger_distance"]
    disjoint = column_statistics(layout, window_of(layout, 0, np.array([0, 0, 5, 2]))).values["hellinger_distance"]
    assert same[0] == pytest.approx(0.0, abs=1e-12) and disjoint[0] == pytest.approx(1.0, abs=1e-12)
