"""Data quality per column: each value of a window sorted into exactly one of

* ``valid`` — present, and within what the reference knew;
* ``missing`` — null, NaN, or a value that could not be read as the column's type (see the payload errors);
* ``out_of_range`` — numeric, outside the reference's ``[min − m·w, max + m·w]`` (``w = max − min``, ``m`` the
  model's ``drift.range_margin``);
* ``unseen_category`` — categorical, not among the reference's categories: the kept ones and the rare ones the
  profile lists (up to ``MAX_RARE``). Beyond that a rare reference category and a new one look alike in the profile
  and both count as valid.

The counts add up to the rows counted, so every share has one denominator. :func:`quality_counts` works on the
window's blocks and their count-vector codes (:meth:`drift.sketch.Layout.codes`), vectorised per column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .catalogue.definition import PAYLOAD_ERRORS, VALUE_QUALITIES
from .reference.profile import NumericProfile
from .sketch import Layout
from .stats import FloatArray, IntArray

QUALITIES = VALUE_QUALITIES
VALID, MISSING, OUT_OF_RANGE, UNSEEN = range(len(QUALITIES))


@dataclass(frozen=True)
class QualityBounds:
    """What a value is checked against, per column of a layout (NaN bounds for a categorical column)."""

    low: FloatArray
    high: FloatArray
    closed: np.ndarray[Any, np.dtype[np.bool_]]  # categorical: the profile knows the reference's whole vocabulary

    @classmethod
    def of(cls, layout: Layout, margin: float) -> QualityBounds:
        low, high, closed = [], [], []
        for profile in layout.columns:
            if isinstance(profile, NumericProfile):
                width = profile.max - profile.min
                low.append(profile.min - margin * width)
                high.append(profile.max + margin * width)
                closed.append(False)
            else:
                low.append(np.nan)
                high.append(np.nan)
                closed.append(profile.knows_vocabulary)
        return cls(np.array(low), np.array(high), np.array(closed, dtype=bool))


def quality_counts(
    layout: Layout,
    bounds: QualityBounds,
    numeric: np.ndarray[Any, Any] | None,
    categorical: np.ndarray[Any, Any] | None,
    codes: IntArray,
) -> IntArray:
    """``[columns, 4]`` counts of each quality (in ``QUALITIES`` order) over a block of rows: ``numeric`` and
    ``categorical`` the block's columns of each kind (in layout order), ``codes`` its cells' count-vector indices.
    Only the values in a column's ``__other__`` bin are looked up among its rare categories."""
    out = np.zeros((len(layout.columns), len(QUALITIES)), dtype=np.int64)
    rows = codes.shape[0]
    i_num = i_cat = 0
    for j, (profile, offset, fine) in enumerate(zip(layout.columns, layout.offsets, layout.fine, strict=True)):
        if isinstance(profile, NumericProfile):
            values = numeric[:, i_num] if numeric is not None else np.full(rows, np.nan)
            i_num += 1
            present = np.isfinite(values)
            strange = int(np.count_nonzero(present & ((values < bounds.low[j]) | (values > bounds.high[j]))))
            missing = rows - int(np.count_nonzero(present))
        else:
            column = codes[:, j]
            missing = int(np.count_nonzero(column == offset + fine))
            other = column == offset + fine - 1  # in the __other__ bin: rare in the reference, or never seen
            strange = 0
            if bounds.closed[j] and other.any():
                rare = profile.rare_set
                cells = categorical[other, i_cat].tolist() if categorical is not None else []
                strange = len(cells) - sum(cell in rare for cell in cells) if rare else len(cells)
            i_cat += 1
        out[j, MISSING] = missing
        out[j, OUT_OF_RANGE if isinstance(profile, NumericProfile) else UNSEEN] = strange
        out[j, VALID] = rows - missing - strange
    return out


__all__ = [
    "MISSING",
    "OUT_OF_RANGE",
    "PAYLOAD_ERRORS",
    "QUALITIES",
    "UNSEEN",
    "VALID",
    "QualityBounds",
    "quality_counts",
]
