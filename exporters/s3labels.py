"""Pull mode for ground truth: label files a batch job writes to ``feedback.s3_labels`` (``s3://bucket/prefix``).

Each object is CSV (``.csv``, with a header), Parquet (``.parquet``) or JSON lines (``.jsonl``, ``.ndjson`` or
``.json``: one object per line, or one JSON array) holding the columns ``id`` (the request's Ce-Id), ``row``
(optional, default 0), ``label`` and ``timestamp`` (optional: when the label became known, Unix seconds or RFC 3339).
Objects are taken oldest first after a watermark, as in payload pull mode; a file that cannot be parsed is counted
and skipped, a bad row inside a good file is counted as ``invalid_label``.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from drift.reference.reader import read_csv_bytes

from .s3logs import CorruptObjectError, S3Poller


class LabelPuller(S3Poller[dict[str, Any]]):
    """One model's label files under ``feedback.s3_labels``; ``poll()`` returns their raw records, oldest file first."""

    def decode(self, key: str, body: bytes) -> list[dict[str, Any]]:
        return decode_label_file(key, body)


def decode_label_file(key: str, body: bytes) -> list[dict[str, Any]]:
    name = key.lower()
    try:
        if name.endswith(".csv"):
            # Labels stay strings ("1", "yes"); numbers are parsed where the label is numeric (regression).
            options = pacsv.ConvertOptions(column_types={"id": pa.string(), "label": pa.string()})
            records = read_csv_bytes(body, convert_options=options).to_pylist()
            for record in records:
                record["label"] = _csv_label(record.get("label"))
        elif name.endswith(".parquet"):
            records = pq.read_table(io.BytesIO(body)).to_pylist()
        elif name.endswith((".jsonl", ".ndjson", ".json")):
            text = body.decode("utf-8").strip()
            if text.startswith("["):
                records = json.loads(text)
            else:
                records = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            raise CorruptObjectError(f"unknown label file type {key!r}; use .csv, .parquet or .jsonl")
    except (json.JSONDecodeError, UnicodeDecodeError, pa.ArrowException) as exc:
        raise CorruptObjectError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    if not isinstance(records, list):
        raise CorruptObjectError("a label file holds a list of records")
    return records


def _csv_label(text: Any) -> Any:
    """A CSV label: a number where it reads as one (so regression labels work), else the string."""
    if not isinstance(text, str):
        return text
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
