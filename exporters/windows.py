"""Live windows as bin counts in time buckets: memory and evaluation cost fixed by the config, not by the traffic.

A :class:`CountWindow` holds one model's features (or outputs) as counts over the profile's fine bins
(:class:`drift.layout.Layout`) in a ring of ``BUCKETS`` buckets. A bucket closes after ``max_age / BUCKETS`` seconds
or ``size / BUCKETS`` rows (the slots' capacities add up to ``size``), whichever comes first; the window is the sum of
the buckets whose newest row is no older than ``max_age``. So it holds at most ``size`` rows (a burst replaces the
oldest buckets), ages out in steps of ``max_age / BUCKETS``, and under heavy traffic holds from ``size − size/BUCKETS``
to ``size`` rows: the oldest bucket leaves whole when the newest opens.

Rows are not binned one by one: an append keeps the parsed block (a list append), and the blocks are counted
together — one sort per column — when they reach ``STAGING_ROWS`` rows, before an evaluation, a sample or a
checkpoint. Rows that arrive before the profile is loaded wait there (the newest ``STAGING_ROWS``). Each bucket also
keeps a uniform reservoir sample of its raw rows, which ``GET /report`` draws from; the sample is not checkpointed.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from drift.config import ColumnConfig
from drift.data_quality import PAYLOAD_ERRORS, VALUE_QUALITIES, QualityBounds, quality_counts
from drift.layout import Layout

BUCKETS = 60
STAGING_ROWS = 512


@dataclass(frozen=True)
class WindowCounts:
    """The window at one instant: its count vector over the layout of profile ``version``, and its rows."""

    counts: np.ndarray[Any, Any]
    rows: int
    version: str | None


@dataclass(frozen=True)
class WindowSample:
    """Raw rows sampled from the window, as columns (numeric float64, categorical object)."""

    columns: Mapping[str, np.ndarray[Any, Any]]
    rows: int


@dataclass(frozen=True)
class WindowState:
    """What a checkpoint keeps of a window: the buckets' counts and bounds, for one profile version."""

    version: str
    counts: np.ndarray[Any, Any]  # [buckets, layout size], uint16 or int32
    rows: np.ndarray[Any, Any]  # [buckets] int64
    first: np.ndarray[Any, Any]  # [buckets] float64: when each bucket opened (epoch seconds)
    last: np.ndarray[Any, Any]  # [buckets] float64: its newest row
    current: int


class CountWindow:
    """One model's features (or outputs) over the last ``size`` rows and ``max_age`` seconds, as bin counts."""

    def __init__(
        self,
        columns: tuple[ColumnConfig, ...],
        size: int,
        max_age: float,
        sample_rows: int = 0,
        margin: float | None = None,
    ) -> None:
        self.columns = columns
        # drift.range_margin, for a window whose values' quality is counted (the features'); None: not counted
        self.margin = margin
        self.size = size
        self.max_age = max_age
        self.numeric_names = tuple(c.name for c in columns if c.is_numeric)
        self.categorical_names = tuple(c.name for c in columns if not c.is_numeric)
        self.buckets = min(BUCKETS, size)
        # Slot capacities that add up to exactly ``size``: a full ring holds the configured rows, no fewer.
        self.bucket_rows = np.full(self.buckets, size // self.buckets, dtype=np.int64)
        self.bucket_rows[: size % self.buckets] += 1
        self.bucket_span = max_age / self.buckets
        self.layout: Layout | None = None
        self.version: str | None = None
        self.generation = 0  # bumped whenever the counts change: what a checkpoint compares
        n_num, n_cat = len(self.numeric_names), len(self.categorical_names)
        # Blocks as parsed, counted together: an append is a list append, not a numpy copy per event.
        self._pending: list[tuple[Any, np.ndarray[Any, Any] | None, int, float]] = []
        self._staged = 0
        # A bucket never holds more rows than its capacity: 16-bit counts halve the memory when that fits.
        self._count_type = np.uint16 if self.bucket_rows.max() < 2**16 else np.int32
        self._counts = np.zeros((self.buckets, 0), dtype=self._count_type)
        self._rows = np.zeros(self.buckets, dtype=np.int64)
        self._first = np.zeros(self.buckets)
        self._last = np.zeros(self.buckets)
        self._current = -1
        # The sum of the live buckets, kept as they fill and leave: a read costs one vector, not one per bucket.
        self._total = np.zeros(0, dtype=np.int64)
        self._in_total = np.zeros(self.buckets, dtype=bool)
        # Every row counted against the current profile since this process loaded it: what the exporter publishes
        # as counters for Prometheus to pool across replicas. Not checkpointed: a restart is a counter reset.
        self._counted = np.zeros(0, dtype=np.int64)
        # Data quality (drift.data_quality), published as counters too: each value's quality against the current
        # profile, per layout column; and the payload errors per column (any profile), which make values missing.
        self._bounds: QualityBounds | None = None
        self._quality = np.zeros((0, len(VALUE_QUALITIES)), dtype=np.int64)
        self._payload_errors = np.zeros((len(columns), len(PAYLOAD_ERRORS)), dtype=np.int64)
        self._sample_cap = math.ceil(sample_rows / self.buckets) if sample_rows > 0 else 0
        self._sample_numeric = np.full((self.buckets, self._sample_cap, n_num), np.nan)
        self._sample_categorical = np.full((self.buckets, self._sample_cap, n_cat), None, dtype=object)
        self._rng = np.random.default_rng()
        self._lock = threading.Lock()

    # --- ingest ---

    def append_block(
        self,
        numeric: np.ndarray[Any, Any] | list[list[float]] | None,
        categorical: np.ndarray[Any, Any] | None,
        rows: int,
        timestamp: float,
        payload_errors: np.ndarray[Any, Any] | None = None,
    ) -> None:
        """Append ``rows`` rows as blocks in the window's column order (numeric, then categorical, by name order);
        the numeric block may also be a list of float rows. The blocks are kept as they are until counted: the caller
        must not change them. ``payload_errors``: ``[columns, PAYLOAD_ERRORS]`` counts of the values that were not
        readable (they are missing in the blocks)."""
        if rows <= 0:
            return
        with self._lock:
            if payload_errors is not None:
                self._payload_errors += payload_errors
            self._pending.append((numeric, categorical, rows, timestamp))
            self._staged += rows
            self.generation += 1  # so the next checkpoint counts and keeps these rows too
            if self._staged >= STAGING_ROWS:
                self._make_room()

    def _make_room(self) -> None:
        if self.layout is not None:
            self._flush()
            return
        while self._staged > STAGING_ROWS:  # no profile yet: the newest rows wait, the oldest make room
            numeric, categorical, rows, timestamp = self._pending[0]
            excess = self._staged - STAGING_ROWS
            if rows <= excess:
                self._pending.pop(0)
                self._staged -= rows
                continue
            self._pending[0] = (
                self._numeric_block(numeric, rows)[excess:].copy()
                if numeric is not None
                else None,  # a copy lets the rest of the block go
                categorical[excess:].copy() if categorical is not None else None,
                rows - excess,
                timestamp,
            )
            self._staged -= excess

    def _numeric_block(self, block: Any, rows: int) -> np.ndarray[Any, Any]:
        if block is None:
            return np.full((rows, len(self.numeric_names)), np.nan)
        return np.asarray(block, dtype=np.float64).reshape(rows, len(self.numeric_names))

    def _staged_blocks(self) -> tuple[np.ndarray[Any, Any] | None, np.ndarray[Any, Any] | None, np.ndarray[Any, Any]]:
        """The pending blocks as one numeric block, one categorical block and each row's time."""
        pending = self._pending
        times = np.repeat([p[3] for p in pending], [p[2] for p in pending])
        numeric = categorical = None
        if self.numeric_names:
            if all(type(p[0]) is list for p in pending):  # plain float rows: one conversion for them all
                numeric = np.array([row for p in pending for row in p[0]], dtype=np.float64)  # type: ignore[union-attr]
            else:
                numeric = np.concatenate([self._numeric_block(p[0], p[2]) for p in pending])
        if self.categorical_names:
            categorical = np.concatenate(
                [
                    p[1] if p[1] is not None else np.full((p[2], len(self.categorical_names)), None, dtype=object)
                    for p in pending
                ]
            )
        return numeric, categorical, times

    # --- counting ---

    def _flush(self) -> None:
        """Count the staged rows into their buckets (lock held, layout set)."""
        n = self._staged
        if n == 0 or self.layout is None:
            return
        numeric, categorical, stamps = self._staged_blocks()
        times = np.maximum.accumulate(stamps)  # a clock step backwards stays in the open bucket
        codes = self.layout.codes(numeric, categorical)  # once: the batch may span many buckets
        if self._bounds is not None:
            self._quality += quality_counts(self.layout, self._bounds, numeric, categorical, codes)
        i = 0
        while i < n:
            b = self._current
            if b < 0 or self._rows[b] >= self.bucket_rows[b] or times[i] >= self._first[b] + self.bucket_span:
                b = self._open(float(times[i]))
            room = int(self.bucket_rows[b] - self._rows[b])
            closes = int(np.searchsorted(times, self._first[b] + self.bucket_span, side="left"))
            j = max(i + 1, min(n, i + room, closes))
            block_numeric = numeric[i:j] if numeric is not None else None
            block_categorical = categorical[i:j] if categorical is not None else None
            counted = np.bincount(codes[i:j].ravel(), minlength=self.layout.size)
            if not self._in_total[b]:  # rows stamped in the past, into a bucket that had aged out
                self._total += self._counts[b]
                self._in_total[b] = True
            self._counts[b] += counted.astype(self._counts.dtype)
            self._total += counted
            self._counted += counted
            self._sample(b, int(self._rows[b]), block_numeric, block_categorical)
            self._rows[b] += j - i
            self._last[b] = max(self._last[b], float(times[j - 1]))
            i = j
        self._staged = 0
        self._pending = []
        self.generation += 1

    def _open(self, at: float) -> int:
        b = (self._current + 1) % self.buckets
        self._leave(np.array([b]))
        self._in_total[b] = True
        self._counts[b] = 0
        self._rows[b] = 0
        self._first[b] = self._last[b] = at
        self._current = b
        return b

    def _sample(
        self, b: int, seen: int, numeric: np.ndarray[Any, Any] | None, categorical: np.ndarray[Any, Any] | None
    ) -> None:
        """Algorithm R over the bucket's rows, vectorised over the block: row ``t`` (0-based in the bucket) takes
        slot ``t`` while the reservoir fills, then slot ``U{0..t}`` when that is below the capacity."""
        cap = self._sample_cap
        rows = numeric.shape[0] if numeric is not None else categorical.shape[0] if categorical is not None else 0
        if cap == 0 or rows == 0:
            return
        t = seen + np.arange(rows)
        slots = np.where(t < cap, t, self._rng.integers(0, t + 1))
        chosen = slots < cap
        if numeric is not None:
            self._sample_numeric[b, slots[chosen]] = numeric[chosen]
        if categorical is not None:
            self._sample_categorical[b, slots[chosen]] = categorical[chosen]

    def _leave(self, buckets: np.ndarray[Any, Any]) -> None:
        """Take buckets out of the running total (before they are reused or once they are too old)."""
        for b in buckets[self._in_total[buckets]]:
            self._total -= self._counts[b]
        self._in_total[buckets] = False

    # --- reading ---

    def _live(self, now: float) -> np.ndarray[Any, Any]:
        """The live buckets at ``now``; those that aged out since the last read leave the running total."""
        old = self._last < now - self.max_age
        self._leave(np.flatnonzero(old & self._in_total))
        return np.flatnonzero((self._rows > 0) & self._in_total)  # a clock stepping back revives nothing

    def totals(self, now: float) -> WindowCounts:
        """The window's count vector and rows at ``now`` (staged rows counted first)."""
        with self._lock:
            self._flush()
            live = self._live(now)
            if self.layout is None:
                return WindowCounts(np.zeros(0, dtype=np.int64), 0, None)
            return WindowCounts(self._total.copy(), int(self._rows[live].sum()), self.version)

    def counted(self) -> np.ndarray[Any, Any] | None:
        """Every row counted against the current profile since it was loaded (staged rows counted first): a
        count vector over the layout that only grows, until the next profile. None before a profile."""
        with self._lock:
            self._flush()
            return self._counted.copy() if self.layout is not None else None

    def quality(self) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None:
        """Every value counted against the current profile since it was loaded, by quality (``[layout columns,
        VALUE_QUALITIES]``), and every payload error since the start (``[columns, PAYLOAD_ERRORS]``): counts that only
        grow. None before a profile, or for a window made without a margin (whose quality is not counted)."""
        with self._lock:
            self._flush()
            if self.layout is None or self._bounds is None:
                return None
            return self._quality.copy(), self._payload_errors.copy()

    def rows(self, now: float) -> int:
        with self._lock:
            return int(self._rows[self._live(now)].sum()) + self._staged

    def sample(self, now: float, rows: int) -> WindowSample:
        """At most ``rows`` raw rows of the window: from each live bucket's reservoir, in proportion to its rows."""
        with self._lock:
            self._flush()
            live = self._live(now)
            total = int(self._rows[live].sum())
            numeric_parts, categorical_parts = [], []
            for b in live:
                held = min(int(self._rows[b]), self._sample_cap)
                take = min(held, int(rows * self._rows[b] // total)) if total else 0
                numeric_parts.append(self._sample_numeric[b, :take])
                categorical_parts.append(self._sample_categorical[b, :take])
        n_num, n_cat = len(self.numeric_names), len(self.categorical_names)
        numeric = np.concatenate(numeric_parts) if numeric_parts else np.empty((0, n_num))
        categorical = np.concatenate(categorical_parts) if categorical_parts else np.empty((0, n_cat), dtype=object)
        columns: dict[str, np.ndarray[Any, Any]] = {}
        for j, name in enumerate(self.numeric_names):
            columns[name] = np.ascontiguousarray(numeric[:, j])
        for j, name in enumerate(self.categorical_names):
            columns[name] = categorical[:, j].copy()
        return WindowSample(columns, int(numeric.shape[0]))

    # --- profiles and checkpoints ---

    def set_layout(self, layout: Layout, version: str, restored: WindowState | None = None) -> str:
        """Count against a (new) profile from now on. Returns what happened to the counts held so far:
        ``"kept"`` (same profile), ``"restored"`` (from ``restored``, a checkpoint of this profile and layout),
        ``"reset"`` (another profile's bins cannot be compared with this one's: the window starts empty) or
        ``"layout_changed"`` (a checkpoint of this profile that does not fit the window's configuration: empty). Rows
        still staged are counted against the new profile."""
        with self._lock:
            if version == self.version and self.layout is not None:
                return "kept"
            had_counts = self.version is not None and bool(self._rows.any())
            self.layout, self.version = layout, version
            self._counts = np.zeros((self.buckets, layout.size), dtype=self._count_type)
            self._total = np.zeros(layout.size, dtype=np.int64)
            self._counted = np.zeros(layout.size, dtype=np.int64)
            self._bounds = QualityBounds.of(layout, self.margin) if self.margin is not None else None
            self._quality = np.zeros((len(layout.columns), len(VALUE_QUALITIES)), dtype=np.int64)
            self._in_total[:] = False
            self._rows[:] = 0
            self._first[:] = self._last[:] = 0.0
            self._current = -1
            outcome = "reset" if had_counts else "empty"
            if restored is not None:
                if restored.version != version:
                    outcome = "reset"
                elif not self._fits(restored, layout):
                    outcome = "layout_changed"
                else:
                    self._counts[:] = restored.counts
                    self._rows[:] = restored.rows
                    self._first[:] = restored.first
                    self._last[:] = restored.last
                    self._current = restored.current
                    self._in_total[:] = True
                    self._total = self._counts.sum(axis=0, dtype=np.int64)
                    outcome = "restored"
            self._flush()
            self.generation += 1
            return outcome

    def _fits(self, restored: WindowState, layout: Layout) -> bool:
        """Whether a checkpoint's buckets fit this window as it is configured: the same layout, no bucket holding more
        rows than its capacity (a smaller ``window.size`` since), and in every bucket each column counting each of its
        rows once. Restored otherwise, 16-bit counts would wrap."""
        counts, rows = restored.counts, restored.rows
        if counts.shape != self._counts.shape or rows.shape != self._rows.shape:
            return False
        if np.any(rows > self.bucket_rows) or np.any(counts < 0):
            return False
        per_column = np.add.reduceat(counts, layout.offsets, axis=1) if layout.size else np.zeros((self.buckets, 0))
        return bool(np.all(per_column == rows[:, None]))

    def state(self) -> WindowState | None:
        """The counts to checkpoint (staged rows counted first); None before a profile is loaded."""
        with self._lock:
            self._flush()
            if self.version is None:
                return None
            return WindowState(
                self.version,
                self._counts.copy(),
                self._rows.copy(),
                self._first.copy(),
                self._last.copy(),
                self._current,
            )
