"""Ingest throughput and memory of one exporter process, against a do-nothing endpoint on the same server stack.

Posts KServe v1 request events (one row × 20 numeric features, binary-mode CloudEvent headers) over loopback with
`wrk` (Debian package `wrk`), then:

* sustained events/s of `driftline serve` and of benchmarks/null_app.py under the same uvicorn/httptools/uvloop
  settings, measured in the same run, and their ratio;
* the exporter's resident memory once its window is full and after 1,000,000 events (it must stay flat).

With ``--versions`` the model tells its serving versions apart (``versions.source: annotation``) and every event
carries the logger's ``Ce-Annotations`` header: the cost of reading the version. With ``--multivariate`` the model
has multivariate drift, evaluated every 5 s from the window's row sample while the traffic runs. With
``--categorical`` the last 4 of the 20 features are categorical and the event's row is an object keyed by feature
name (the parser's careful path, which also counts type errors and absent columns).

    python benchmarks/bench_ingest.py [--seconds 10] [--rounds 3] [--events 1000000] [--connections 32]
                                      [--versions] [--multivariate] [--categorical]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import requests
import yaml

from driftline.demo.stack import free_port

HERE = Path(__file__).resolve().parent
FEATURES = [f"f{i:02d}" for i in range(20)]
LUA = """
wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Ce-Specversion"] = "1.0"
wrk.headers["Ce-Type"] = "org.kubeflow.serving.inference.request"
wrk.headers["Ce-Inferenceservicename"] = "bench-model"
wrk.headers["Ce-Namespace"] = "default"
wrk.headers["Ce-Id"] = "0009174a-24a8-4603-b098-09c8799950e9"
"""


def rss_mb(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    current = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
    peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
    return current, peak


def wait_ready(url: str, path: str = "/healthz") -> None:
    for _ in range(300):
        try:
            if requests.get(url + path, timeout=1).status_code in (200, 202, 405):
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def wrk(url: str, script: Path, seconds: float, connections: int) -> tuple[float, int, int]:
    """(requests/s, requests, non-2xx responses) from one wrk run."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, total, int(bad.group(1)) if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--versions", action="store_true", help="a model with versions, read from the annotations")
    parser.add_argument("--multivariate", action="store_true", help="the model has multivariate drift (PCA)")
    parser.add_argument("--categorical", action="store_true", help="4 categorical features, object rows")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench_ingest needs wrk: apt-get install wrk")

    work = Path(tempfile.mkdtemp(prefix="driftline-bench-"))
    rng = np.random.default_rng(0)
    categorical = set(FEATURES[-4:]) if args.categorical else set()
    kinds = np.array(["a", "b", "c", "d", "e"])
    reference = {f: rng.choice(kinds, 50_000) if f in categorical else rng.normal(size=50_000) for f in FEATURES}
    pd.DataFrame(reference).to_csv(work / "train.csv", index=False)
    config = {
        "version": 1,
        "exporter": {"evaluate_every": "5s"},
        "models": [
            {
                "name": "bench-model",
                "reference": {"data": "train.csv", "profile": "profile.json"},
                "features": [{"name": f, "type": "categorical" if f in categorical else "numeric"} for f in FEATURES],
                "window": {"size": 5000, "max_age": "1h"},
            }
        ],
    }
    lua = LUA
    if args.multivariate:
        config["models"][0]["multivariate"] = {}  # type: ignore[index]
    if args.versions:
        model = config["models"][0]  # type: ignore[index]
        model["reference"]["profile"] = "runs/{version}/profile.json"
        model["versions"] = {"source": "annotation", "name": "driftline.io/model-version"}
        lua += """wrk.headers["Ce-Annotations"] = '{"driftline.io/model-version":"1"}'\n"""
    (work / "monitor.yaml").write_text(yaml.safe_dump(config))
    driftline = str(Path(sys.executable).parent / "driftline")
    profile = [driftline, "profile", "--config", str(work / "monitor.yaml"), "--model-version", "1"]
    subprocess.run(profile, check=True, capture_output=True)
    row = rng.normal(size=20).round(6).tolist()
    if args.categorical:
        row = {f: "c" if f in categorical else value for f, value in zip(FEATURES, row, strict=True)}
    body = json.dumps({"instances": [row]})
    script = work / "post.lua"
    script.write_text(lua % body)

    servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    commands = {
        "do-nothing ASGI app": [sys.executable, "-m", "uvicorn", "null_app:app", "--app-dir", str(HERE), "--loop",
                                "uvloop", "--http", "httptools", "--no-access-log", "--no-proxy-headers",
                                "--log-level", "warning"],
        "driftline serve": [driftline, "serve", "--config", str(work / "monitor.yaml"), "--log-level", "warning"],
    }  # fmt: skip
    try:
        for name, command in commands.items():
            port = free_port()
            flag = ["--port", str(port)] if "uvicorn" in command else ["--listen", f"127.0.0.1:{port}"]
            url = f"http://127.0.0.1:{port}"
            servers[name] = (
                subprocess.Popen([*command, *flag], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                url,
            )
            wait_ready(url, "/healthz" if "serve" in command else "/")
            wrk(url, script, 2, args.connections)  # warm-up; fills the exporter's window
        # Interleaved rounds, so both servers see the same machine noise; the median ratio is reported.
        rates: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(args.rounds):
            for name, (_, url) in servers.items():
                rate, total, bad = wrk(url, script, args.seconds, args.connections)
                rates[name].append(rate)
                print(f"{name}: {rate:,.0f} events/s ({total:,} events, {bad} non-2xx)", flush=True)
        ratios = sorted(d / n for d, n in zip(rates["driftline serve"], rates["do-nothing ASGI app"], strict=True))
        print(
            f"driftline serve: median {statistics.median(rates['driftline serve']):,.0f} events/s; "
            f"median ratio to the do-nothing endpoint {statistics.median(ratios):.0%} "
            f"(rounds: {', '.join(f'{r:.0%}' for r in ratios)})"
        )
        server, url = servers["driftline serve"]
        full = rss_mb(server.pid)
        while True:
            accepted = accepted_events(url)
            if accepted >= args.events:
                break
            rate = statistics.median(rates["driftline serve"])
            wrk(url, script, min(60.0, (args.events - accepted) / max(rate, 1) + 1), args.connections)
        after = rss_mb(server.pid)
        print(f"RSS with the window full: {full[0]:.1f} MB; after {accepted:,.0f} accepted events: {after[0]:.1f} MB "
              f"(peak {after[1]:.1f} MB); growth {after[0] - full[0]:+.1f} MB")  # fmt: skip
    finally:
        for server, _ in servers.values():
            server.terminate()
            server.wait(timeout=20)


def accepted_events(url: str) -> float:
    samples = requests.get(url + "/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in samples.splitlines()
        if line.startswith("driftline_events_total{") and 'outcome="accepted"' in line
    )


if __name__ == "__main__":
    main()
