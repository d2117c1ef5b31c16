"""A window's count vector cut into columns beside the reference's: what every statistic reads.

One :class:`BinnedWindow` per evaluation; the arrays are flat over all the layout's columns (segmented numpy
operations, no loop per column), so every statistic of every column costs a few vector operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..layout import Layout, ReferenceBins, cumulative_shares
from ..stats import FloatArray, IntArray


@dataclass(frozen=True)
class BinnedWindow:
    layout: Layout
    counts: IntArray  # the window's count vector over the layout

    @property
    def ref(self) -> ReferenceBins:
        """The reference's side: its counts, shares and the index arrays that cut a vector into columns."""
        return self.layout.reference

    @cached_property
    def fine(self) -> FloatArray:
        """The window's fine-bin counts, flat (missing slots left out)."""
        return self.counts[self.ref.fine_index].astype(np.float64)

    @cached_property
    def samples(self) -> FloatArray:
        """Valid values per column (M)."""
        return np.add.reduceat(self.fine, self.ref.fine_starts) if self.fine.size else np.zeros(0)

    @cached_property
    def missing(self) -> IntArray:
        missing: IntArray = self.counts[self.layout.offsets + self.layout.fine].astype(np.int64)
        return missing

    @cached_property
    def psi_counts(self) -> FloatArray:
        """The window's counts in each column's PSI bins (a numeric column's quantile bins, a categorical one's
        categories and ``__other__``), flat."""
        return np.add.reduceat(self.fine, self.ref.psi_starts) if self.fine.size else np.zeros(0)

    @cached_property
    def shares(self) -> FloatArray:
        """Its smoothed PSI-bin shares ``(counts + 0.5) / (M + 0.5 k)`` (the reference's: ``ref.shares``)."""
        return (self.psi_counts + 0.5) / (self.samples + 0.5 * self.ref.bins)[self.ref.psi_segment]

    @cached_property
    def fine_cdf(self) -> FloatArray:
        """Each column's running share of its own valid values at its fine-bin edges."""
        return cumulative_shares(self.fine, self.ref.fine_starts, self.ref.fine_segment)

    def per_column(self, values: FloatArray, ufunc: np.ufunc = np.add, over: str = "psi") -> FloatArray:
        """``ufunc`` reduced over each column's PSI bins (``over="psi"``) or fine bins (``"fine"``)."""
        starts = self.ref.psi_column_starts if over == "psi" else self.ref.fine_starts
        return ufunc.reduceat(values, starts) if values.size else np.zeros(0)  # type: ignore[no-any-return]
