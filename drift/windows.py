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

from .config import ColumnConfig


@dataclass(frozen=True)
class WindowSnapshot:
    """The rows of a window at one instant, oldest first, as columns. Arrays are private copies."""

    columns: Mapping[str, np.ndarray[Any, Any]]
    rows: int
    newest: float | None


class SlidingWindow:
    """The last ``size`` rows of a set of columns, dropping rows older than ``max_age`` seconds at snapshot time."""

    def __init__(self, columns: tuple[ColumnConfig, ...], size: int, max_age: float) -> None:
        self.columns = columns
        self.size = size
        self.max_age = max_age
        self._data: dict[str, np.ndarray[Any, Any]] = {
            c.name: np.full(size, np.nan) if c.is_numeric else np.full(size, None, dtype=object) for c in columns
        }
        self._times = np.zeros(size, dtype=np.float64)
        self._next = 0  # where the next row goes
        self._count = 0  # rows held, ≤ size
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    def append(self, columns: Mapping[str, Any], rows: int, timestamp: float) -> None:
        """Append ``rows`` rows given as one array (or list) per column, all stamped ``timestamp``.

        Only the last ``size`` rows of a batch larger than the window are kept.
        """
        if rows <= 0:
            return
        skip = max(0, rows - self.size)
        n = rows - skip
        with self._lock:
            start = self._next
            first = min(n, self.size - start)
            for name, ring in self._data.items():
                values = columns[name]
                ring[start : start + first] = values[skip : skip + first]
                if first < n:
                    ring[: n - first] = values[skip + first : rows]
            self._times[start : start + first] = timestamp
            if first < n:
                self._times[: n - first] = timestamp
            self._next = (start + n) % self.size
            self._count = min(self.size, self._count + n)

    def snapshot(self, now: float) -> WindowSnapshot:
        """Copies of the rows no older than ``max_age`` at ``now``, oldest first."""
        with self._lock:
            count, end = self._count, self._next
            order = np.arange(end - count, end) % self.size
            times = self._times[order]
            keep = order[times >= now - self.max_age]
            columns = {name: ring[keep] for name, ring in self._data.items()}
            newest = float(times[-1]) if count else None
        return WindowSnapshot(columns=columns, rows=int(keep.size), newest=newest)

    def clear(self) -> None:
        with self._lock:
            self._next = self._count = 0
