"""Streaming the reference data (CSV or Parquet, local or S3) in Arrow record batches.

Only the configured columns are decoded, a batch at a time, so a multi-GB file never has to fit in memory as a
table: the profile builder keeps just the configured columns' values (8 bytes per numeric cell).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zlib
from collections.abc import Generator
from dataclasses import dataclass
from typing import IO, Any, Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..config import ColumnConfig, ModelConfig, S3Config, data_format
from ..errors import DataError, DriftlineError, StorageError
from .storage import OpenedObject, is_s3, open_seekable, open_stream, sha256_file, storage_errors

CSV_BLOCK_BYTES = 1 << 20  # larger blocks cost peak memory (allocator retention) and gain no speed
PARQUET_BATCH_ROWS = 65536


@dataclass
class SourceInfo:
    """Where the reference data came from: filled in while it is read."""

    uri: str
    etag: str | None = None
    sha256: str | None = None
    size: int | None = None


class _TrackingStream(io.RawIOBase):
    """Counts the bytes pyarrow pulls (for progress), hashes them, and keeps the first block for the header."""

    def __init__(self, raw: IO[bytes], hash_content: bool) -> None:
        self._raw = raw
        self.consumed = 0
        self.head = b""
        self._digest = hashlib.sha256() if hash_content else None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.consumed += n
        if len(self.head) < 65536:
            self.head += data[: 65536 - len(self.head)]
        if self._digest is not None:
            self._digest.update(data)
        return n

    def hexdigest(self) -> str | None:
        return self._digest.hexdigest() if self._digest else None


class _GunzipStream(io.RawIOBase):
    """Decompresses a gzip stream on the fly (pyarrow's own codecs want an Arrow stream; this takes any file)."""

    def __init__(self, raw: IO[bytes] | io.RawIOBase) -> None:
        self._raw, self._z, self._pending = raw, zlib.decompressobj(16 + zlib.MAX_WBITS), b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = self._raw.read(1 << 20)
            if not chunk:
                self._pending = self._z.flush()
                break
            self._pending = self._z.decompress(chunk)
            if self._z.eof and self._z.unused_data:  # concatenated gzip members
                rest = self._z.unused_data
                self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
                self._pending += self._z.decompress(rest)
        n = min(len(buffer), len(self._pending))
        buffer[:n], self._pending = self._pending[:n], self._pending[n:]
        return n


class Meter(Protocol):
    """What a reader reports its progress to (the command line draws it; a library caller passes nothing)."""

    def update(self, done: int, rows: int, force: bool = False) -> None: ...

    def close(self, finished: bool) -> None: ...


class MeterFactory(Protocol):
    def __call__(self, label: str, total: int | None, *, unit: str = "bytes") -> Meter: ...


class _Silent:
    def update(self, done: int, rows: int, force: bool = False) -> None:
        pass

    def close(self, finished: bool) -> None:
        pass


def _meter(progress: MeterFactory | None, label: str, total: int | None, unit: str = "bytes") -> Meter:
    return progress(label, total, unit=unit) if progress is not None else _Silent()


def reference_batches(
    uri: str,
    columns: tuple[ColumnConfig, ...],
    fmt: str = "auto",
    s3: S3Config | None = None,
    info: SourceInfo | None = None,
    progress: MeterFactory | None = None,
    optional: tuple[ColumnConfig, ...] = (),
) -> Generator[pa.RecordBatch, None, None]:
    """Yield record batches of the configured ``columns`` of a CSV or Parquet file.

    Numeric columns arrive as float64 (CSV) or as stored (Parquet); categorical columns as strings (CSV) or as
    stored. Raises DataError naming every configured column the file lacks, StorageError when it cannot be read.
    ``optional`` columns are read when the file has them (CSV: all-null when it has not; Parquet: left out).
    """
    info = info if info is not None else SourceInfo(uri)
    kind = data_format(uri) if fmt == "auto" else fmt
    if kind == "parquet":
        yield from _parquet_batches(uri, columns, s3, info, progress, optional)
    elif kind == "csv":
        yield from _csv_batches(uri, columns, s3, info, progress, optional)
    else:
        raise DataError(f"{uri}: cannot tell the format from the name; set reference.format to csv or parquet")


def _csv_batches(
    uri: str,
    columns: tuple[ColumnConfig, ...],
    s3: S3Config | None,
    info: SourceInfo,
    progress: MeterFactory | None,
    optional: tuple[ColumnConfig, ...] = (),
) -> Generator[pa.RecordBatch, None, None]:
    opened: OpenedObject = open_stream(uri, s3)
    info.etag, info.size = opened.tag or None, opened.size
    compressed = uri.lower().endswith(".gz")
    raw = _TrackingStream(opened.stream, hash_content=not is_s3(uri))
    # pyarrow reads ahead on its own threads. Bytes it gets from a Python file are owned by Python objects, and one
    # still queued when the interpreter exits is released on a pyarrow thread that can no longer take the GIL: an
    # abort after the error was printed. Arrow's own buffered stream copies each block into memory Arrow owns.
    stream = pa.BufferedInputStream(
        pa.PythonFile(_GunzipStream(raw) if compressed else raw, mode="r"), buffer_size=CSV_BLOCK_BYTES
    )
    tsv = uri.lower().endswith((".tsv", ".tsv.gz"))
    names = [c.name for c in columns]
    meter = _meter(progress, f"reading {uri}", opened.size)
    finished = False
    try:
        with storage_errors(uri, "read it"):
            try:
                reader = pacsv.open_csv(
                    stream,
                    read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
                    parse_options=pacsv.ParseOptions(delimiter="\t" if tsv else ","),
                    convert_options=pacsv.ConvertOptions(
                        include_columns=names + [c.name for c in optional],
                        include_missing_columns=True,
                        column_types={
                            c.name: pa.float64() if c.is_numeric else pa.string() for c in columns + optional
                        },
                        strings_can_be_null=True,
                    ),
                )
            except pa.ArrowInvalid as exc:
                raise DataError(
                    f"{uri}: not a readable CSV file: {_csv_problem(exc, raw.head, compressed, tsv)}"
                ) from None
            header = _csv_header(raw.head, compressed, tsv)
            _require_columns(uri, header, names)
            rows = 0
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                except pa.ArrowInvalid as exc:
                    problem = _csv_problem(exc, raw.head, compressed, tsv)
                    raise DataError(f"{uri}: bad CSV after row {rows:,}: {problem}") from None
                rows += batch.num_rows
                meter.update(raw.consumed, rows)
                yield batch
        info.sha256 = raw.hexdigest()
        finished = True
    finally:
        meter.close(finished)
        stream.close()
        opened.stream.close()


def _csv_problem(exc: BaseException, head: bytes, compressed: bool, tsv: bool) -> str:
    """pyarrow's message with the column named instead of numbered, and what to do about a bad number."""
    message = _first_line(exc)
    match = re.search(r"In CSV column #(\d+): ", message)
    if match:
        header = _csv_header(head, compressed, tsv)
        index = int(match.group(1))
        name = header[index] if index < len(header) else f"#{index}"
        message = f"column {name!r}: " + message[match.end() :]
        if "conversion error to double" in message:
            message += "; fix the value, leave it empty for missing, or declare the feature categorical"
    return message


def _csv_header(head: bytes, compressed: bool, tsv: bool) -> list[str]:
    if compressed:
        head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head)
    first = head.decode("utf-8", errors="replace").splitlines()[:1]
    return next(csv.reader(first, delimiter="\t" if tsv else ","), [])


def _parquet_batches(
    uri: str,
    columns: tuple[ColumnConfig, ...],
    s3: S3Config | None,
    info: SourceInfo,
    progress: MeterFactory | None,
    optional: tuple[ColumnConfig, ...] = (),
) -> Generator[pa.RecordBatch, None, None]:
    opened = open_seekable(uri, s3)
    info.etag, info.size = opened.tag or None, opened.size
    names = [c.name for c in columns]
    try:
        with storage_errors(uri, "read it"):
            try:
                parquet = pq.ParquetFile(opened.stream)
            except (pa.ArrowInvalid, OSError) as exc:
                if isinstance(exc, StorageError):
                    raise
                raise DataError(f"{uri}: not a readable Parquet file: {_first_line(exc)}") from None
            _require_columns(uri, parquet.schema_arrow.names, names)
            names += [c.name for c in optional if c.name in parquet.schema_arrow.names]
            total = parquet.metadata.num_rows
            meter = _meter(progress, f"reading {uri}", total, unit="rows")
            rows, finished = 0, False
            try:
                for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=names):
                    rows += batch.num_rows
                    meter.update(rows, rows)
                    yield batch
                finished = True
            except pa.ArrowInvalid as exc:
                raise DataError(f"{uri}: bad Parquet data after row {rows:,}: {_first_line(exc)}") from None
            finally:
                meter.close(finished)
        if not is_s3(uri):
            info.sha256 = sha256_file(uri)
    finally:
        opened.stream.close()


def reference_problem(model: ModelConfig, s3: S3Config | None = None) -> str | None:
    """Why ``driftline profile`` would refuse the model's ``reference.data`` — missing, unreadable, or without a
    configured column — from its header (or first batch); None when it would read it."""
    batches = reference_batches(model.reference.data, model.profiled_columns, model.reference.format, s3)
    try:
        next(batches, None)
    except DriftlineError as exc:
        return str(exc)
    finally:
        batches.close()
    return None


def _require_columns(uri: str, present: list[str], wanted: list[str]) -> None:
    missing = [name for name in wanted if name not in set(present)]
    if missing:
        shown = ", ".join(present[:20]) + (", …" if len(present) > 20 else "")
        raise DataError(
            f"{uri}: no column {', '.join(repr(m) for m in missing)} (configured as a feature or output); "
            f"the file has: {shown or 'no columns'}"
        )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
