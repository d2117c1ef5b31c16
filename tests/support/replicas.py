"""Simulated exporter replicas for the pooling rules: many models' bin counters and reference gauges, served on
/metrics in the exporter's exposition, with the counts set by the caller — what the calibration test and the
rule-evaluation benchmark feed a real Prometheus with."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from alerts.pooling import PROCESS_START
from drift import catalogue as m
from drift.stats import chi2_critical
from driftline.demo.stack import LoopbackServer, QuietHandler

BINS = 10


def pooled_flags(reference: np.ndarray[Any, Any], current: np.ndarray[Any, Any], alpha: float) -> np.ndarray[Any, Any]:
    """The pooled decision transcribed with numpy and scipy (psi_threshold 0): for counts ``[..., features, bins]``,
    ``PSI / (1/N + 1/M) > χ²⁻¹(1 − α/m; k − 1)`` with Jeffreys-smoothed shares, m features, k bins."""
    n, m_rows = reference.sum(-1, keepdims=True), current.sum(-1, keepdims=True)
    bins, features = reference.shape[-1], reference.shape[-2]
    p_ref, p_cur = (reference + 0.5) / (n + 0.5 * bins), (current + 0.5) / (m_rows + 0.5 * bins)
    psi = ((p_cur - p_ref) * np.log(p_cur / p_ref)).sum(-1)
    statistic = psi / (1 / n[..., 0] + 1 / m_rows[..., 0])
    return statistic > scipy_stats.chi2.isf(alpha / features, bins - 1)  # type: ignore[no-any-return]


def simulation_config(models: int, features: int, *, replicas: int, **drift: Any) -> dict[str, Any]:
    """A monitor config of ``models`` models ``sim-000``… with ``features`` numeric features ``f00``… each."""
    return {
        "version": 1,
        "exporter": {"replicas": replicas},
        "models": [
            {
                "name": f"sim-{i:03d}",
                "reference": {"data": "unused.csv", "profile": "unused.json"},
                "features": [{"name": f"f{j:02d}", "type": "numeric"} for j in range(features)],
                "drift": {"bins": BINS, **drift},
                "window": {"min_rows": 0},
            }
            for i in range(models)
        ],
        "alerting": {"exporter_job": "sim", "pooling": {"windows": ["1h"], "step": "1s"}},
    }


class SimulatedReplica(LoopbackServer):
    """One replica: ``counts[model, feature, bin]`` rows counted, ``reference[model, feature, bin]`` reference rows,
    the settings every model shares, and each feature's critical value at ``alpha`` (Bonferroni over the features),
    as an exporter publishes them."""

    def __init__(self, models: int, features: int, settings: dict[str, float], alpha: float = 0.05) -> None:
        self.settings = settings  # every model's thresholds, by metric name
        self.critical = chi2_critical(alpha, features, BINS)
        self.counts = np.zeros((models, features, BINS), dtype=np.int64)
        self.reference = np.zeros((models, features, BINS), dtype=np.int64)
        self.started = time.time()  # process_start_time_seconds: the pooling rules tell a restart by it
        self.lock = threading.Lock()
        self._cached: tuple[tuple[bytes, bytes], bytes] | None = None  # one scrape a second must not cost a core
        replica = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                self.reply(200, replica.exposition(), {"Content-Type": "text/plain; version=0.0.4"})

        super().__init__(Handler)

    def exposition(self) -> bytes:
        with self.lock:
            counts, reference = self.counts.copy(), self.reference.copy()
        key = (counts.tobytes(), reference.tobytes())
        if self._cached is None or self._cached[0] != key:
            self._cached = (key, self._render(counts, reference))
        return self._cached[1]

    def _render(self, counts: np.ndarray[Any, Any], reference: np.ndarray[Any, Any]) -> bytes:
        lines = [f"# TYPE {m.FEATURE_BIN_ROWS.series} counter", f"# TYPE {m.REFERENCE_FEATURE_BIN_ROWS.series} gauge"]
        lines.append(f"{PROCESS_START} {self.started}")
        for i in range(counts.shape[0]):
            labels = f'model="sim-{i:03d}",model_namespace="default"'
            for metric, value in self.settings.items():
                lines.append(f"{metric}{{{labels}}} {value}")
            for j in range(counts.shape[1]):
                lines.append(f'{m.FEATURE_CHI2_CRITICAL.series}{{{labels},feature="f{j:02d}"}} {self.critical}')
        for (i, j, b), value in np.ndenumerate(counts):
            labels = f'model="sim-{i:03d}",model_namespace="default",feature="f{j:02d}",bin="{b:02d}"'
            lines.append(f"{m.FEATURE_BIN_ROWS.series}{{{labels}}} {value}")
            lines.append(f"{m.REFERENCE_FEATURE_BIN_ROWS.series}{{{labels}}} {reference[i, j, b]}")
        return ("\n".join(lines) + "\n").encode()
