"""Streaming the reference data (CSV or Parquet, local or S3) in Arrow record batches.

Only the configured columns are decoded, a batch at a time, so a multi-GB file never has to fit in memory as a
table: the profile builder keeps just the configured columns' values (8 bytes per numeric cell).
"""

from __future__ import annotations

import csv
import hashlib
import re
import threading
import zlib
from collections.abc import Generator, Iterator
from contextlib import suppress
from dataclasses import dataclass
from queue import Empty, Full, Queue
from typing import IO, Any, Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..boundary import shown
from ..config import ColumnConfig, ModelConfig, S3Config, data_format
from ..errors import DataError, DriftlineError, MissingColumnsError, StorageError
from .storage import OpenedObject, is_s3, open_seekable, open_stream, sha256_file, storage_errors

CSV_BLOCK_BYTES = 1 << 20  # larger blocks cost peak memory (allocator retention) and gain no speed
MAX_LINE_BYTES = 16 << 20
PARQUET_BATCH_ROWS = 65536
# What one Parquet row group may decode to, uncompressed: per configured column, and for all of them. A million-row
# group of 20 numeric columns is 160 MB.
MAX_COLUMN_CHUNK_BYTES = 256 << 20
MAX_ROW_GROUP_BYTES = 512 << 20


@dataclass
class SourceInfo:
    """Where the reference data came from: filled in while it is read."""

    uri: str
    etag: str | None = None
    sha256: str | None = None
    size: int | None = None


class _Source:
    """The file's bytes in blocks, counted (for progress) and hashed as they are read."""

    def __init__(self, stream: IO[bytes], hash_content: bool) -> None:
        self._stream = stream
        self.consumed = 0
        self._digest = hashlib.sha256() if hash_content else None

    def blocks(self) -> Iterator[bytes]:
        while chunk := self._stream.read(CSV_BLOCK_BYTES):
            self.consumed += len(chunk)
            if self._digest is not None:
                self._digest.update(chunk)
            yield chunk

    def hexdigest(self) -> str | None:
        return self._digest.hexdigest() if self._digest else None


def _gunzipped(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """The decompressed bytes of a gzip stream (concatenated members too), at most CSV_BLOCK_BYTES at a time, so a
    small file that inflates to gigabytes never has to fit in memory."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    for block in blocks:
        data = block
        while data:
            if inflater.eof:
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out = inflater.decompress(data, CSV_BLOCK_BYTES)
            data = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
            if out:
                yield out
            while len(out) == CSV_BLOCK_BYTES and not data and not inflater.eof:  # output still held inside zlib
                out = inflater.decompress(b"", CSV_BLOCK_BYTES)
                if out:
                    yield out
    if tail := inflater.flush():
        yield tail


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
    raw = _Source(opened.stream, hash_content=not is_s3(uri))
    blocks = _gunzipped(raw.blocks()) if compressed else raw.blocks()
    tsv = uri.lower().endswith((".tsv", ".tsv.gz"))
    names = [c.name for c in columns]
    options = {
        "parse_options": pacsv.ParseOptions(delimiter="\t" if tsv else ","),
        "convert_options": pacsv.ConvertOptions(
            include_columns=names + [c.name for c in optional],
            include_missing_columns=True,
            column_types={c.name: pa.float64() if c.is_numeric else pa.string() for c in columns + optional},
            strings_can_be_null=True,
        ),
    }
    meter = _meter(progress, f"reading {uri}", opened.size)
    finished, reading = False, None
    try:
        with storage_errors(uri, "read it"):
            header, in_file, rows = b"", [], 0
            reading = _read_ahead(_line_blocks(uri, blocks))
            for block in reading:
                if not header:
                    header, block = _split_header(block)
                    in_file = _csv_header(header, tsv, uri)
                    _require_columns(uri, in_file, names)
                if not block:
                    continue
                try:
                    table = read_csv_bytes(header, block, **options)
                except pa.ArrowInvalid as exc:
                    problem = _csv_problem(exc, in_file)
                    raise DataError(f"{uri}: bad CSV after row {rows:,}: {problem}") from None
                for batch in table.to_batches():
                    rows += batch.num_rows
                    meter.update(raw.consumed, rows)
                    yield batch
            if not header:
                raise DataError(f"{uri}: not a readable CSV file: it is empty (no header line)")
        info.sha256 = raw.hexdigest()
        finished = True
    finally:
        if reading is not None:
            reading.close()  # its thread reads the stream: it ends first
        meter.close(finished)
        opened.stream.close()


def _line_blocks(uri: str, blocks: Iterator[bytes]) -> Iterator[memoryview]:
    """The bytes in blocks of about CSV_BLOCK_BYTES that end at a line end (the last: wherever the file ends).

    pyarrow parses each block on the caller's thread from memory it owns. Its streaming reader would read ahead from
    a Python stream on its own threads instead, and a Python object released there while the interpreter exits
    aborts or hangs the process. pyarrow's default (``newlines_in_values=False``) ends a row at every line end, so a
    block ending at one never splits a row.
    """
    carry = b""
    for block in blocks:
        piece = carry + block if carry else block
        cut = max(piece.rfind(b"\n"), piece.rfind(b"\r")) + 1
        if cut == 0:
            if len(piece) > MAX_LINE_BYTES:
                raise DataError(f"{uri}: a line longer than {MAX_LINE_BYTES >> 20} MiB; is this a CSV file?")
            carry = piece
            continue
        carry = piece[cut:]
        yield memoryview(piece)[:cut]
    if carry:
        yield memoryview(carry)


def _read_ahead(blocks: Iterator[memoryview], depth: int = 2) -> Generator[memoryview, None, None]:
    """``blocks``, produced on a thread of our own while the caller parses the previous ones (reading, hashing and
    gunzipping release the GIL, as pyarrow's parser does); the thread ends before this generator does."""
    queue: Queue[tuple[memoryview | None, BaseException | None]] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for block in blocks:
                while not stop.is_set():
                    try:
                        queue.put((block, None), timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put((None, None))
        except BaseException as exc:  # handed to the caller's thread, raised there
            queue.put((None, exc))

    producer = threading.Thread(target=produce, name="driftline-csv-read", daemon=True)
    producer.start()
    try:
        while True:
            block, error = queue.get()
            if error is not None:
                raise error
            if block is None:
                return
            yield block
    finally:
        stop.set()
        while producer.is_alive():
            with suppress(Empty):
                queue.get(timeout=0.1)
        producer.join()


def _split_header(block: memoryview) -> tuple[bytes, memoryview]:
    """The header line (with its line end) and the rest of the first block."""
    head = block[:MAX_LINE_BYTES].tobytes()
    end = head.find(b"\n") + 1 or head.find(b"\r") + 1 or len(head)
    header = head[:end]
    return (header if header.endswith((b"\n", b"\r")) else header + b"\n"), block[end:]


def read_csv_bytes(*parts: bytes | memoryview, **options: Any) -> pa.Table:
    """The CSV text ``parts`` (joined) as a table, parsed by ``pacsv.read_csv(…, **options)`` from a copy in memory
    pyarrow allocated: a buffer over Python bytes is a Python object, which pyarrow's threads may release while the
    interpreter exits — an abort (see :func:`_line_blocks`)."""
    out = pa.BufferOutputStream()
    for part in parts:
        out.write(part)
    return pacsv.read_csv(pa.BufferReader(out.getvalue()), **options)


def _csv_problem(exc: BaseException, header: list[str]) -> str:
    """pyarrow's message with the column named instead of numbered, and what to do about a bad number."""
    message = _first_line(exc)
    match = re.search(r"In CSV column #(\d+): ", message)
    if match:
        index = int(match.group(1))
        name = header[index] if index < len(header) else f"#{index}"
        message = f"column {name!r}: " + message[match.end() :]
        if "conversion error to double" in message:
            message += "; fix the value, leave it empty for missing, or declare the feature categorical"
    return message


def _csv_header(line: bytes, tsv: bool, uri: str) -> list[str]:
    text = line.decode("utf-8", errors="replace").removeprefix("\ufeff").rstrip("\r\n")
    try:
        return next(csv.reader([text], delimiter="\t" if tsv else ","), [])
    except csv.Error as exc:
        raise DataError(f"{uri}: not a readable CSV header line ({exc}): {shown(text, 60)}") from None


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
            _require_bounded_row_groups(uri, parquet, names)
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


def _require_bounded_row_groups(uri: str, parquet: pq.ParquetFile, names: list[str]) -> None:
    """Refuse, from the footer alone, a file whose row group holds more than MAX_COLUMN_CHUNK_BYTES of one configured
    column or MAX_ROW_GROUP_BYTES of all of them, uncompressed: a row group is what is decoded at once, and pyarrow
    holds about four times its size while it decodes (a 120 KB file of one compressed 400 MB value once took the
    profile command to 3.7 GB)."""
    metadata, wanted = parquet.metadata, set(names)
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        chunks = [
            (row_group.column(i).path_in_schema, row_group.column(i).total_uncompressed_size)
            for i in range(row_group.num_columns)
            if row_group.column(i).path_in_schema.split(".")[0] in wanted
        ]
        column, largest = max(chunks, key=lambda chunk: chunk[1], default=("", 0))
        total = sum(size for _, size in chunks)
        if largest > MAX_COLUMN_CHUNK_BYTES or total > MAX_ROW_GROUP_BYTES:
            what = (
                f"column {shown(column)} decodes to {largest / (1 << 20):,.0f} MiB"
                if largest > MAX_COLUMN_CHUNK_BYTES
                else f"the configured columns decode to {total / (1 << 20):,.0f} MiB"
            )
            raise DataError(
                f"{uri}: in row group {group}, {what}, more than the {MAX_COLUMN_CHUNK_BYTES >> 20} MiB per column and "
                f"{MAX_ROW_GROUP_BYTES >> 20} MiB per row group read at once; write the file with smaller row groups "
                "(pyarrow's row_group_size, Spark's parquet.block.size)"
            )


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
        # the header is outside input: a binary file's "names" are cut and escaped, never echoed raw
        names = ", ".join(n if n.isprintable() and len(n) <= 40 else shown(n, 30) for n in present[:20])
        names += ", …" if len(present) > 20 else ""
        raise MissingColumnsError(
            f"{uri}: no column {', '.join(repr(m) for m in missing)} (configured as a feature or output); "
            f"the file has: {names or 'no columns'}",
            missing,
        )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
