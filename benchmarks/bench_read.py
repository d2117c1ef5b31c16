"""Reading the reference data: seconds to stream every batch of a CSV, a gzipped CSV and a Parquet file of
``--rows`` rows × 20 numeric and one categorical column through ``drift.reference.reader.reference_batches`` (what
``driftline profile`` reads with; the profile builder's own work is not timed). With ``--against DIR`` the same is
timed for the checkout in DIR (e.g. a ``git worktree`` of an older commit) in the same run, interleaved.

    python benchmarks/bench_read.py [--rows 1000000] [--against DIR] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from checkouts import compare, print_table

FILES = ("train.csv", "train.csv.gz", "train.parquet")


def write_files(folder: Path, rows: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"f{i:02d}": rng.normal(size=rows).round(4) for i in range(20)})
    frame["contract"] = rng.choice(["month-to-month", "one-year", "two-year"], size=rows)
    frame.to_csv(folder / "train.csv", index=False)
    frame.to_csv(folder / "train.csv.gz", index=False, compression={"method": "gzip", "compresslevel": 6})
    frame.to_parquet(folder / "train.parquet", index=False)


def measure(folder: Path) -> dict[str, float]:
    """Seconds per full read of each file (the best of 3), in this interpreter's tree."""
    from drift.config import ColumnConfig
    from drift.reference.reader import reference_batches

    numeric = tuple(ColumnConfig(f"f{i:02d}", "numeric") for i in range(20))
    columns = (*numeric, ColumnConfig("contract", "categorical"))
    out = {}
    for name in FILES:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            for _batch in reference_batches(str(folder / name), columns):
                pass
            times.append(time.perf_counter() - start)
        out[name] = min(times)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--against", type=Path, help="another checkout to time in the same run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_files(folder, args.rows)
        rounds = compare(__file__, args.against, args.rounds, str(folder))
        print_table(f"file ({args.rows:,} rows)", "s", list(FILES), rounds)


if __name__ == "__main__":
    main()
