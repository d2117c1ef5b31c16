"""Counting values into fixed bins in O(n), with no sort: the same bin ``numpy.searchsorted`` would give.

The edges of a reference profile are fixed, so a value's bin can be found in time independent of the number of
edges. :class:`Binner` splits the edges' span into ``C`` equal cells under a monotone map ``g`` and records, per
cell, how many edges lie in earlier cells (``below[c]``). For a value ``v`` in cell ``c = g(v)``:

* an edge ``e`` with ``g(e) < c`` has ``e ≤ v``: ``g`` is monotone, so ``e > v`` would give ``g(e) ≥ g(v)``;
* an edge with ``g(e) > c`` has ``e > v`` by the same argument;
* so ``searchsorted(edges, v, side="right") = below[c] + #{e in cell c : e ≤ v}``, and the edges of cell ``c`` are
  consecutive from ``below[c]``: at most ``passes`` (the most edges any cell holds) comparisons settle it.

Every step is a vectorised pass over the values (a subtraction, a scaling, a table lookup, ``passes`` gathers and
comparisons), so the cost is a few memory passes per value on any CPU, where a sort or a binary search depends on the
CPU's SIMD sort and branch predictor. Two maps are tried and the one with fewer passes kept:

* ``linear``: ``g(v) = clip(⌊(v − e₀)·C / (e_last − e₀)⌋, 0, C − 1)``. Floating-point subtraction and multiplication
  by a positive constant round monotonically, so ``g`` is monotone as computed, not only on paper.
* ``ordered-bits``: the float's IEEE-754 bits as an integer in value order (negatives reflected, −0 = +0), its
  offset from the first edge's shifted right. Exact integer arithmetic, and cells of equal *relative* width: the
  map for columns whose edges span orders of magnitude (amounts, counts, durations).

When neither map keeps every cell to at most :data:`MAX_PASSES` edges (edges packed more tightly than the cells
can part), the binner falls back to ``searchsorted`` — slower, never different.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from . import stats
from .stats import FloatArray, IntArray

BoolArray = NDArray[np.bool_]

CELLS = 4096  # 32 KiB of int64 table per column: it stays in the L1/L2 cache during a pass
MAX_PASSES = 6  # beyond this the comparisons cost about what a sort does
SMALL = 1_024  # below this many values a binary search is cheaper than the binner's dozen numpy calls
BLOCK = 32_768  # values per step: every scratch array stays in the cache (a whole-column pass is ~2× slower)
_MAGNITUDE = np.int64(0x7FFF_FFFF_FFFF_FFFF)

Map = Literal["linear", "ordered-bits", "search"]


def ordered_bits(values: FloatArray) -> IntArray:
    """The IEEE-754 bits of float64 values as int64 keys in the values' order: ``key(a) ≤ key(b) ⇔ a ≤ b`` for
    non-NaN ``a, b`` (−0.0 and +0.0 both 0). Positive floats' bits already sort as integers; a negative float's
    magnitude bits are negated."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.int64)
    sign = bits >> 63  # 0 or −1
    keys: IntArray = (bits ^ (sign & _MAGNITUDE)) - sign
    return keys


def linear_cells(
    values: FloatArray, origin: float, scale: float, cells: int, out: IntArray, scratch: FloatArray
) -> None:
    """``clip(⌊(v − origin)·scale⌋, 0, cells − 1)`` of each value into ``out`` (±∞ saturate; NaN's cell is arbitrary,
    and the caller's ``take(mode="clip")`` keeps it in range)."""
    with np.errstate(over="ignore", invalid="ignore"):
        np.subtract(values, origin, out=scratch)
        scratch *= scale
        np.clip(scratch, 0.0, cells - 1.0, out=scratch)
        np.copyto(out, scratch, casting="unsafe")


def ordered_bits_cells(keys: IntArray, first: int, last: int, shift: int) -> IntArray:
    """``(clip(key, first, last) − first) >> shift`` in place: clipped before the subtraction, so it cannot
    overflow."""
    np.clip(keys, first, last, out=keys)
    keys -= first
    keys >>= shift
    return keys


@dataclass(frozen=True, eq=False)
class Binner:
    """``searchsorted(edges, v, side="right")`` for a fixed, strictly increasing array of finite edges, in O(n).

    Build once per profile column with :meth:`of`; :meth:`index` bins any float64 array (NaN lands past the last
    edge, where numpy sorts it); :meth:`counts` counts the finite values per bin and the rest as missing.
    """

    edges: FloatArray
    map: Map
    passes: int  # the most edges in one cell: comparisons per value
    below: IntArray = field(repr=False)  # per cell: how many edges lie in earlier cells
    padded: FloatArray = field(repr=False)  # the edges, then `passes` NaNs (no value compares ≥ NaN)
    origin: float = 0.0  # linear: the first edge
    scale: float = 0.0  # linear: cells per unit
    first: int = 0  # ordered-bits: the first edge's key
    last: int = 0  # ordered-bits: the last edge's key
    shift: int = 0  # ordered-bits: (key − first) >> shift = cell

    @classmethod
    def of(cls, edges: FloatArray, cells: int = CELLS) -> Binner:
        edges = np.asarray(edges, dtype=np.float64) + 0.0  # + 0.0 turns −0.0 into +0.0
        if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
            raise ValueError("a Binner needs strictly increasing finite edges")
        if edges.size < 2:  # one cell holds every edge there is
            return cls._tabled(edges, np.zeros(edges.size, np.int64), 1, map="linear")
        candidates = [b for b in (cls._linear(edges, cells), cls._ordered_bits(edges, cells)) if b is not None]
        best = min(candidates, key=lambda b: b.passes, default=None)
        if best is None or best.passes > MAX_PASSES:
            return cls(edges, "search", 0, np.zeros(0, np.int64), edges)
        return best

    @classmethod
    def _tabled(cls, edges: FloatArray, cell_of_edge: IntArray, cells: int, **where: Any) -> Binner:
        per_cell = np.bincount(cell_of_edge, minlength=cells)
        below = np.concatenate(([0], np.cumsum(per_cell)[:-1])).astype(np.int64)
        passes = int(per_cell.max())
        padded = np.concatenate((edges, np.full(passes, np.nan)))
        for array in (edges, below, padded):
            array.setflags(write=False)
        return cls(edges, passes=passes, below=below, padded=padded, **where)

    @classmethod
    def _linear(cls, edges: FloatArray, cells: int) -> Binner | None:
        with np.errstate(over="ignore", divide="ignore"):
            span = edges[-1] - edges[0]
            scale = cells / span
        if not (np.isfinite(span) and np.isfinite(scale)):
            return None  # a span past DBL_MAX, or a subnormal one: the ordered-bits map takes those
        origin, scale = float(edges[0]), float(scale)
        cell_of_edge = np.empty(edges.size, np.int64)
        linear_cells(edges, origin, scale, cells, cell_of_edge, np.empty(edges.size))
        return cls._tabled(edges, cell_of_edge, cells, map="linear", origin=origin, scale=scale)

    @classmethod
    def _ordered_bits(cls, edges: FloatArray, cells: int) -> Binner | None:
        keys = ordered_bits(edges)
        first, last = int(keys[0]), int(keys[-1])
        span = last - first
        if span > np.iinfo(np.int64).max:
            return None  # edges from near −DBL_MAX to near +DBL_MAX
        shift = (span // cells).bit_length()  # the smallest shift with span >> shift < cells
        where = {"map": "ordered-bits", "first": first, "last": last, "shift": shift}
        return cls._tabled(edges, ordered_bits_cells(keys, first, last, shift), cells, **where)

    def _cells(self, values: FloatArray, out: IntArray, scratch: FloatArray) -> None:
        """Each value's cell into ``out`` (NaN's is arbitrary but in range)."""
        if self.map == "linear":
            linear_cells(values, self.origin, self.scale, self.below.size, out, scratch)
        else:
            out[:] = ordered_bits(values)
            ordered_bits_cells(out, self.first, self.last, self.shift)

    def _bin_block(self, values: FloatArray, out: IntArray, scratch: FloatArray, step: BoolArray) -> None:
        """``searchsorted(edges, values, side="right")`` into ``out`` for one block of non-NaN values."""
        self._cells(values, out, scratch)
        np.take(self.below, out, out=out, mode="clip")
        for _ in range(self.passes):
            np.take(self.padded, out, out=scratch, mode="clip")
            np.less_equal(scratch, values, out=step)
            out += step

    def index(self, values: FloatArray) -> IntArray:
        """``searchsorted(self.edges, values, side="right")``, exactly, NaN included."""
        values = np.asarray(values, dtype=np.float64)
        if self.map == "search" or values.size < SMALL:
            return np.searchsorted(self.edges, values, side="right").astype(np.int64, copy=False)
        flat = values.ravel()
        out = np.empty(flat.size, dtype=np.int64)
        block = max(1, min(BLOCK, flat.size))
        scratch, step = np.empty(block), np.empty(block, dtype=bool)
        for start in range(0, flat.size, block):
            part = flat[start : start + block]
            self._bin_block(part, out[start : start + part.size], scratch[: part.size], step[: part.size])
        nan = np.isnan(flat)
        if nan.any():  # it went to some cell; numpy sorts it past every edge
            out[nan] = self.edges.size
        return out.reshape(values.shape)

    def counts(self, values: FloatArray) -> tuple[IntArray, int]:
        """``(counts per bin of the finite values, how many values are NaN or ±∞)``: ``len(edges) + 1`` bins."""
        values = np.asarray(values, dtype=np.float64).ravel()
        if self.map == "search" or values.size < SMALL:
            return stats.counts_at_cuts(np.sort(values), stats.cut_points(self.edges))
        total = np.zeros(self.edges.size + 1, dtype=np.int64)
        block = max(1, min(BLOCK, values.size))
        index, scratch = np.empty(block, dtype=np.int64), np.empty(block)
        finite, step = np.empty(block, dtype=bool), np.empty(block, dtype=bool)
        present = 0
        for start in range(0, values.size, block):
            part = values[start : start + block]
            n = part.size
            np.isfinite(part, out=finite[:n])
            kept = int(np.count_nonzero(finite[:n]))
            if kept < n:
                part = part[finite[:n]]
            self._bin_block(part, index[:kept], scratch[:kept], step[:kept])
            total += np.bincount(index[:kept], minlength=total.size)
            present += kept
        return total, values.size - present
