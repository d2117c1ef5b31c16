"""Requests waiting for the response that names their serving version (``versions.source: response``): the request
event of the Open Inference Protocol carries no version, so its rows wait by event id — at most ``versions.wait`` and
:data:`MAX_WAITING_BYTES` — and a response that comes first leaves its version for its request."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from drift.coercion import MAX_CATEGORY_LENGTH

from .events import stored_id
from .payloads import Rows

# What one held request costs at most besides its rows: its key (at most MAX_STORED_ID characters, or a hash), the
# dict entry, the tuple, the Rows and its arrays' headers.
ENTRY_BYTES = 1024
# One row's numeric cell as a parsed Python float in a list, or a float64; one categorical cell: a pointer and a
# string of at most MAX_CATEGORY_LENGTH characters (4 bytes each at worst in CPython).
NUMERIC_CELL_BYTES = 32
CATEGORICAL_CELL_BYTES = 8 + 80 + 4 * MAX_CATEGORY_LENGTH
ROW_BYTES = 64  # a row's list or slice of the block
REMEMBERED_ENTRY_BYTES = 640  # a remembered version: its key and version (each at most 128 characters), tuple, entry
MAX_WAITING_BYTES = 64 * 1024 * 1024  # per model with versions.source: response
MAX_REMEMBERED_BYTES = 16 * 1024 * 1024


def held_bytes(rows: Rows, key: str) -> int:
    """An upper bound on the memory a held request takes: fixed per entry and per cell, so a request of no rows
    costs ENTRY_BYTES and nothing a client sends is free."""
    block = rows.numeric
    width = (block.shape[1] if isinstance(block, np.ndarray) else len(block[0])) if rows.count else 0
    numeric = NUMERIC_CELL_BYTES * int(width)
    categorical = CATEGORICAL_CELL_BYTES * int(rows.categorical.shape[1])
    return ENTRY_BYTES + len(key) + rows.count * (ROW_BYTES + numeric + categorical)


class WaitingRequests:
    """Request rows waiting for the response that names their version, and the versions of responses that came
    first (the logger does not order the two). Keyed by :func:`~exporters.events.stored_id` (a long id is hashed) and
    bounded in time (``versions.wait``) and in bytes (:data:`MAX_WAITING_BYTES`, :data:`MAX_REMEMBERED_BYTES`, each
    entry weighed by :func:`held_bytes` — a request of no rows too); what leaves unclaimed is counted."""

    def __init__(self, wait: float, max_bytes: int = MAX_WAITING_BYTES, remembered: int = MAX_REMEMBERED_BYTES) -> None:
        self.wait = wait
        self.max_bytes, self.max_remembered = max_bytes, remembered
        self._rows: OrderedDict[str, tuple[Rows, float, int]] = OrderedDict()
        self._versions: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self.bytes_waiting = 0
        self._lock = threading.Lock()

    @property
    def rows_waiting(self) -> int:
        return sum(held[0].count for held in list(self._rows.values()))

    def hold(self, event_id: str, rows: Rows, now: float) -> tuple[str | None, int]:
        """Keep a request's rows until its response; returns ``(the version, when its response already came, else
        None; requests given up to make room or for their age)``."""
        key = stored_id(event_id)
        with self._lock:
            known = self._versions.pop(key, None)
            if known is not None:
                return known[0], 0
            previous = self._rows.pop(key, None)
            if previous is not None:
                self.bytes_waiting -= previous[2]
            size = held_bytes(rows, key)
            self._rows[key] = (rows, now, size)
            self.bytes_waiting += size
            return None, self._expire(now)

    def claim(self, event_id: str, version: str, now: float) -> Rows | None:
        """The rows of the request this response answers, or None (then its version is remembered for it)."""
        key = stored_id(event_id)
        with self._lock:
            waiting = self._rows.pop(key, None)
            if waiting is not None:
                self.bytes_waiting -= waiting[2]
                return waiting[0]
            self._versions[key] = (version, now)
            self._versions.move_to_end(key)
            limit = self.max_remembered // REMEMBERED_ENTRY_BYTES
            while len(self._versions) > limit or (
                self._versions and next(iter(self._versions.values()))[1] < now - self.wait
            ):
                self._versions.popitem(last=False)
            return None

    def expire(self, now: float) -> int:
        with self._lock:
            return self._expire(now)

    def _expire(self, now: float) -> int:
        given_up = 0
        while self._rows:
            _, held_at, size = next(iter(self._rows.values()))
            if held_at >= now - self.wait and self.bytes_waiting <= self.max_bytes:
                break
            self._rows.popitem(last=False)
            self.bytes_waiting -= size
            given_up += 1
        return given_up
