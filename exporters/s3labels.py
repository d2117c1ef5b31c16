"""Pull mode for ground truth: label files a batch job writes to ``feedback.s3_labels`` (``s3://bucket/prefix``).

Each object is CSV (``.csv``, with a header), Parquet (``.parquet``) or JSON lines (``.jsonl``, ``.ndjson`` or
``.json``: one object per line, or one JSON array) holding the columns ``id`` (the request's Ce-Id), ``row``
(optional, default 0), ``label`` and ``timestamp`` (optional: when the label became known, Unix seconds or RFC 3339).
Objects are taken oldest first after a watermark, as in payload pull mode; a file that cannot be used is quarantined
(:mod:`exporters.s3logs`), a bad line or row inside a good file is counted as ``invalid_label`` (or the boundary's
reason) and the file's other labels are joined.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from drift.boundary import Limits

from .s3logs import BadRecord, S3Poller, object_records

# Labels stay strings ("1", "yes"); numbers are parsed where the label is numeric (regression).
_CSV_OPTIONS = {"convert_options": pacsv.ConvertOptions(column_types={"id": pa.string(), "label": pa.string()})}


class LabelPuller(S3Poller[dict[str, Any]]):
    """One model's label files under ``feedback.s3_labels``; ``poll()`` yields their raw records, oldest file first."""

    def decode(self, key: str, body: bytes) -> list[dict[str, Any] | BadRecord]:
        return decode_label_file(key, body, self.limits)


def decode_label_file(key: str, body: bytes, limits: Limits) -> list[dict[str, Any] | BadRecord]:
    """The label records of one file (a record that is not an object is a BadRecord). Raises CorruptObjectError or
    InputError for a file that cannot be read at all."""
    records = object_records(key, body, limits, _CSV_OPTIONS)
    if key.lower().endswith(".csv"):
        for record in records:
            record["label"] = _csv_label(record.get("label"))
    return [r if isinstance(r, dict | BadRecord) else BadRecord("invalid_label", "a label is not an object")
            for r in records]  # fmt: skip


def _csv_label(text: Any) -> Any:
    """A CSV label: a number where it reads as one (so regression labels work), else the string."""
    if not isinstance(text, str):
        return text
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
