"""Data quality per column: each value of a window sorted into exactly one of

* ``valid`` — present, and within what the reference knew;
* ``missing`` — null, NaN, or a value that could not be read as the column's type (see the payload errors);
* ``out_of_range`` — numeric, outside the reference's ``[min − m·w, max + m·w]`` (``w = max − min``, ``m`` the
  model's ``drift.range_margin``);
* ``unseen_category`` — categorical, not among the reference's categories: the kept ones and the rare ones the
  profile lists (up to ``MAX_RARE``). Beyond that a rare reference category and a new one look alike in the profile
  and both count as valid.

The counts add up to the rows counted, so every share has one denominator. :func:`quality_counts` works on the
window's blocks and their count-vector codes (:meth:`drift.layout.Layout.codes`): the numeric columns as one 2-D
block, the categorical ones by their codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .catalogue.definition import PAYLOAD_ERRORS, VALUE_QUALITIES
from .layout import Layout
from .reference.columns import CategoricalProfile, NumericProfile
from .stats import FloatArray, IntArray

VALID, MISSING, OUT_OF_RANGE, UNSEEN = range(len(VALUE_QUALITIES))


@dataclass(frozen=True)
class QualityBounds:
    """What a layout's values are checked against: the numeric columns' ranges (in the order of the numeric block)
    and, per categorical column, whether the profile knows the reference's whole vocabulary."""

    numeric: IntArray  # the numeric columns' positions in the layout
    low: FloatArray
    high: FloatArray
    categorical: IntArray  # the categorical columns' positions in the layout
    closed: np.ndarray[Any, np.dtype[np.bool_]]
    rare: tuple[frozenset[str], ...]  # per categorical column: the reference's categories in __other__

    @classmethod
    def of(cls, layout: Layout, margin: float) -> QualityBounds:
        numeric = [j for j, c in enumerate(layout.columns) if isinstance(c, NumericProfile)]
        ranges = [(c.min, c.max) for c in layout.columns if isinstance(c, NumericProfile)]
        categorical = [j for j, c in enumerate(layout.columns) if isinstance(c, CategoricalProfile)]
        low = np.array([lo - margin * (hi - lo) for lo, hi in ranges])
        high = np.array([hi + margin * (hi - lo) for lo, hi in ranges])
        profiles = [c for c in layout.columns if isinstance(c, CategoricalProfile)]
        return cls(np.array(numeric, dtype=np.int64), low, high, np.array(categorical, dtype=np.int64),
                   np.array([c.knows_vocabulary for c in profiles], dtype=bool),
                   tuple(c.rare_set for c in profiles))  # fmt: skip


def quality_counts(
    layout: Layout,
    bounds: QualityBounds,
    numeric: np.ndarray[Any, Any] | None,
    categorical: np.ndarray[Any, Any] | None,
    codes: IntArray,
) -> IntArray:
    """``[columns, 4]`` counts of each quality (in ``VALUE_QUALITIES`` order) over a block of rows: ``numeric`` and
    ``categorical`` the block's columns of each kind (in layout order), ``codes`` its cells' count-vector indices.
    The numeric columns are checked together, as one 2-D block; only the values in a categorical column's
    ``__other__`` bin are looked up among its rare categories."""
    out = np.zeros((len(layout.columns), len(VALUE_QUALITIES)), dtype=np.int64)
    rows = codes.shape[0]
    if bounds.numeric.size:
        if numeric is None:
            out[bounds.numeric, MISSING] = rows
        else:
            present = np.isfinite(numeric)
            outside = present & ((numeric < bounds.low) | (numeric > bounds.high))
            out[bounds.numeric, OUT_OF_RANGE] = np.count_nonzero(outside, axis=0)
            out[bounds.numeric, MISSING] = rows - np.count_nonzero(present, axis=0)
    for k, j in enumerate(bounds.categorical.tolist()):
        column, offset, fine = codes[:, j], int(layout.offsets[j]), int(layout.fine[j])
        out[j, MISSING] = np.count_nonzero(column == offset + fine)
        if not bounds.closed[k]:
            continue
        other = column == offset + fine - 1  # in the __other__ bin: rare in the reference, or never seen
        if categorical is not None and other.any():
            rare = bounds.rare[k]
            cells = categorical[other, k].tolist()
            out[j, UNSEEN] = len(cells) - sum(cell in rare for cell in cells) if rare else len(cells)
    out[:, VALID] = rows - out[:, MISSING] - out[:, OUT_OF_RANGE] - out[:, UNSEEN]
    return out


__all__ = [
    "MISSING",
    "OUT_OF_RANGE",
    "PAYLOAD_ERRORS",
    "UNSEEN",
    "VALID",
    "VALUE_QUALITIES",
    "QualityBounds",
    "quality_counts",
]
