"""A reference profile's columns: a numeric one as quantile edges (PSI bins and the finer bins KS and the window
counts use) with the reference counts, a categorical one as its category list with theirs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..binning import Binner
from ..boundary import shown
from ..coercion import ObjectArray
from ..config import CATEGORICAL, NUMERIC
from ..stats import FloatArray, IntArray

MAX_RARE = 10_000  # the most categories beyond the kept ones a profile lists (to tell a rare category from a new one)
FINE_BINS = 250  # at least this many fine bins per numeric column (a multiple of drift.bins)


def frozen(array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class NumericProfile:
    """A numeric column of the reference: PSI bins (quantile edges and counts), the fine bins the window is counted
    in (``fine_bins`` quantiles, the PSI edges among them) with their counts, and summary statistics."""

    name: str
    count: int
    missing: int
    edges: FloatArray
    counts: IntArray
    fine_edges: FloatArray
    fine_counts: IntArray
    mean: float
    std: float
    min: float
    max: float
    type: str = NUMERIC

    @property
    def nbins(self) -> int:
        return int(self.counts.size)

    @cached_property
    def psi_starts(self) -> IntArray:
        """Where each PSI bin starts among the fine bins: ``PSI counts = add.reduceat(fine counts, psi_starts)``."""
        return np.concatenate(([0], np.searchsorted(self.fine_edges, self.edges) + 1)).astype(np.int64)

    @cached_property
    def binner(self) -> Binner:
        """Finds a value's fine bin in O(n) (docs/statistics.md, "Counting")."""
        return Binner.of(self.fine_edges)

    def window_counts(self, values: FloatArray) -> tuple[IntArray, int]:
        """``(counts per fine bin, missing)`` of a window column already made numeric (NaN, ±∞ = missing)."""
        return self.binner.counts(values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "count": self.count,
            "missing": self.missing,
            "edges": self.edges.tolist(),
            "counts": self.counts.tolist(),
            "fine_edges": self.fine_edges.tolist(),
            "fine_counts": self.fine_counts.tolist(),
            "mean": self.mean,
            "std": self.std,
            "min": self.min,
            "max": self.max,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NumericProfile:
        edges = frozen(np.asarray(d["edges"], dtype=np.float64))
        counts = frozen(np.asarray(d["counts"], dtype=np.int64))
        fine_edges = frozen(np.asarray(d["fine_edges"], dtype=np.float64))
        fine_counts = frozen(np.asarray(d["fine_counts"], dtype=np.int64))
        if (
            counts.size != edges.size + 1
            or fine_counts.size != fine_edges.size + 1
            or np.any(np.diff(edges) <= 0)
            or np.any(np.diff(fine_edges) <= 0)
            or not np.all(np.isin(edges, fine_edges))
            or np.any(counts < 0)
            or np.any(fine_counts < 0)
            or fine_counts.sum() <= 0
        ):
            raise ValueError(f"column {shown(d['name'])}: edges and counts are inconsistent")
        return cls(
            name=str(d["name"]),
            count=int(d["count"]),
            missing=int(d["missing"]),
            edges=edges,
            counts=counts,
            fine_edges=fine_edges,
            fine_counts=fine_counts,
            mean=float(d["mean"]),
            std=float(d["std"]),
            min=float(d["min"]),
            max=float(d["max"]),
        )


@dataclass(frozen=True)
class CategoricalProfile:
    """A categorical column: the most frequent categories, then one ``__other__`` bin for rarer and unseen ones.

    ``counts`` has one entry per category and a last one for ``__other__``, which ``categories`` does not list.
    ``rare``: the reference's categories that ``__other__`` holds, listed when there are at most ``MAX_RARE`` of them
    (None: none, or too many to list) — so a category the reference never had can be told from a rare one.
    """

    name: str
    count: int
    missing: int
    categories: tuple[str, ...]
    counts: IntArray
    type: str = CATEGORICAL
    _index: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)
    rare: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not self._index:
            object.__setattr__(self, "_index", {c: i for i, c in enumerate(self.categories)})

    @cached_property
    def _value_set(self) -> pa.Array:
        return pa.array(self.categories, type=pa.string())

    @property
    def nbins(self) -> int:
        return int(self.counts.size)

    @property
    def fine_counts(self) -> IntArray:
        """A categorical column is counted in its PSI bins: one per category and ``__other__``."""
        return self.counts

    def codes(self, values: ObjectArray) -> IntArray:
        """The bin of each category (``__other__`` = last bin), −1 where missing (None or empty)."""
        other = len(self.categories)
        try:
            if values.size < 2048:  # below this, Arrow's per-call cost exceeds the dictionary lookups
                raise pa.ArrowInvalid("small")
            strings = pa.array(values, type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # small, or not all str/None
            index = self._index
            return np.fromiter(
                (index.get(v, other) if v else -1 for v in values.tolist()), dtype=np.int64, count=values.size
            )
        found = pc.index_in(strings, value_set=self._value_set).fill_null(other).to_numpy(zero_copy_only=False)
        missing = pc.fill_null(pc.equal(strings, ""), True).to_numpy(zero_copy_only=False)
        return np.where(missing, -1, found).astype(np.int64, copy=False)

    @property
    def knows_vocabulary(self) -> bool:
        """Whether every category of the reference is known: none in ``__other__``, or they are listed."""
        return int(self.counts[-1]) == 0 or self.rare is not None

    @cached_property
    def rare_set(self) -> frozenset[str]:
        return frozenset(self.rare or ())

    def window_counts(self, values: ObjectArray) -> tuple[IntArray, int]:
        """``(counts per bin, missing)`` of a window column of category strings (None = missing)."""
        codes = self.codes(values)
        valid = codes[codes >= 0]
        counts = np.bincount(valid, minlength=self.nbins).astype(np.int64, copy=False)
        return counts, int(codes.size - valid.size)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "count": self.count,
            "missing": self.missing,
            "categories": list(self.categories),
            "counts": self.counts.tolist(),
            **({"rare": list(self.rare)} if self.rare is not None else {}),  # absent: older profiles keep their version
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CategoricalProfile:
        categories = tuple(str(c) for c in d["categories"])
        counts = frozen(np.asarray(d["counts"], dtype=np.int64))
        if counts.size != len(categories) + 1 or len(set(categories)) != len(categories):
            raise ValueError(f"column {shown(d['name'])}: categories and counts are inconsistent")
        rare = tuple(str(c) for c in d["rare"]) if d.get("rare") is not None else None
        if rare is not None and (len(set(rare)) != len(rare) or not set(rare).isdisjoint(categories)):
            raise ValueError(f"column {shown(d['name'])}: its rare categories repeat or are among its categories")
        return cls(
            name=str(d["name"]), count=int(d["count"]), missing=int(d["missing"]), categories=categories, counts=counts,
            rare=rare,
        )  # fmt: skip


ColumnProfile = NumericProfile | CategoricalProfile


def column_from_dict(d: Mapping[str, Any]) -> ColumnProfile:
    if d.get("type") == NUMERIC:
        return NumericProfile.from_dict(d)
    if d.get("type") == CATEGORICAL:
        return CategoricalProfile.from_dict(d)
    raise ValueError(f"column {shown(d.get('name'))} has unknown type {shown(d.get('type'))}")


def fine_bins_for(bins: int) -> int:
    """The fine bins a numeric column is counted in: the smallest multiple of ``bins`` that is ≥ FINE_BINS."""
    return bins * -(-FINE_BINS // bins)
