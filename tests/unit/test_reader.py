"""The CSV reader against pandas as the oracle: line ends, byte-order marks, gzip members, and bounded memory."""

from __future__ import annotations

import gzip
import hashlib
import io
import threading
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from drift.config import ColumnConfig
from drift.errors import DataError
from drift.reference import reader
from drift.reference.reader import CSV_BLOCK_BYTES, SourceInfo, reference_batches

COLUMNS = (ColumnConfig("tenure", "numeric"), ColumnConfig("contract", "categorical"))


def frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.normal(30, 10, rows).round(3)
    tenure[::13] = np.nan
    contract = rng.choice(["month-to-month", "one year, paid", 'two "long" years', "x"], rows).astype(object)
    contract[::17] = None
    return pd.DataFrame({"tenure": tenure, "contract": contract, "other": np.arange(rows)})


def read(path: Path) -> tuple[pd.DataFrame, SourceInfo]:
    info = SourceInfo(str(path))
    table = pa.Table.from_batches(list(reference_batches(str(path), COLUMNS, info=info)))
    return table.to_pandas(), info


@pytest.mark.parametrize(
    ("name", "line_end", "bom", "compress"),
    [
        ("lf.csv", "\n", False, False),
        ("crlf-bom.csv", "\r\n", True, False),
        ("cr.csv", "\r", False, False),
        ("crlf.csv.gz", "\r\n", False, True),
        ("lf.tsv", "\n", False, False),
    ],
)
def test_rows_across_many_blocks_equal_pandas(
    tmp_path: Path, name: str, line_end: str, bom: bool, compress: bool
) -> None:
    expected = frame(160_000)  # about 4 MB: several blocks, rows cut at every block's end
    sep = "\t" if name.endswith(".tsv") else ","
    text = expected.to_csv(index=False, sep=sep, lineterminator=line_end)
    data = (("\ufeff" if bom else "") + text.removesuffix(line_end)).encode()  # and no line end at the end
    assert len(data) > 3 * CSV_BLOCK_BYTES
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if compress else data)
    got, info = read(path)
    assert len(got) == len(expected)
    np.testing.assert_array_equal(got["tenure"].to_numpy(), expected["tenure"].to_numpy())
    assert got["contract"].where(got["contract"].notna(), None).tolist() == expected["contract"].tolist()
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_gunzip_keeps_blocks_small_and_reads_concatenated_members() -> None:
    bomb = b"0," * (40 * CSV_BLOCK_BYTES)  # 80 MiB that compress to about 80 KB
    members = gzip.compress(bomb) + gzip.compress(b"tail\n")
    compressed = [members[i : i + 65536] for i in range(0, len(members), 65536)]
    sizes, out = [], io.BytesIO()
    for block in reader._gunzipped(iter(compressed)):
        sizes.append(len(block))
        out.write(block)
    assert max(sizes) <= CSV_BLOCK_BYTES
    assert out.getvalue() == bomb + b"tail\n"
    assert zlib.crc32(out.getvalue()) == zlib.crc32(gzip.decompress(members))


def test_a_line_beyond_the_bound_is_refused_not_held(tmp_path: Path) -> None:
    path = tmp_path / "one-line.csv.gz"
    path.write_bytes(gzip.compress(b"tenure,contract\n" + b"1" * (reader.MAX_LINE_BYTES + CSV_BLOCK_BYTES)))
    with pytest.raises(DataError, match="a line longer than 16 MiB"):
        read(path)


def test_a_caller_that_stops_early_leaves_no_reading_thread(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_bytes(frame(200_000).to_csv(index=False).encode())
    batches = reference_batches(str(path), COLUMNS)
    assert next(batches).num_rows > 0
    batches.close()
    assert not [t for t in threading.enumerate() if t.name == "driftline-csv-read"]


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(DataError, match=r"empty\.csv: not a readable CSV file: it is empty"):
        read(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_bytes(b"tenure,contract")
    assert list(reference_batches(str(tmp_path / "header.csv"), COLUMNS)) == []
