"""Exporter memory and cycle with many models at full windows: RSS of an in-process exporter, its evaluation cycle
and its /metrics.

``--models`` models × ``--features`` numeric features and one output each, default windows (5,000 rows, 1 h) and
the default report sample (5,000 rows), every window filled past its size and evaluated. Prints the process RSS after
the imports, after loading the profiles, and after filling and evaluating, and the growth per model; then the
evaluation cycle (every model evaluated, as the exporter does each ``exporter.evaluate_every``) and one scrape of
/metrics (series, bytes, render time), median of three each.

    python benchmarks/bench_memory.py [--models 100] [--features 20] [--bin-counts]
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from bench_stats import median_of

import drift
from exporters.app import ExporterApp
from exporters.service import ExporterService
from httpserver.exposition import render


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--window", type=int, default=5000)
    parser.add_argument("--bin-counts", action="store_true", help="publish the PSI-bin counts (exporter.bin_counts)")
    args = parser.parse_args()
    features = [f"f{i:02d}" for i in range(args.features)]
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        reference = pd.DataFrame({n: rng.normal(0, 1, 20_000) for n in [*features, "score"]})
        reference.to_csv(directory / "train.csv", index=False)
        models = [
            {
                "name": f"model-{i:03d}",
                "reference": {"data": "train.csv", "profile": f"profile-{i:03d}.json"},
                "features": [{"name": n, "type": "numeric"} for n in features],
                "outputs": [{"name": "score", "type": "numeric"}],
                "window": {"size": args.window},
            }
            for i in range(args.models)
        ]
        document = {"version": 1, "models": models, "exporter": {"bin_counts": args.bin_counts}}
        (directory / "monitor.yaml").write_text(yaml.safe_dump(document))
        config = drift.load_config(directory / "monitor.yaml")
        profile = drift.build_profile(reference, config.models[0])
        for model in config.models:
            drift.ReferenceProfile(**{**vars(profile), "model": model.name, "version": ""}).save(
                model.reference.profile
            )
        gc.collect()
        start = rss_mb()
        service = ExporterService(config)
        app = ExporterApp(service)
        service.refresh_references()
        gc.collect()
        loaded = rss_mb()
        now = time.time()
        for monitor in (stream for model in service.models.values() for stream in model.streams):
            for _ in range(2):  # past the window's size: every bucket full, every reservoir full
                block = rng.normal(0, 1, (args.window, args.features))
                monitor.features.append_block(block, None, args.window, now)
                assert monitor.outputs is not None
                monitor.outputs.append_block(rng.normal(0, 1, (args.window, 1)), None, args.window, now)
        service.evaluate_all()
        gc.collect()
        full = rss_mb()
        cycle = median_of(service.evaluate_all, 3)
        scrape = median_of(lambda: render(app.registry, "text/plain", ""), 3)
        body, _ = render(app.registry, "text/plain", "")
        series = sum(1 for line in body.splitlines() if line.startswith(b"driftline_"))
    print(f"{args.models} models × {args.features} numeric features + 1 output, windows of {args.window:,} rows")
    print(f"RSS after imports:                 {start:8.1f} MB")
    print(f"RSS with the profiles loaded:      {loaded:8.1f} MB  (+{loaded - start:.1f})")
    print(f"RSS with every window full:        {full:8.1f} MB  (+{full - start:.1f})")
    print(f"per model:                         {(full - start) / args.models * 1024:8.0f} KB")
    print(f"evaluation cycle (every model):    {cycle * 1000:8.0f} ms")
    print(f"/metrics: {series:,} driftline_* series, {len(body) / 2**20:.1f} MiB, rendered in {scrape * 1000:.0f} ms")


if __name__ == "__main__":
    main()
