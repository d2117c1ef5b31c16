"""Independent transcriptions of docs/statistics.md for tests: numpy and scipy only, nothing of drift."""

from __future__ import annotations

import numpy as np
import scipy.special
import scipy.stats


def binned_ks(reference: np.ndarray, current: np.ndarray, fine_bins: int = 250) -> tuple[float, float]:
    """KS of both samples quantised to the reference's ``fine_bins`` quantile bins — scipy's KS of the bin indices —
    with Stephens' corrected Kolmogorov p-value at the effective sample size."""
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, fine_bins + 1)[1:-1]))
    quantised = [np.searchsorted(edges, x, side="right") for x in (reference, current)]
    d = float(scipy.stats.ks_2samp(*quantised, method="asymp").statistic)
    ne = reference.size * current.size / (reference.size + current.size)
    return d, float(scipy.special.kolmogorov((np.sqrt(ne) + 0.12 + 0.11 / np.sqrt(ne)) * d))
