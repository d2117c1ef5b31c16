"""The second hostile-input review's findings that need the real services: `driftline serve` and `driftline webhook`
as processes, S3 as a moto server. Memory from unauthenticated events stays within its byte budget; poisoned S3
objects and label files are quarantined and the rest is read, once; a second webhook on one outbox is refused; and
an InferenceService with a logged transformer feeds the window only its predictor's rows."""

from __future__ import annotations

import io
import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import requests
import yaml

from tests.support import (
    FIXTURES,
    IRIS_MODEL,
    ExporterProcess,
    WebhookProcess,
    archived_record,
    iris_config,
    iris_pull_config,
    labels,
    run_cli,
    scrape,
    wait_for,
    webhook_config,
)

PREFIX = "logs/default/sklearn-iris/predictor/v1"
MB = 1 << 20
# Besides the structures an attack fills, what a process's RSS may grow by while it serves: allocator arenas, the
# connections' buffers, the evaluator's and the scrapes' working memory (docs/operations.md).
SLACK_MB = 48
ONE_ROW = {"instances": [[5.0, 3.0, 4.0, 1.0]]}


def rss_mb(process: ExporterProcess) -> float:
    status = Path(f"/proc/{process.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) / 1024


# --- 1: memory from unauthenticated events ---


def test_review2_finding_1_events_with_long_ids_and_no_rows_stay_within_the_waiting_budget(tmp_path: Path) -> None:
    """18,000 events — requests with 64 KB ids, half of them of no rows, that a model with versions.source: response
    keeps until their response names a version — took a real exporter from 202 to 1,270 MB. Now what they hold is
    bounded in bytes: the process grows by at most the waiting budget and the slack, whatever the events."""
    from exporters.waiting import MAX_REMEMBERED_BYTES, MAX_WAITING_BYTES

    config = iris_config(tmp_path)
    content = yaml.safe_load(config.read_text())
    content["models"][0]["versions"] = {"source": "response", "wait": "1h"}
    config.write_text(yaml.safe_dump(content))
    with ExporterProcess(config, tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/healthz")
        before = rss_mb(exporter)
        bodies = [b'{"instances": []}', b'{"instances": [[5.1, 3.5, 1.4, 0.2]]}']
        statuses: list[Counter[int]] = [Counter() for _ in range(4)]  # one per thread: += on a shared dict races

        def send(worker: int) -> None:
            session = requests.Session()
            for i in range(worker, 18_000, 4):
                headers = {"Ce-Specversion": "1.0", "Ce-Type": "org.kubeflow.serving.inference.request",
                           "Ce-Inferenceservicename": "sklearn-iris", "Ce-Id": f"{i:08d}" + "x" * 64_000}  # fmt: skip
                status = session.post(exporter.url + "/", data=bodies[i % 2], headers=headers, timeout=30).status_code
                statuses[worker][status] += 1

        threads = [threading.Thread(target=send, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(statuses, Counter()) == {202: 18_000}
        grown = rss_mb(exporter) - before
        bound = (MAX_WAITING_BYTES + MAX_REMEMBERED_BYTES) / MB + SLACK_MB
        print(f"\nRSS {before:.0f} MB -> +{grown:.0f} MB over 18,000 events (bound {bound:.0f} MB)")
        assert grown <= bound
        assert requests.get(exporter.url + "/healthz", timeout=5).status_code == 200


# --- 3 and 9: pull mode ---


def pull_config(tmp_path: Path, endpoint: str) -> Path:
    path = iris_pull_config(tmp_path, endpoint, per_poll=50, watermark="watermark.json")
    content = yaml.safe_load(path.read_text())
    content["models"][0]["target"] = {"name": "species", "task": "classification"}  # the profile predates it
    content["models"][0]["feedback"] = {
        "s3_labels": "s3://kserve-logs/labels",
        "poll": "200ms",
        "watermark": "s3://kserve-logs/driftline/labels-watermark.json",
    }
    path.write_text(yaml.safe_dump(content))
    return path


def many_rows_parquet() -> bytes:
    """25 KB that decode to 4,000,000 records (one long run of equal values): +1.16 GB when read whole."""
    column = pa.array(["x"] * 4_000_000)
    buffer = io.BytesIO()
    pq.write_table(pa.table({"bytes": column, "reqType": column}), buffer, compression="zstd")
    return buffer.getvalue()


def test_review2_finding_3_a_prefix_of_100_good_and_3_poisoned_objects(
    tmp_path: Path, s3: Any, s3_endpoint: str
) -> None:
    """One archived object with a 5,000-digit integer or nested 100,000 deep once stopped pull mode for good: re-read
    every poll with a traceback, the watermark stuck before it, a restart no help. Now: every good row counted, the
    three poisoned objects quarantined, nothing read twice — after a restart either."""
    s3.create_bucket(Bucket="kserve-logs")
    config = pull_config(tmp_path, s3_endpoint)
    with ExporterProcess(config, tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/readyz")
        poisoned = {
            "p1-request.json": b'[{"bytes": "eA==", "reqType": "request", "id": ' + b"9" * 5000 + b"}]",
            "p2-request.json": b"[" * 100_000 + b"]" * 100_000,
            "p3-request.parquet": many_rows_parquet(),
        }
        for i in range(100):
            if i in (10, 50, 90):
                name, body = poisoned.popitem()
                s3.put_object(Bucket="kserve-logs", Key=f"{PREFIX}/{name}", Body=body)
            rows = [[5.0 + i % 3 / 10, 3.0, 4.0, 1.0]] * (1 + i % 2)
            s3.put_object(Bucket="kserve-logs", Key=f"{PREFIX}/g{i:03d}-request.json",
                          Body=json.dumps([archived_record({"instances": rows}, "request", f"g{i}")]))  # fmt: skip
        expected_rows = sum(1 + i % 2 for i in range(100))

        def counted() -> dict[str, float] | None:
            metrics = scrape(exporter.url)
            objects = {dict(k)["outcome"]: v for k, v in metrics["driftline_log_objects_total"].items()}
            return objects if objects == {"processed": 100.0, "quarantined": 3.0} else None

        wait_for(counted, timeout=120)
        accepted = scrape(exporter.url)["driftline_events_total"]
        assert accepted[labels(**IRIS_MODEL, type="request", outcome="accepted")] == 100
        assert wait_for(lambda: scrape(exporter.url)["driftline_window_samples"][labels(**IRIS_MODEL)] == expected_rows)
        watermark = json.loads(s3.get_object(Bucket="kserve-logs", Key="driftline/watermark.json")["Body"].read())
        assert sorted(q["key"].rsplit("/", 1)[1] for q in watermark["quarantined"]) == [
            "p1-request.json", "p2-request.json", "p3-request.parquet"
        ]  # fmt: skip
    log = (tmp_path / "exporter.log").read_text()
    assert log.count("archived object quarantined") == 3 and "Traceback" not in log

    with ExporterProcess(config, tmp_path / "exporter2.log") as exporter:  # a restart reads nothing again
        exporter.wait_until("/readyz")
        s3.put_object(Bucket="kserve-logs", Key=f"{PREFIX}/n1-request.json",
                      Body=json.dumps([archived_record(ONE_ROW, "request", "n1")]))  # fmt: skip
        wait_for(lambda: scrape(exporter.url)["driftline_window_samples"][labels(**IRIS_MODEL)] == 1.0, timeout=60)
        objects = {dict(k)["outcome"]: v for k, v in scrape(exporter.url)["driftline_log_objects_total"].items()}
        assert objects == {"processed": 1.0, "quarantined": 0.0}


def test_review2_finding_3_one_bad_label_leaves_its_batch_s_good_labels(
    tmp_path: Path, s3: Any, s3_endpoint: str
) -> None:
    """One label with a 400-digit timestamp once dropped the 20 good labels of the same poll; a label-file line nested
    100,000 deep stopped label pull for good."""
    s3.create_bucket(Bucket="kserve-logs")
    config = pull_config(tmp_path, s3_endpoint)
    with ExporterProcess(config, tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/readyz")
        for i in range(20):  # predictions the labels join
            body = json.dumps({"predictions": ["1"]})
            headers = {"Ce-Specversion": "1.0", "Ce-Type": "org.kubeflow.serving.inference.response",
                       "Ce-Inferenceservicename": "sklearn-iris", "Ce-Id": f"id-{i}"}  # fmt: skip
            assert requests.post(exporter.url + "/", data=body, headers=headers, timeout=10).status_code == 202
        lines = [json.dumps({"id": f"id-{i}", "label": "1"}) for i in range(20)]
        lines.insert(7, '{"id": "id-x", "label": "1", "timestamp": ' + "9" * 400 + "}")
        lines.insert(3, "[" * 100_000 + "]" * 100_000)
        s3.put_object(Bucket="kserve-logs", Key="labels/a.jsonl", Body="\n".join(lines).encode())
        s3.put_object(Bucket="kserve-logs", Key="labels/b.jsonl", Body=b"[" * 100_000 + b"]" * 100_000)

        def joined() -> float:
            return scrape(exporter.url)["driftline_labels_total"][labels(**IRIS_MODEL, outcome="joined")]

        def objects() -> dict[str, float]:
            counted = scrape(exporter.url)["driftline_label_objects_total"]
            return {dict(k)["outcome"]: v for k, v in counted.items()}

        # the two objects are read one after the other: b's quarantine may come after a's labels are joined
        wait_for(lambda: joined() == 20.0 and objects().get("quarantined") == 1.0, timeout=120)
        metrics = scrape(exporter.url)
        files = {dict(k)["outcome"]: v for k, v in metrics["driftline_label_objects_total"].items()}
        assert files == {"processed": 1.0, "quarantined": 1.0}
        refused = {dict(k)["reason"]: v for k, v in metrics["driftline_feedback_rejected_total"].items() if v}
        assert refused == {"over_limit": 2.0}


def test_review2_finding_9_large_objects_are_refused_unread(tmp_path: Path, s3: Any, s3_endpoint: str) -> None:
    """A 57 MB JSON object took +476 MB; a 25 KB Parquet of 4,000,000 rows +1.16 GB. Now the first is quarantined from
    its listed size without a download, the second from its footer."""
    s3.create_bucket(Bucket="kserve-logs")
    config = pull_config(tmp_path, s3_endpoint)
    with ExporterProcess(config, tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/readyz")
        s3.put_object(Bucket="kserve-logs", Key=f"{PREFIX}/warm-request.json",  # S3 client and decoders warmed up
                      Body=json.dumps([archived_record(ONE_ROW, "request", "w")]))  # fmt: skip
        wait_for(lambda: scrape(exporter.url)["driftline_window_samples"][labels(**IRIS_MODEL)] == 1.0, timeout=60)
        before = rss_mb(exporter)
        big = json.dumps(
            [archived_record({"instances": [[5.0, 3.0, 4.0, 1.0]]}, "request", f"b{i}") for i in range(400_000)]
        )
        assert len(big) > 57 * MB
        s3.put_object(Bucket="kserve-logs", Key=f"{PREFIX}/big-request.json", Body=big.encode())
        del big
        s3.put_object(Bucket="kserve-logs", Key=f"{PREFIX}/rows-request.parquet", Body=many_rows_parquet())

        def quarantined() -> bool:
            objects = scrape(exporter.url)["driftline_log_objects_total"]
            return objects.get(labels(**IRIS_MODEL, outcome="quarantined")) == 2.0

        wait_for(quarantined, timeout=60)
        grown = rss_mb(exporter) - before
        print(f"\nRSS +{grown:.0f} MB for a 57 MB object and a 4,000,000-row Parquet file")
        assert grown < SLACK_MB
    log = (tmp_path / "exporter.log").read_text()
    assert "more than max_object_bytes" in log and "4,000,000 rows, more than 100,000" in log


# --- 12: two webhooks on one outbox ---


def test_review2_finding_12_a_second_webhook_on_the_same_outbox_is_refused_at_start(tmp_path: Path) -> None:
    config = webhook_config(tmp_path, "http://127.0.0.1:9")
    with WebhookProcess(config, tmp_path / "webhook.log") as first:
        first.wait_until("/healthz")
        from tests.support import ENV

        second = run_cli("webhook", "--config", str(config), "--listen", "127.0.0.1:0", env=ENV)
        assert second.returncode == 1 and "Traceback" not in second.stderr
        assert "is used by another webhook process; run one webhook per outbox" in second.stderr
        assert requests.get(first.url + "/healthz", timeout=5).json() == {"status": "ok"}
    third = WebhookProcess(config, tmp_path / "webhook3.log")  # once the first has stopped, the outbox is free
    with third:
        third.wait_until("/healthz")


# --- the KServe boundary: a logged transformer ---


def test_review2_kserve_a_logged_transformer_leaves_the_window_to_the_predictor(tmp_path: Path) -> None:
    """KServe's logger stamps each event with its component; an InferenceService with a logged transformer once put
    34 requests in the window for 30 sent to the predictor."""
    config = iris_config(tmp_path)
    predictor_rows = 0
    with ExporterProcess(config, tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/readyz")
        for name in ("v1-request.json", "v1-request-objects.json", "v2-request.json", "v2-request-flat.json"):
            event = json.loads((FIXTURES / name).read_text())
            assert event["headers"]["Ce-Component"] == "predictor"
            predictor_rows += len(_rows_of(json.loads(event["body"])))
            for component in ("predictor", "transformer", "explainer"):
                headers = {**event["headers"], "Ce-Component": component}
                answer = requests.post(exporter.url + event["path"], data=event["body"], headers=headers, timeout=10)
                assert answer.status_code == 202
        wait_for(lambda: scrape(exporter.url)["driftline_window_samples"][labels(**IRIS_MODEL)] == predictor_rows)
        other = scrape(exporter.url)["driftline_other_component_events_total"]
        assert other[labels(**IRIS_MODEL, component="transformer")] == 4
        assert other[labels(**IRIS_MODEL, component="explainer")] == 4


def _rows_of(payload: dict[str, Any]) -> list[Any]:
    if "instances" in payload:
        return list(payload["instances"])
    tensor = payload["inputs"][0]
    return list(range(tensor["shape"][0]))


def test_pull_mode_reads_the_logger_s_own_batch_records(tmp_path: Path, s3: Any, s3_endpoint: str) -> None:
    """The fixtures' batch object (both reqType spellings) is still read whole through the bounded decoder."""
    s3.create_bucket(Bucket="kserve-logs")
    config = pull_config(tmp_path, s3_endpoint)
    batch = json.loads((FIXTURES / "s3-records-batch.json").read_text())
    with ExporterProcess(config, tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/readyz")
        s3.put_object(Bucket="kserve-logs", Key=f"{PREFIX}/{batch[0]['id']}-request.json", Body=json.dumps(batch))
        frame = pd.DataFrame([archived_record({"instances": [[5.0, 3.1, 1.5, 0.2]]}, "request", "c1")])
        s3.put_object(Bucket="kserve-logs", Key=f"{PREFIX}/c1-request.csv", Body=frame.to_csv(index=False).encode())
        wait_for(lambda: scrape(exporter.url)["driftline_window_samples"][labels(**IRIS_MODEL)] == 3.0, timeout=60)
