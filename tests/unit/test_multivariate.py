"""Multivariate drift by PCA reconstruction (drift.multivariate): the error against scikit-learn's PCA, a flipped
correlation that no univariate test sees, and the false-alarm rate over no-drift windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

import drift
from drift.multivariate import fit_encoding, fit_reconstruction, reconstruction_drift, reconstruction_errors

CATEGORIES = ("a", "b", "c")


def correlated(rng: np.random.Generator, rows: int, rho: float) -> dict[str, np.ndarray]:
    """x and y standard normal with correlation rho, z independent, a category independent of all."""
    x = rng.normal(size=rows)
    y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=rows)
    return {"x": x, "y": y, "z": rng.normal(size=rows), "kind": rng.choice(np.array(CATEGORIES, dtype=object), rows)}


def model_of(reference: dict[str, np.ndarray], variance: float = 0.65):  # type: ignore[no-untyped-def]
    numeric = {k: reference[k] for k in ("x", "y", "z")}
    encoding = fit_encoding(numeric, {"kind": (reference["kind"], CATEGORIES)})
    return fit_reconstruction(encoding, encoding.raw(reference, len(reference["x"])), variance)


def test_the_reconstruction_error_is_scikit_learns() -> None:
    rng = np.random.default_rng(1)
    reference = correlated(rng, 4000, 0.8)
    model = model_of(reference)
    raw = model.encoding.raw(reference, 4000)
    # scikit-learn: the same encoding, standardised by StandardScaler, PCA keeping 65% of the reference's variance
    z = StandardScaler().fit(raw).transform(raw)
    pca = PCA(n_components=0.65, svd_solver="full").fit(z)
    window = correlated(rng, 500, -0.8)
    z_window = StandardScaler().fit(raw).transform(model.encoding.raw(window, 500))
    expected = np.linalg.norm(z_window - pca.inverse_transform(pca.transform(z_window)), axis=1)
    got = reconstruction_errors(model.encoding.standardise(model.encoding.raw(window, 500)), model.mean,
                                model.components)  # fmt: skip
    assert model.components.shape[0] == pca.n_components_
    assert model.variance_kept == pytest.approx(pca.explained_variance_ratio_.sum(), rel=1e-9)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_a_flipped_correlation_is_multivariate_drift_that_no_column_test_sees() -> None:
    rng = np.random.default_rng(7)
    reference = correlated(rng, 20_000, 0.8)
    model = model_of(reference)
    window = correlated(rng, 2000, -0.8)  # every marginal the same, the relation reversed
    flipped = reconstruction_drift(model, model.encoding.raw(window, 2000), alpha=0.05)
    assert flipped.drifted and flipped.pvalue < 1e-6 and flipped.error > flipped.upper
    features = [{"name": n, "type": "numeric"} for n in ("x", "y", "z")] + [{"name": "kind", "type": "categorical"}]
    config = drift.parse_config(
        {"models": [{"name": "m", "reference": {"data": "r.csv", "profile": "p.json"}, "features": features}]}
    ).models[0]
    profile = drift.build_profile(pd.DataFrame(reference), config)
    result = drift.evaluate(profile, pd.DataFrame(window), config)
    assert not result.drifted and not any(column.drifted for column in result.features.values())


@pytest.mark.slow
def test_the_false_alarm_rate_over_no_drift_windows_is_at_most_alpha() -> None:
    rng = np.random.default_rng(2026)
    model = model_of(correlated(rng, 20_000, 0.8))
    for rows in (200, 2000):
        alarms = sum(
            reconstruction_drift(model, model.encoding.raw(w, rows), alpha=0.05).drifted
            for w in (correlated(rng, rows, 0.8) for _ in range(300))
        )
        print(f"\nreconstruction drift, {rows}-row windows: {alarms}/300 no-drift windows flagged at alpha 0.05")
        assert alarms / 300 <= 0.05


def test_missing_and_unseen_values_count_as_the_reference_centre() -> None:
    rng = np.random.default_rng(3)
    model = model_of(correlated(rng, 2000, 0.5))
    rows = {"x": np.array([np.nan]), "y": np.array([np.nan]), "z": np.array([np.nan]),
            "kind": np.array(["never-seen"], dtype=object)}  # fmt: skip
    z = model.encoding.standardise(model.encoding.raw(rows, 1))
    np.testing.assert_allclose(z[0, :3], 0.0)  # numeric: imputed at the mean
    assert np.all(z[0, 3:] < 0)  # no category: every indicator below its reference share


def test_the_profile_carries_the_pca_and_evaluate_reports_multivariate_drift(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Configured per model (multivariate:), fitted at profile time on a bounded sample of whole reference rows,
    stored in the profile (which survives a save and load unchanged, version included), reported by evaluate()."""
    rng = np.random.default_rng(5)
    features = [{"name": n, "type": "numeric"} for n in ("x", "y", "z")] + [{"name": "kind", "type": "categorical"}]
    model = {"name": "m", "reference": {"data": "r.csv", "profile": "p.json"}, "features": features,
             "multivariate": {"variance": 0.65, "reference_rows": 5000}}  # fmt: skip
    config = drift.parse_config({"models": [model]}).models[0]
    plain = drift.parse_config({"models": [{**model, "multivariate": None}]}).models[0]
    reference = pd.DataFrame(correlated(rng, 20_000, 0.8))
    profile = drift.build_profile(reference, config)
    assert profile.multivariate is not None and profile.multivariate.error_rows == 5000  # the sample, not every row
    assert drift.build_profile(reference, plain).multivariate is None
    profile.save(str(tmp_path / "p.json"))
    loaded = drift.ReferenceProfile.load(str(tmp_path / "p.json"))
    assert loaded.version == profile.version and loaded.multivariate is not None
    assert loaded.multivariate.to_dict() == profile.multivariate.to_dict()
    flipped = drift.evaluate(loaded, pd.DataFrame(correlated(rng, 2000, -0.8)), config)
    steady = drift.evaluate(loaded, pd.DataFrame(correlated(rng, 2000, 0.8)), config)
    assert flipped.multivariate is not None and flipped.multivariate.drifted and not flipped.drifted
    assert steady.multivariate is not None and not steady.multivariate.drifted
    assert drift.evaluate(drift.build_profile(reference, plain), reference.head(100), plain).multivariate is None
