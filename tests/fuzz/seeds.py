"""The seed corpus: ``python -m tests.fuzz.seeds`` writes ``tests/fuzz/corpus/<target>/`` from the repository's own
fixtures and objects the code writes itself (a profile, a checkpoint), so every target starts from inputs that reach
deep into its entry point. The files are committed; rerun after a format changes."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pandas as pd

from tests.support import FIXTURES, alert, notification

from .__main__ import CORPUS
from .targets import exporter, exporter_config, workdir


def http(headers: dict[str, str], body: str | bytes) -> bytes:
    lines = "".join(f"{name}: {value}\n" for name, value in headers.items())
    return lines.encode() + b"\n" + (body.encode() if isinstance(body, str) else body)


def binary(kind: str, event_id: str, model: str = "sklearn-iris", **extra: str) -> dict[str, str]:
    return {
        "Ce-Specversion": "1.0",
        "Ce-Type": f"org.kubeflow.serving.inference.{kind}",
        "Ce-Id": event_id,
        "Ce-Inferenceservicename": model,
        "Ce-Namespace": "default",
        "Ce-Component": "predictor",
        **extra,
    }


def http_ingest() -> dict[str, bytes]:
    out = {}
    for path in sorted(FIXTURES.glob("*.json")):
        if not path.name.startswith("s3-"):
            event = json.loads(path.read_text())
            out[path.stem] = http(event["headers"], event["body"])
    structured = json.loads(json.loads((FIXTURES / "structured-request.json").read_text())["body"])
    out["batch"] = http({"Content-Type": "application/cloudevents-batch+json"}, json.dumps([structured] * 3))
    metadata = json.dumps({"X-Model-Version": ["2"]})
    out["versioned"] = http(binary("request", "v", "versioned-iris", **{"Ce-Metadata": metadata}),
                            '{"instances": [[6.8, 2.8, 4.8, 1.4]]}')  # fmt: skip
    tensor = {"name": "class", "shape": [2], "datatype": "BYTES", "data": ["1", "2"]}
    out["v2-response-class"] = http(
        binary("response", "r"), json.dumps({"model_name": "sklearn-iris", "outputs": [tensor]})
    )
    return out


def http_feedback() -> dict[str, bytes]:
    labels = [{"id": "0009174a-24a8-4603-b098-09c8799950e9", "row": 0, "label": "1", "timestamp": 1764000000}]
    return {
        "plain": http({}, json.dumps({"model": "sklearn-iris", "namespace": "default", "labels": labels})),
        "binary": http(binary("feedback", "f"), json.dumps({"labels": labels})),
        "structured": http(
            {"Content-Type": "application/cloudevents+json"},
            json.dumps(
                {
                    "specversion": "1.0",
                    "type": "org.kubeflow.serving.inference.feedback",
                    "id": "f",
                    "inferenceservicename": "sklearn-iris",
                    "data": labels,
                }
            ),
        ),
    }


def http_webhook() -> dict[str, bytes]:
    firing = notification(alert())
    return {"firing": json.dumps(firing).encode(), "resolved": json.dumps({**firing, "status": "resolved"}).encode()}


def s3_log_object() -> dict[str, bytes]:
    single = (FIXTURES / "s3-record-single.json").read_bytes()
    batch = (FIXTURES / "s3-records-batch.json").read_bytes()
    records = json.loads(batch)
    for record in records:
        record["metadata"] = json.dumps(record.get("metadata", {}))
    csv = pd.DataFrame(records).to_csv(index=False).encode()
    parquet = io.BytesIO()
    pd.DataFrame(records).to_parquet(parquet)
    return {
        "single": b"logs/default/sklearn-iris/predictor/1-request.json\n" + single,
        "batch": b"logs/default/sklearn-iris/predictor/2-request.json\n" + batch,
        "csv": b"logs/default/sklearn-iris/predictor/3-request.csv\n" + csv,
        "parquet": b"logs/default/sklearn-iris/predictor/4-request.parquet\n" + parquet.getvalue(),
    }


def label_file() -> dict[str, bytes]:
    rows = [{"id": f"id-{i}", "row": 0, "label": str(i % 3), "timestamp": 1764000000 + i} for i in range(5)]
    parquet = io.BytesIO()
    pd.DataFrame(rows).to_parquet(parquet)
    return {
        "jsonl": b"labels/a.jsonl\n" + "\n".join(json.dumps(r) for r in rows).encode(),
        "json": b"labels/b.json\n" + json.dumps(rows).encode(),
        "csv": b"labels/c.csv\n" + pd.DataFrame(rows).to_csv(index=False).encode(),
        "parquet": b"labels/d.parquet\n" + parquet.getvalue(),
    }


def checkpoint() -> dict[str, bytes]:
    service = exporter()
    headers = {k.lower(): v for k, v in binary("request", "c").items()}
    service.ingest(headers, b'{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}')
    response = {k.lower(): v for k, v in binary("response", "c").items()}
    service.ingest(response, b'{"predictions": [1, 2]}')
    service.checkpoint()
    return {"iris": (workdir() / "state" / "default%2Fsklearn-iris.npz").read_bytes()}


def profile() -> dict[str, bytes]:
    return {"iris": Path(exporter_config().models[0].reference.profile).read_bytes()}


def config() -> dict[str, bytes]:
    root = Path(__file__).resolve().parents[2]
    iris = Path(exporter_config().source or "").read_bytes()
    return {"example": (root / "examples" / "monitor.yaml").read_bytes(), "iris": iris}


def reference_header() -> dict[str, bytes]:
    data = Path(exporter_config().models[0].reference.data).read_bytes()
    return {"iris-head": b"\n".join(data.splitlines()[:20]) + b"\n"}


WRITERS = {
    "http_ingest": http_ingest,
    "http_feedback": http_feedback,
    "http_webhook": http_webhook,
    "s3_log_object": s3_log_object,
    "label_file": label_file,
    "checkpoint": checkpoint,
    "profile": profile,
    "config": config,
    "reference_header": reference_header,
}


def main() -> None:
    for target, write in WRITERS.items():
        folder = CORPUS / target
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, data in write().items():
            (folder / name).write_bytes(data)
        print(f"{target}: {len(list(folder.iterdir()))} seeds")


if __name__ == "__main__":
    main()
