"""The building blocks of the statistics: small pure functions over numpy arrays and bin counts — quantile edges,
bin counts, smoothed shares and PSI, the KS p-value, the multiple-testing corrections. The statistics themselves,
vectorised over all columns of a window, are registered in :mod:`drift.statistics`; docs/statistics.md has the
formulas.

Notation: ``r`` is a reference column (N values), ``c`` the current window's column (M values), ``B`` the
requested number of bins, ``k`` the actual number of bins.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.special
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def quantile_edges(reference: FloatArray, bins: int) -> FloatArray:
    """Inner bin edges from the reference's quantiles.

    ``edges = unique(quantile(r, linspace(0, 1, B + 1)[1:-1]))``: the B − 1 inner quantiles, duplicates removed
    (a discrete or constant column yields fewer bins). Used with :func:`bin_counts`, the two outer bins are
    open-ended, so an outlier in the window cannot move any edge.

    One refinement of plain ``numpy.quantile``: a quantile whose position ``q·(N − 1)`` lies within 1e-9 of a whole
    number is taken exactly as that order statistic. ``linspace`` yields e.g. ``0.6000000000000001``, whose
    interpolation weight of ~1e-15 would otherwise put an edge a rounding error above a reference value — on one side
    of it in metres and on the other in feet. With the snap, binning commutes with any positive affine change of
    units. The edges differ from ``numpy.quantile`` by at most that rounding error.
    """
    if reference.size == 0:
        raise ValueError("quantile_edges needs at least one reference value")
    return np.unique(_order_quantiles(np.sort(reference), np.linspace(0.0, 1.0, bins + 1)[1:-1]))


def nested_quantile_edges(reference: FloatArray, bins: int, fine_bins: int) -> tuple[FloatArray, FloatArray]:
    """``(edges, fine_edges)``: the :func:`quantile_edges` of ``bins`` and of ``fine_bins`` bins, nested.

    ``fine_bins`` must be a multiple of ``bins``. Every coarse (PSI) edge is also a fine edge — the coarse quantile
    positions ``m / B`` are taken verbatim among the fine positions ``j / F`` — so a PSI bin is exactly a sum of
    consecutive fine bins, and ``edges`` equals ``quantile_edges(reference, bins)``.
    """
    if fine_bins % bins:
        raise ValueError(f"fine_bins {fine_bins} is not a multiple of bins {bins}")
    if reference.size == 0:
        raise ValueError("nested_quantile_edges needs at least one reference value")
    ordered = np.sort(reference)
    q = np.linspace(0.0, 1.0, fine_bins + 1)
    step = fine_bins // bins
    q[::step] = np.linspace(0.0, 1.0, bins + 1)
    fine = _order_quantiles(ordered, q[1:-1])
    coarse = fine[step - 1 :: step]
    return np.unique(coarse), np.unique(fine)


def _order_quantiles(ordered: FloatArray, q: FloatArray) -> FloatArray:
    values = np.quantile(ordered, q)
    position = q * (ordered.size - 1)
    nearest = np.rint(position)
    exact = np.abs(position - nearest) < 1e-9
    values[exact] = ordered[nearest[exact].astype(np.int64)]
    return np.asarray(values, dtype=np.float64)


def bin_index(values: FloatArray, edges: FloatArray) -> IntArray:
    """The bin of each value: ``searchsorted(edges, v, side="right")``, in 0 … len(edges)."""
    return np.searchsorted(edges, values, side="right").astype(np.int64, copy=False)


def bin_counts(values: FloatArray, edges: FloatArray) -> IntArray:
    """Counts of ``values`` per bin defined by :func:`quantile_edges` (``len(edges) + 1`` bins)."""
    return np.bincount(bin_index(values, edges), minlength=edges.size + 1).astype(np.int64, copy=False)


def shares(counts: ArrayLike) -> FloatArray:
    """Smoothed bin shares ``p = (counts + 0.5) / (n + 0.5 k)``.

    The 0.5 pseudo-count (the Jeffreys prior) keeps every share positive, so PSI and the Jensen–Shannon distance are
    finite even when a bin is empty in one sample.
    """
    c = np.asarray(counts, dtype=np.float64)
    smoothed: FloatArray = (c + 0.5) / (c.sum() + 0.5 * c.size)
    return smoothed


def psi(reference_counts: ArrayLike, current_counts: ArrayLike) -> float:
    """Population Stability Index ``PSI = Σ (p_cur − p_ref) · ln(p_cur / p_ref)`` over smoothed shares.

    PSI is the symmetrised Kullback–Leibler divergence (Jeffreys divergence) of the two binned distributions;
    it is ≥ 0 and 0 only when the shares agree. Reference: Yurdakul, B. (2018), "Statistical properties of population
    stability index", Western Michigan University.
    """
    p_ref, p_cur = shares(reference_counts), shares(current_counts)
    return max(float(np.sum((p_cur - p_ref) * np.log(p_cur / p_ref))), 0.0)


def cut_points(edges: FloatArray) -> FloatArray:
    """``[−DBL_MAX, *edges, +∞]``: where :func:`counts_at_cuts` cuts a sorted column."""
    return np.concatenate(([-np.finfo(np.float64).max], edges, [np.inf]))


def counts_at_cuts(ordered: FloatArray, cuts: FloatArray) -> tuple[IntArray, int]:
    """``(counts per bin of the finite values, how many are not finite)`` of a sorted column, given its
    :func:`cut_points`: :func:`bin_counts` of its finite values, by cutting the sorted array at the edges (numpy's
    vectorised sort makes this several times faster than looking each value up with ``searchsorted``). NaN and +∞
    sort last and −∞ first, so the finite values are one slice, found by the cuts at −DBL_MAX and +∞."""
    bounds = np.searchsorted(ordered, cuts, side="left")
    return np.diff(bounds), int(ordered.size - (bounds[-1] - bounds[0]))


def ks_pvalue(statistic: ArrayLike, n: ArrayLike, m: ArrayLike) -> FloatArray:
    """Asymptotic two-sample KS p-value with Stephens' small-sample correction.

    ``p = Q_KS((√nₑ + 0.12 + 0.11 / √nₑ) · D)``, ``nₑ = N·M / (N + M)``, ``Q_KS(λ) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²}``
    (``scipy.special.kolmogorov``). Within 0.015 of ``scipy.stats.kstwo.sf(D, round(nₑ))`` for windows of 100
    rows, 0.005 from 1,000 and 0.002 from 10,000 rows, at a thousandth of its cost (see docs/statistics.md).
    Reference: Stephens (1970), JRSS B 32, 115–122; Press et al., Numerical Recipes (3rd ed.), §14.3.3.
    """
    d = np.asarray(statistic, dtype=np.float64)
    ne = np.asarray(n, dtype=np.float64) * np.asarray(m, dtype=np.float64) / (np.asarray(n) + np.asarray(m))
    root = np.sqrt(ne)
    return np.clip(scipy.special.kolmogorov((root + 0.12 + 0.11 / root) * d), 0.0, 1.0)  # type: ignore[no-any-return]


def adjust_pvalues(pvalues: ArrayLike, method: str) -> FloatArray:
    """p-values corrected for testing ``m`` features at once.

    * ``fdr`` — Benjamini–Hochberg: ``p̃_(i) = min_{j ≥ i} min(1, m · p_(j) / j)`` over the ascending order;
      controls the false discovery rate at α (Benjamini & Hochberg 1995, JRSS B 57, 289–300).
      Equal to ``scipy.stats.false_discovery_control(p, method="bh")``.
    * ``bonferroni`` — ``min(1, m · p)``; controls the family-wise error rate.
    * ``none`` — unchanged.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.size
    if method == "none" or m == 0:
        return p.copy()
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    if method != "fdr":
        raise ValueError(f"unknown correction {method!r}")
    descending = np.argsort(p, kind="stable")[::-1]
    ranks = np.arange(m, 0, -1, dtype=np.float64)
    adjusted = np.minimum.accumulate(p[descending] * m / ranks)
    out = np.empty(m, dtype=np.float64)
    out[descending] = np.minimum(adjusted, 1.0)
    return out


@functools.lru_cache(maxsize=4096)
def chi2_critical(alpha: float, tests: int, bins: int) -> float:
    """The chi-square critical value a binned column's statistic must exceed at ``α`` with Bonferroni over ``m``
    tests: ``χ²⁻¹(1 − α/m; k − 1)`` for a column of ``k`` bins (scipy's ``chi2.isf(α/m, k − 1)``).

    What the pooled rules compare a column's pooled PSI statistic with (:mod:`alerts.pooling`); the exporter
    publishes it per column, so the rules need no model's settings.

    Reference: Bonferroni, *Teoria statistica delle classi e calcolo delle probabilità* (1936); the chi-square
    quantile via ``scipy.special.chdtri``.
    """
    return float(scipy.special.chdtri(bins - 1, alpha / max(tests, 1)))
