"""A window as bin counts: how a model's columns map onto one flat count vector, and every statistic from it.

A :class:`Layout` lays a set of profiled columns (a model's features, or its outputs) side by side: each column owns
a segment of fine bins (numeric: the profile's fine quantile bins; categorical: one bin per category and
``__other__``) and one missing slot. Counting a batch of rows adds one vector of that shape; a window is a sum of
such vectors, whatever its size, so evaluating it costs the same for 1,000 rows as for 1,000,000.

:func:`column_statistics` computes PSI and its p-value, the Jensen–Shannon distance, the binned KS test and the
chi-square test for all columns at once, as segmented numpy operations over the flat vectors. Each is the formula of
the per-column function of the same name in :mod:`drift.stats` (the tests hold them to each other).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.special

from . import stats
from .coercion import category_values, numeric_values
from .reference.profile import ColumnProfile, NumericProfile, ReferenceProfile
from .stats import FloatArray, IntArray


def _starts(sizes: Sequence[int]) -> IntArray:
    return np.concatenate(([0], np.cumsum(sizes[:-1]))).astype(np.int64) if sizes else np.zeros(0, np.int64)


@dataclass(frozen=True)
class Layout:
    """Where each column's fine bins and missing slot sit in a flat count vector (``size`` entries).

    ``columns`` are in order; column ``i`` owns ``[offsets[i], offsets[i] + fine[i])`` for its fine bins and
    ``offsets[i] + fine[i]`` for its missing values.
    """

    columns: tuple[ColumnProfile, ...]
    fine: IntArray = field(init=False)
    offsets: IntArray = field(init=False)
    size: int = field(init=False)

    def __post_init__(self) -> None:
        fine = np.array([c.fine_counts.size for c in self.columns], dtype=np.int64)
        offsets = _starts(list(fine + 1))
        object.__setattr__(self, "fine", fine)
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "size", int((fine + 1).sum()))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def missing_slots(self) -> IntArray:
        return self.offsets + self.fine

    def count(self, columns: Mapping[str, Any]) -> IntArray:
        """The count vector of a batch given as one array or list per column (any values; bad ones are missing).

        A column absent from ``columns`` counts nothing.
        """
        out = np.zeros(self.size, dtype=np.int64)
        for profile, offset, fine in zip(self.columns, self.offsets, self.fine, strict=True):
            if profile.name not in columns:
                continue
            values = columns[profile.name]
            if isinstance(profile, NumericProfile):
                numeric = values if isinstance(values, np.ndarray) and values.dtype == np.float64 else None
                counts, missing = profile.window_counts(numeric if numeric is not None else numeric_values(values))
            else:
                categories = values if isinstance(values, np.ndarray) and values.dtype == object else None
                counts, missing = profile.window_counts(
                    categories if categories is not None else category_values(values)
                )
            out[offset : offset + fine] += counts
            out[offset + fine] += missing
        return out

    def count_blocks(self, numeric: np.ndarray[Any, Any] | None, categorical: np.ndarray[Any, Any] | None) -> IntArray:
        """The count vector of row blocks as the exporter holds them: ``numeric[rows, n_numeric]`` (float64, NaN =
        missing) and ``categorical[rows, n_categorical]`` (str or None), each in the layout's column order."""
        out = np.zeros(self.size, dtype=np.int64)
        numeric_t = np.ascontiguousarray(numeric.T) if numeric is not None and numeric.size else None
        i_num = i_cat = 0
        for profile, offset, fine in zip(self.columns, self.offsets, self.fine, strict=True):
            if isinstance(profile, NumericProfile):
                if numeric_t is not None:
                    counts, missing = profile.window_counts(numeric_t[i_num])
                    out[offset : offset + fine] += counts
                    out[offset + fine] += missing
                i_num += 1
            else:
                if categorical is not None and categorical.size:
                    counts, missing = profile.window_counts(categorical[:, i_cat])
                    out[offset : offset + fine] += counts
                    out[offset + fine] += missing
                i_cat += 1
        return out

    def split(self, counts: IntArray) -> dict[str, tuple[IntArray, int]]:
        """``{name: (fine counts, missing)}`` of a count vector."""
        return {
            c.name: (counts[o : o + f], int(counts[o + f]))
            for c, o, f in zip(self.columns, self.offsets, self.fine, strict=True)
        }


@dataclass(frozen=True)
class ColumnStatistics:
    """Every statistic of each column of a layout, as arrays in column order (NaN where not applicable)."""

    samples: IntArray
    missing: IntArray
    psi: FloatArray
    psi_pvalue: FloatArray
    js_distance: FloatArray
    ks_statistic: FloatArray
    ks_pvalue: FloatArray
    chi2_statistic: FloatArray
    chi2_pvalue: FloatArray


def _segments(sizes: IntArray) -> tuple[IntArray, IntArray]:
    """``(starts, segment id of every element)`` of consecutive segments of the given sizes (all > 0)."""
    starts = _starts(list(sizes))
    return starts, np.repeat(np.arange(sizes.size), sizes)


def column_statistics(layout: Layout, counts: IntArray) -> ColumnStatistics:
    """All columns' statistics from one count vector of the window, against the reference counts in the profiles.

    PSI (:func:`drift.stats.psi`), its p-value (:func:`drift.stats.psi_pvalue`) and the JS distance
    (:func:`drift.stats.js_distance`) over each column's PSI bins; the binned KS test (:func:`drift.stats.binned_ks`)
    over a numeric column's fine bins; the chi-square test (:func:`drift.stats.chi2_test`) over a categorical
    column's bins. A column without a valid value in the window has NaN statistics.
    """
    cols = layout.columns
    n_cols = len(cols)
    nan = np.full(n_cols, np.nan)
    fine_index = np.concatenate([np.arange(o, o + f) for o, f in zip(layout.offsets, layout.fine, strict=True)])
    current_fine = counts[fine_index].astype(np.float64)
    reference_fine = np.concatenate([c.fine_counts for c in cols]).astype(np.float64)
    fine_starts, fine_segment = _segments(layout.fine)
    samples = np.add.reduceat(current_fine, fine_starts).astype(np.int64)
    missing = counts[layout.missing_slots].astype(np.int64)

    # PSI bins: a numeric column's are sums of its fine bins, a categorical column's are its fine bins.
    psi_starts = np.concatenate(
        [
            start + (c.psi_starts if isinstance(c, NumericProfile) else np.arange(c.fine_counts.size))
            for c, start in zip(cols, fine_starts, strict=True)
        ]
    )
    current_psi = np.add.reduceat(current_fine, psi_starts)
    reference_psi = np.concatenate([c.counts for c in cols]).astype(np.float64)
    k = np.array([c.counts.size for c in cols], dtype=np.int64)
    psi_col_starts, psi_segment = _segments(k)
    n_ref = np.array([c.counts.sum() for c in cols], dtype=np.float64)
    n_cur = samples.astype(np.float64)
    half_k = 0.5 * k
    p_ref = (reference_psi + 0.5) / (n_ref + half_k)[psi_segment]
    p_cur = (current_psi + 0.5) / (n_cur + half_k)[psi_segment]
    psi = np.maximum(np.add.reduceat((p_cur - p_ref) * np.log(p_cur / p_ref), psi_col_starts), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        psi_pvalue = np.where(k >= 2, scipy.special.chdtrc(k - 1, psi / (1.0 / n_ref + 1.0 / n_cur)), 1.0)
    mid = (p_ref + p_cur) / 2.0
    divergence = np.add.reduceat(p_ref * np.log(p_ref / mid) + p_cur * np.log(p_cur / mid), psi_col_starts)
    js = np.sqrt(np.maximum(divergence / 2.0 / math.log(2.0), 0.0))

    numeric = np.array([isinstance(c, NumericProfile) for c in cols], dtype=bool)
    ks_statistic, ks_pvalue = nan.copy(), nan.copy()
    if numeric.any():
        d = _binned_ks_statistics(reference_fine, current_fine, fine_starts, fine_segment)
        n_ks = np.array([c.fine_counts.sum() for c in cols], dtype=np.float64)
        ks_statistic = np.where(numeric, d, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            ks_pvalue = np.where(numeric, stats.ks_pvalue(d, n_ks, n_cur), np.nan)
    chi2_statistic, chi2_pvalue = nan.copy(), nan.copy()
    for i in np.flatnonzero(~numeric & (samples > 0)):
        segment = slice(psi_col_starts[i], psi_col_starts[i] + k[i])
        chi2_statistic[i], chi2_pvalue[i] = stats.chi2_test(reference_psi[segment], current_psi[segment])

    empty = samples == 0
    for array in (psi, psi_pvalue, js, ks_statistic, ks_pvalue):
        array[empty] = np.nan
    return ColumnStatistics(
        samples=samples,
        missing=missing,
        psi=psi,
        psi_pvalue=psi_pvalue,
        js_distance=js,
        ks_statistic=ks_statistic,
        ks_pvalue=ks_pvalue,
        chi2_statistic=chi2_statistic,
        chi2_pvalue=chi2_pvalue,
    )


def _binned_ks_statistics(
    reference: FloatArray, current: FloatArray, starts: IntArray, segment: IntArray
) -> FloatArray:
    """:func:`drift.stats.binned_ks`'s ``D`` of every column: the largest gap between the cumulative shares."""

    def cumulative_shares(counts: FloatArray) -> FloatArray:
        running = np.cumsum(counts)
        before = np.concatenate(([0.0], running))[starts]  # the running total where each column starts
        within = running - before[segment]
        totals = np.add.reduceat(counts, starts)
        with np.errstate(divide="ignore", invalid="ignore"):
            return within / totals[segment]  # type: ignore[no-any-return]

    gap = np.abs(cumulative_shares(reference) - cumulative_shares(current))
    return np.maximum.reduceat(np.nan_to_num(gap, nan=0.0), starts)  # type: ignore[no-any-return]


_layouts: dict[int, tuple[Layout, Layout]] = {}


def layouts(profile: ReferenceProfile) -> tuple[Layout, Layout]:
    """``(features, outputs)`` layouts of a profile, built once per profile object and dropped with it."""
    key = id(profile)
    held = _layouts.get(key)
    if held is None:
        held = (Layout(tuple(profile.features.values())), Layout(tuple(profile.outputs.values())))
        _layouts[key] = held
        weakref.finalize(profile, _layouts.pop, key, None)
    return held


__all__ = ["ColumnStatistics", "Layout", "column_statistics", "layouts"]
