"""The pooled decision's formula at scale: 20,000 simulated quiet windows per size, transcribed with numpy and scipy
(tests/integration/test_pooling_calibration.py shows the generated PromQL decides exactly as this transcription).
Bonferroni over five features at α = 5% must keep the share of windows with any feature flagged within α."""

from __future__ import annotations

import numpy as np
import pytest

from drift.stats import chi2_critical
from tests.support.replicas import BINS, pooled_flags

WINDOWS = 20_000
FEATURES = 5
ALPHA = 0.05


@pytest.mark.parametrize("rows", [100, 1_000, 10_000])
def test_the_pooled_decision_keeps_its_false_alarm_rate(rows: int) -> None:
    rng = np.random.default_rng(rows)
    shares = np.full(BINS, 1 / BINS)
    reference = rng.multinomial(20_000, shares, size=(WINDOWS, FEATURES)).astype(float)
    current = sum(rng.multinomial(half, shares, size=(WINDOWS, FEATURES)) for half in (rows // 2, rows - rows // 2))
    flagged = pooled_flags(reference, np.asarray(current, dtype=float), ALPHA)
    rate = flagged.any(axis=1).mean()
    print(f"{rows} rows: any feature flagged in {rate:.2%} of {WINDOWS} quiet windows")
    assert rate <= ALPHA


def test_critical_values_match_the_printed_tables() -> None:
    """χ² upper percentage points from the printed tables (NIST/SEMATECH e-Handbook, table 1.3.6.7.4), with the
    Bonferroni split: α/m per test."""
    assert chi2_critical(0.05, 1, 10) == pytest.approx(16.919, abs=1e-3)  # χ²₀.₉₅(9)
    assert chi2_critical(0.01, 1, 2) == pytest.approx(6.635, abs=1e-3)  # χ²₀.₉₉(1)
    assert chi2_critical(0.005, 5, 5) == pytest.approx(18.467, abs=1e-3)  # α/m = 0.001: χ²₀.₉₉₉(4)
