"""KServe inference payloads (v1 and Open Inference Protocol v2) turned into columns of a model's features/outputs.

The logger does not say which protocol a body uses, so the shape decides:

* v1 request ``{"instances": [...]}``: rows as lists (in feature order), as objects keyed by feature name, or as
  scalars when the model has one feature. v1 response ``{"predictions": [...]}``: scalars (one output), lists (in
  output order) or objects keyed by output name.
* v2 request ``{"inputs": [tensor, ...]}`` / response ``{"outputs": [...]}``, a tensor being
  ``{"name", "shape", "datatype", "data"}``: one ``[N, F]`` tensor in column order (``data`` nested or flat
  row-major), or one tensor per column, matched by name (shape ``[N]`` or ``[N, 1]``). ``BYTES`` tensors carry
  strings, for categorical columns.

A body of the wrong shape raises :class:`PayloadError`; a single bad value inside a good row becomes missing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import chain
from typing import Any, NamedTuple

import numpy as np

from drift.boundary import shown
from drift.coercion import LONG_CATEGORY, category_of
from drift.config import ColumnConfig

_NAN = math.nan
MAX_TENSOR_DIMENSIONS = 8  # as deep as tensor data is flattened


class Columns(tuple[ColumnConfig, ...]):
    """A model's features or outputs, with what the parser asks of them on every event computed once."""

    all_numeric: bool
    names: tuple[str, ...]
    name_set: frozenset[str]
    numeric_flags: tuple[bool, ...]

    def __new__(cls, columns: tuple[ColumnConfig, ...]) -> Columns:
        self = super().__new__(cls, columns)
        self.all_numeric = all(c.is_numeric for c in columns)
        self.names = tuple(c.name for c in columns)
        self.name_set = frozenset(self.names)
        self.numeric_flags = tuple(c.is_numeric for c in columns)
        return self


class PayloadError(ValueError):
    """The body cannot be read as rows of the model's columns. ``reason`` is the metric label."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


NumericBlock = np.ndarray[Any, Any] | list[list[float]]


class Rows(NamedTuple):
    """Parsed rows as two row-major blocks in config order: numeric columns ``[count, n_numeric]`` float64 (NaN =
    missing) and categorical columns ``[count, n_categorical]`` object (None = missing) — the window's layout.

    Rows of plain floats for an all-numeric model stay the lists the JSON parser made: the window converts a thousand
    events' rows with one numpy call when it counts them, instead of one call per event (``numeric_array`` gives the
    array)."""

    numeric: NumericBlock
    categorical: np.ndarray[Any, Any]
    count: int  # type: ignore[assignment]  # shadows tuple.count, which nothing here calls
    long_values: int = 0  # category values longer than MAX_CATEGORY_LENGTH, replaced by LONG_CATEGORY
    # [columns in config order, PAYLOAD_ERRORS]: values of the wrong type and columns absent from the payload (both
    # missing in the blocks); None when there are none
    payload_errors: np.ndarray[Any, Any] | None = None

    @property
    def numeric_array(self) -> np.ndarray[Any, Any]:
        return np.asarray(self.numeric, dtype=np.float64).reshape(self.count, -1)

    def columns(self, columns: tuple[ColumnConfig, ...]) -> dict[str, np.ndarray[Any, Any]]:
        """One array per column name (for tests and tools; the ingest path appends the blocks)."""
        numeric = [c.name for c in columns if c.is_numeric]
        categorical = [c.name for c in columns if not c.is_numeric]
        block = self.numeric_array
        out = {name: block[:, j] for j, name in enumerate(numeric)}
        out.update({name: self.categorical[:, j] for j, name in enumerate(categorical)})
        return out


def parse_request(payload: Any, features: Columns) -> Rows:
    if isinstance(payload, dict):
        if "instances" in payload:
            return _v1_rows(payload["instances"], features, "instances")
        if "inputs" in payload:
            inputs = payload["inputs"]
            if _is_tensor_list(inputs):
                return _v2_rows(inputs, features, "inputs")
            return _v1_rows(inputs, features, "inputs")
    raise PayloadError("unsupported_payload", 'a request body needs "instances" (v1) or "inputs" (v2)')


def parse_response(payload: Any, outputs: Columns) -> Rows:
    if isinstance(payload, dict):
        if "predictions" in payload:
            return _v1_rows(payload["predictions"], outputs, "predictions")
        if "outputs" in payload and _is_tensor_list(payload["outputs"]):
            return _v2_rows(payload["outputs"], outputs, "outputs")
    raise PayloadError("unsupported_payload", 'a response body needs "predictions" (v1) or "outputs" (v2)')


def _is_tensor_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(t, dict) and "data" in t for t in value)


def _v1_rows(rows: Any, columns: Columns, key: str) -> Rows:
    if not isinstance(rows, list):
        raise PayloadError("shape_mismatch", f'"{key}" must be a list of rows')
    width = len(columns)
    if not rows:
        return _columns_from_lists([[] for _ in columns], columns, 0)
    first = rows[0]
    if isinstance(first, list):
        fast = _all_numeric_rows(rows, columns)
        if fast is not None:
            return fast
        if any(not isinstance(row, list) or len(row) != width for row in rows):
            lengths = sorted({len(r) if isinstance(r, list) else -1 for r in rows})
            raise PayloadError("shape_mismatch", f'rows of "{key}" must each have {width} values, got {shown(lengths)}')
        return _columns_from_lists([list(col) for col in zip(*rows, strict=True)], columns, len(rows))
    if isinstance(first, dict):
        if any(not isinstance(row, dict) for row in rows):
            raise PayloadError("shape_mismatch", f'rows of "{key}" mix objects and other values')
        if all(columns.name_set.isdisjoint(row) for row in rows):
            names = ", ".join(columns.names)
            raise PayloadError("shape_mismatch", f'no row of "{key}" names any of: {names}')
        as_lists = [list(map(row.get, columns.names)) for row in rows]  # a missing name is None: missing
        fast = _all_numeric_rows(as_lists, columns)
        if fast is not None:
            return fast
        return _columns_from_lists([list(col) for col in zip(*as_lists, strict=True)], columns, len(rows), rows)
    if width == 1 and all(not isinstance(row, list | dict) for row in rows):
        return _columns_from_lists([rows], columns, len(rows))
    raise PayloadError("shape_mismatch", f'"{key}" holds scalars but {width} columns are configured')


def _v2_rows(tensors: list[dict[str, Any]], columns: Columns, key: str) -> Rows:
    # A tensor's name is a string in the protocol; anything else (a list, an object) names no column.
    by_name = {t.get("name"): t for t in tensors if isinstance(t.get("name"), str)}
    named = [c for c in columns if c.name in by_name]
    if named:
        values: list[list[Any]] = []
        count = None
        for column in columns:
            tensor = by_name.get(column.name)
            if tensor is None:
                values.append([])
                continue
            data, shape = _flat(tensor, key)
            if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
                raise PayloadError(
                    "shape_mismatch", f'tensor "{column.name}" must have shape [N] or [N, 1], not {shown(shape)}'
                )
            if count is not None and len(data) != count:
                raise PayloadError("shape_mismatch", f'tensors in "{key}" have different numbers of rows')
            count = len(data)
            values.append(data)
        count = count or 0
        absent = [0 if column.name in by_name else count for column in columns]
        return _columns_from_lists([v if v else [None] * count for v in values], columns, count, absent=absent)
    if len(tensors) != 1:
        raise PayloadError(
            "shape_mismatch", f'"{key}" has {len(tensors)} tensors and none is named after a configured column'
        )
    data, shape = _flat(tensors[0], key)
    width = len(columns)
    if len(shape) == 1 and width == 1:
        return _columns_from_lists([data], columns, len(data))
    if len(shape) != 2 or shape[1] != width:
        message = f"tensor shape {shown(shape)} does not match the {width} configured columns"
        raise PayloadError("shape_mismatch", message)
    rows = shape[0]
    return _columns_from_lists([data[i::width] for i in range(width)], columns, rows)


def _flat(tensor: dict[str, Any], key: str) -> tuple[list[Any], list[int]]:
    """The tensor's data flattened row-major, checked against its declared shape."""
    shape = tensor.get("shape")
    if (
        not isinstance(shape, list)
        or not 0 < len(shape) <= MAX_TENSOR_DIMENSIONS
        or not all(type(s) is int and s >= 0 for s in shape)
    ):
        raise PayloadError("shape_mismatch", f'a tensor in "{key}" has no valid "shape" (at most 8 sizes ≥ 0)')
    data = tensor.get("data")
    if not isinstance(data, list):
        raise PayloadError("shape_mismatch", f'a tensor in "{key}" has no "data" list')
    if data and isinstance(data[0], list):
        flat: list[Any] = []
        _flatten(data, flat, depth=0)
        data = flat
    expected = 1
    for size in shape:  # stops as soon as the shape holds more values than the data: no product of huge sizes
        expected *= size
        if expected > len(data):
            break
    if len(data) != expected:
        needs = f"needs more than {len(data)}" if expected > len(data) else f"needs {expected}"
        raise PayloadError("shape_mismatch", f"tensor data has {len(data)} values, its shape {shown(shape)} {needs}")
    return data, shape


def _flatten(value: list[Any], out: list[Any], depth: int) -> None:
    if depth > 8:
        raise PayloadError("shape_mismatch", "tensor data is nested too deeply")
    for item in value:
        if isinstance(item, list):
            _flatten(item, out, depth + 1)
        else:
            out.append(item)


def _all_numeric_rows(rows: list[Any], columns: Columns) -> Rows | None:
    """The common case in one numpy call: list rows of plain numbers for an all-numeric model. None otherwise."""
    if not columns.all_numeric:
        return None
    width = len(columns)
    if len(rows) == 1:  # an event's usual single row of floats: the loop below, unrolled
        row = rows[0]
        if type(row) is list and len(row) == width and _FLOAT_TYPE.issuperset(map(type, row)):
            return Rows(rows, _ONE_ROW_NO_CATEGORIES, 1)
    floats_only = True
    for row in rows:
        # only floats and ints (not bools, strings or nulls) take the shortcut; map(type) runs in C
        if type(row) is not list or len(row) != width:
            return None
        kinds = set(map(type, row))
        if not _NUMBER_TYPES.issuperset(kinds):
            return None
        floats_only = floats_only and kinds <= _FLOAT_TYPE
    empty = _ONE_ROW_NO_CATEGORIES if len(rows) == 1 else np.empty((len(rows), 0), dtype=object)
    if floats_only:
        return Rows(rows, empty, len(rows))  # counted as they are: a float always converts
    try:
        block = np.array(rows, dtype=np.float64)
    except OverflowError:  # an integer beyond float range
        return None
    return Rows(block, empty, len(rows))


_NUMBER_TYPES = frozenset((float, int))
_FLOAT_TYPE = frozenset((float,))
_STRING_TYPE = frozenset((str,))
_ONE_ROW_NO_CATEGORIES = np.empty((1, 0), dtype=object)  # an event's usual row count; empty, so safe to share


def _columns_from_lists(
    values: Sequence[list[Any]],
    columns: Columns,
    count: int,
    rows: list[dict[str, Any]] | None = None,
    absent: Sequence[int] | None = None,
) -> Rows:
    """Columns of raw values → the blocks. ``rows``: the object rows they came from (to tell an absent name from a
    null); ``absent``: per column, the rows the payload did not carry it for (v2 tensors)."""
    flags = columns.numeric_flags
    numeric = [
        [v if type(v) is float else _as_float(v) for v in raw]
        for is_numeric, raw in zip(flags, values, strict=True)
        if is_numeric
    ]
    numeric_block = np.array(numeric, dtype=np.float64).reshape(len(numeric), count).T
    categorical = [raw for is_numeric, raw in zip(flags, values, strict=True) if not is_numeric]
    categorical_block = np.empty((count, len(categorical)), dtype=object)
    long_values = 0
    unread = _NAN in chain.from_iterable(numeric)  # _as_float's NaN object: what it could not read, or a null
    for j, raw in enumerate(categorical):
        cells = [category_of(v) for v in raw]
        unread = unread or None in cells
        long_values += cells.count(LONG_CATEGORY)  # category_of made each value over MAX_CATEGORY_LENGTH this one
        categorical_block[:, j] = cells
    errors = None
    if unread or (absent is not None and any(absent)):  # something missing: a null, or an error?
        errors = _payload_errors(values, numeric, columns, rows, absent)
    return Rows(numeric_block, categorical_block, count, long_values, errors)


def _payload_errors(
    values: Sequence[list[Any]],
    numeric: list[list[float]],
    columns: Columns,
    rows: list[dict[str, Any]] | None,
    absent: Sequence[int] | None,
) -> np.ndarray[Any, Any] | None:
    """``[columns, (type, absent)]``: values of the wrong type and columns the payload lacked; None when every
    missing value was a null."""
    wrong_type = [0] * len(columns)
    floats = iter(numeric)
    for j, (is_numeric, raw) in enumerate(zip(columns.numeric_flags, values, strict=True)):
        if is_numeric:
            failed = next(floats).count(_NAN)
            wrong_type[j] = failed - raw.count(None) if failed else 0  # a null is missing, not of the wrong type
        elif not _STRING_TYPE.issuperset(map(type, raw)):
            wrong_type[j] = sum(isinstance(v, list | tuple | dict | set) for v in raw)
    if rows is not None:  # a null, or a name a row lacks: which?
        absent = [sum(name not in row for row in rows) for name in columns.names]
    if not any(wrong_type) and not (absent is not None and any(absent)):
        return None
    return np.array([wrong_type, absent if absent is not None else [0] * len(columns)], dtype=np.int64).T


def _as_float(value: Any) -> float:
    """A JSON number, or a string holding one, as float; anything else (booleans, null, huge integers) is missing."""
    if type(value) is int or type(value) is str:
        try:
            return float(value)
        except (OverflowError, ValueError):
            return _NAN
    return _NAN
