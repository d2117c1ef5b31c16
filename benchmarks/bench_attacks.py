"""The untrusted boundary measured from outside: real `driftline serve` and `driftline webhook` processes on loopback,
each attack class of the hostile-input reviews sent by four client threads while a prober asks `/healthz` every 20 ms.
Per class: requests sent, answers by status class (no 5xx may appear), the longest `/healthz` wait while the class
ran, and the process's RSS growth against the bound docs/operations.md states for it.

    python benchmarks/bench_attacks.py [--scale 1.0] [--only TEXT] [--senders 4]

``--scale`` multiplies every class's request count (0.1 for a quick look); ``--senders`` sets the client threads
(``--senders 1 --only "10 MB"``: one worst legal body processed at a time). The table goes to stdout as Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import requests
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from driftline.demo.stack import free_port  # noqa: E402
from exporters.waiting import MAX_REMEMBERED_BYTES, MAX_WAITING_BYTES  # noqa: E402
from httpserver.asgi import LARGE_BODIES  # noqa: E402
from tests.support import ENV, TOKEN, alert, iris_config, notification, webhook_config  # noqa: E402

MB = 1 << 20
Request = tuple[str, str, dict[str, str], bytes]  # method, path, headers, body
SLACK_MB = 48  # allocator arenas, connection buffers, evaluations and scrapes: what any run may add
WAITING_MB = (MAX_WAITING_BYTES + MAX_REMEMBERED_BYTES) / MB
# LARGE_BODIES bodies of 10 MiB held, one of them decoded at a time at up to ~36 times its size (docs/operations.md)
LARGE_MB = LARGE_BODIES * 10 + 36 * 10


def event_headers(model: str, kind: str = "request", event_id: str = "e", **extra: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Ce-Specversion": "1.0", "Ce-Id": event_id,
            "Ce-Type": f"org.kubeflow.serving.inference.{kind}", "Ce-Inferenceservicename": model,
            "Ce-Namespace": "default", **extra}  # fmt: skip


def row(rng: random.Random) -> list[float]:
    return [round(rng.gauss(5.8, 0.8), 2), round(rng.gauss(3.0, 0.4), 2), round(rng.gauss(3.7, 1.7), 2), 1.2]


# --- the attack classes ---


def long_ids(n: int, rng: random.Random) -> Iterator[Request]:
    for i in range(n):
        body = b'{"instances": []}' if i % 2 else json.dumps({"instances": [row(rng)]}).encode()
        yield "POST", "/", event_headers("versioned-iris", event_id=f"{i:08d}" + "x" * 64_000), body


def huge_shapes(n: int, rng: random.Random) -> Iterator[Request]:
    shapes = ["[" + ",".join(["9" * 4300] * 600) + "]", "[" + ",".join(["9" * 18] * 100_000) + "]"]
    for i in range(n):
        tensor = '{"name": "x", "shape": SHAPE, "datatype": "FP32", "data": [1, 2, 3, 4]}'.replace(
            "SHAPE", shapes[i % 2]
        )
        yield "POST", "/", event_headers("sklearn-iris", event_id=str(i)), ('{"inputs": [' + tensor + "]}").encode()


def former_500s(n: int, rng: random.Random) -> Iterator[Request]:
    structured = {"specversion": "1.0", "type": "org.kubeflow.serving.inference.request", "id": "s",
                  "inferenceservicename": "sklearn-iris", "data": '{"instances": ["\\ud800"]}'}  # fmt: skip
    for i in range(n):
        kind = i % 4
        if kind == 0:
            yield "POST", "/", {"Content-Type": "application/cloudevents+json"}, json.dumps(structured).encode()
        elif kind == 1:
            body = '{"model": "sklearn-iris", "labels": [{"id": "a", "label": 1, "timestamp": %s}]}' % ("9" * 309)
            yield "POST", "/feedback", {}, body.encode()
        elif kind == 2:
            meta = '{"X-Model-Version": ' + "[" * 1000 + "]" * 1000 + "}"
            headers = event_headers("header-iris", event_id=str(i), **{"Ce-Metadata": meta})
            yield "POST", "/", headers, json.dumps({"instances": [row(rng)]}).encode()
        else:
            yield (
                "POST",
                "/feedback",
                {"Content-Type": "application/cloudevents+json"},
                json.dumps({**structured, "type": "org.kubeflow.serving.inference.feedback", "data": "\ud800"}).encode(
                    "utf-8", "surrogatepass"
                ),
            )


def nesting_and_numbers(n: int, rng: random.Random) -> Iterator[Request]:
    for i in range(n):
        depth = rng.choice([65, 1000, 100_000])
        bodies = [
            b'{"instances": ' + b"[" * depth + b"]" * depth + b"}",
            b'{"instances": [[' + b"9" * 5000 + b", 1, 2, 3]]}",
            b'{"instances": [[NaN, Infinity, -Infinity, 1e400]]}',
            b'{"instances": [[' + b"1" * 300 + b", 1, 2, 3]]}",
        ]
        yield "POST", "/", event_headers("sklearn-iris", event_id=str(i)), bodies[i % 4]


def made_up_versions(n: int, rng: random.Random) -> Iterator[Request]:
    for i in range(n):
        version = "7" if i % 10 == 0 else f"fake-{rng.randrange(10**6)}"
        meta = json.dumps({"X-Model-Version": [version]})
        headers = event_headers("header-iris", event_id=str(i), **{"Ce-Metadata": meta})
        yield "POST", "/", headers, json.dumps({"instances": [row(rng)]}).encode()


def batches(n: int, rng: random.Random) -> Iterator[Request]:
    for i in range(n):
        kind = "org.kubeflow.serving.inference.request"
        events = [{"specversion": "1.0", "type": kind, "id": f"{i}-{j}", "inferenceservicename": "sklearn-iris",
                   "data": {"instances": [row(rng)]}} for j in range(100)]  # fmt: skip
        yield "POST", "/", {"Content-Type": "application/cloudevents-batch+json"}, json.dumps(events).encode()


def large_legal_bodies(n: int, rng: random.Random) -> Iterator[Request]:
    names = ("sepal_length", "sepal_width", "petal_length", "petal_width")
    body = json.dumps({"instances": [dict(zip(names, row(rng), strict=True)) for _ in range(2000)] * 60}).encode()
    assert 9 * MB < len(body) <= 10 * MB, len(body)
    for i in range(n):
        yield "POST", "/", event_headers("sklearn-iris", event_id=f"big-{i}"), body


def large_feedback(n: int, rng: random.Random) -> Iterator[Request]:
    labels = [{"id": f"id-{j}", "row": 0, "label": str(j % 3)} for j in range(200_000)]
    body = json.dumps({"model": "sklearn-iris", "labels": labels}).encode()
    for _ in range(n):
        yield "POST", "/feedback", {}, body


def garbage(n: int, rng: random.Random) -> Iterator[Request]:
    for i in range(n):
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000)))
        headers = event_headers("sklearn-iris", event_id=str(i)) if i % 2 else {}
        yield "POST", rng.choice(["/", "/feedback"]), headers, body


def webhook_notifications(n: int, rng: random.Random) -> Iterator[Request]:
    good = json.dumps(notification(alert())).encode()
    for i in range(n):
        auth = {"Authorization": f"Bearer {TOKEN}"} if i % 5 else {}
        bodies = [b"[" * 100_000 + b"]" * 100_000, good.replace(b'"4"', b"4"), b"9" * 5000,
                  json.dumps({**notification(alert()), "groupKey": "\ud800"}).encode(), good]  # fmt: skip
        yield "POST", "/alertmanager", auth, bodies[i % 5]


CLASSES: list[tuple[str, str, Callable[[int, random.Random], Iterator[Request]], int, float]] = [
    # name, service, generator, requests, the stated RSS bound (MB)
    ("long ids, no rows (versions wait buffer)", "exporter", long_ids, 18_000, WAITING_MB),
    ("tensor shapes of huge integers", "exporter", huge_shapes, 200, 0),
    ("a460a9c's 500s: surrogates, 309-digit times, deep Ce-Metadata", "exporter", former_500s, 2000, 0),
    ("nesting 65–100,000 deep, 5,000-digit integers, NaN", "exporter", nesting_and_numbers, 2000, 0),
    ("made-up versions (1 in 10 the real one)", "exporter", made_up_versions, 3000, 0),
    ("batch-mode CloudEvents (100 events each)", "exporter", batches, 300, 0),
    ("largest legal bodies: 10 MB of v1 object rows", "exporter", large_legal_bodies, 20, LARGE_MB),
    ("10 MB feedback batches (200,000 labels)", "exporter", large_feedback, 10, LARGE_MB),
    ("random bytes", "exporter", garbage, 3000, 0),
    ("notifications: deep, huge, surrogates, no token", "webhook", webhook_notifications, 2000, 0),
]  # fmt: skip


# --- running ---


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) / 1024


class Prober(threading.Thread):
    """Asks /healthz every 20 ms; ``longest`` is the longest wait for an answer since the last reset."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.longest, self.failures, self.stop = url, 0.0, 0, threading.Event()

    def run(self) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                ok = session.get(self.url + "/healthz", timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            self.longest = max(self.longest, time.monotonic() - start)
            self.failures += not ok
            time.sleep(0.02)


def attack(url: str, requests_: list[Request], senders: int = 4) -> dict[str, int]:
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def worker(part: list[Request]) -> None:
        session = requests.Session()
        for method, path, headers, body in part:
            try:
                status = session.request(method, url + path, headers=headers, data=body, timeout=120).status_code
                key = f"{status // 100}xx"
            except requests.RequestException:
                key = "no answer"
            with lock:
                counts[key] = counts.get(key, 0) + 1

    threads = [threading.Thread(target=worker, args=(requests_[i::senders],)) for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts


def version_rows(url: str, version: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(requests.get(url + "/metrics", timeout=10).text):
        for sample in family.samples:
            if sample.name == "driftline_window_samples" and sample.labels.get("model_version") == version:
                return sample.value
    return 0.0


def start(command: str, config: Path, log: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    exe = str(Path(sys.executable).parent / "driftline")
    process = subprocess.Popen([exe, command, "--config", str(config), "--listen", f"127.0.0.1:{port}"],
                               stdout=log.open("ab"), stderr=subprocess.STDOUT, env={**os.environ, **env})  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return process, url
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"driftline {command} did not start: {log.read_text()[-2000:]}")


def exporter_config(work: Path) -> Path:
    path = iris_config(work)
    content = yaml.safe_load(path.read_text())
    base = content["models"][0]
    base["target"] = {"name": "species", "task": "classification"}
    versioned = {**base, "name": "versioned-iris", "versions": {"source": "response", "wait": "1h"}}
    header = {**base, "name": "header-iris", "versions": {"source": "header", "name": "X-Model-Version"},
              "reference": {**base["reference"], "profile": "runs/{version}/profile.json"}}  # fmt: skip
    content["models"] += [versioned, header]
    path.write_text(yaml.safe_dump(content))
    (work / "runs" / "7").mkdir(parents=True)  # version 7's reference, found by {version}: the iris profile
    (work / "runs" / "7" / "profile.json").write_bytes((work / base["reference"]["profile"]).read_bytes())
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only", default="", help="run only the classes whose name holds this text")
    parser.add_argument("--senders", type=int, default=4, help="client threads per class (default 4)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-attacks-"))
    rng = random.Random(28)
    (work / "hook").mkdir()
    (work / "hook" / "state").mkdir()
    services = {
        "exporter": start("serve", exporter_config(work), work / "exporter.log", {}),
        "webhook": start("webhook", webhook_config(work / "hook", "http://127.0.0.1:9"), work / "webhook.log", ENV),
    }
    print("| attack class | requests | 2xx | 4xx | 5xx | longest /healthz wait | RSS growth | stated bound |")
    print("|---|---|---|---|---|---|---|---|")
    try:
        for name, service, generate, n, bound in CLASSES:
            if args.only not in name:
                continue
            process, url = services[service]
            count = max(1, round(n * args.scale))
            planned = list(generate(count, rng))
            before = rss_mb(process.pid)
            prober = Prober(url)
            prober.start()
            counts = attack(url, planned, args.senders)
            time.sleep(0.5)
            prober.stop.set()
            prober.join()
            grown = rss_mb(process.pid) - before
            assert process.poll() is None, f"driftline {service} died during {name}"
            if generate is made_up_versions:  # the real version kept its slot: its rows are in its window
                time.sleep(1.0)
                real = sum(1 for i in range(count) if i % 10 == 0)
                name += f" — version 7 windowed {version_rows(url, '7'):,.0f} of its {real:,} rows"
            stated = f"{bound + SLACK_MB:,.0f} MB" if bound else f"{SLACK_MB} MB"
            print(f"| {name} | {count:,} | {counts.get('2xx', 0):,} | {counts.get('4xx', 0):,} | "
                  f"{counts.get('5xx', 0) + counts.get('no answer', 0):,} | {prober.longest * 1000:,.0f} ms | "
                  f"{grown:+,.0f} MB | {stated} |", flush=True)  # fmt: skip
    finally:
        for process, _ in services.values():
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
