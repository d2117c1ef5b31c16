"""A regression's requests joined to their responses: the rows its loss models read (features and prediction together).

KServe's logger sends an inference's request and response as two CloudEvents with the same id, in either order. The
first half waits here (bounded: at most ``4 × capacity`` rows of at most :data:`MAX_WAITING` events, the oldest
leaving first); when the other half arrives with as many rows, the joined rows enter a ring of the newest
``capacity`` rows, each with its arrival time, from which an evaluation reads those younger than ``window.max_age``.
Not checkpointed: after a restart the estimate returns as traffic refills the ring.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from drift.config import ColumnConfig

from .payloads import Rows

MAX_WAITING = 4096  # events waiting for their other half


class PairedRows:
    """One regression stream's join of requests to responses, and the ring of joined rows (see the module)."""

    def __init__(
        self, features: tuple[ColumnConfig, ...], outputs: tuple[ColumnConfig, ...], prediction: str, capacity: int,
        max_age: float,
    ) -> None:  # fmt: skip
        self.numeric = [c.name for c in features if c.is_numeric]
        self.categorical = [c.name for c in features if not c.is_numeric]
        self.prediction = prediction
        self._column = [c.name for c in outputs if c.is_numeric].index(prediction)  # in a response's numeric block
        self.capacity, self.max_age = capacity, max_age
        self._waiting: OrderedDict[str, tuple[bool, Rows]] = OrderedDict()
        self._waiting_rows = 0
        self._lock = threading.Lock()
        self._numeric: np.ndarray[Any, Any] | None = None  # allocated with the first pair
        self._categorical = np.empty((0, len(self.categorical)), dtype=object)
        self._prediction = np.empty(0)
        self._times = np.empty(0)
        self._next = self._size = 0

    def request(self, event_id: str, rows: Rows, now: float) -> None:
        self._half(event_id, True, rows, now)

    def response(self, event_id: str, rows: Rows, now: float) -> None:
        self._half(event_id, False, rows, now)

    def _half(self, event_id: str, is_request: bool, rows: Rows, now: float) -> None:
        with self._lock:
            other = self._waiting.pop(event_id, None)
            if other is not None:
                self._waiting_rows -= other[1].count
                if other[0] != is_request:
                    request, response = (rows, other[1]) if is_request else (other[1], rows)
                    if request.count == response.count:
                        self._keep(request, response, now)
                    return
            if rows.count > 4 * self.capacity:
                return
            self._waiting[event_id] = (is_request, rows)
            self._waiting_rows += rows.count
            while len(self._waiting) > MAX_WAITING or self._waiting_rows > 4 * self.capacity:
                _, (_, oldest) = self._waiting.popitem(last=False)
                self._waiting_rows -= oldest.count

    def _keep(self, request: Rows, response: Rows, now: float) -> None:
        if self._numeric is None:
            self._numeric = np.empty((self.capacity, len(self.numeric)))
            self._categorical = np.empty((self.capacity, len(self.categorical)), dtype=object)
            self._prediction = np.empty(self.capacity)
            self._times = np.empty(self.capacity)
        count = min(request.count, self.capacity)
        numeric, categorical = request.numeric_array[-count:], request.categorical[-count:]
        prediction = response.numeric_array[-count:, self._column]
        at = (self._next + np.arange(count)) % self.capacity
        self._numeric[at] = numeric
        self._categorical[at] = categorical
        self._prediction[at] = prediction
        self._times[at] = now
        self._next = int((self._next + count) % self.capacity)
        self._size = min(self._size + count, self.capacity)

    def sample(self, now: float) -> tuple[dict[str, np.ndarray[Any, Any]], int]:
        """The joined rows younger than ``max_age``: one array per feature and the prediction, and their number."""
        with self._lock:
            if self._numeric is None or self._size == 0:
                return {}, 0
            young = np.flatnonzero(self._times[: self._size] > now - self.max_age)
            columns = {name: self._numeric[young, j].copy() for j, name in enumerate(self.numeric)}
            columns.update({name: self._categorical[young, j].copy() for j, name in enumerate(self.categorical)})
            columns[self.prediction] = self._prediction[young].copy()
            return columns, int(young.size)


__all__ = ["MAX_WAITING", "PairedRows"]
