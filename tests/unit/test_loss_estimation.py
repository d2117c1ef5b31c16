"""Regression quality estimated before the labels (direct loss estimation): the loss model's trees against
scikit-learn's own predictions, a hostile tree table refused, the losses and MAPE against scikit-learn's metrics, the
band's coverage on windows like the reference, and the estimate tracking the realised MAE under covariate shift
(bench_estimation.py compares it with NannyML)."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.metrics as skm
from sklearn.ensemble import HistGradientBoostingRegressor

import drift
from drift.quality.loss_model import LEAF_NODES, TREES, LossModels, Trees, fit_trees, losses
from drift.quality.metrics import regression_metrics
from drift.reference.profile import ReferenceProfile
from tests.support.estimation import REGRESSION_SPEC, regression_rows

SPEC = {**REGRESSION_SPEC, "reference": {"data": "r.csv", "profile": "p.json"}}
MODEL = drift.parse_config({"models": [SPEC]}).models[0]


def test_the_trees_predict_what_scikit_learn_predicts_missing_values_included() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5000, 3))
    x[::7, 1] = np.nan
    y = x[:, 0] ** 2 + np.nan_to_num(x[:, 1]) + rng.normal(size=5000)
    ours = fit_trees(x, y)
    theirs = HistGradientBoostingRegressor(
        max_iter=TREES, max_leaf_nodes=LEAF_NODES, early_stopping=False, random_state=0
    ).fit(x, y)
    probe = rng.normal(size=(3000, 3)) * 3
    probe[::5, 0] = np.nan
    probe[::11, 2] = np.nan
    np.testing.assert_allclose(ours.predict(probe), theirs.predict(probe), rtol=0, atol=1e-12)
    again = Trees.from_dict(ours.to_dict(), inputs=3)
    np.testing.assert_array_equal(again.predict(probe), ours.predict(probe))


def test_a_tree_table_that_could_loop_or_read_out_of_range_is_refused() -> None:
    rng = np.random.default_rng(2)
    table = fit_trees(rng.normal(size=(500, 2)), rng.normal(size=500)).to_dict()
    inner = table["leaf"].index(0)
    for field, value in (("left", inner), ("right", 10**9), ("feature", 5), ("roots", [-1])):
        broken = {
            **table,
            field: value if field == "roots" else [*table[field][:inner], value, *table[field][inner + 1 :]],
        }
        with pytest.raises(ValueError, match="not a valid node table"):
            Trees.from_dict(broken, inputs=2)


def test_each_loss_is_the_one_behind_scikit_learns_metric() -> None:
    rng = np.random.default_rng(3)
    y, predicted = rng.normal(size=1000), rng.normal(size=1000)
    y[0] = 0.0  # MAPE's floor at machine epsilon
    found = losses(y, predicted)
    assert found["mae"].mean() == pytest.approx(skm.mean_absolute_error(y, predicted))
    assert np.sqrt(found["rmse"].mean()) == pytest.approx(skm.root_mean_squared_error(y, predicted))
    assert found["mape"].mean() == pytest.approx(skm.mean_absolute_percentage_error(y, predicted))
    assert regression_metrics(y, predicted)["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y, predicted))


def test_the_profile_keeps_the_loss_models_and_the_categories_are_inputs() -> None:
    profile = drift.build_profile(regression_rows(np.random.default_rng(4), 5000), MODEL)
    assert profile.performance is not None and profile.performance.loss_models is not None
    models = profile.performance.loss_models
    assert models.inputs.names == ("x1", "x2", "y_pred", "region")
    assert models.inputs.categorical == (("region", profile.features["region"].categories),)  # type: ignore[union-attr]
    assert set(models.trees) == {"mae", "rmse", "mape"}
    again = ReferenceProfile.from_json(profile.to_json())
    assert again.performance is not None and again.performance.loss_models is not None
    window = regression_rows(np.random.default_rng(5), 500)
    columns = {name: window[name].to_numpy(dtype=object if name == "region" else None) for name in window}
    before, after = models.predict(columns, 500), again.performance.loss_models.predict(columns, 500)
    for name in before:
        np.testing.assert_array_equal(before[name], after[name])
    unseen = {**columns, "region": np.full(500, "east", dtype=object)}  # a category the reference never had: NaN
    assert np.all(np.isfinite(models.predict(unseen, 500)["mae"]))


def test_no_drop_and_the_band_holds_on_windows_like_the_reference() -> None:
    rng = np.random.default_rng(6)
    profile = drift.build_profile(regression_rows(rng, 20_000), MODEL)
    inside = {"mae": 0, "rmse": 0}
    for _ in range(40):
        window = regression_rows(rng, 1000)
        estimated = drift.evaluate(profile, window, MODEL).estimated
        assert estimated is not None and estimated.error_rate is None and not estimated.dropped
        realised = regression_metrics(window["y"].to_numpy(), window["y_pred"].to_numpy())
        for name in inside:
            inside[name] += estimated.lower[name] <= realised[name] <= estimated.upper[name]
    assert all(count >= 0.85 * 40 for count in inside.values()), inside


def test_the_estimate_tracks_the_realised_mae_under_covariate_shift() -> None:
    rng = np.random.default_rng(2026)
    profile = drift.build_profile(regression_rows(rng, 20_000), MODEL)
    errors, realised = [], []
    for step in np.linspace(0.0, 1.0, 8):
        window = regression_rows(rng, 2000, 1.0 + 0.6 * step, 1.5 * step)
        estimated = drift.evaluate(profile, window, MODEL).estimated
        assert estimated is not None and estimated.samples == 2000
        truth = regression_metrics(window["y"].to_numpy(), window["y_pred"].to_numpy())["mae"]
        errors.append(abs(estimated.metrics["mae"] - truth) / truth)
        realised.append(truth)
    assert realised[-1] > 1.8 * realised[0], "the stream degrades the model"
    assert np.mean(errors) < 0.08
    assert estimated.dropped, "the last window's estimated drop is decided"


def test_a_loss_model_of_an_unknown_metric_is_refused() -> None:
    profile = drift.build_profile(regression_rows(np.random.default_rng(7), 1000), MODEL)
    assert profile.performance is not None and profile.performance.loss_models is not None
    d = profile.performance.loss_models.to_dict()
    d["trees"]["r2"] = d["trees"]["mae"]
    with pytest.raises(ValueError, match="must be some of mae, rmse, mape"):
        LossModels.from_dict(d)
