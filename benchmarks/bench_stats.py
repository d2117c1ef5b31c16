"""One full drift evaluation, driftline vs Evidently, on the same data in the same run.

100,000 reference rows × 20 numeric features, a 10,000-row window. driftline's time is `drift.evaluate_window`
on a prebuilt profile (what the exporter does every `evaluate_every`): binning, PSI + p-value, KS, JS, the FDR
decision for all 20 features. Evidently's is `Report([DataDriftPreset(method=...)]).run(current, reference)`.
Two windows: one from the reference distribution (a monitor's steady state) and one where two thirds of the
features are shifted by 0.05σ–0.1σ. The second costs driftline more: a significant KS statistic sends scipy's
exact p-value (which docs/statistics.md promises, to 1e-12) through the Smirnov series, ~7 ms per drifted feature.
Prints the medians and the ratios (machines are noisy: compare ratios, not seconds).

    python benchmarks/bench_stats.py [--features 20] [--reference 100000] [--window 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

import drift


def timed(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--reference", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    names = [f"f{i:02d}" for i in range(args.features)]
    reference = pd.DataFrame({n: rng.normal(0, 1, args.reference) for n in names})
    windows = {
        "steady": pd.DataFrame({n: rng.normal(0, 1, args.window) for n in names}),
        "drifted": pd.DataFrame({n: rng.normal(0.05 * (i % 3), 1, args.window) for i, n in enumerate(names)}),
    }
    config = drift.parse_config(
        {
            "version": 1,
            "models": [
                {
                    "name": "bench",
                    "reference": {"data": "unused.parquet", "profile": "unused.json"},
                    "features": [{"name": n, "type": "numeric"} for n in names],
                }
            ],
        }
    )
    model = config.models[0]

    start = time.perf_counter()
    profile = drift.build_profile(reference, model)
    build_seconds = time.perf_counter() - start
    ours = {}
    for label, current in windows.items():
        window = {n: current[n].to_numpy(dtype=np.float64) for n in names}
        drifted = drift.evaluate_window(profile, model.drift, window).drifted_features  # warm-up
        ours[label] = timed(lambda w=window: drift.evaluate_window(profile, model.drift, w), max(args.repeat * 4, 20))
        print(f"{label} window: {len(drifted)} of {len(names)} features drifted", flush=True)

    from evidently import Report
    from evidently.presets import DataDriftPreset

    warnings.filterwarnings("ignore")
    theirs = {}
    for method in ("psi", "ks"):
        for label, current in windows.items():
            report = Report([DataDriftPreset(method=method)])
            report.run(current, reference)  # warm-up
            theirs[method, label] = timed(lambda r=report, c=current: r.run(c, reference), args.repeat)

    print(f"data: reference {args.reference:,} rows × {args.features} numeric features, window {args.window:,} rows")
    print(f"driftline build_profile (once per reference): {build_seconds * 1000:9.1f} ms")
    for label in windows:
        print(f"{label} window")
        print(f"  driftline evaluate_window (median):              {ours[label] * 1000:9.1f} ms")
        for method in ("psi", "ks"):
            seconds = theirs[method, label]
            print(
                f"  Evidently DataDriftPreset(method={method!r}) (median): {seconds * 1000:9.1f} ms"
                f"  -> driftline {seconds / ours[label]:,.0f}x faster"
            )


if __name__ == "__main__":
    main()
