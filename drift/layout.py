"""A window as bin counts: how a model's columns map onto one flat count vector.

A :class:`Layout` lays a set of profiled columns (a model's features, or its outputs) side by side: each column owns
a segment of fine bins (numeric: the profile's fine quantile bins; categorical: one bin per category and
``__other__``) and one missing slot. Counting a batch of rows adds one vector of that shape; a window is a sum of
such vectors, whatever its size, so evaluating it costs the same for 1,000 rows as for 1,000,000.

The statistics over such a vector, all columns at once, are registered in :mod:`drift.statistics`.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .coercion import category_values, numeric_values
from .reference.columns import ColumnProfile, NumericProfile
from .reference.profile import ReferenceProfile
from .stats import FloatArray, IntArray


def _starts(sizes: Sequence[int]) -> IntArray:
    return np.concatenate(([0], np.cumsum(sizes[:-1]))).astype(np.int64) if sizes else np.zeros(0, np.int64)


@dataclass(frozen=True)
class ReferenceBins:
    """The reference's side of the statistics and the index arrays that cut a flat count vector into columns."""

    fine_index: IntArray  # the fine-bin entries of a count vector (its missing slots left out)
    fine_starts: IntArray  # where each column starts among them
    fine_segment: IntArray  # the column of each of them
    fine_counts: FloatArray  # the reference's fine counts, flat
    psi_starts: IntArray  # where each PSI bin starts among the fine bins, flat
    psi_column_starts: IntArray  # where each column starts among the PSI bins
    psi_segment: IntArray
    psi_counts: FloatArray  # the reference's PSI counts, flat
    shares: FloatArray  # its smoothed PSI shares
    bins: IntArray  # PSI bins per column (k)
    rows: FloatArray  # reference rows per column (N)
    ks_rows: FloatArray  # rows its fine counts hold (N for KS; the sample of a format-1 profile)
    ks_shares: FloatArray  # its cumulative fine shares
    numeric: NDArray[np.bool_]

    @classmethod
    def of(cls, columns: tuple[ColumnProfile, ...], offsets: IntArray, fine: IntArray) -> ReferenceBins:
        if not columns:
            empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0)
            return cls(empty_i, empty_i, empty_i, empty_f, empty_i, empty_i, empty_i, empty_f, empty_f, empty_i,
                       empty_f, empty_f, empty_f, np.zeros(0, bool))  # fmt: skip
        fine_index = np.concatenate([np.arange(o, o + f) for o, f in zip(offsets, fine, strict=True)])
        fine_starts, fine_segment = _segments(fine)
        fine_counts = np.concatenate([c.fine_counts for c in columns]).astype(np.float64)
        psi_starts = np.concatenate(
            [
                start + (c.psi_starts if isinstance(c, NumericProfile) else np.arange(c.fine_counts.size))
                for c, start in zip(columns, fine_starts, strict=True)
            ]
        )
        bins = np.array([c.counts.size for c in columns], dtype=np.int64)
        psi_column_starts, psi_segment = _segments(bins)
        psi_counts = np.concatenate([c.counts for c in columns]).astype(np.float64)
        rows = np.add.reduceat(psi_counts, psi_column_starts)
        ks_rows = np.add.reduceat(fine_counts, fine_starts)
        return cls(
            fine_index=fine_index,
            fine_starts=fine_starts,
            fine_segment=fine_segment,
            fine_counts=fine_counts,
            psi_starts=psi_starts,
            psi_column_starts=psi_column_starts,
            psi_segment=psi_segment,
            psi_counts=psi_counts,
            shares=(psi_counts + 0.5) / (rows + 0.5 * bins)[psi_segment],
            bins=bins,
            rows=rows,
            ks_rows=ks_rows,
            ks_shares=cumulative_shares(fine_counts, fine_starts, fine_segment),
            numeric=np.array([isinstance(c, NumericProfile) for c in columns], dtype=bool),
        )


@dataclass(frozen=True)
class Layout:
    """Where each column's fine bins and missing slot sit in a flat count vector (``size`` entries).

    ``columns`` are in order; column ``i`` owns ``[offsets[i], offsets[i] + fine[i])`` for its fine bins and
    ``offsets[i] + fine[i]`` for its missing values. The reference's side of every statistic is computed here, once
    per profile.
    """

    columns: tuple[ColumnProfile, ...]
    fine: IntArray = field(init=False)
    offsets: IntArray = field(init=False)
    size: int = field(init=False)
    reference: ReferenceBins = field(init=False, repr=False)

    def __post_init__(self) -> None:
        fine = np.array([c.fine_counts.size for c in self.columns], dtype=np.int64)
        offsets = _starts(list(fine + 1))
        object.__setattr__(self, "fine", fine)
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "size", int((fine + 1).sum()))
        object.__setattr__(self, "reference", ReferenceBins.of(self.columns, offsets, fine))

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

    def codes(self, numeric: np.ndarray[Any, Any] | None, categorical: np.ndarray[Any, Any] | None) -> IntArray:
        """Each cell's index in the count vector (``[rows, columns]``; a missing cell's is its column's missing slot),
        so that any run of rows is counted by one ``bincount``: how a window counts a batch that spans buckets.
        ``bincount(codes.ravel(), minlength=size)`` equals :meth:`count` of the same columns."""
        rows = numeric.shape[0] if numeric is not None else categorical.shape[0] if categorical is not None else 0
        out = np.empty((rows, len(self.columns)), dtype=np.int64)
        i_num = i_cat = 0
        for j, (profile, offset, fine) in enumerate(zip(self.columns, self.offsets, self.fine, strict=True)):
            if isinstance(profile, NumericProfile):
                values = numeric[:, i_num] if numeric is not None else np.full(rows, np.nan)
                index = profile.binner.index(values)
                out[:, j] = np.where(np.isfinite(values), offset + index, offset + fine)
                i_num += 1
            else:
                cells = profile.codes(categorical[:, i_cat]) if categorical is not None else np.full(rows, -1)
                out[:, j] = np.where(cells >= 0, offset + cells, offset + fine)
                i_cat += 1
        return out


MISSING_BIN = "__missing__"
OTHER_BIN = "__other__"  # the bin of categories the reference did not keep


@dataclass(frozen=True)
class ColumnBins:
    """One column's PSI bins as counted in a count vector: labels (a numeric bin's zero-padded index, a category or
    ``__other__``), the counts in them, the missing count, and the reference's counts in the same bins."""

    name: str
    labels: tuple[str, ...]
    counts: IntArray
    missing: int
    reference: IntArray


def psi_bins(layout: Layout, counts: IntArray) -> list[ColumnBins]:
    """Each column's PSI-bin counts in ``counts`` (a count vector over ``layout``): the fine bins summed into the
    PSI bins the statistics use, which is what exporter replicas publish for Prometheus to pool."""
    ref = layout.reference
    if not layout.columns:
        return []
    current = np.add.reduceat(counts[ref.fine_index].astype(np.int64), ref.psi_starts)
    ends = [*ref.psi_column_starts[1:], current.size]
    out = []
    for i, (profile, start, end) in enumerate(zip(layout.columns, ref.psi_column_starts, ends, strict=True)):
        if isinstance(profile, NumericProfile):
            width = len(str(end - start - 1))
            labels = tuple(str(b).zfill(width) for b in range(end - start))
        else:
            labels = (*profile.categories, OTHER_BIN)
        missing = int(counts[layout.offsets[i] + layout.fine[i]])
        reference = ref.psi_counts[start:end].astype(np.int64)
        out.append(ColumnBins(profile.name, labels, current[start:end], missing, reference))
    return out


def _segments(sizes: IntArray) -> tuple[IntArray, IntArray]:
    """``(starts, segment id of every element)`` of consecutive segments of the given sizes (all > 0)."""
    starts = _starts(list(sizes))
    return starts, np.repeat(np.arange(sizes.size), sizes)


def cumulative_shares(counts: FloatArray, starts: IntArray, segment: IntArray) -> FloatArray:
    """Each column's running share of its own total (its empirical CDF at the bin edges)."""
    if counts.size == 0:
        return counts
    running = np.cumsum(counts)
    before = np.concatenate(([0.0], running))[starts]  # the running total where each column starts
    totals = np.add.reduceat(counts, starts)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (running - before[segment]) / totals[segment]  # type: ignore[no-any-return]


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


__all__ = ["ColumnBins", "Layout", "ReferenceBins", "cumulative_shares", "layouts", "psi_bins"]
