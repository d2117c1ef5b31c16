"""Population Stability Index and its sample-size-aware p-value, over each column's PSI bins."""

from __future__ import annotations

import numpy as np
import scipy.special

from ..stats import FloatArray
from .registry import BOTH, Output, Statistic, register
from .window import BinnedWindow


def psi(window: BinnedWindow) -> dict[str, FloatArray]:
    """``PSI = Σ (p_cur − p_ref) · ln(p_cur / p_ref)`` over the smoothed shares, and its p-value
    ``chi2.sf(PSI / (1/N + 1/M), k − 1)`` (1 with fewer than two bins).

    PSI is the symmetrised Kullback–Leibler divergence (Jeffreys divergence) of the two binned distributions, ≥ 0.
    Under no drift ``PSI ≈ (1/N + 1/M) · χ²(k − 1)``, so the p-value keeps false alarms near α at every window size,
    where a fixed PSI threshold flags noise in small windows. Reference: Yurdakul, B. (2018), "Statistical
    properties of population stability index", Western Michigan University.
    """
    ref, p_ref, p_cur = window.ref, window.ref.shares, window.shares
    value = np.maximum(window.per_column((p_cur - p_ref) * np.log(p_cur / p_ref)), 0.0)
    scale = 1 / ref.rows + 1 / window.samples
    pvalue = np.where(ref.bins >= 2, scipy.special.chdtrc(ref.bins - 1, value / scale), 1.0)
    return {"psi": value, "psi_pvalue": pvalue}


register(
    Statistic(
        name="psi",
        title="Population Stability Index",
        order=10,
        applies_to=BOTH,
        outputs=(
            Output("psi", "Population Stability Index of the feature, current window vs reference."),
            Output("psi_pvalue", "Sample-size-aware p-value of the feature's PSI."),
        ),
        compute=psi,
        formula="`PSI = Σ (p_cur − p_ref) · ln(p_cur / p_ref)` over the smoothed shares of the PSI bins; p-value "
        "`chi2.sf(PSI / (1/N + 1/M), k − 1)`",
        reference="Yurdakul (2018), Statistical properties of population stability index",
    )
)
