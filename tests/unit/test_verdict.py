"""driftline's verdict section: the bars are the rows in driftline's PSI bins (checked against pandas' own counting),
the order is by evidence, and each decision reads as the statistics decided it."""

from __future__ import annotations

import numpy as np

import drift
from drift.evaluation import ColumnDrift
from drift.reference.columns import CategoricalProfile
from drift.verdict import DRIFTED, STABLE, UNDECIDED, decision, evidence_order, verdict_section, window_bins
from tests.support import churn_frame, model_config


def test_the_bars_are_the_bins_the_statistics_used() -> None:
    """Every valid row is in a bar, the reference's bars are the profile's counts, and the PSI transcribed from the
    bars (Jeffreys-smoothed shares, Σ (c − r) ln(c / r)) is the PSI the verdict reports."""
    model = model_config()
    profile = drift.build_profile(churn_frame(4000, seed=1), model)
    current = churn_frame(1500, seed=2, shift=0.5)
    bins = window_bins(profile, model, current)
    result = drift.evaluate(profile, current, model)
    assert set(bins) == {c.name for c in model.columns}
    for name, column in bins.items():
        values = current[name]
        assert int(column.counts.sum()) + column.missing == len(values)
        profiled = profile.features.get(name) or profile.outputs[name]
        assert column.reference.tolist() == profiled.counts.tolist()
        k = column.counts.size
        cur = (column.counts + 0.5) / (column.counts.sum() + 0.5 * k)
        ref = (column.reference + 0.5) / (column.reference.sum() + 0.5 * k)
        psi = float(np.sum((cur - ref) * np.log(cur / ref)))
        reported = (result.features.get(name) or result.outputs[name]).psi
        assert reported is not None and abs(psi - reported) < 1e-9, name
    contract = profile.features["contract"]
    assert isinstance(contract, CategoricalProfile)
    counted = current["contract"].value_counts()
    assert bins["contract"].counts.tolist() == [int(counted.get(c, 0)) for c in contract.categories] + [0]


def _column(name: str, drifted: bool, adjusted: float | None, psi: float) -> ColumnDrift:
    statistics = {"psi": psi} if adjusted is None else {"psi": psi, "ks_pvalue": adjusted}
    return ColumnDrift(name, "numeric", 100, 0.0, statistics, adjusted_pvalue=adjusted, drifted=drifted)


def test_columns_are_ordered_by_evidence_and_decided_as_the_statistics_say() -> None:
    columns = {
        "a": _column("a", False, 0.5, 0.01),
        "b": _column("b", True, 1e-3, 0.2),
        "c": _column("c", True, 1e-9, 0.15),
        "d": _column("d", False, None, 0.4),  # too few rows for a decision
        "e": _column("e", False, 1e-6, 0.05),  # significant but small: not drift
    }
    assert [c.name for c in evidence_order(columns)] == ["c", "b", "e", "a", "d"]
    assert [decision(columns[n]) for n in "abcde"] == [STABLE, DRIFTED, DRIFTED, UNDECIDED, STABLE]


def test_the_section_leads_with_the_dataset_decision() -> None:
    model = model_config(drift_share=0.25)  # churn_frame's shift moves one feature of four
    profile = drift.build_profile(churn_frame(4000, seed=1), model)
    for shift, headline in ((0.0, "NO DATASET DRIFT"), (2.0, "DATASET DRIFTED")):
        current = churn_frame(1500, seed=2, shift=shift)
        result = drift.evaluate(profile, current, model)
        page = verdict_section(result, window_bins(profile, model, current), profile, model.drift)
        assert page.index(headline) < page.index('id="driftline-features"')
