"""Throughput of `driftline webhook`: 1,000 Alertmanager notifications, mostly repeats, from 8 concurrent senders.

20 models drift at once; each of their notifications is re-sent 44 more times (Alertmanager's group_interval and
repeat_interval repeats), interleaved and shuffled, alongside resolved and non-retrain notifications. The webhook
runs as a real subprocess with its SQLite outbox on disk (synchronous=FULL: every decision is fsynced), GitHub is a
local HTTP server answering 204. Checks: no error, exactly 20 dispatches. Reports notifications/s and latency.

    python benchmarks/bench_webhook.py
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support import TOKEN, FakeGitHub, WebhookProcess, alert, notification, wait, webhook_config

MODELS = 20
REPEATS = 45
SENDERS = 8


def main() -> int:
    notifications = []
    for i in range(MODELS):
        firing = notification(alert(model=f"model-{i:02d}", namespace="ml"), group=f"model-{i:02d}")
        notifications += [firing] * REPEATS
    random.Random(7).shuffle(notifications)
    # resolved and warning notifications among them, as a real Alertmanager sends (1,000 in all)
    for i in range(1000 - len(notifications)):
        model = f"model-{i % MODELS:02d}"
        other = (
            alert(model=model, namespace="ml", status="resolved")
            if i % 2
            else alert(model=model, namespace="ml", alertname="DriftlineFeatureDrift", action=None)
        )
        notifications.insert(i * 17 % len(notifications), notification(other, group=model))
    assert len(notifications) == 1000

    with tempfile.TemporaryDirectory() as tmp, FakeGitHub() as github:
        models = tuple((f"model-{i:02d}", "ml") for i in range(MODELS))
        config = webhook_config(Path(tmp), github.url, models)
        process = WebhookProcess(config, Path(tmp) / "webhook.log")
        try:
            process.wait_ready()
            local = threading.local()
            headers = {"Authorization": f"Bearer {TOKEN}"}

            def send(body: dict[str, object]) -> tuple[int, float]:
                session = getattr(local, "session", None) or requests.Session()
                local.session = session
                start = time.perf_counter()
                status = session.post(process.url + "/alertmanager", json=body, headers=headers, timeout=30).status_code
                return status, time.perf_counter() - start

            started = time.perf_counter()
            with ThreadPoolExecutor(SENDERS) as pool:
                results = list(pool.map(send, notifications))
            elapsed = time.perf_counter() - started
            wait(lambda: len(github.delivered()) >= MODELS, 60, "every dispatch")
            time.sleep(2)
            errors = [status for status, _ in results if status != 200]
            latencies = sorted(seconds for _, seconds in results)
            dispatched = len(github.delivered())
            kinds = ("dispatched", "duplicate", "cooldown", "resolved_ignored", "not_retrain")
            outcomes = {k: int(process.outcome(k)) for k in kinds}
        finally:
            process.stop()

    print(f"notifications sent:     {len(notifications):,} from {SENDERS} concurrent senders")
    print(f"errors:                 {len(errors)}")
    print(f"dispatches to GitHub:   {dispatched} (expected {MODELS})")
    print(f"outcomes:               {outcomes}")
    print(f"throughput:             {len(notifications) / elapsed:,.0f} notifications/s ({elapsed:.2f} s in all)")
    print(
        f"latency p50 / p99:      {statistics.median(latencies) * 1000:.1f} ms / "
        f"{latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms"
    )
    return 0 if not errors and dispatched == MODELS else 1


if __name__ == "__main__":
    raise SystemExit(main())
