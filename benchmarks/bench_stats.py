"""Drift evaluation, driftline vs NannyML, Evidently and Alibi Detect: the same data, the same run, interleaved.

100,000 reference rows of N(0, 1) numeric (and 5-category categorical) features; five cases from 20 numeric features
and a 10,000-row window to 100 features and a 100,000-row window. Two things are measured:

* offline — rows in, result out, as a notebook calls ``drift.evaluate(profile, frame, model)`` (binning included;
  the profile is built once, outside the timer, as each peer is fitted outside it);
* streaming — the exporter's evaluation cycle on a full window to which 1% new rows arrived since the last one
  (counting those rows, summing the buckets, every statistic and the decision), against each peer recomputing the
  same window, which is what a user running it on a schedule pays.

Each peer runs in its own virtualenv (benchmarks/install_peers.sh) under benchmarks/peer_worker.py. Medians of
``--rounds`` rounds; in each round every case is timed for every tool in turn, so machine noise hits all alike.
Compare the ratios, not the milliseconds.

    bash benchmarks/install_peers.sh .peers
    python benchmarks/bench_stats.py --peers .peers [--rounds 5] [--skip evidently]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import drift
from drift.layout import layouts
from exporters.windows import CountWindow

REFERENCE_ROWS = 100_000
CATEGORIES = np.array(["a", "b", "c", "d", "e"])
PEERS = ("nannyml", "evidently", "alibi")


@dataclass(frozen=True)
class Case:
    name: str
    numeric: int
    categorical: int
    window: int
    shifted: int = 0  # features whose mean moves by 0.3σ


CASES = (
    Case("20 numeric, 10k window, no drift", 20, 0, 10_000),
    Case("20 numeric, 10k window, 3 shifted 0.3σ", 20, 0, 10_000, shifted=3),
    Case("20 numeric + 5 categorical, 10k window", 20, 5, 10_000),
    Case("20 numeric, 100k window", 20, 0, 100_000),
    Case("100 numeric, 100k window", 100, 0, 100_000),
)


def draw(rng: np.random.Generator, rows: int, case: Case, shifted: int) -> tuple[np.ndarray, np.ndarray]:
    numeric = rng.normal(0.0, 1.0, (rows, case.numeric))
    numeric[:, :shifted] += 0.3
    categorical = rng.choice(CATEGORIES, (rows, case.categorical), p=[0.4, 0.25, 0.15, 0.12, 0.08])
    return numeric, categorical


def to_frame(numeric: np.ndarray, categorical: np.ndarray) -> pd.DataFrame:
    columns: dict[str, object] = {f"n{i:03d}": numeric[:, i] for i in range(numeric.shape[1])}
    columns.update({f"c{i:03d}": categorical[:, i].astype(object) for i in range(categorical.shape[1])})
    return pd.DataFrame(columns)


class Driftline:
    """The offline call and the exporter's streaming cycle for one case."""

    def __init__(self, case: Case, reference: pd.DataFrame, window: pd.DataFrame, rng: np.random.Generator) -> None:
        config = drift.parse_config(
            {
                "version": 1,
                "models": [
                    {
                        "name": "bench",
                        "reference": {"data": "unused.parquet", "profile": "unused.json"},
                        "features": [
                            {"name": c, "type": "numeric" if c.startswith("n") else "categorical"}
                            for c in reference.columns
                        ],
                        "window": {"size": case.window, "max_age": "3650d"},
                    }
                ],
            }
        )
        self.case, self.model = case, config.models[0]
        self.profile = drift.build_profile(reference, self.model)
        self.frame = window
        self.rng = rng
        self.window = CountWindow(self.model.features, case.window, self.model.window.max_age.seconds)
        self.window.set_layout(layouts(self.profile)[0], self.profile.version)
        self.now = 1.0e9
        self._append(case.window)

    def _append(self, rows: int) -> None:
        numeric, categorical = draw(self.rng, rows, self.case, self.case.shifted)
        self.now += 1.0
        self.window.append_block(numeric, categorical.astype(object), rows, self.now)

    def offline(self) -> drift.DriftResult:
        return drift.evaluate(self.profile, self.frame, self.model)

    def cycle(self) -> float:
        """One evaluation cycle after 1% new rows arrived (their arrival is ingestion, outside the timer)."""
        self._append(self.case.window // 100)
        start = time.perf_counter()
        totals = self.window.totals(self.now)
        drift.evaluate_counts(self.profile, self.model.drift, totals.counts, totals.rows)
        return time.perf_counter() - start


class Peer:
    """A peer library in its own virtualenv, behind benchmarks/peer_worker.py."""

    def __init__(self, name: str, python: Path) -> None:
        self.name = name
        worker = Path(__file__).with_name("peer_worker.py")
        self.process = subprocess.Popen(
            [str(python), str(worker), name], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def ask(self, **request: object) -> dict[str, float]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} worker died")
        reply: dict[str, float] = json.loads(line)
        return reply

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


def median_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--peers", type=Path, help="directory of the peers' virtualenvs (install_peers.sh)")
    parser.add_argument("--skip", action="append", default=[], choices=PEERS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the medians here")
    args = parser.parse_args()

    peers: dict[str, Peer] = {}
    for name in PEERS:
        python = args.peers / name / "bin" / "python" if args.peers else None
        if name in args.skip or python is None or not python.exists():
            print(f"({name}: not measured; see --peers)", file=sys.stderr)
            continue
        peers[name] = Peer(name, python)

    ours: dict[str, Driftline] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(CASES):
            rng = np.random.default_rng(100 + i)
            reference = draw(rng, REFERENCE_ROWS, case, 0)
            window = draw(rng, case.window, case, case.shifted)
            directory = Path(tmp) / str(i)
            directory.mkdir()
            for name, (numeric, categorical) in (("reference", reference), ("window", window)):
                np.savez(directory / f"{name}.npz", numeric=numeric, categorical=categorical)
            ours[case.name] = Driftline(case, to_frame(*reference), to_frame(*window), rng)
            for peer in peers.values():
                peer.ask(op="prepare", case=case.name, dir=str(directory))
        times: dict[tuple[str, str], list[float]] = {}
        for round_ in range(args.rounds):
            for case in CASES:
                driftline = ours[case.name]
                driftline.offline()  # warm
                times.setdefault((case.name, "offline"), []).append(median_of(driftline.offline, 3))
                cycles = [driftline.cycle() for _ in range(21)]
                times.setdefault((case.name, "cycle"), []).append(statistics.median(cycles))
                for name, peer in peers.items():
                    times.setdefault((case.name, name), []).append(peer.ask(op="time", case=case.name)["seconds"])
            print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    for peer in peers.values():
        peer.close()

    medians = {f"{case} | {what}": statistics.median(values) for (case, what), values in times.items()}
    print_table(medians, list(peers))
    if args.json:
        args.json.write_text(json.dumps(medians, indent=2))


def print_table(medians: dict[str, float], peers: list[str]) -> None:
    def ms(seconds: float) -> str:
        return f"{seconds * 1000:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"

    print("\nOffline: rows in, result out (median ms; × = peer time / driftline time)\n")
    print("| case | driftline | " + " | ".join(peers) + " |")
    print("|---|---|" + "---|" * len(peers))
    for case in CASES:
        ours = medians[f"{case.name} | offline"]
        cells = [f"{ms(t)} ({t / ours:,.1f}×)" for p in peers if (t := medians[f"{case.name} | {p}"])]
        print(f"| {case.name} | {ms(ours)} | " + " | ".join(cells) + " |")
    print("\nStreaming: one exporter evaluation cycle after 1% new rows vs the peer recomputing the window\n")
    print("| case | driftline cycle | " + " | ".join(peers) + " |")
    print("|---|---|" + "---|" * len(peers))
    for case in CASES:
        ours = medians[f"{case.name} | cycle"]
        cells = [f"{t / ours:,.0f}×" for p in peers if (t := medians[f"{case.name} | {p}"])]
        print(f"| {case.name} | {ms(ours)} | " + " | ".join(cells) + " |")
    small = medians[f"{CASES[0].name} | cycle"]
    large = medians[f"{CASES[3].name} | cycle"]
    print(f"\n20 numeric: the 100k-window cycle takes {large / small:.2f}× the 10k-window cycle")


if __name__ == "__main__":
    main()
