"""The prediction store and the labelled window: joins, duplicates, eviction by size and by age, bounded index."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from drift.config import TargetConfig
from exporters.feedback import FeedbackError, label_value, read_labels
from exporters.ground_truth import LabelledWindow, PredictionStore


def test_join_duplicate_and_unmatched() -> None:
    store = PredictionStore(size=10, ttl=100.0, numeric=True)
    store.put("a", np.array([0.1, 0.9]), now=0.0)
    assert store.take("a", 1, now=1.0) == ("joined", 0.9, 0.0)
    assert store.take("a", 1, now=1.0)[0] == "duplicate"
    assert store.take("a", 2, now=1.0)[0] == "unmatched"  # beyond the request's rows
    assert store.take("b", 0, now=1.0)[0] == "unmatched"
    store.put("a", np.array([0.5]), now=2.0)  # a repeated id keeps its first predictions
    assert store.take("a", 0, now=2.0) == ("joined", 0.1, 0.0)


def test_size_eviction_wraps_the_ring_and_bounds_the_index() -> None:
    evicted: Counter[str] = Counter()
    store = PredictionStore(size=5, ttl=1e9, numeric=False, on_evict=lambda reason: evicted.update([reason]))
    for i in range(100):
        store.put(f"id{i}", np.array([f"c{i}", f"d{i}"], dtype=object), now=float(i))
    assert len(store) == 2 and store.rows() == 4  # ids 98 and 99; id 97 lost a row to the wrap
    assert store.take("id97", 0, now=100.0)[0] == "unmatched"
    assert store.take("id98", 1, now=100.0) == ("joined", "d98", 98.0)
    assert evicted == {"size": 98}
    store.put("big", np.arange(6, dtype=np.float64).astype(object), now=101.0)  # larger than the store: not kept
    assert store.take("big", 0, now=101.0)[0] == "unmatched"


def test_ttl_expires_old_predictions() -> None:
    evicted: Counter[str] = Counter()
    store = PredictionStore(size=1000, ttl=10.0, numeric=True, on_evict=lambda reason: evicted.update([reason]))
    for i in range(20):
        store.put(f"id{i}", np.array([float(i)]), now=float(i))
    assert store.take("id5", 0, now=19.0)[0] == "unmatched"  # predicted at 5, older than 10 s at 19
    assert store.take("id9", 0, now=19.0)[0] == "joined"
    assert evicted == {"ttl": 9} and store.rows() == 11


def test_labelled_window_keeps_the_last_rows_and_drops_old_labels() -> None:
    window = LabelledWindow(size=3, max_age=10.0, numeric_labels=False, numeric_predictions=True)
    window.append(["1", "0"], [0.9, 0.2], [1.0, 2.0], now=0.0)
    window.append(["1", "1"], [0.4, 0.8], [3.0, 4.0], now=5.0)
    snap = window.snapshot(now=5.0)
    assert snap.rows == 3 and snap.labels.tolist() == ["0", "1", "1"] and snap.predicted_at.tolist() == [2.0, 3.0, 4.0]
    assert window.snapshot(now=12.0).rows == 2  # the label that arrived at 0 is older than 10 s


def test_label_types() -> None:
    classifier = TargetConfig("churned", "classification", "p", positive="1")
    regressor = TargetConfig("price", "regression", "p")
    assert [label_value(classifier, v, "x") for v in (1, 1.0, "yes", True)] == ["1", "1", "yes", "true"]
    assert label_value(regressor, 3, "x") == 3.0
    for target, bad in ((classifier, None), (classifier, ""), (classifier, [1]), (regressor, "3.5"),
                        (regressor, True), (regressor, float("nan"))):  # fmt: skip
        with pytest.raises(FeedbackError) as caught:
            label_value(target, bad, "labels[0].label")
        assert caught.value.reason == "invalid_label" and "labels[0].label" in str(caught.value)
    with pytest.raises(FeedbackError, match=r"labels\[1\]\.timestamp"):
        read_labels(classifier, [{"id": "a", "label": 1}, {"id": "b", "label": 0, "timestamp": "yesterday"}])
    parsed = read_labels(classifier, [{"id": 7, "label": 1, "timestamp": "2026-01-01T00:00:00Z"}])
    assert parsed[0].event_id == "7" and parsed[0].known_at == 1767225600.0
