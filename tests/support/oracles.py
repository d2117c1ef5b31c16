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


# --- per-column oracles of the registered statistics (drift.statistics), over counts in the same bins ---


def smoothed(counts: np.ndarray) -> np.ndarray:
    """docs/statistics.md's shares: ``(counts + 0.5) / (n + 0.5 k)``."""
    c = np.asarray(counts, dtype=np.float64)
    return (c + 0.5) / (c.sum() + 0.5 * c.size)


def psi(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """``Σ (p_cur − p_ref) ln(p_cur / p_ref)`` over the smoothed shares."""
    p, q = smoothed(reference_counts), smoothed(current_counts)
    return max(float(np.sum((q - p) * np.log(q / p))), 0.0)


def psi_pvalue(psi_value: float, n_reference: int, n_current: int, nbins: int) -> float:
    """``scipy.stats.chi2.sf(PSI / (1/N + 1/M), k − 1)``; 1 with fewer than two bins."""
    if nbins < 2:
        return 1.0
    return float(scipy.stats.chi2.sf(psi_value / (1 / n_reference + 1 / n_current), nbins - 1))


def js_distance(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """``scipy.spatial.distance.jensenshannon`` of the smoothed shares, base 2."""
    import scipy.spatial.distance

    return float(scipy.spatial.distance.jensenshannon(smoothed(reference_counts), smoothed(current_counts), base=2))


def ks_of_counts(reference_counts: np.ndarray, current_counts: np.ndarray) -> tuple[float, float]:
    """scipy's two-sample KS statistic of the bin indices the counts stand for, with Stephens' corrected Kolmogorov
    p-value at the effective sample size."""
    bins = np.arange(len(reference_counts))
    r, c = np.asarray(reference_counts, dtype=np.int64), np.asarray(current_counts, dtype=np.int64)
    d = float(scipy.stats.ks_2samp(np.repeat(bins, r), np.repeat(bins, c), method="asymp").statistic)
    ne = r.sum() * c.sum() / (r.sum() + c.sum())
    return d, float(scipy.special.kolmogorov((np.sqrt(ne) + 0.12 + 0.11 / np.sqrt(ne)) * d))


def chi2_test(reference_counts: np.ndarray, current_counts: np.ndarray) -> tuple[float, float]:
    """``scipy.stats.chi2_contingency`` of the two rows over the bins whose total is > 0; ``(0, 1)`` with fewer than
    two such bins."""
    table = np.vstack([reference_counts, current_counts]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    result = scipy.stats.chi2_contingency(table)
    return float(result.statistic), float(result.pvalue)
