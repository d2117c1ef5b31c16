"""The drift statistics, each registered once with its one vectorised implementation (:mod:`.registry`).

Every module of this package registers its statistics when imported, and importing the package imports them all:
a new statistic is one module here (and its oracle test) — its values, metric, dashboard panel and documentation
follow from what it registers. :func:`column_statistics` computes them all for a window's count vector.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

import numpy as np

from ..layout import Layout
from ..stats import FloatArray, IntArray
from .registry import BOTH, CATEGORICAL, NUMERIC, Output, Panel, Statistic, register, registered
from .window import BinnedWindow

_OWN = {"registry", "window"}
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _OWN:
        importlib.import_module(f"{__name__}.{_module.name}")

STATISTICS: tuple[Statistic, ...] = registered()


@dataclass(frozen=True)
class ColumnStatistics:
    """Every registered output for each column of a layout, as arrays in column order (NaN where a statistic does
    not apply or the column has no valid value in the window)."""

    samples: IntArray
    missing: IntArray
    values: dict[str, FloatArray]


def column_statistics(layout: Layout, counts: IntArray) -> ColumnStatistics:
    """All registered statistics of all columns from one count vector of the window."""
    window = BinnedWindow(layout, counts)
    numeric = layout.reference.numeric
    empty = window.samples == 0
    values: dict[str, FloatArray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for statistic in STATISTICS:
            found = statistic.compute(window)
            applies = np.where(numeric, NUMERIC in statistic.applies_to, CATEGORICAL in statistic.applies_to)
            for output in statistic.outputs:
                array = np.array(found[output.name], dtype=np.float64)
                array[empty | ~applies] = np.nan
                values[output.name] = array
    return ColumnStatistics(window.samples.astype(np.int64), window.missing, values)


__all__ = [
    "BOTH",
    "CATEGORICAL",
    "NUMERIC",
    "STATISTICS",
    "BinnedWindow",
    "ColumnStatistics",
    "Output",
    "Panel",
    "Statistic",
    "column_statistics",
    "register",
]
