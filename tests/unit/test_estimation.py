"""Performance estimated before the labels (CBPE): the calibration against scikit-learn's isotonic regression, each
estimated metric against scikit-learn on the rows doubled with their probabilities as weights, the band's coverage,
and the estimate tracking the realised accuracy on a stream whose covariate shift degrades the model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from sklearn.isotonic import IsotonicRegression

import drift
from drift.errors import ProfileError
from drift.quality.calibration import Calibration, fit_isotonic
from drift.quality.estimation import estimate_performance, estimated_metrics, realised_band
from drift.quality.metrics import ReferencePerformance
from drift.reference.profile import ReferenceProfile


def scored_rows(rng: np.random.Generator, n: int, spread: float = 2.0, centre: float = 0.0) -> pd.DataFrame:
    """Two features; ``P(y = 1 | x) = σ(1.5·x₁ + x₂)`` always (covariate shift only). The model's score is a
    miscalibrated but monotone transform of the same index, with its threshold off the true boundary: rows moved
    towards the boundary (``centre``, a smaller ``spread``) are predicted worse."""
    x1, x2 = rng.normal(centre, spread, n), rng.normal(0.0, spread, n)
    index = 1.5 * x1 + x2
    truth = rng.random(n) < 1 / (1 + np.exp(-index))
    score = 1 / (1 + np.exp(-(0.6 * index + 0.4)))
    return pd.DataFrame({"x1": x1, "x2": x2, "score": score, "label": np.where(truth, "1", "0")})


MODEL = drift.parse_config(
    {
        "models": [
            {
                "name": "churn",
                "reference": {"data": "r.csv", "profile": "p.json"},
                "features": [{"name": "x1", "type": "numeric"}, {"name": "x2", "type": "numeric"}],
                "outputs": [{"name": "score", "type": "numeric"}],
                "target": {"name": "label", "task": "classification", "prediction": "score", "positive": "1"},
            }
        ]
    }
).models[0]


def test_the_calibration_is_scikit_learns_isotonic_regression() -> None:
    rng = np.random.default_rng(3)
    scores = np.round(rng.random(20_000), 3)  # many ties
    positive = rng.random(20_000) < scores**2
    ours = fit_isotonic(scores, positive)
    theirs = IsotonicRegression(out_of_bounds="clip").fit(scores, positive)
    grid = np.linspace(-0.5, 1.5, 2001)
    assert np.allclose(ours(grid), theirs.predict(grid), atol=1e-12)
    assert np.allclose(ours(scores), theirs.predict(scores), atol=1e-12)
    assert ours(scores).mean() == pytest.approx(positive.mean())  # PAV keeps each block's mean
    assert ours.scores.size < 400, "only the blocks' ends are stored"


def test_each_estimated_metric_is_scikit_learns_on_probability_weighted_rows() -> None:
    rng = np.random.default_rng(5)
    scores = np.round(rng.random(3000), 2)
    p = np.clip(scores**1.5 + rng.normal(0, 0.05, 3000), 0, 1)
    ours = estimated_metrics(p, scores, 0.4)
    # each row once as a positive of weight p and once as a negative of weight 1 - p
    y, s, w = np.r_[np.ones(3000), np.zeros(3000)], np.r_[scores, scores], np.r_[p, 1 - p]
    predicted = (s >= 0.4).astype(int)
    assert ours["accuracy"] == pytest.approx(skm.accuracy_score(y, predicted, sample_weight=w), abs=1e-12)
    assert ours["precision"] == pytest.approx(skm.precision_score(y, predicted, sample_weight=w), abs=1e-12)
    assert ours["recall"] == pytest.approx(skm.recall_score(y, predicted, sample_weight=w), abs=1e-12)
    assert ours["f1"] == pytest.approx(skm.f1_score(y, predicted, sample_weight=w), abs=1e-12)
    assert ours["roc_auc"] == pytest.approx(skm.roc_auc_score(y, s, sample_weight=w), abs=1e-12)
    assert ours["log_loss"] == pytest.approx(skm.log_loss(y, s, sample_weight=w), abs=1e-12)


def test_the_band_holds_the_realised_metric_as_often_as_it_says() -> None:
    """Labels drawn from the probabilities the estimate assumes: each metric's realised value falls in its 95% band
    in about 95% of 300 labellings (binomial 3σ: 91%–99%)."""
    rng = np.random.default_rng(8)
    scores = rng.random(1000)
    p = scores**1.3
    band = realised_band(p, scores, 0.5, alpha=0.05)
    inside = dict.fromkeys(band, 0)
    for _ in range(300):
        y = np.where(rng.random(1000) < p, "1", "0").astype(object)
        realised = drift.quality.metrics.score("classification", y, scores, positive="1").metrics
        for name, (low, high) in band.items():
            inside[name] += low <= realised[name] <= high
    assert set(band) == {"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"}
    for name, count in inside.items():
        assert 0.91 * 300 <= count <= 0.99 * 300, (name, count)


def test_the_estimate_tracks_the_realised_accuracy_under_covariate_shift() -> None:
    """The rows move towards the model's uncertain region chunk by chunk: realised accuracy falls from ≈0.86 to
    ≈0.65. The estimate, from the scores alone, stays within 0.02 on average (benchmarks/bench_cbpe.py holds the
    figures against NannyML), and the estimated drop fires where the realised one does."""
    rng = np.random.default_rng(2026)
    profile = drift.build_profile(scored_rows(rng, 20_000), MODEL)
    assert profile.performance is not None and profile.performance.calibration is not None
    errors, agree = [], 0
    chunks = [(2.0, 0.0)] * 4 + [(2.0 - 0.25 * k, -0.05 * k) for k in range(1, 7)]
    for spread, centre in chunks:
        chunk = scored_rows(rng, 2000, spread, centre)
        estimated = drift.evaluate(profile, chunk, MODEL).estimated
        assert estimated is not None and estimated.samples == 2000
        realised = skm.accuracy_score(chunk["label"], np.where(chunk["score"] >= 0.5, "1", "0"))
        errors.append(abs(estimated.metrics["accuracy"] - realised))
        assert estimated.lower["accuracy"] <= estimated.metrics["accuracy"] <= estimated.upper["accuracy"]
        realised_drop = (profile.performance.metrics["accuracy"] - realised) / profile.performance.metrics["accuracy"]
        agree += estimated.dropped == (realised_drop >= 0.1)
    assert np.mean(errors) < 0.02, errors
    assert agree >= 9, "the estimated decision matches the realised loss on at least 9 of 10 chunks"
    first, last = errors[0], drift.evaluate(profile, scored_rows(rng, 2000, 0.5, -0.3), MODEL).estimated
    assert last is not None and last.dropped and last.pvalue < 1e-6 and first < 0.03


def test_no_drop_and_honest_pvalues_on_windows_like_the_reference() -> None:
    """200 windows drawn like the reference: no estimated drop, and the p-value of the error-rate test is below α
    in at most 5% of them (plus 3σ of 200 windows' sampling error)."""
    rng = np.random.default_rng(17)
    profile = drift.build_profile(scored_rows(rng, 20_000), MODEL)
    results = [drift.evaluate(profile, scored_rows(rng, 1000), MODEL).estimated for _ in range(200)]
    assert all(r is not None and not r.dropped for r in results)
    significant = sum(r is not None and r.pvalue < 0.05 for r in results)
    assert significant <= 0.05 * 200 + 3 * np.sqrt(200 * 0.05 * 0.95), significant


def test_the_decision_needs_min_samples_size_and_significance() -> None:
    calibration = Calibration(np.array([0.0, 1.0]), np.array([0.0, 1.0]))  # the scores are probabilities
    reference = ReferencePerformance({"accuracy": 0.9}, 10_000, 0.1, calibration=calibration)
    uncertain = np.full(500, 0.6)  # each right with probability 0.6: accuracy 0.6, 33% below 0.9

    def decide(scores: np.ndarray, min_samples: int = 200) -> bool:
        return estimate_performance(
            reference, scores, threshold=0.5, metric="accuracy", max_degradation=0.1,
            min_samples=min_samples, alpha=0.05,
        ).dropped  # fmt: skip

    assert decide(uncertain)
    assert not decide(uncertain, min_samples=501), "too few scored predictions"
    assert not decide(np.full(500, 0.86)), "accuracy 0.86 is 4% below the reference's: too small to matter"
    assert not decide(np.array([0.6] * 3 + [0.99] * 2)), "five predictions decide nothing"


def test_the_profile_keeps_the_calibration_and_refuses_a_broken_one() -> None:
    rng = np.random.default_rng(1)
    profile = drift.build_profile(scored_rows(rng, 5000), MODEL)
    again = ReferenceProfile.from_json(profile.to_json())
    assert again.version == profile.version and again.performance is not None and profile.performance is not None
    assert again.performance.calibration is not None and profile.performance.calibration is not None
    assert np.array_equal(again.performance.calibration.scores, profile.performance.calibration.scores)
    broken = profile.to_dict()
    broken["performance"]["calibration"]["probabilities"][0] = 1.5
    with pytest.raises(ProfileError, match="corrupt profile"):
        ReferenceProfile.from_dict(broken)
    classes = replace(MODEL, outputs=(replace(MODEL.outputs[0], type="categorical"),))
    frame = scored_rows(rng, 2000).assign(score=lambda f: np.where(f["score"] >= 0.5, "1", "0"))
    labelled = drift.build_profile(frame, classes)
    assert labelled.performance is not None and labelled.performance.calibration is None, "classes: no scores"
    assert drift.evaluate(labelled, frame, classes).estimated is None
