"""Drift statistics: small pure functions over numpy arrays and bin counts.

Every function here implements one formula of docs/statistics.md, so a
user can reproduce each number the exporter serves with numpy and scipy alone.

Notation: ``r`` is a reference column (N values), ``c`` the current window's column (M values), ``B`` the
requested number of bins, ``k`` the actual number of bins.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.special
import scipy.stats
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# When scipy's exact KS p-value fails numerically it falls back to the asymptotic one and says so each time; the
# fallback is the documented behaviour we reproduce, so the warning is only noise in a service's log.
warnings.filterwarnings("ignore", message="ks_2samp: Exact calculation unsuccessful", category=RuntimeWarning)

#: scipy.stats.ks_2samp(method="auto") uses the exact distribution up to this sample size, the asymptotic above.
KS_EXACT_MAX_N = 10_000


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


def psi_pvalue(psi_value: float, n_reference: int, n_current: int, nbins: int) -> float:
    """Sample-size-aware p-value of a PSI: ``chi2.sf(PSI / (1/N + 1/M), k − 1)``.

    Under no drift, ``PSI ≈ (1/N + 1/M) · χ²(k − 1)`` (Yurdakul 2018), so this p-value keeps the false-alarm rate
    near α at every window size, where a fixed PSI threshold flags noise in small windows.
    """
    if n_reference <= 0 or n_current <= 0 or nbins < 2:
        return 1.0
    scale = 1.0 / n_reference + 1.0 / n_current
    return float(scipy.special.chdtrc(nbins - 1, psi_value / scale))  # = scipy.stats.chi2.sf, without its overhead


def js_distance(reference_counts: ArrayLike, current_counts: ArrayLike) -> float:
    """Jensen–Shannon distance in bits of the smoothed shares, as ``scipy.spatial.distance.jensenshannon(p, q, 2)``.

    ``JS = sqrt((KL(p ‖ m) + KL(q ‖ m)) / 2 / ln 2)`` with ``m = (p + q) / 2``; in [0, 1].
    Reference: Endres & Schindelin (2003), "A new metric for probability distributions", IEEE Trans. Inf. Theory.
    """
    p, q = shares(reference_counts), shares(current_counts)
    m = (p + q) / 2.0
    divergence = (np.sum(p * np.log(p / m)) + np.sum(q * np.log(q / m))) / 2.0 / math.log(2.0)
    return math.sqrt(max(float(divergence), 0.0))


def ks_2samp(
    reference_sorted: FloatArray, current: FloatArray, *, current_is_sorted: bool = False
) -> tuple[float, float]:
    """Two-sample Kolmogorov–Smirnov test, two-sided: ``(D, p)`` equal to ``scipy.stats.ks_2samp(r, c)``.

    ``D = sup_x |F_r(x) − F_c(x)|`` over the empirical CDFs, evaluated at every sample point. Like scipy's
    ``method="auto"``, the p-value is exact when both samples have at most 10,000 values (scipy computes it) and
    otherwise Smirnov's asymptotic ``kstwo.sf(D, round(N·M / (N + M)))``. That branch is computed here with the same
    integer counts and divisions as scipy (:func:`ks_statistic`), but on the presorted reference, so an evaluation
    only sorts the window.
    Reference: Hodges (1958), "The significance probability of the Smirnov two-sample test", Ark. Mat. 3, 469–486.
    """
    n1, n2 = reference_sorted.size, current.size
    if n1 == 0 or n2 == 0:
        raise ValueError("ks_2samp needs values in both samples")
    if max(n1, n2) <= KS_EXACT_MAX_N:
        result = scipy.stats.ks_2samp(reference_sorted, current)
        return float(result.statistic), float(result.pvalue)
    cur = current if current_is_sorted else np.sort(current)
    statistic = ks_statistic(reference_sorted, cur)
    m, n = sorted((float(n1), float(n2)), reverse=True)
    pvalue = float(np.clip(scipy.stats.kstwo.sf(statistic, np.round(m * n / (m + n))), 0.0, 1.0))
    return statistic, pvalue


def ks_statistic(reference_sorted: FloatArray, current_sorted: FloatArray) -> float:
    """``D = sup_x |F_r(x) − F_c(x)|`` of two sorted samples, bit for bit what scipy.stats.ks_2samp computes.

    scipy evaluates ``#r ≤ x / N − #c ≤ x / M`` at all N + M points. Between two consecutive window values F_c is
    constant, so among the reference points there F_r − F_c peaks at the last one (``#r < c_k``) and F_c − F_r at
    the window value before them; evaluating only those 2M candidates finds the same extreme, from the same
    integers, in O(M log N) instead of O((N + M) log(N + M)).
    """
    n1, n2 = reference_sorted.size, current_sorted.size
    ref_le = np.searchsorted(reference_sorted, current_sorted, side="right")  # #r ≤ c_k
    ref_lt = np.searchsorted(reference_sorted, current_sorted, side="left")  # #r < c_k
    cur_le, cur_lt = right_ranks(current_sorted), left_ranks(current_sorted)
    at_current = ref_le / n1 - cur_le / n2
    below_current = ref_lt / n1 - cur_lt / n2
    d_plus = max(float(at_current.max()), float(below_current.max()))
    d_minus = float(-at_current.min())
    return max(d_plus, d_minus, 0.0)


def left_ranks(ordered: FloatArray) -> IntArray:
    """``searchsorted(x, x, side="left")`` of a sorted array in O(n): for each value, how many values are < it."""
    if ordered.size == 0:
        return np.empty(0, dtype=np.int64)
    group_starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    sizes = np.diff(np.append(group_starts, ordered.size))
    return np.repeat(group_starts, sizes).astype(np.int64, copy=False)


def right_ranks(ordered: FloatArray) -> IntArray:
    """``searchsorted(x, x, side="right")`` of a sorted array in O(n): for each value, how many values are ≤ it."""
    if ordered.size == 0:
        return np.empty(0, dtype=np.int64)
    group_ends = np.flatnonzero(np.append(ordered[1:] != ordered[:-1], True))
    sizes = np.diff(np.append(-1, group_ends))
    return np.repeat(group_ends + 1, sizes).astype(np.int64, copy=False)


def finite_bin_counts(values: FloatArray, edges: FloatArray) -> tuple[IntArray, int]:
    """``(counts per bin of the finite values, how many are not finite)``, as :func:`bin_counts` of the finite ones.

    Sorts the values and cuts the sorted array at the edges: numpy's vectorised sort makes this several times faster
    than looking each value up with ``searchsorted``. NaN and +∞ sort last and −∞ first, so the finite values are one
    slice of the sorted array, found by the same cut at −DBL_MAX and +∞ (:func:`cut_points`).
    """
    return counts_at_cuts(np.sort(values), cut_points(edges))


def cut_points(edges: FloatArray) -> FloatArray:
    """``[−DBL_MAX, *edges, +∞]``: where :func:`counts_at_cuts` cuts a sorted column."""
    return np.concatenate(([-np.finfo(np.float64).max], edges, [np.inf]))


def counts_at_cuts(ordered: FloatArray, cuts: FloatArray) -> tuple[IntArray, int]:
    """:func:`finite_bin_counts` of an already sorted column, given its :func:`cut_points`."""
    bounds = np.searchsorted(ordered, cuts, side="left")
    return np.diff(bounds), int(ordered.size - (bounds[-1] - bounds[0]))


def binned_ks(reference_counts: ArrayLike, current_counts: ArrayLike) -> tuple[float, float]:
    """Kolmogorov–Smirnov from counts over the same fine bins: ``(D_b, p)``.

    ``D_b = max_j |R_j / N − C_j / M|`` over the cumulative counts ``R_j``, ``C_j`` at each bin edge: the exact
    two-sample statistic evaluated at the edges only, so ``D_b ≤ D ≤ D_b + max_j max(r_j / N, c_j / M)`` (inside a
    bin both empirical CDFs move by at most that bin's share). The p-value is :func:`ks_pvalue` of ``D_b``; as
    ``D_b ≤ D`` it is never smaller than the p-value of the exact statistic, so the test stays at or below α.
    """
    r = np.cumsum(np.asarray(reference_counts, dtype=np.float64))
    c = np.cumsum(np.asarray(current_counts, dtype=np.float64))
    n, m = r[-1], c[-1]
    if n <= 0 or m <= 0:
        raise ValueError("binned_ks needs counts in both samples")
    statistic = float(np.max(np.abs(r / n - c / m)))
    return statistic, float(ks_pvalue(statistic, n, m))


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


def chi2_test(reference_counts: ArrayLike, current_counts: ArrayLike) -> tuple[float, float]:
    """Chi-square test of homogeneity: ``scipy.stats.chi2_contingency([ref, cur])`` over the bins whose total is > 0.

    Returns ``(statistic, p-value)``. scipy applies Yates' continuity correction when only two bins remain
    (one degree of freedom); with a single non-empty bin there is nothing to test and the p-value is 1.
    """
    table = np.vstack([np.asarray(reference_counts), np.asarray(current_counts)]).astype(np.float64)
    if table[0].sum() <= 0 or table[1].sum() <= 0:
        raise ValueError("chi2_test needs counts in both samples")
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    result = scipy.stats.chi2_contingency(table)
    return float(result.statistic), float(result.pvalue)


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
