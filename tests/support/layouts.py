"""Layouts of made-up reference columns, for tests of the statistics over count vectors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from drift import stats
from drift.layout import Layout
from drift.reference.columns import CategoricalProfile, NumericProfile


def numeric_column(name: str, reference: np.ndarray, bins: int = 10, fine_bins: int = 100) -> NumericProfile:
    """A numeric column profiled from ``reference`` (quantile edges, fine edges and their counts)."""
    edges, fine = stats.nested_quantile_edges(reference, bins, fine_bins)
    return NumericProfile(
        name,
        reference.size,
        0,
        edges,
        stats.bin_counts(reference, edges),
        fine,
        stats.bin_counts(reference, fine),
        0.0,
        1.0,
        float(reference.min()),
        float(reference.max()),
    )


def categorical_column(name: str, counts: np.ndarray) -> CategoricalProfile:
    """A categorical column of ``len(counts) - 1`` categories and ``__other__``, with these reference counts."""
    return CategoricalProfile(name, int(counts.sum()), 0, tuple(f"v{j}" for j in range(counts.size - 1)), counts)


def random_layout(rng: np.random.Generator, kinds: list[bool]) -> Layout:
    """One column per entry of ``kinds`` (True: numeric, from a rounded normal sample; False: categorical)."""
    columns: list[NumericProfile | CategoricalProfile] = []
    for i, numeric in enumerate(kinds):
        if numeric:
            reference = np.round(rng.normal(0, 1, int(rng.integers(50, 3000))), int(rng.integers(0, 3)))
            columns.append(numeric_column(f"n{i}", reference))
        else:
            counts = rng.integers(0, 200, int(rng.integers(1, 8)) + 1)
            counts[0] += 1
            columns.append(categorical_column(f"c{i}", counts))
    return Layout(tuple(columns))


def window_of(layout: Layout, column: int, counts: np.ndarray) -> np.ndarray:
    """A count vector over ``layout`` holding ``counts`` in one column's fine bins and nothing elsewhere."""
    vector = np.zeros(layout.size, dtype=np.int64)
    start = int(layout.offsets[column])
    vector[start : start + counts.size] = counts
    return vector


def random_window(seed: int, kinds: list[bool]) -> tuple[Layout, np.ndarray]:
    """A :func:`random_layout` and a count vector over it, sparse (about half its bins empty, whole columns too)."""
    rng = np.random.default_rng(seed)
    layout = random_layout(rng, kinds)
    return layout, rng.integers(0, 30, layout.size) * rng.integers(0, 2, layout.size)


class ColumnWindow(NamedTuple):
    index: int
    profile: NumericProfile | CategoricalProfile
    fine: np.ndarray  # the window's counts in the column's fine bins
    missing: int
    binned: np.ndarray  # …summed into its PSI bins (what PSI, JS, chi-square and Hellinger compare)


def column_windows(layout: Layout, counts: np.ndarray) -> Iterator[ColumnWindow]:
    """Each column's part of a count vector, one column at a time: what a per-column oracle reads."""
    for i, (profile, offset, fine) in enumerate(zip(layout.columns, layout.offsets, layout.fine, strict=True)):
        window = counts[offset : offset + fine]
        binned = np.add.reduceat(window, profile.psi_starts) if isinstance(profile, NumericProfile) else window
        yield ColumnWindow(i, profile, window, int(counts[offset + fine]), binned)
