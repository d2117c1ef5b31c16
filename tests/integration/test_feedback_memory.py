"""No unbounded memory: a million predictions through the exporter's ingest path with a short TTL, labels for some
of them, and the process's resident memory stays flat once the store is full."""

from __future__ import annotations

import gc
import json
import os
from pathlib import Path

import drift
from exporters.events import RESPONSE, InferenceEvent
from exporters.service import ExporterService
from tests.support import target_config


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_rss_flat_over_a_million_predictions_with_a_small_ttl(tmp_path: Path) -> None:
    path, _ = target_config(tmp_path, store_size=200_000, ttl="20s")
    config = drift.load_config(path)
    now = [1_000_000.0]
    service = ExporterService(config, clock=lambda: now[0])
    ground_truth = service.models[("churn-model", "default")].ground_truth
    assert ground_truth is not None
    readings = {}
    labels = {"model": "churn-model", "namespace": "default", "labels": []}
    for i in range(1_000_000):
        now[0] += 0.001  # 1,000 predictions a second: the 20 s TTL holds ~20,000 of them
        event = InferenceEvent(RESPONSE, "churn-model", "default", f"req-{i}", {"predictions": [0.3]})
        status, _ = service.intake.event(event)
        assert status == 202
        if i % 1000 == 999:  # a label job answers for some predictions of a few seconds ago
            # every 50th prediction of the last 5 s: each is labelled once, then four more times (duplicates)
            labels["labels"] = [{"id": f"req-{i - k}", "label": k % 2} for k in range(0, 5000, 50)]
            status, _ = service.feedback({}, json.dumps(labels).encode())
            assert status == 202
        if i + 1 in (200_000, 1_000_000):
            gc.collect()
            readings[i + 1] = rss_mb()
    assert ground_truth.store.rows() <= 20_001 and len(ground_truth.store) <= 20_001

    def sample(name: str, **labels: str) -> float:
        model = {"model": "churn-model", "model_namespace": "default"}
        value = service.registry.get_sample_value(name, {**model, **labels})
        assert value is not None, (name, labels)
        return value

    assert sample("driftline_prediction_store_evictions_total", reason="ttl") >= 970_000
    assert sample("driftline_labels_total", outcome="joined") == 20_000
    assert sample("driftline_labels_total", outcome="duplicate") > 70_000
    growth = readings[1_000_000] - readings[200_000]
    print(f"\nRSS after 200k predictions {readings[200_000]:.1f} MB, after 1M {readings[1_000_000]:.1f} MB "
          f"(+{growth:.1f} MB)")  # fmt: skip
    assert growth < 15.0
