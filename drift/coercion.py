"""Turning raw column values into what the statistics bin: finite floats, or category strings.

Numeric columns become ``float64`` arrays in which every missing or invalid value (null, NaN, ±inf, a string that
is not a number, a boolean) is NaN. Categorical columns become object arrays of ``str`` in which missing values
(null, NaN, the empty string) are ``None``; numbers and booleans are spelled the way Arrow casts them to strings
(``1``, ``2.5``, ``true``), so a category reads the same from CSV, Parquet, pandas or a JSON payload.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .stats import FloatArray

ObjectArray = np.ndarray[Any, np.dtype[np.object_]]
# A category is a short label. A longer value is one shared marker wherever it is read — live payloads and reference
# data alike — so the two sides bin it the same, and kept whole it would let one value fill memory (a 400 MB cell of
# a 15 KB Parquet file once went into a profile whole).
MAX_CATEGORY_LENGTH = 256
LONG_CATEGORY = "\x00value longer than 256 characters"


def numeric_values(values: Any) -> FloatArray:
    """A float64 copy of ``values`` with every missing or invalid entry as NaN (and ±inf as NaN)."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        out = _arrow_numeric(values)
        if not out.flags.writeable:
            out = out.copy()
    else:
        series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object))
        if series.dtype == bool or series.dtype == object:
            series = series.map(_plain_number)
        out = np.array(pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan), copy=True)
    out[~np.isfinite(out)] = np.nan
    return out


def _plain_number(value: Any) -> Any:
    # bool is an int in Python; a True in a numeric feature is a wrong type, not the number 1.
    if isinstance(value, bool | np.bool_):
        return None
    return value


def _arrow_numeric(values: pa.ChunkedArray | pa.Array) -> FloatArray:
    if pa.types.is_boolean(values.type):
        return np.full(len(values), np.nan)
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return numeric_values(pd.Series(values.to_pylist(), dtype=object))
    cast = pc.cast(values, pa.float64())
    array = cast.to_numpy(zero_copy_only=False) if isinstance(cast, pa.ChunkedArray) else cast.to_numpy(False)
    return np.asarray(array, dtype=np.float64)


def category_values(values: Any) -> ObjectArray:
    """An object array of category strings, ``None`` where the value is missing."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        return np.asarray(arrow_categories(values).to_pylist(), dtype=object)
    items = values.tolist() if isinstance(values, pd.Series | np.ndarray) else list(values)
    return np.fromiter((category_of(v) for v in items), dtype=object, count=len(items))


def arrow_categories(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """The Arrow spelling of categories: values cast to string, empty strings as null, values longer than
    MAX_CATEGORY_LENGTH as LONG_CATEGORY."""
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = pc.cast(values, pa.string())
    lengths = pc.utf8_length(values)
    longest = pc.max(lengths).as_py()
    if longest is not None and longest > MAX_CATEGORY_LENGTH:  # first, and in Arrow's memory: no copy of a long value
        values = pc.if_else(pc.greater(lengths, MAX_CATEGORY_LENGTH), pa.scalar(LONG_CATEGORY, values.type), values)
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)


def category_of(value: Any) -> str | None:
    """One value as a category string, spelled like Arrow's cast to string (LONG_CATEGORY for a string longer than
    MAX_CATEGORY_LENGTH); None when missing."""
    if value is None:
        return None
    if isinstance(value, str):
        return (value if len(value) <= MAX_CATEGORY_LENGTH else LONG_CATEGORY) or None
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        f = float(value)
        if math.isnan(f):
            return None
        return str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)
    if isinstance(value, bytes):
        return category_of(value[: 4 * MAX_CATEGORY_LENGTH + 4].decode("utf-8", errors="replace")) if value else None
    if isinstance(value, list | tuple | dict | set):
        return None  # a container is not a category: a wrong type, missing like a string in a numeric column
    return str(value)
