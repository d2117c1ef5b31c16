"""drift.evaluate: every number equals the formulas of docs/statistics.md computed independently, and the decision
follows them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.spatial.distance
import scipy.stats

import drift
from tests.support import churn_frame, model_config, oracles, write_config_dict


def independent_numbers(ref: pd.Series, cur: pd.Series, numeric: bool, bins: int = 10) -> dict[str, float]:
    """The statistics of docs/statistics.md for one column, from the formulas with numpy/scipy and nothing of drift."""
    r = pd.to_numeric(ref, errors="coerce").dropna().to_numpy() if numeric else ref.dropna().to_numpy()
    c = pd.to_numeric(cur, errors="coerce").dropna().to_numpy() if numeric else cur.dropna().to_numpy()
    if numeric:
        edges = np.unique(np.quantile(r, np.linspace(0, 1, bins + 1)[1:-1]))
        ref_counts = np.bincount(np.searchsorted(edges, r, side="right"), minlength=edges.size + 1)
        cur_counts = np.bincount(np.searchsorted(edges, c, side="right"), minlength=edges.size + 1)
    else:
        categories = sorted(pd.Series(r).value_counts().items(), key=lambda kv: (-kv[1], kv[0]))[:50]
        names = [k for k, _ in categories]
        ref_counts = np.array([np.sum(r == k) for k in names] + [np.sum(~np.isin(r, names))])
        cur_counts = np.array([np.sum(c == k) for k in names] + [np.sum(~np.isin(c, names))])
    k = ref_counts.size
    p_ref = (ref_counts + 0.5) / (ref_counts.sum() + 0.5 * k)
    p_cur = (cur_counts + 0.5) / (cur_counts.sum() + 0.5 * k)
    psi = float(np.sum((p_cur - p_ref) * np.log(p_cur / p_ref)))
    out = {
        "psi": psi,
        "psi_pvalue": float(scipy.stats.chi2.sf(psi / (1 / r.size + 1 / c.size), k - 1)),
        "js_distance": float(scipy.spatial.distance.jensenshannon(p_ref, p_cur, base=2)),
        "missing_ratio": float(cur.isna().mean()),
    }
    if numeric:
        out["ks_statistic"], out["ks_pvalue"] = oracles.binned_ks(r, c)
        ne = r.size * c.size / (r.size + c.size)
        assert abs(out["ks_pvalue"] - scipy.stats.kstwo.sf(out["ks_statistic"], round(ne))) < 0.015  # documented
    else:
        keep = (ref_counts + cur_counts) > 0
        chi2 = scipy.stats.chi2_contingency(np.vstack([ref_counts, cur_counts])[:, keep])
        out["chi2_pvalue"] = float(chi2.pvalue)
    return out


@pytest.mark.parametrize("window", [300, 12_000])
def test_every_statistic_equals_the_formulas(window: int) -> None:
    reference = churn_frame(15_000, seed=10)
    current = churn_frame(window, seed=11, shift=0.05)
    current.loc[::9, "monthly_charges"] = np.nan
    current.loc[::13, "contract"] = None
    current.loc[5, "contract"] = "three-year"  # unseen: goes to __other__
    model = model_config()
    result = drift.evaluate(drift.build_profile(reference, model), current, model)
    assert result.window_samples == window
    for column in model.columns:
        expected = independent_numbers(reference[column.name], current[column.name], column.is_numeric)
        got = result.features.get(column.name) or result.outputs[column.name]
        for field, value in expected.items():
            assert getattr(got, field) == pytest.approx(value, rel=1e-9, abs=1e-12), (column.name, field)
        if column.is_numeric:
            assert got.chi2_pvalue is None
        else:
            assert got.ks_statistic is None and got.ks_pvalue is None


def test_decision_corrects_pvalues_and_requires_a_large_enough_psi() -> None:
    reference = churn_frame(20_000, seed=20)
    current = churn_frame(5_000, seed=21)
    current["monthly_charges"] = current["monthly_charges"] * 1.3  # a real shift
    current["tenure"] = current["tenure"] + 0.3  # significant but tiny: PSI below the threshold
    model = model_config()
    result = drift.evaluate(drift.build_profile(reference, model), current, model)
    f = result.features
    raw = [f[c.name].pvalue for c in model.features]
    expected = scipy.stats.false_discovery_control(raw, method="bh")
    assert [f[c.name].adjusted_pvalue for c in model.features] == pytest.approx(list(expected), rel=1e-12)
    assert f["monthly_charges"].drifted
    assert f["tenure"].psi < 0.1 and not f["tenure"].drifted
    assert not f["contract"].drifted and not f["internet_service"].drifted
    assert result.drifted_features == ("monthly_charges",)
    assert result.drift_share == 0.25 and not result.drifted
    strict = model_config(drift_share=0.25)
    assert drift.evaluate(drift.build_profile(reference, strict), current, strict).drifted


@pytest.mark.parametrize("correction", ["bonferroni", "none"])
def test_other_corrections(correction: str) -> None:
    reference, current = churn_frame(5_000, seed=30), churn_frame(500, seed=31, shift=0.1)
    model = model_config(correction=correction)
    result = drift.evaluate(drift.build_profile(reference, model), current, model)
    for name, column in result.features.items():
        assert column.pvalue is not None, name
        factor = len(result.features) if correction == "bonferroni" else 1
        assert column.adjusted_pvalue == pytest.approx(min(1.0, column.pvalue * factor), rel=1e-12)


def test_empty_window_has_counts_but_no_drift_values() -> None:
    reference = churn_frame(2_000)
    model = model_config()
    profile = drift.build_profile(reference, model)
    result = drift.evaluate(profile, reference.iloc[:0], model)
    assert result.window_samples == 0 and result.drift_share is None and not result.drifted
    for column in result.features.values():
        assert column.psi is None and column.missing_ratio is None and not column.drifted


def test_a_column_with_only_missing_values_is_reported_as_missing() -> None:
    reference = churn_frame(2_000)
    model = model_config()
    current = churn_frame(300, seed=4)
    current["tenure"] = "oops"  # wrong type in every row
    result = drift.evaluate(drift.build_profile(reference, model), current, model)
    tenure = result.features["tenure"]
    assert tenure.missing_ratio == 1.0 and tenure.samples == 0 and tenure.psi is None and not tenure.drifted
    assert result.drift_share == 0.0  # computed over the three features that could be tested


def test_outputs_are_optional_in_the_current_data() -> None:
    reference = churn_frame(2_000)
    model = model_config()
    result = drift.evaluate(drift.build_profile(reference, model), reference.drop(columns=["churn_probability"]), model)
    assert dict(result.outputs) == {}
    with pytest.raises(drift.DataError, match="no column 'tenure'"):
        drift.evaluate(drift.build_profile(reference, model), reference.drop(columns=["tenure"]), model)


def test_evaluate_window_takes_plain_columns_like_the_exporter() -> None:
    reference = churn_frame(5_000)
    current = churn_frame(800, seed=9, shift=0.2)
    model = write_config_dict().models[0]
    profile = drift.build_profile(reference, model)
    from_frame = drift.evaluate(profile, current, model)
    from_columns = drift.evaluate_window(
        profile,
        model.drift,
        {c.name: current[c.name].tolist() for c in model.features},
        {"churn_probability": current["churn_probability"].to_numpy()},
    )
    assert from_columns == from_frame
    with pytest.raises(drift.DataError, match="different lengths"):
        drift.evaluate_window(profile, model.drift, {c.name: [1.0] * (i + 1) for i, c in enumerate(model.features)})
