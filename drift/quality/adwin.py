"""Concept drift as a change in the error stream: ADWIN's cut test (Bifet & Gavaldà 2007), vectorised."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..stats import FloatArray


@dataclass(frozen=True)
class ChangeTest:
    """ADWIN's cut test on one sequence: the strongest rise of the error rate and whether it is a change."""

    detected: bool
    split: int | None  # index of the first element of the newer part at the strongest cut
    older_rate: float | None
    newer_rate: float | None


def adwin_change(errors: FloatArray, delta: float = 0.002, min_side: int = 30) -> ChangeTest:
    """ADWIN's test for a change in the mean of a sequence of values in [0, 1] (Bifet & Gavaldà, *Learning from
    Time-Changing Data with Adaptive Windowing*, SDM 2007), one-sided: only a rise of the error rate is a change.

    For every cut of the sequence ``W`` (length ``n``, variance ``σ²``) into an older part ``W₀`` and a newer
    part ``W₁`` of at least ``min_side`` values each, with ``m = 1/(1/n₀ + 1/n₁)`` and ``δ' = δ/n``::

        ε_cut = √((2/m) · σ² · ln(2/δ')) + (2/(3m)) · ln(2/δ')

    (the Bernstein form the paper recommends in practice). A change is detected when ``μ̂₁ − μ̂₀ ≥ ε_cut`` for
    some cut. ``δ' = δ/n`` is the union bound of the paper's Theorem 3.1 over the ``n`` cuts, so a sequence with no
    change is flagged with probability at most ``δ``. Vectorised over all cuts with cumulative sums.
    """
    n = errors.size
    if n < 2 * min_side:
        return ChangeTest(False, None, None, None)
    cut = np.arange(min_side, n - min_side + 1)
    total = np.concatenate(([0.0], np.cumsum(errors)))
    n0 = cut.astype(np.float64)
    n1 = n - n0
    mean0 = total[cut] / n0
    mean1 = (total[n] - total[cut]) / n1
    variance = float(np.var(errors))
    m = 1.0 / (1.0 / n0 + 1.0 / n1)
    log_term = math.log(2.0 * n / delta)
    epsilon = np.sqrt(2.0 / m * variance * log_term) + 2.0 / (3.0 * m) * log_term
    margin = (mean1 - mean0) - epsilon
    best = int(np.argmax(margin))
    return ChangeTest(
        detected=bool(margin[best] >= 0),
        split=int(cut[best]),
        older_rate=float(mean0[best]),
        newer_rate=float(mean1[best]),
    )
