"""The two-sample Kolmogorov–Smirnov test of a numeric column, from its fine-bin counts."""

from __future__ import annotations

import numpy as np

from .. import stats
from ..stats import FloatArray
from .registry import NUMERIC, Output, Statistic, register
from .window import BinnedWindow


def ks(window: BinnedWindow) -> dict[str, FloatArray]:
    """``D_b = max_j |R_j/N − C_j/M|`` over the cumulative shares at each fine-bin edge — the exact statistic
    evaluated at the edges, so ``D_b ≤ D`` — and its p-value :func:`drift.stats.ks_pvalue` (Kolmogorov's limit with
    Stephens' correction at ``nₑ = N·M/(N + M)``), which is therefore conservative.
    Reference: Stephens (1970), JRSS B 32, 115–122.
    """
    ref = window.ref
    gap = np.abs(ref.ks_shares - window.fine_cdf)
    d = window.per_column(np.nan_to_num(gap, nan=0.0), np.maximum, over="fine")
    return {"ks_statistic": d, "ks_pvalue": stats.ks_pvalue(d, ref.ks_rows, window.samples)}


register(
    Statistic(
        name="ks",
        title="Kolmogorov–Smirnov test",
        order=20,
        applies_to=frozenset((NUMERIC,)),
        outputs=(
            Output("ks_statistic", "Two-sample Kolmogorov-Smirnov statistic (numeric features)."),
            Output("ks_pvalue", "Kolmogorov-Smirnov p-value (numeric features)."),
        ),
        compute=ks,
        formula="`D_b = max_j |R_j/N − C_j/M|` over the cumulative fine-bin counts; p-value "
        "`kolmogorov((√nₑ + 0.12 + 0.11/√nₑ) · D_b)`, `nₑ = N·M/(N + M)`",
        reference="Stephens (1970), JRSS B 32, 115–122",
    )
)
