"""Multiclass CBPE against independent oracles: the class calibration against scikit-learn's isotonic regression per
class then normalised, the expected metrics against scikit-learn on every row expanded into one weighted row per
class, the band's coverage under labels drawn from the probabilities it assumes, the config's checks, the profile
round trip, and the estimate tracking the realised accuracy under covariate shift (bench_estimation.py compares it
with NannyML)."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.metrics as skm
from sklearn.isotonic import IsotonicRegression

import drift
from drift.errors import ConfigError
from drift.quality.calibration import fit_class_calibration
from drift.quality.estimation import BAND_DRAWS
from drift.quality.metrics import classification_metrics, ovr_roc_auc
from drift.quality.multiclass import draw_classes, estimated_multiclass_metrics, multiclass_band
from drift.reference.profile import ReferenceProfile
from tests.support.estimation import CLASSES, MULTICLASS_SPEC, multiclass_rows, softmax

SPEC = {**MULTICLASS_SPEC, "reference": {"data": "r.csv", "profile": "p.json"}}
MODEL = drift.parse_config({"models": [SPEC]}).models[0]
rows = multiclass_rows


def test_the_class_calibration_is_isotonic_regression_per_class_then_normalised() -> None:
    frame = rows(np.random.default_rng(1), 20_000)
    scores = frame[[f"p_{c}" for c in CLASSES]].to_numpy()
    ours = fit_class_calibration(CLASSES, scores, frame["y"].to_numpy(dtype=object))
    assert ours is not None
    theirs = np.column_stack([
        IsotonicRegression(out_of_bounds="clip").fit(scores[:, k], frame["y"] == c).predict(scores[:, k])
        for k, c in enumerate(CLASSES)
    ])  # fmt: skip
    expected = theirs / theirs.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(ours(scores), expected, atol=1e-12)
    assert fit_class_calibration(CLASSES, scores, np.full(scores.shape[0], "a", dtype=object)) is None


def test_each_expected_metric_is_scikit_learns_on_rows_weighted_by_their_class_probabilities() -> None:
    """Row i becomes K rows, one per true class t with weight P[i, t], all predicted argmax s[i]: scikit-learn's
    weighted macro metrics of those rows are the expected ones."""
    rng = np.random.default_rng(4)
    scores = softmax(rng.normal(0, 1.5, (2000, 3)))
    probabilities = softmax(np.log(scores) * 0.8 + rng.normal(0, 0.2, (2000, 3)))
    ours = estimated_multiclass_metrics(probabilities, scores)
    n, k = probabilities.shape
    truth = np.tile(np.arange(k), n)
    predicted = np.repeat(scores.argmax(axis=1), k)
    weight = probabilities.ravel()
    assert ours["accuracy"] == pytest.approx(skm.accuracy_score(truth, predicted, sample_weight=weight), abs=1e-12)
    for name, oracle in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
        theirs = oracle(truth, predicted, sample_weight=weight, average="macro", zero_division=0)
        assert ours[name] == pytest.approx(theirs, abs=1e-12), name
    areas = [
        skm.roc_auc_score(np.r_[np.ones(n), np.zeros(n)], np.r_[scores[:, c], scores[:, c]],
                          sample_weight=np.r_[probabilities[:, c], 1 - probabilities[:, c]])
        for c in range(k)
    ]  # fmt: skip
    assert ours["roc_auc"] == pytest.approx(np.mean(areas), abs=1e-12)


def test_realised_metrics_and_the_ovr_auc_are_scikit_learns() -> None:
    frame = rows(np.random.default_rng(6), 3000)
    labels = frame["y"].to_numpy(dtype=object)
    scores = frame[[f"p_{c}" for c in CLASSES]].to_numpy()
    area = ovr_roc_auc(labels, CLASSES, scores)
    assert area == pytest.approx(skm.roc_auc_score(labels, scores, multi_class="ovr", labels=list(CLASSES)))
    ours = classification_metrics(labels, frame["y_pred"].to_numpy(dtype=object))
    assert ours["f1"] == pytest.approx(skm.f1_score(labels, frame["y_pred"], average="macro"))


def test_drawn_labels_follow_their_probabilities() -> None:
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    drawn = draw_classes(probabilities, 40_000, seed=3)
    for i, row in enumerate(probabilities):
        shares = np.bincount(drawn[:, i], minlength=3) / 40_000
        np.testing.assert_allclose(shares, row, atol=0.01)


def test_the_band_holds_the_realised_metric_as_often_as_it_says() -> None:
    """Labels drawn from the probabilities the band assumes: each metric in its 95% band in 91%–99% of 300
    labellings (binomial 3σ)."""
    rng = np.random.default_rng(9)
    scores = softmax(rng.normal(0, 1.5, (1000, 3)))
    probabilities = softmax(np.log(scores) * 0.9)
    band = multiclass_band(probabilities, scores, alpha=0.05, draws=BAND_DRAWS)
    predicted = np.array(CLASSES, dtype=object)[scores.argmax(axis=1)]
    inside = dict.fromkeys(band, 0)
    for _ in range(300):
        y = np.array(CLASSES, dtype=object)[(rng.random(1000)[:, None] >= np.cumsum(probabilities, 1)[:, :-1]).sum(1)]
        realised = classification_metrics(y, predicted)
        realised["roc_auc"] = ovr_roc_auc(y, CLASSES, scores)  # type: ignore[assignment]
        for name, (low, high) in band.items():
            inside[name] += low <= realised[name] <= high
    assert set(band) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
    for name, count in inside.items():
        assert 0.91 * 300 <= count <= 0.99 * 300, (name, count)


def test_the_estimate_tracks_the_realised_accuracy_under_covariate_shift() -> None:
    rng = np.random.default_rng(2026)
    profile = drift.build_profile(rows(rng, 20_000), MODEL)
    assert profile.performance is not None and profile.performance.class_calibration is not None
    assert profile.performance.class_calibration.classes == CLASSES
    errors, realised_accuracies = [], []
    for step in np.linspace(0.0, 1.0, 8):
        chunk = rows(rng, 2000, 2.0 - 1.6 * step, -0.6 * step)
        estimated = drift.evaluate(profile, chunk, MODEL).estimated
        assert estimated is not None and estimated.samples == 2000
        realised = float(np.mean(chunk["y"] == chunk["y_pred"]))
        errors.append(abs(estimated.metrics["accuracy"] - realised))
        realised_accuracies.append(realised)
    assert realised_accuracies[0] - realised_accuracies[-1] > 0.15, "the stream degrades the model"
    assert np.mean(errors) < 0.02
    assert estimated.dropped, "the last chunk's estimated drop is decided"


def test_the_profile_keeps_the_class_calibration() -> None:
    profile = drift.build_profile(rows(np.random.default_rng(3), 5000), MODEL)
    again = ReferenceProfile.from_json(profile.to_json())
    assert again.performance is not None and profile.performance is not None
    assert again.performance.class_calibration == profile.performance.class_calibration
    assert again.performance.metrics["roc_auc"] == profile.performance.metrics["roc_auc"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scores": {"a": "p_a", "b": "p_b"}}, "3 or more"),
        ({"scores": {"a": "p_a", "b": "p_b", "c": "nope"}}, "'nope' is not one of the model's numeric outputs"),
        ({"scores": {"a": "p_a", "b": "p_a", "c": "p_c"}}, "one output for two classes"),
        ({"prediction": "p_a"}, "the predicted class: a categorical output"),
        ({"metric": "roc_auc"}, "needs a binary classifier's score"),
        ({"task": "regression", "prediction": "p_a"}, "belong to a classification target"),
    ],
)
def test_class_scores_that_cannot_work_are_refused(change: dict[str, object], message: str) -> None:
    spec = {**SPEC, "target": {**SPEC["target"], **change}}
    with pytest.raises(ConfigError, match=message):
        drift.parse_config({"models": [spec]})
