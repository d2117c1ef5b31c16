"""driftline's concept-drift test against river's ADWIN on the same Bernoulli error streams.

Change streams: the error rate steps from ``--before`` to ``--after`` for the last ``--changed`` of ``--length``
labels; no-change streams: ``--quiet-length`` labels at ``--before``. river's ADWIN (0.26, δ = 0.002, its own
virtualenv: ``--river PYTHON``) sees every label; driftline tests, as the exporter does, the last ``--window``
labelled predictions every ``--every`` labels. A detection after the change counts (its delay: labels since the
change); any detection before it or in a no-change stream is a false alarm.

Rows: river; driftline's test as shipped; and the variants that locate what cost the power — the cut test over
every cut with δ' = δ/n (the paper's Theorem 3.1, driftline's test until 2026-12), river's δ' = δ/ln n, and the
geometric cuts.

    python benchmarks/bench_adwin.py --river /work/peers/river/bin/python [--runs 200] [--quiet-runs 500]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from drift.quality.adwin import adwin_change

Detect = Callable[[np.ndarray], bool]


def cut_test(errors: np.ndarray, delta: float, cuts: str, union: str, sides: int, min_side: int) -> bool:
    """The Bernstein-form cut test with its choices spelled out (see drift/quality/adwin.py for the formula):
    ``cuts`` every cut or geometric ones, δ' = δ / (n, the number of cuts, or ln n), the bound's log term
    ``ln(sides/δ')`` (2: the two-sided bound, 1: the one-sided one)."""
    n = errors.size
    if n < 2 * min_side:
        return False
    if cuts == "all":
        cut = np.arange(min_side, n - min_side + 1)
    else:  # "geometric/K": a newer side of min_side · 2^(k/K) labels, O(K log n) cuts
        steps = int(cuts.split("/")[1])
        sizes = np.unique(np.round(min_side * 2 ** (np.arange(0, 32 * steps) / steps)).astype(np.int64))
        cut = n - sizes[sizes <= n - min_side]
    count = {"n": n, "cuts": cut.size, "ln n": math.log(n)}[union]
    total = np.concatenate(([0.0], np.cumsum(errors)))
    n0 = cut.astype(np.float64)
    n1 = n - n0
    rise = (total[n] - total[cut]) / n1 - total[cut] / n0
    m = 1.0 / (1.0 / n0 + 1.0 / n1)
    log_term = math.log(sides * count / delta)
    epsilon = np.sqrt(2.0 / m * float(np.var(errors)) * log_term) + 2.0 / (3.0 * m) * log_term
    return bool(np.any(rise >= epsilon))  # a rise of the error rate: what the exporter alerts on


def first_detection(stream: np.ndarray, detect: Detect, window: int, every: int) -> int | None:
    for seen in range(every, stream.size + 1, every):
        if detect(stream[max(0, seen - window) : seen]):
            return seen - 1
    return None


def summarise(name: str, changed: list[int | None], quiet: list[int | None], change_at: int) -> dict[str, object]:
    after = [d for d in changed if d is not None and d >= change_at]
    early = sum(d is not None and d < change_at for d in changed)
    false = sum(d is not None for d in quiet)
    delays = [d - change_at for d in after]
    return {
        "detector": name,
        "detected": len(after) / len(changed),
        "median delay": float(np.median(delays)) if delays else float("nan"),
        "false alarms (no change)": false / len(quiet),
        "early alarms (before the change)": early / len(changed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--river", required=True, help="python of a virtualenv with river==0.26.1")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--quiet-runs", type=int, default=500)
    parser.add_argument("--length", type=int, default=2000)
    parser.add_argument("--changed", type=int, default=500)
    parser.add_argument("--quiet-length", type=int, default=5000)
    parser.add_argument("--before", type=float, default=0.1)
    parser.add_argument("--after", type=float, default=0.2)
    parser.add_argument("--delta", type=float, default=0.002)
    parser.add_argument("--window", type=int, default=5000, help="target.window.size")
    parser.add_argument("--every", type=int, default=32, help="labels between two evaluations")
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    change_at = args.length - args.changed
    rates = np.where(np.arange(args.length) < change_at, args.before, args.after)
    changed = (rng.random((args.runs, args.length)) < rates).astype(np.float64)
    quiet = (rng.random((args.quiet_runs, args.quiet_length)) < args.before).astype(np.float64)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        found = {}
        for name, streams in (("changed", changed), ("quiet", quiet)):
            path = Path(tmp) / f"{name}.npy"
            np.save(path, streams.astype(np.int8))
            out = subprocess.run([args.river, str(Path(__file__).parent / "river_adwin.py"), str(path),
                                  str(args.delta)], check=True, capture_output=True, text=True).stdout  # fmt: skip
            found[name] = [json.loads(line) for line in out.splitlines()]
        first_after = [next((i for i in f if i >= change_at), None) for f in found["changed"]]
        first_any = [min(f) if f else None for f in found["changed"]]
        river_changed = [a if (b is None or b >= change_at) else b for a, b in zip(first_after, first_any, strict=True)]
        rows.append(summarise("river 0.26 ADWIN (every label)", river_changed,
                              [min(f) if f else None for f in found["quiet"]], change_at))  # fmt: skip
    d = args.delta
    detectors: dict[str, Detect] = {
        "driftline (shipped)": lambda e: adwin_change(e, delta=d).detected,
        "every cut, δ/n, min 30 (before)": lambda e: cut_test(e, d, "all", "n", 2, 30),
        "every cut, δ/ln n, min 30": lambda e: cut_test(e, d, "all", "ln n", 2, 30),
        "every cut, δ/ln n, min 5": lambda e: cut_test(e, d, "all", "ln n", 2, 5),
        "cuts at 2^k, δ/cuts, min 30": lambda e: cut_test(e, d, "geometric/1", "cuts", 2, 30),
        "cuts at 2^(k/2), δ/cuts, min 30": lambda e: cut_test(e, d, "geometric/2", "cuts", 2, 30),
        "cuts at 2^(k/4), δ/cuts, min 30": lambda e: cut_test(e, d, "geometric/4", "cuts", 2, 30),
        "cuts at 2^(k/2), δ/cuts, one-sided bound, min 30": lambda e: cut_test(e, d, "geometric/2", "cuts", 1, 30),
        "cuts at 2^(k/2), δ/cuts, min 5": lambda e: cut_test(e, d, "geometric/2", "cuts", 2, 5),
    }
    for name, detect in detectors.items():
        start = time.perf_counter()
        on_changed = [first_detection(s, detect, args.window, args.every) for s in changed]
        on_quiet = [first_detection(s, detect, args.window, args.every) for s in quiet]
        rows.append({**summarise(name, on_changed, on_quiet, change_at), "seconds": time.perf_counter() - start})
    print(f"error rate {args.before} -> {args.after} for the last {args.changed} of {args.length} labels "
          f"({args.runs} runs); {args.quiet_runs} no-change runs of {args.quiet_length}; δ = {d}; driftline tests the "
          f"last {args.window} labels every {args.every}")  # fmt: skip
    print("| detector | detected | median delay | false alarms | early alarms |\n|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['detector']} | {row['detected']:.0%} | {row['median delay']:.0f} | "
              f"{row['false alarms (no change)']:.1%} | {row['early alarms (before the change)']:.1%} |")  # fmt: skip


if __name__ == "__main__":
    main()
