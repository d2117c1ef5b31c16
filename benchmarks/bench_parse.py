"""The payload parser's cost per event (exporters.payloads.parse_request), for the shapes KServe's logger sends:
one row of 20 floats as a list (the all-numeric fast path), one object row of a churn model (two numeric, two
categorical features: the careful path), and 50 such rows. With ``--against DIR`` the same timings are taken for the
checkout in DIR (e.g. a ``git worktree`` of an older commit) in the same run, interleaved, and their ratio printed.

    python benchmarks/bench_parse.py [--against DIR] [--rounds 3]
"""

from __future__ import annotations

import timeit

import checkouts

CHURN_ROW = {"tenure": 12.0, "monthly_charges": 70.5, "contract": "one-year", "internet_service": "dsl"}
SHAPES = {
    "20 floats, 1 list row": ({"instances": [[float(i) for i in range(20)]]}, 20_000),
    "churn, 1 object row": ({"instances": [CHURN_ROW]}, 20_000),
    "churn, 50 object rows": ({"instances": [CHURN_ROW] * 50}, 2_000),
}


def measure() -> dict[str, float]:
    """Microseconds per call for each shape (the best of 7 repeats), in this interpreter's tree."""
    from drift.config import ColumnConfig
    from exporters.payloads import Columns, parse_request

    churn = Columns(
        (ColumnConfig("tenure", "numeric"), ColumnConfig("monthly_charges", "numeric"),
         ColumnConfig("contract", "categorical"), ColumnConfig("internet_service", "categorical"))
    )  # fmt: skip
    numeric = Columns(tuple(ColumnConfig(f"f{i}", "numeric") for i in range(20)))
    out = {}
    for name, (body, number) in SHAPES.items():
        columns = numeric if name.startswith("20") else churn
        best = min(timeit.repeat(lambda b=body, c=columns: parse_request(b, c), number=number, repeat=7))
        out[name] = best / number * 1e6
    return out


if __name__ == "__main__":
    checkouts.main(__file__, __doc__, measure, "shape", "µs", list(SHAPES))
