"""The Hellinger distance of a column's binned distributions."""

from __future__ import annotations

import numpy as np

from ..stats import FloatArray
from .registry import BOTH, Output, Panel, Statistic, register
from .window import BinnedWindow


def hellinger_distance(window: BinnedWindow) -> dict[str, FloatArray]:
    """``H = sqrt(Σ (√p_ref − √p_cur)² / 2)`` over the PSI bins, with the plain shares ``p = counts / n`` (no
    pseudo-count: H is finite with empty bins), in [0, 1]: 0 for identical distributions, 1 for disjoint ones.
    Equal to ``sqrt(1 − Σ √(p_ref · p_cur))`` (one minus the Bhattacharyya coefficient), a true metric.
    Reference: Hellinger (1909), J. reine angew. Math. 136, 210–271; Le Cam & Yang (2000), Asymptotics in
    Statistics, §3.2.
    """
    ref = window.ref
    p_ref = ref.psi_counts / ref.rows[ref.psi_segment]
    p_cur = window.psi_counts / window.samples[ref.psi_segment]
    squared = window.per_column((np.sqrt(p_ref) - np.sqrt(p_cur)) ** 2) / 2.0
    return {"hellinger_distance": np.sqrt(np.clip(squared, 0.0, 1.0))}


register(
    Statistic(
        name="hellinger",
        title="Hellinger distance",
        order=50,
        applies_to=BOTH,
        outputs=(Output("hellinger_distance", "Hellinger distance of the binned distributions (0 to 1)."),),
        compute=hellinger_distance,
        formula="`H = sqrt(Σ (√p_ref − √p_cur)² / 2)` over the plain shares of the PSI bins",
        reference="Hellinger (1909); Le Cam & Yang (2000)",
        panel=Panel(
            "Hellinger distance",
            "Hellinger distance (0 = identical, 1 = disjoint) of each feature's binned distribution: bounded, "
            "symmetric and finite with empty bins, so it compares across features and window sizes.",
            max_value=1,
        ),
    )
)
