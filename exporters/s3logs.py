"""Pull mode: read the payloads KServe's logger archives in S3 (``logger.url: s3://bucket/prefix``, KServe ≥ 0.16).

Object keys: ``<prefix>/<namespace>/<isvc>/<component>/<path>/<id>-<request|response>.<json|csv|parquet>``. A JSON
object holds one record or, with ``batchSize > 1``, an array of records (requests and responses mixed); CSV and
Parquet hold one record per row. A record carries the payload base64-encoded in ``bytes`` and its kind in
``reqType`` (the full CloudEvent type, or ``request`` / ``response`` — both are accepted).

Each poll lists the objects modified after the watermark (their LastModified time, plus the keys seen at exactly
that time), takes the oldest ``max_objects_per_poll``, feeds their records to the same windows as pushed events,
and then advances and persists the watermark. An object that cannot be decoded is counted and skipped — never
retried forever.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from drift.config import ModelConfig, S3Config, S3PullConfig
from drift.errors import DriftlineError, StorageError
from drift.reference.reader import read_csv_bytes
from drift.reference.storage import S3Location, read_bytes, s3_client, storage_errors, write_bytes

from .events import InferenceEvent, RejectedEventError, event_kind

log = logging.getLogger("driftline.exporter")
T = TypeVar("T")


class CorruptObjectError(ValueError):
    pass


@dataclass
class Watermark:
    """Everything up to ``modified`` is done, plus ``keys`` modified at exactly that instant."""

    modified: float = 0.0
    keys: set[str] = field(default_factory=set)

    def is_new(self, key: str, modified: float) -> bool:
        return modified > self.modified or (modified == self.modified and key not in self.keys)

    def advance(self, key: str, modified: float) -> None:
        if modified > self.modified:
            self.modified, self.keys = modified, {key}
        else:
            self.keys.add(key)

    def to_json(self) -> bytes:
        return json.dumps({"modified": self.modified, "keys": sorted(self.keys)}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Watermark:
        document = json.loads(data)
        return cls(float(document["modified"]), set(document["keys"]))


class S3Poller(Generic[T]):
    """Polls an S3 prefix for new objects; ``poll()`` returns the records of new objects, oldest first."""

    def __init__(
        self,
        model: ModelConfig,
        source: S3PullConfig,
        s3: S3Config | None,
        now: float,
        count_object: Callable[[str], None] | None = None,
    ) -> None:
        self.model, self.source, self.s3 = model, source, s3
        self.count_object = count_object or (lambda outcome: None)  # processed | corrupt
        location = S3Location.parse(source.prefix + "/")
        self.bucket = location.bucket
        self.prefix = self.key_prefix(location.key)
        self.started = now
        self.watermark: Watermark | None = None  # loaded on the first poll that reaches the store
        self.next_poll = 0.0

    def _load_watermark(self) -> Watermark:
        if self.source.watermark:
            try:
                data, _ = read_bytes(self.source.watermark, self.s3)
                return Watermark.from_json(data)
            except StorageError as exc:
                if not exc.missing:
                    raise  # unreachable or denied: try again at the next poll rather than skip history
            except (ValueError, KeyError, TypeError):
                log.warning("unreadable watermark; starting from now", extra={"watermark": self.source.watermark})
        # Without a persisted watermark, history is not replayed: start with what arrives from now on. S3 stamps
        # LastModified to the second, so "now" is the start of the previous second.
        return Watermark(modified=math.floor(self.started) - 1.0)

    def key_prefix(self, configured: str) -> str:
        return configured.lstrip("/")

    def due(self, now: float) -> bool:
        """Whether a poll is due at monotonic time ``now``; when it is, the next one is scheduled."""
        if now < self.next_poll:
            return False
        self.next_poll = now + self.source.poll.seconds
        return True

    def decode(self, key: str, body: bytes) -> list[T]:
        """The records of one object; raises CorruptObjectError."""
        raise NotImplementedError

    def poll(self) -> Iterator[T]:
        """Records of new objects, oldest first; raises StorageError when S3 cannot be listed."""
        if self.watermark is None:
            self.watermark = self._load_watermark()
        watermark = self.watermark
        client = s3_client(self.s3)
        uri = f"s3://{self.bucket}/{self.prefix}"
        new: list[tuple[float, str]] = []
        with storage_errors(uri, "list it"):
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
                for item in page.get("Contents", []):
                    modified = _timestamp(item["LastModified"])
                    if watermark.is_new(item["Key"], modified):
                        new.append((modified, item["Key"]))
        for modified, key in sorted(new)[: self.source.max_objects_per_poll]:
            try:
                with storage_errors(f"s3://{self.bucket}/{key}", "read it"):
                    body = client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                events = self.decode(key, body)
            except CorruptObjectError as exc:
                self.count_object("corrupt")
                log.warning("skipping an archived object that cannot be decoded", extra={"key": key, "error": str(exc)})
                events = []
            else:
                self.count_object("processed")
            watermark.advance(key, modified)
            yield from events
        if new and self.source.watermark:
            try:
                write_bytes(self.source.watermark, watermark.to_json(), self.s3)
            except DriftlineError as exc:
                log.warning("cannot persist the watermark", extra={"error": str(exc)})


class LogPuller(S3Poller[InferenceEvent]):
    """One model's archived inference payloads (``<prefix>/<namespace>/<isvc>/…``)."""

    def key_prefix(self, configured: str) -> str:
        namespace = "" if self.model.namespace == "*" else f"{self.model.namespace}/{self.model.name}/"
        return f"{configured}{namespace}".lstrip("/")

    def decode(self, key: str, body: bytes) -> list[InferenceEvent]:
        return list(decode_records(key, body))


def _timestamp(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def decode_records(key: str, body: bytes) -> Iterator[InferenceEvent]:
    """The inference events of one archived object, by its extension."""
    name = key.lower()
    try:
        if name.endswith(".json"):
            document = json.loads(body)
            records = document if isinstance(document, list) else [document]
        elif name.endswith(".csv"):
            records = read_csv_bytes(body).to_pylist()
        elif name.endswith(".parquet"):
            records = pq.read_table(io.BytesIO(body)).to_pylist()
        else:
            raise CorruptObjectError(f"unknown object type {key!r}")
    except (json.JSONDecodeError, UnicodeDecodeError, pa.ArrowException) as exc:
        raise CorruptObjectError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    for record in records:
        yield _event(record)


def _event(record: Any) -> InferenceEvent:
    if not isinstance(record, dict):
        raise CorruptObjectError("a record is not an object")
    try:
        raw = base64.b64decode(str(record["bytes"]), validate=True)
        payload = json.loads(raw)
        kind = event_kind(str(record["reqType"]))
    except (KeyError, binascii.Error, ValueError, RejectedEventError) as exc:
        raise CorruptObjectError(f"bad record: {exc}") from None
    record_id = record.get("id")
    return InferenceEvent(
        kind,
        str(record.get("inferenceService") or ""),
        str(record.get("namespace") or "default"),
        str(record_id) if record_id is not None else None,
        payload,
        record,
    )
