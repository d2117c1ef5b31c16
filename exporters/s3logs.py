"""Pull mode: read the payloads KServe's logger archives in S3 (``logger.url: s3://bucket/prefix``, KServe ≥ 0.16).

Object keys: ``<prefix>/<namespace>/<isvc>/<component>/<path>/<id>-<request|response>.<json|csv|parquet>``. A JSON
object holds one record or, with ``batchSize > 1``, an array of records (requests and responses mixed); CSV and
Parquet hold one record per row. A record carries the payload base64-encoded in ``bytes`` and its kind in
``reqType`` (the full CloudEvent type, or ``request`` / ``response`` — both are accepted).

Each poll lists the objects modified after the watermark (their LastModified time, plus the keys seen at exactly
that time), takes the oldest ``max_objects_per_poll``, feeds their records to the same windows as pushed events,
and then advances and persists the watermark.

Every object is outside input. One that cannot be used — larger than ``max_object_bytes``, beyond a decoding limit
(:data:`MAX_RECORDS_PER_OBJECT`, nesting, a Parquet file that inflates past :data:`INFLATION`), not decodable, or
unreadable three polls running — is **quarantined**: counted, logged once with its key and why, remembered in the
watermark file, and passed: the watermark moves past it, so neither the next poll nor a restart reads it again. A
bad record inside a good object is counted as a rejected event and the object's other records are used.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

import pyarrow.parquet as pq

from drift.boundary import InputError, Limits, decode_json, shown
from drift.config import ModelConfig, S3Config, S3PullConfig
from drift.errors import DriftlineError, StorageError
from drift.reference.reader import read_csv_bytes
from drift.reference.storage import S3Location, read_bytes, s3_client, storage_errors, write_bytes

from .events import InferenceEvent, RejectedEventError, event_kind

log = logging.getLogger("driftline.exporter")
T = TypeVar("T")

# KServe's logger writes batchSize records per object (tens to hundreds); a label job a few thousand labels per file.
MAX_RECORDS_PER_OBJECT = 100_000
INFLATION = 8  # a Parquet object may decode to at most this many times max_object_bytes
READ_ATTEMPTS = 3  # polls in a row an object may fail to download before it is quarantined
QUARANTINE_REMEMBERED = 100  # quarantined keys kept in the watermark file (the newest), for an operator to find


class CorruptObjectError(ValueError):
    """An object that cannot be used (the message says why; it is quarantined)."""


class BadRecord(NamedTuple):
    """A record of a good object that cannot be used: counted by ``reason``, the object's other records kept."""

    reason: str
    message: str


@dataclass
class Watermark:
    """Everything up to ``modified`` is done, plus ``keys`` modified at exactly that instant; ``quarantined``: the
    newest objects passed without being used, with why."""

    modified: float = 0.0
    keys: set[str] = field(default_factory=set)
    quarantined: list[dict[str, Any]] = field(default_factory=list)

    def is_new(self, key: str, modified: float) -> bool:
        return modified > self.modified or (modified == self.modified and key not in self.keys)

    def advance(self, key: str, modified: float) -> None:
        if modified > self.modified:
            self.modified, self.keys = modified, {key}
        else:
            self.keys.add(key)

    def quarantine(self, key: str, reason: str, at: float) -> None:
        self.quarantined = [*self.quarantined, {"key": key, "reason": reason, "at": at}][-QUARANTINE_REMEMBERED:]

    def to_json(self) -> bytes:
        import json

        document = {"modified": self.modified, "keys": sorted(self.keys), "quarantined": self.quarantined}
        return json.dumps(document).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Watermark:
        """Raises InputError or ValueError for a file that is not a watermark."""
        document = decode_json(data, WATERMARK_LIMITS, "the watermark")
        if not isinstance(document, dict):
            raise ValueError("not an object")
        keys, quarantined = document.get("keys", []), document.get("quarantined", [])
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys) or not isinstance(quarantined, list):
            raise ValueError("keys must be a list of strings")
        modified = float(document["modified"])
        if not math.isfinite(modified):
            raise ValueError("modified is not a time")
        return cls(modified, set(keys), [q for q in quarantined if isinstance(q, dict)][-QUARANTINE_REMEMBERED:])


WATERMARK_LIMITS = Limits(max_bytes=64 * 1024 * 1024, max_depth=4)


class S3Poller(Generic[T]):
    """Polls an S3 prefix for new objects; ``poll()`` yields each new object's key and records, oldest first."""

    def __init__(
        self,
        model: ModelConfig,
        source: S3PullConfig,
        s3: S3Config | None,
        now: float,
        count_object: Callable[[str], None] | None = None,
    ) -> None:
        self.model, self.source, self.s3 = model, source, s3
        self.count_object = count_object or (lambda outcome: None)  # processed | quarantined
        location = S3Location.parse(source.prefix + "/")
        self.bucket = location.bucket
        self.prefix = self.key_prefix(location.key)
        self.started = now
        self.limits = Limits(source.max_object_bytes, max_depth=16)
        self.watermark: Watermark | None = None  # loaded on the first poll that reaches the store
        self.next_poll = 0.0
        self._failed_reads: dict[str, int] = {}  # key -> polls in a row its download failed

    def _load_watermark(self) -> Watermark:
        if self.source.watermark:
            try:
                data, _ = read_bytes(self.source.watermark, self.s3, WATERMARK_LIMITS.max_bytes)
                return Watermark.from_json(data)
            except StorageError as exc:
                if not exc.missing:
                    raise  # unreachable or denied: try again at the next poll rather than skip history
            except (InputError, ValueError, KeyError, TypeError):
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

    def decode(self, key: str, body: bytes) -> list[T | BadRecord]:
        """The records of one object; raises CorruptObjectError or InputError (then it is quarantined)."""
        raise NotImplementedError

    def poll(self) -> Iterator[tuple[str, list[T | BadRecord]]]:
        """``(key, records)`` of each new object, oldest first; raises StorageError when S3 cannot be listed. The
        watermark moves past an object before its records are handed over, so whatever they do, it is not read
        again; it is persisted when the poll ends."""
        if self.watermark is None:
            self.watermark = self._load_watermark()
        watermark = self.watermark
        client = s3_client(self.s3)
        uri = f"s3://{self.bucket}/{self.prefix}"
        new: list[tuple[float, str, int]] = []
        with storage_errors(uri, "list it"):
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
                for item in page.get("Contents", []):
                    modified = _timestamp(item["LastModified"])
                    if watermark.is_new(item["Key"], modified):
                        new.append((modified, item["Key"], int(item.get("Size") or 0)))
        advanced = False
        try:
            for modified, key, size in sorted(new)[: self.source.max_objects_per_poll]:
                records = self._records(key, size, watermark)
                if records is None:
                    return  # a download failed: this object and the ones after it wait for the next poll
                watermark.advance(key, modified)
                advanced = True
                if records:
                    yield key, records
        finally:
            if advanced and self.source.watermark:
                try:
                    write_bytes(self.source.watermark, watermark.to_json(), self.s3)
                except DriftlineError as exc:
                    log.warning("cannot persist the watermark", extra={"error": str(exc)})

    def _records(self, key: str, size: int, watermark: Watermark) -> list[T | BadRecord] | None:
        """The object's records; ``[]`` when it is quarantined; None when it could not be downloaded (retried at the
        next poll, quarantined after READ_ATTEMPTS polls)."""
        where = f"s3://{self.bucket}/{key}"
        if size > self.source.max_object_bytes:
            return self._quarantine(key, watermark, f"{size:,} bytes, more than max_object_bytes")
        try:
            body, _ = read_bytes(where, self.s3, self.source.max_object_bytes)
        except InputError as exc:
            return self._quarantine(key, watermark, str(exc))
        except StorageError as exc:
            failures = self._failed_reads.get(key, 0) + 1
            if exc.missing or failures >= READ_ATTEMPTS:
                self._failed_reads.pop(key, None)
                return self._quarantine(key, watermark, str(exc))
            if len(self._failed_reads) > 10 * self.source.max_objects_per_poll:
                self._failed_reads.clear()
            self._failed_reads[key] = failures
            log.warning("cannot read an archived object; retrying", extra={"key": key, "error": str(exc)})
            return None
        self._failed_reads.pop(key, None)
        try:
            records = self.decode(key, body)
        except (CorruptObjectError, InputError) as exc:
            return self._quarantine(key, watermark, str(exc))
        except Exception as exc:  # a bug in a decoder: this object is passed, the prefix is read on
            log.exception("decoding an archived object failed", extra={"key": key})
            return self._quarantine(key, watermark, f"internal error: {shown(str(exc), 120)}")
        if records and all(isinstance(r, BadRecord) for r in records):
            first = records[0]
            assert isinstance(first, BadRecord)
            return self._quarantine(key, watermark, f"no usable record; the first: {first.message}")
        self.count_object("processed")
        return records

    def _quarantine(self, key: str, watermark: Watermark, reason: str) -> list[T | BadRecord]:
        self.count_object("quarantined")
        watermark.quarantine(key, reason, datetime.now().timestamp())
        log.warning("archived object quarantined: it is skipped for good", extra={"key": key, "reason": reason})
        return []


class LogPuller(S3Poller[InferenceEvent]):
    """One model's archived inference payloads (``<prefix>/<namespace>/<isvc>/…``)."""

    def key_prefix(self, configured: str) -> str:
        namespace = "" if self.model.namespace == "*" else f"{self.model.namespace}/{self.model.name}/"
        return f"{configured}{namespace}".lstrip("/")

    def decode(self, key: str, body: bytes) -> list[InferenceEvent | BadRecord]:
        return [_event(record, self.limits) for record in object_records(key, body, self.limits)]


def _timestamp(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def object_records(key: str, body: bytes, limits: Limits, csv_options: dict[str, Any] | None = None) -> list[Any]:
    """The records of one archived object by its extension: a JSON array or object, CSV rows or Parquet rows, at
    most MAX_RECORDS_PER_OBJECT of them. Raises CorruptObjectError or InputError."""
    name = key.lower()
    if name.endswith((".jsonl", ".ndjson")):
        return json_lines(body, limits)
    if name.endswith(".json"):
        text = body.lstrip()
        if text[:1] != b"[" and b"\n{" in text.rstrip():  # one object per line, under a .json name
            return json_lines(body, limits)
        document = decode_json(body, limits, "the object")
        records = document if isinstance(document, list) else [document]
    elif name.endswith(".csv"):
        if body.count(b"\n") > MAX_RECORDS_PER_OBJECT + 1:
            raise CorruptObjectError(f"more than {MAX_RECORDS_PER_OBJECT:,} lines")
        records = _arrow_records(lambda: read_csv_bytes(body, **(csv_options or {})))
    elif name.endswith(".parquet"):
        records = _arrow_records(lambda: _parquet_table(body, limits))
    else:
        raise CorruptObjectError(f"unknown object type {shown(key[-40:])}; use .json, .csv or .parquet")
    if len(records) > MAX_RECORDS_PER_OBJECT:
        raise CorruptObjectError(f"{len(records):,} records, more than {MAX_RECORDS_PER_OBJECT:,}")
    return records


def json_lines(body: bytes, limits: Limits) -> list[Any]:
    """One JSON value per line (a bad line is a BadRecord, the others are kept)."""
    lines = [line for line in body.splitlines() if line.strip()]
    if len(lines) > MAX_RECORDS_PER_OBJECT:
        raise CorruptObjectError(f"{len(lines):,} lines, more than {MAX_RECORDS_PER_OBJECT:,}")
    records: list[Any] = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(decode_json(line, limits, f"line {number}"))
        except InputError as exc:
            records.append(BadRecord(exc.reason, str(exc)))
    return records


def _arrow_records(read: Callable[[], Any]) -> list[Any]:
    """Rows of a table pyarrow reads; whatever pyarrow raises for a bad file is a CorruptObjectError."""
    try:
        table = read()
        if table.num_rows > MAX_RECORDS_PER_OBJECT:
            raise CorruptObjectError(f"{table.num_rows:,} rows, more than {MAX_RECORDS_PER_OBJECT:,}")
        records: list[Any] = table.to_pylist()
    except (CorruptObjectError, InputError):
        raise
    except Exception as exc:  # pyarrow's errors (ArrowInvalid, OSError, a column name not UTF-8…) for a bad file
        raise CorruptObjectError(shown(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 120)) from None
    return records


def _parquet_table(body: bytes, limits: Limits) -> Any:
    """The Parquet object's table, refused from its footer when it holds too many rows or inflates too far."""
    parquet = pq.ParquetFile(io.BytesIO(body))
    metadata = parquet.metadata
    if metadata.num_rows > MAX_RECORDS_PER_OBJECT:
        raise CorruptObjectError(f"{metadata.num_rows:,} rows, more than {MAX_RECORDS_PER_OBJECT:,}")
    inflated = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if inflated > INFLATION * limits.max_bytes:
        raise CorruptObjectError(f"decodes to {inflated:,} bytes, more than {INFLATION} × max_object_bytes")
    return parquet.read()


def _event(record: Any, limits: Limits) -> InferenceEvent | BadRecord:
    if not isinstance(record, dict):
        return BadRecord("bad_json", "a record is not an object")
    try:
        encoded = record.get("bytes")
        if not isinstance(encoded, str | bytes):
            raise RejectedEventError("bad_json", 'a record has no base64 "bytes"')
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise RejectedEventError("bad_json", '"bytes" is not base64') from None
        try:
            payload = decode_json(raw, limits, "the record's payload")
        except InputError as exc:
            raise RejectedEventError.of(exc) from None
        kind = event_kind(str(record.get("reqType"))[:256])
    except RejectedEventError as exc:
        return BadRecord(exc.reason, str(exc))
    record_id, component = record.get("id"), record.get("component")
    return InferenceEvent(
        kind,
        str(record.get("inferenceService") or "")[:256],
        str(record.get("namespace") or "default")[:256],
        str(record_id)[:4096] if record_id is not None else None,
        payload,
        record,
        component if isinstance(component, str) else None,
    )
