"""Calibration of the pooled drift decision, computed by a real Prometheus evaluating the generated rules.

Two simulated replicas publish the bin counts of 200 quiet windows — for each of 100, 1,000 and 10,000 rows, five
numeric features of ten bins, every row drawn from the reference's own distribution — and Prometheus 2.42 pools
them with `driftline generate`'s rules. With `psi_threshold: 0` the decision is the chi-square test alone (the
strictest case: the default threshold of 0.1 only removes alarms): every column's decision must be the one the
formula gives (numpy and scipy on the same counts), the share of windows in which any feature is flagged must be
consistent with α = 5% (Bonferroni over the five features; 200 windows measure it to about ±1.5 points), and the
dataset decision must stay quiet.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats as scipy_stats

from alerts import pooling
from alerts.loader import parse_deployment
from drift import catalogue as m
from driftline.generate import generate, write_files
from tests.support import PrometheusProcess, wait
from tests.support.promql import wait_for_evaluation
from tests.support.replicas import BINS, SimulatedReplica, pooled_flags, simulation_config

SIZES = (100, 1_000, 10_000)
WINDOWS_PER_SIZE = 200
FEATURES = 5
REFERENCE_ROWS = 20_000
ALPHA = 0.05
POOLING = pooling.window_group("1h")  # the group that records the window's rows and decisions
# The scrape and pooling interval: above the group's evaluation time on a loaded 2-core machine (~1.5 s for these
# 20,000 replica series), as docs/operations.md asks of a deployment; a shorter one makes Prometheus skip evaluations.
STEP = "3s"


def pooled_decisions(tmp: Path, size: int) -> tuple[dict[str, dict[str, float]], np.ndarray[Any, Any]]:
    """Per simulated window (a model): the pooled decision of each feature and the dataset decision; and the same
    feature decisions computed here from the counts the replicas published, with numpy and scipy."""
    models = WINDOWS_PER_SIZE
    document = simulation_config(models, FEATURES, replicas=2, psi_threshold=0.0, alpha=ALPHA, drift_share=0.5)
    document["alerting"]["pooling"]["step"] = STEP
    config = parse_deployment(document)
    write_files(generate(config), tmp / "out")
    rng = np.random.default_rng(size)
    shares = np.full(BINS, 1 / BINS)
    sizes = np.full(models, size)
    with ExitStack() as stack:
        settings = {m.PSI_THRESHOLD.series: 0.0, m.DRIFT_SHARE_THRESHOLD.series: 0.5, m.WINDOW_MIN_SAMPLES.series: 0.0}
        replicas = [stack.enter_context(SimulatedReplica(models, FEATURES, settings, ALPHA)) for _ in range(2)]
        reference = rng.multinomial(REFERENCE_ROWS, shares, size=(models, FEATURES))
        for replica in replicas:
            replica.reference[:] = reference
        prometheus = stack.enter_context(
            PrometheusProcess(
                tmp / "prometheus",
                {
                    "global": {"scrape_interval": STEP, "evaluation_interval": STEP},
                    "rule_files": [str(tmp / "out" / "prometheus" / "rules.yml")],
                    "scrape_configs": [
                        {"job_name": "sim", "static_configs": [{"targets": [r.url[7:] for r in replicas]}]}
                    ],
                },
            )
        )
        prometheus.wait_ready()

        def count(expr: str) -> int:
            result = prometheus.query(f"count({expr})").get("data", {}).get("result", [])
            return int(float(result[0]["value"][1])) if result else 0

        series = models * FEATURES
        # the replicas start at zero, as an exporter does when it loads its profile
        wait(lambda: count("model_feature_bin:driftline_feature_bin_rows:sum1h") == series * BINS, 180, "the zeros")
        halves = [sizes // 2, sizes - sizes // 2]
        for replica, rows in zip(replicas, halves, strict=True):
            with replica.lock:
                for i, n in enumerate(rows):
                    replica.counts[i] = rng.multinomial(n, shares, size=FEATURES)
        pooled = replicas[0].counts + replicas[1].counts
        wait(
            lambda: count(f"model_feature:driftline_feature_rows:sum1h == {size}") == series,
            180,
            f"every window of {size} rows pooled",
        )
        wait_for_evaluation(prometheus, POOLING)  # the decisions after the rows, from them
        features = prometheus.query("model_feature:driftline_feature_drifted:pooled1h")["data"]["result"]
        dataset = prometheus.query("model:driftline_dataset_drifted:pooled1h")["data"]["result"]
    out: dict[str, dict[str, float]] = {}
    for sample in features:
        out.setdefault(sample["metric"]["model"], {})[sample["metric"]["feature"]] = float(sample["value"][1])
    for sample in dataset:
        out.setdefault(sample["metric"]["model"], {})["dataset"] = float(sample["value"][1])
    return out, pooled_flags(reference, pooled, ALPHA)


# One worker runs the three sizes one after another (make test runs tests in parallel): each loads Prometheus with
# 20,000 replica series, and the pooling group must keep up with its step.
@pytest.mark.xdist_group("pooling-calibration")
@pytest.mark.parametrize("size", SIZES)
def test_quiet_windows_raise_few_false_alarms(tmp_path: Path, size: int) -> None:
    flagged, expected = pooled_decisions(tmp_path, size)
    models = [f"sim-{i:03d}" for i in range(WINDOWS_PER_SIZE)]
    assert all(len(flagged[model]) == FEATURES + 1 for model in models)  # every feature decided, and the model
    decided = np.array([[flagged[model][f"f{j:02d}"] for j in range(FEATURES)] for model in models]) == 1
    # the generated PromQL decides every one of the 1,000 columns as the formula does
    assert (decided == expected).all(), np.argwhere(decided != expected)
    any_feature = int(decided.any(axis=1).sum())
    print(
        f"{size} rows: a feature flagged in {any_feature}/{len(models)} quiet windows ({any_feature / len(models):.1%})"
    )
    # 200 windows measure the rate to about ±1.5 points: fail when the count is implausible under a rate of α
    assert scipy_stats.binom.sf(any_feature - 1, len(models), ALPHA) >= 0.01
    assert not any(flagged[model]["dataset"] for model in models)
