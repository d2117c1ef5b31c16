"""Counting a window column into a profile's fine bins: driftline's O(n) binner against the sort-based counting it
replaced and against ``numpy.searchsorted``, per 100,000 values, on this machine's CPU.

The fine edges are the 249 inner quantiles of 100,000 reference values of each distribution; the window is 100,000
values of the same distribution. Medians of ``--repeat`` timings, all three methods interleaved.

numpy's sort uses the widest SIMD sort the CPU offers (AVX-512 or AVX2 via x86-simd-sort), so its cost varies
several-fold between CPUs; ``NPY_DISABLE_CPU_FEATURES`` shows what it costs where those are missing:

    python benchmarks/bench_counting.py
    NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4 AVX512_ICL" python benchmarks/bench_counting.py   # an SSE4-only CPU
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from drift import stats
from drift.binning import Binner

VALUES = 100_000


def distributions(rng: np.random.Generator) -> dict[str, Callable[[int], np.ndarray[Any, Any]]]:
    return {
        "normal": lambda n: rng.normal(size=n),
        "lognormal": lambda n: rng.lognormal(size=n),
        "Pareto (α = 0.7)": lambda n: rng.pareto(0.7, n) + 1.0,
        "Poisson (λ = 1.5)": lambda n: rng.poisson(1.5, n).astype(float),
    }


def cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def median_ms(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def row(name: str, draw: Callable[[int], np.ndarray[Any, Any]], repeat: int) -> str:
    edges = np.unique(np.quantile(draw(VALUES), np.linspace(0.0, 1.0, 251)[1:-1]))
    binner, cuts, window = Binner.of(edges), stats.cut_points(edges), draw(VALUES)
    methods = {
        "binner": lambda: binner.counts(window),
        "sort": lambda: stats.counts_at_cuts(np.sort(window), cuts),
        "search": lambda: np.bincount(np.searchsorted(edges, window, side="right"), minlength=edges.size + 1),
    }
    assert np.array_equal(binner.counts(window)[0], stats.counts_at_cuts(np.sort(window), cuts)[0])
    timed: dict[str, list[float]] = {key: [] for key in methods}
    for _ in range(5):  # interleaved, so noise hits all three alike
        for key, run in methods.items():
            timed[key].append(median_ms(run, max(1, repeat // 5)))
    ms = {key: statistics.median(values) for key, values in timed.items()}
    passes = f"{binner.passes} pass{'es' if binner.passes != 1 else ''}"
    return (
        f"| {name} | {binner.map} ({passes}) | {ms['binner']:.2f} ms | {ms['sort']:.2f} ms "
        f"({ms['sort'] / ms['binner']:.1f}×) | {ms['search']:.2f} ms ({ms['search'] / ms['binner']:.1f}×) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=101)
    args = parser.parse_args()
    disabled = os.environ.get("NPY_DISABLE_CPU_FEATURES", "")
    print(f"CPU: {cpu()}; numpy {np.__version__}; NPY_DISABLE_CPU_FEATURES={disabled!r}")
    print(f"\n| {VALUES:,} values | binner map | binner | sort + cut (before) | searchsorted + bincount |")
    print("|---|---|---|---|---|")
    for name, draw in distributions(np.random.default_rng(0)).items():
        print(row(name, draw, args.repeat))


if __name__ == "__main__":
    main()
