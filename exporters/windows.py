"""Sliding windows of live rows: columnar numpy ring buffers, bounded by the config whatever the traffic.

A :class:`SlidingWindow` keeps the last ``size`` rows appended, each stamped with its arrival time; a snapshot
leaves out rows older than ``max_age``. Numeric columns are float64 rings (NaN = missing), categorical ones object
rings of strings (None = missing). Appends come from the ingest path, snapshots from the evaluator thread; a lock
makes each of them atomic and both are a few slice copies.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from drift.config import ColumnConfig


@dataclass(frozen=True)
class WindowSnapshot:
    """The rows of a window at one instant, oldest first, as columns. Arrays are private copies."""

    columns: Mapping[str, np.ndarray[Any, Any]]
    rows: int


class SlidingWindow:
    """The last ``size`` rows of a set of columns, dropping rows older than ``max_age`` seconds at snapshot time.

    Storage is two row-major blocks, numeric ``[size, n_numeric]`` float64 and categorical ``[size, n_categorical]``
    object, so appending an event's rows is one slice assignment per block, not one per column.
    """

    def __init__(self, columns: tuple[ColumnConfig, ...], size: int, max_age: float) -> None:
        self.columns = columns
        self.size = size
        self.max_age = max_age
        self.numeric_names = tuple(c.name for c in columns if c.is_numeric)
        self.categorical_names = tuple(c.name for c in columns if not c.is_numeric)
        self._numeric = np.full((size, len(self.numeric_names)), np.nan)
        self._categorical = np.full((size, len(self.categorical_names)), None, dtype=object)
        self._times = np.zeros(size, dtype=np.float64)
        self._next = 0  # where the next row goes
        self._count = 0  # rows held, ≤ size
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    def append(self, columns: Mapping[str, Any], rows: int, timestamp: float) -> None:
        """Append ``rows`` rows given as one array (or list) per column, all stamped ``timestamp``."""
        numeric = (
            np.column_stack([np.asarray(columns[n], dtype=np.float64) for n in self.numeric_names])
            if (self.numeric_names)
            else None
        )
        categorical = None
        if self.categorical_names:
            categorical = np.empty((rows, len(self.categorical_names)), dtype=object)
            for j, name in enumerate(self.categorical_names):
                categorical[:, j] = list(columns[name])
        self.append_block(numeric, categorical, rows, timestamp)

    def append_block(
        self,
        numeric: np.ndarray[Any, Any] | None,
        categorical: np.ndarray[Any, Any] | None,
        rows: int,
        timestamp: float,
    ) -> None:
        """Append ``rows`` rows as blocks in the window's column order (numeric, then categorical, by name order).

        Only the last ``size`` rows of a batch larger than the window are kept.
        """
        if rows <= 0:
            return
        skip = max(0, rows - self.size)
        n = rows - skip
        with self._lock:
            start = self._next
            first = min(n, self.size - start)
            for ring, block in ((self._numeric, numeric), (self._categorical, categorical)):
                if block is None or ring.shape[1] == 0:
                    continue
                ring[start : start + first] = block[skip : skip + first]
                if first < n:
                    ring[: n - first] = block[skip + first : rows]
            self._times[start : start + first] = timestamp
            if first < n:
                self._times[: n - first] = timestamp
            self._next = (start + n) % self.size
            self._count = min(self.size, self._count + n)

    def snapshot(self, now: float) -> WindowSnapshot:
        """Copies of the rows no older than ``max_age`` at ``now``, oldest first, one array per column."""
        with self._lock:
            count, end = self._count, self._next
            order = np.arange(end - count, end) % self.size
            times = self._times[order]
            keep = order[times >= now - self.max_age]
            numeric = self._numeric[keep]
            categorical = self._categorical[keep]
        columns: dict[str, np.ndarray[Any, Any]] = {}
        for j, name in enumerate(self.numeric_names):
            columns[name] = np.ascontiguousarray(numeric[:, j])
        for j, name in enumerate(self.categorical_names):
            columns[name] = categorical[:, j].copy()
        return WindowSnapshot(columns=columns, rows=int(keep.size))
