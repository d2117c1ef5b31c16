"""The O(n) binner against its oracle, ``numpy.searchsorted(edges, v, side="right")``: ten million adversarial
values over edge sets that exercise each map (linear, ordered-bits) and the fallback, and the counts against the
sort-based counting they replace."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drift import stats
from drift.binning import MAX_PASSES, SMALL, Binner, ordered_bits

TINY = np.finfo(np.float64).smallest_subnormal
HUGE = np.finfo(np.float64).max


def many(values: np.ndarray) -> np.ndarray:
    """The values repeated to at least SMALL of them: fewer go to numpy's binary search, not the binner."""
    return np.resize(values, max(SMALL, values.size))


def quantiles(sample: np.ndarray, bins: int = 250) -> np.ndarray:
    return np.unique(np.quantile(sample, np.linspace(0.0, 1.0, bins + 1)[1:-1]))


def edge_sets() -> dict[str, tuple[np.ndarray, str]]:
    """Edge sets by the map each should get."""
    rng = np.random.default_rng(7)
    outliers = np.concatenate([rng.normal(size=99_000), rng.normal(1e6, 1.0, 1_000)])
    return {
        "normal": (quantiles(rng.normal(size=100_000)), "linear"),
        "lognormal": (quantiles(rng.lognormal(size=100_000)), "linear"),
        "uniform": (quantiles(rng.uniform(-3, 7, size=100_000)), "linear"),
        "poisson": (quantiles(rng.poisson(1.5, 100_000).astype(float)), "linear"),
        "one edge": (np.array([0.0]), "linear"),
        "no edge": (np.array([]), "linear"),
        "pareto": (quantiles(rng.pareto(0.7, 100_000) + 1.0), "ordered-bits"),
        "subnormal and tiny": (np.array([-2 * TINY, -TINY, 0.0, TINY, 3 * TINY, 1e-300]), "linear"),
        "subnormal only": (np.array([-2 * TINY, -TINY, 0.0, TINY, 3 * TINY, 1e-310]), "ordered-bits"),
        "±DBL_MAX": (np.array([-HUGE, -1.0, 0.0, 1.0, HUGE]), "search"),
        "far outliers": (quantiles(outliers), "search"),
    }


def adversarial(edges: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Edges, their neighbours one ulp away, ties, ±0, subnormals, ±∞, NaN (both signs), ±DBL_MAX, values around the
    edges, and arbitrary bit patterns (every exponent, NaN payloads)."""
    subnormal, smallest_normal = TINY, np.finfo(np.float64).tiny
    special = np.array([0.0, -0.0, subnormal, -subnormal, smallest_normal, -smallest_normal, HUGE, -HUGE])
    special = np.concatenate([special, [np.inf, -np.inf, np.nan, -np.nan, 1.0, -1.0]])
    with np.errstate(over="ignore"):
        ulp = [np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf)]
    near = np.concatenate([edges, *ulp]) if edges.size else special
    parts = [
        rng.choice(near, n // 4),  # ties and one-ulp neighbours
        rng.choice(special, n // 16),
        rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, n // 8, dtype=np.int64).view(np.float64),
    ]
    lo, hi = (edges[0], edges[-1]) if edges.size else (-1.0, 1.0)
    with np.errstate(over="ignore"):
        width = (hi - lo) or 1.0
        middle = (lo + hi) / 2 if np.isfinite(lo + hi) else 0.0
        parts.append(rng.uniform(-0.6, 0.6, n - sum(p.size for p in parts)) * width + middle)
    values = np.concatenate(parts)
    rng.shuffle(values)
    return values


@pytest.mark.parametrize("name", list(edge_sets()))
def test_the_binner_equals_searchsorted_on_ten_million_adversarial_values(name: str) -> None:
    edges, expected_map = edge_sets()[name]
    binner = Binner.of(edges)
    assert binner.map == expected_map, (name, binner.map, binner.passes)
    assert binner.passes <= MAX_PASSES
    values = adversarial(edges, 10_000_000 // len(edge_sets()), np.random.default_rng(len(name)))
    assert np.isnan(values).any() and np.isinf(values).any()
    np.testing.assert_array_equal(binner.index(values), np.searchsorted(edges, values, side="right"))
    counts, missing = binner.counts(values)
    expected_counts, expected_missing = stats.counts_at_cuts(np.sort(values), stats.cut_points(edges))
    np.testing.assert_array_equal(counts, expected_counts)
    assert missing == expected_missing == int(np.count_nonzero(~np.isfinite(values)))


def test_an_empty_column_has_empty_counts() -> None:
    binner = Binner.of(np.array([0.0, 1.0]))
    assert binner.index(np.array([])).size == 0
    counts, missing = binner.counts(np.array([]))
    assert counts.tolist() == [0, 0, 0] and missing == 0


def test_a_negative_zero_edge_bins_like_positive_zero() -> None:
    edges = np.array([-1.0, -0.0, 1.0])
    values = many(np.array([-0.0, 0.0, -TINY, TINY, -1.0, 1.0, np.nan]))
    np.testing.assert_array_equal(Binner.of(edges).index(values), np.searchsorted(edges, values, side="right"))


def test_ordered_bits_keys_sort_as_the_values_do() -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, 100_000, dtype=np.int64).view(np.float64)
    values = np.concatenate([values[~np.isnan(values)], [0.0, -0.0, np.inf, -np.inf, TINY, -TINY]])
    order = np.argsort(values, kind="stable")
    keys = ordered_bits(values[order])
    assert np.all(np.diff(keys) >= 0)
    assert ordered_bits(np.array([-0.0]))[0] == ordered_bits(np.array([0.0]))[0] == 0


def test_edges_that_are_not_strictly_increasing_and_finite_are_refused() -> None:
    for edges in ([1.0, 1.0], [2.0, 1.0], [0.0, np.nan], [0.0, np.inf]):
        with pytest.raises(ValueError, match="strictly increasing finite"):
            Binner.of(np.array(edges))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=0, max_size=300, unique=True),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=200),
)
def test_any_edges_any_values(edges: list[float], values: list[float]) -> None:
    sorted_edges = np.unique(np.array(edges, dtype=np.float64) + 0.0)
    x = many(np.array(values, dtype=np.float64))
    binner = Binner.of(sorted_edges)
    np.testing.assert_array_equal(binner.index(x), np.searchsorted(sorted_edges, x, side="right"))
    counts, missing = binner.counts(x)
    expected = stats.counts_at_cuts(np.sort(x), stats.cut_points(sorted_edges))
    assert counts.tolist() == expected[0].tolist() and missing == expected[1]
