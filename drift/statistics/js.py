"""The Jensen–Shannon distance of a column's binned distributions."""

from __future__ import annotations

import math

import numpy as np

from ..stats import FloatArray
from .registry import BOTH, Output, Panel, Statistic, register
from .window import BinnedWindow


def js_distance(window: BinnedWindow) -> dict[str, FloatArray]:
    """``JS = sqrt((KL(p ‖ m) + KL(q ‖ m)) / 2 / ln 2)``, ``m = (p + q) / 2``, over the smoothed shares of the PSI
    bins: ``scipy.spatial.distance.jensenshannon(p, q, base=2)``, in [0, 1].
    Reference: Endres & Schindelin (2003), IEEE Trans. Inf. Theory 49, 1858–1860.
    """
    p, q = window.ref.shares, window.shares
    mid = (p + q) / 2.0
    divergence = window.per_column(p * np.log(p / mid) + q * np.log(q / mid))
    return {"js_distance": np.sqrt(np.maximum(divergence / 2.0 / math.log(2.0), 0.0))}


register(
    Statistic(
        name="js",
        title="Jensen–Shannon distance",
        order=40,
        applies_to=BOTH,
        outputs=(Output("js_distance", "Jensen-Shannon distance (base 2) of the binned distributions."),),
        compute=js_distance,
        formula="`scipy.spatial.distance.jensenshannon(p_ref, p_cur, base=2)` over the smoothed shares",
        reference="Endres & Schindelin (2003)",
        panel=Panel(
            "Jensen-Shannon distance",
            "Jensen-Shannon distance (base 2, 0 = identical, 1 = disjoint) of each feature's binned distribution.",
            max_value=1,
        ),
    )
)
