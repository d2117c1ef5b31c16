"""The chi-square test of homogeneity of a categorical column's bins."""

from __future__ import annotations

import numpy as np
import scipy.special

from ..stats import FloatArray
from .registry import CATEGORICAL, Output, Statistic, register
from .window import BinnedWindow


def chi2(window: BinnedWindow) -> dict[str, FloatArray]:
    """``scipy.stats.chi2_contingency([ref_counts, cur_counts])`` of every column over its PSI bins: bins empty in
    both samples dropped, Yates' correction at one degree of freedom, p-value 1 with a single non-empty bin.
    Reference: Pearson (1900); Yates (1934), JRSS Suppl. 1, 217–235.
    """
    ref, current, samples = window.ref, window.psi_counts, window.samples
    totals = ref.psi_counts + current
    used = totals > 0
    grand = (ref.rows + samples)[ref.psi_segment]
    expected_ref = ref.rows[ref.psi_segment] * totals / grand
    expected_cur = samples[ref.psi_segment] * totals / grand
    dof = window.per_column(used.astype(np.float64)) - 1
    yates = (dof == 1)[ref.psi_segment]
    terms = np.zeros_like(totals)
    for observed, expected in ((ref.psi_counts, expected_ref), (current, expected_cur)):
        deviation = np.abs(observed - expected)
        deviation = np.where(yates, deviation - np.minimum(0.5, deviation), deviation)
        terms += np.where(used, deviation**2 / np.where(used, expected, 1.0), 0.0)
    statistic = window.per_column(terms)
    pvalue = np.where(dof >= 1, scipy.special.chdtrc(np.maximum(dof, 1), statistic), 1.0)
    return {"chi2_statistic": np.where(dof >= 1, statistic, 0.0), "chi2_pvalue": pvalue}


register(
    Statistic(
        name="chi2",
        title="Chi-square test",
        order=30,
        applies_to=frozenset((CATEGORICAL,)),
        outputs=(
            Output("chi2_statistic"),
            Output("chi2_pvalue", "Chi-square test p-value (categorical features)."),
        ),
        compute=chi2,
        formula="`scipy.stats.chi2_contingency([ref_counts, cur_counts])` over the bins whose total is > 0",
        reference="Pearson (1900); Yates (1934)",
    )
)
