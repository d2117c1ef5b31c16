"""The concept-drift detector's false-positive rate and power, and what ground truth costs the ingest path.

1. ADWIN as the exporter runs it: a stream of predictions whose labels come back late and out of order; every
   ``--every`` labels the window of the last ``--window`` labelled predictions, ordered by prediction time, is
   tested. Reports the share of no-change streams flagged at least once (false positives) and, for streams whose
   error rate rises from 28% to 45% halfway, the share detected after the change and the median detection delay.
2. In-process ingest of response events (one row each) through ``Intake.event``, for the same model
   with and without a ``target`` (the prediction store), measured in the same run: the ratio is the store's cost.
   Then the feedback path: labels joined per second in batches of 100.

    python benchmarks/bench_concept.py [--streams 1000] [--events 200000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from drift import load_config
from drift.quality.adwin import adwin_change
from exporters.events import RESPONSE, InferenceEvent
from exporters.service import ExporterService


def first_detection(rng: np.random.Generator, rates: np.ndarray, window: int, every: int, delta: float) -> int | None:
    n = rates.size
    errors = (rng.random(n) < rates).astype(np.float64)
    arrival = np.argsort(np.arange(n) + rng.normal(0, 150, n))
    for seen in range(every, n + 1, every):
        labelled = np.sort(arrival[max(0, seen - window) : seen])
        if adwin_change(errors[labelled], delta=delta).detected:
            return seen
    return None


def detector(streams: int, length: int, window: int, every: int, delta: float) -> None:
    rng = np.random.default_rng(2026)
    start = time.perf_counter()
    false = sum(first_detection(rng, np.full(length, 0.28), window, every, delta) is not None for _ in range(streams))
    half = length // 2
    found, delays = 0, []
    for _ in range(streams):
        seen = first_detection(rng, np.where(np.arange(length) < half, 0.28, 0.45), window, every, delta)
        if seen is not None and seen > half:
            found += 1
            delays.append(seen - half)
    evaluations = streams * 2 * (length // every)
    elapsed = time.perf_counter() - start
    print(f"ADWIN delta={delta}: {streams} no-change streams of {length} labels, tested every {every} labels "
          f"on a {window}-label window")  # fmt: skip
    print(f"  false positives: {false}/{streams} streams = {false / streams:.3%}")
    print(
        f"  error rate 28% -> 45% at label {half}: detected in {found}/{streams} = {found / streams:.1%}, "
        f"median delay {np.median(delays):.0f} labels (p90 {np.percentile(delays, 90):.0f})"
    )
    print(f"  {evaluations:,} window tests in {elapsed:.1f} s ({elapsed / evaluations * 1e3:.2f} ms each)")


def config(directory: Path, target: bool) -> Path:
    model: dict[str, object] = {
        "name": "bench-model",
        "reference": {"data": "train.csv", "profile": "profile.json"},
        "features": [{"name": "x", "type": "numeric"}],
        "outputs": [{"name": "p", "type": "numeric"}],
        "window": {"size": 5000},
    }
    if target:
        model["target"] = {"name": "y", "task": "classification", "positive": 1}
        model["feedback"] = {"store_size": 100_000, "ttl": "1h"}
    path = directory / ("with.yaml" if target else "without.yaml")
    path.write_text(json.dumps({"version": 1, "models": [model]}))
    return path


def ingest(events: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rates = {}
        services = {}
        for target in (False, True, False, True):  # interleaved: the machine's noise hits both alike
            service = ExporterService(load_config(config(Path(tmp), target)))
            batch = [
                InferenceEvent(RESPONSE, "bench-model", "default", f"id-{i}", {"predictions": [0.4]})
                for i in range(events)
            ]
            start = time.perf_counter()
            for event in batch:
                service.intake.event(event)
            rates.setdefault(target, []).append(events / (time.perf_counter() - start))
            services[target] = service
        without, with_store = max(rates[False]), max(rates[True])
        print(f"ingest of response events, in process: {without:,.0f}/s without a target, {with_store:,.0f}/s with "
              f"the prediction store — ratio {with_store / without:.2f}")  # fmt: skip
        service = services[True]
        documents = [
            json.dumps(
                {"model": "bench-model", "labels": [{"id": f"id-{i + k}", "label": k % 2} for k in range(100)]}
            ).encode()
            for i in range(0, min(events, 100_000), 100)
        ]
        start = time.perf_counter()
        for document in documents:
            status, _ = service.feedback({}, document)
            assert status == 202
        elapsed = time.perf_counter() - start
        print(f"feedback: {len(documents) * 100:,} labels in batches of 100 joined at "
              f"{len(documents) * 100 / elapsed:,.0f} labels/s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--length", type=int, default=3000)
    parser.add_argument("--window", type=int, default=2000)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--delta", type=float, default=0.002)
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    detector(args.streams, args.length, args.window, args.every, args.delta)
    ingest(args.events)


if __name__ == "__main__":
    main()
