"""What pooling replicas costs Prometheus: series and rule-evaluation time of the generated pooling group.

Simulated replicas (tests/support/replicas.py: the exporter's bin-count exposition for many models) are scraped by
a real Prometheus (Debian's `prometheus`) that evaluates `driftline generate`'s rules for the same config; the
pooling groups' evaluation times are read from /api/v1/rules once the windows hold data. The default is the fleet
the docs quote: 100 models × 20 numeric features × 10 bins on 3 replicas, scraped and pooled every 15 s.

    python benchmarks/bench_pooling.py [--models 100] [--features 20] [--replicas 3] [--step 15] [--evaluations 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from alerts import pooling  # noqa: E402
from alerts.loader import parse_deployment  # noqa: E402
from driftline.demo.stack import PrometheusProcess  # noqa: E402
from driftline.generate import generate, write_files  # noqa: E402
from tests.support.promql import last_group_evaluation  # noqa: E402
from tests.support.replicas import BINS, SimulatedReplica, simulation_config  # noqa: E402


def resident_mib(pid: int) -> float:
    """The process's resident set, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--step", type=int, default=15, help="scrape and pooling interval, seconds")
    parser.add_argument("--evaluations", type=int, default=8)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="driftline-pooling-"))
    document = simulation_config(args.models, args.features, replicas=args.replicas)
    document["alerting"]["pooling"] = {"windows": ["1h", "24h"], "step": f"{args.step}s"}
    config = parse_deployment(document)
    write_files(generate(config), work / "out")
    rng = np.random.default_rng(0)
    settings = {"driftline_psi_threshold": 0.1, "driftline_drift_share_threshold": 0.5,
                "driftline_window_min_samples": 100.0}  # fmt: skip
    with ExitStack() as stack:
        replicas = [
            stack.enter_context(SimulatedReplica(args.models, args.features, settings)) for _ in range(args.replicas)
        ]
        reference = rng.multinomial(20_000, np.full(BINS, 1 / BINS), size=(args.models, args.features))
        for replica in replicas:
            replica.reference[:] = reference
        prometheus = stack.enter_context(
            PrometheusProcess(
                work / "prometheus",
                {
                    "global": {"scrape_interval": f"{args.step}s", "evaluation_interval": f"{args.step}s"},
                    "rule_files": [str(work / "out" / "prometheus" / "rules.yml")],
                    "scrape_configs": [
                        {"job_name": "sim", "static_configs": [{"targets": [r.url[7:] for r in replicas]}]}
                    ],
                },
            )
        )
        prometheus.wait_ready()
        names = [g["name"] for g in pooling.rule_groups(config)]
        durations: dict[str, list[float]] = {name: [] for name in names}
        seen = 0.0
        while len(durations[pooling.COUNTING_GROUP]) < args.evaluations:
            for replica in replicas:  # traffic between evaluations: every counter grows
                with replica.lock:
                    replica.counts += rng.multinomial(50, np.full(BINS, 1 / BINS), size=(args.models, args.features))
            time.sleep(args.step / 3)
            stamp = last_group_evaluation(prometheus, pooling.COUNTING_GROUP)
            if stamp > seen:
                seen = stamp
                groups = requests.get(prometheus.url + "/api/v1/rules", timeout=30).json()["data"]["groups"]
                report = []
                for group in (g for g in groups if g["name"] in durations):
                    durations[group["name"]].append(float(group["evaluationTime"]))
                    slowest = max(group["rules"], key=lambda r: float(r["evaluationTime"]))
                    report.append(
                        f"{group['name']} {float(group['evaluationTime']) * 1000:.0f} ms "
                        f"(slowest {slowest['name']} {float(slowest['evaluationTime']) * 1000:.0f} ms)"
                    )
                print("; ".join(report), flush=True)
        recorded = requests.get(
            prometheus.url + "/api/v1/query", params={"query": 'count({__name__=~".+:.+"})'}, timeout=60
        ).json()["data"]["result"]
        rss = resident_mib(prometheus.process.pid)
        scraped = args.replicas * args.models * args.features * (2 * BINS + 1) + args.replicas * (args.models * 3 + 1)
    print(
        f"{args.models} models × {args.features} features × {BINS} bins on {args.replicas} replicas, "
        f"step {args.step}s (the interval of every group):"
    )
    for name, times in durations.items():
        steady = times[2:] or times
        median = statistics.median(steady)
        print(
            f"  {name}: median {median * 1000:.0f} ms (max {max(steady) * 1000:.0f} ms), "
            f"{median / args.step:.2f}× its interval"
        )
    print(
        f"  {scraped:,} scraped series; {int(float(recorded[0]['value'][1])):,} recorded series (every rule group); "
        f"Prometheus RSS {rss:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
