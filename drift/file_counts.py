"""A data file counted as one window: every row of a CSV or Parquet file (local or ``s3://``) streamed through a
profile's layouts, batch by batch — memory is one batch and the count vectors, whatever the file's size. What the
data gate judges and the report's verdict shows: the same counts, and so the same decision, as the exporter's
window holding these rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from .coercion import category_values, numeric_values
from .config import ModelConfig, S3Config
from .data_quality import VALUE_QUALITIES, QualityBounds, quality_counts
from .evaluation import DriftResult, evaluate_counts
from .layout import Layout, layouts
from .reference.columns import NumericProfile
from .reference.profile import ReferenceProfile
from .reference.reader import reference_batches
from .stats import IntArray


@dataclass
class FileCounts:
    """The counts of a file read batch by batch: the features' count vector, each feature's values by quality, the
    outputs' count vector, the rows, and the outputs that held a value."""

    layout: Layout
    features: IntArray
    quality: IntArray
    outputs: IntArray
    rows: int = 0
    outputs_present: frozenset[str] = frozenset()

    def evaluate(self, profile: ReferenceProfile, model: ModelConfig) -> DriftResult:
        """The drift result of these rows, decided from the model's ``window.min_rows`` as everywhere else."""
        result = evaluate_counts(
            profile, model.drift, self.features, self.rows, self.outputs, self.rows, min_rows=model.window.min_rows
        )
        return result.with_outputs(self.outputs_present)


def count_file(
    profile: ReferenceProfile, model: ModelConfig, data: str, *, fmt: str = "auto", s3: S3Config | None = None
) -> FileCounts:
    """Every row of ``data`` in ``profile``'s layouts. Raises MissingColumnsError when a feature is absent, DataError
    or StorageError when the file cannot be read."""
    feature_layout, output_layout = layouts(profile)
    features = model.features
    outputs = tuple(c for c in model.outputs if c.name in profile.outputs)
    bounds = QualityBounds.of(feature_layout, model.drift.range_margin)
    tally = FileCounts(
        feature_layout,
        np.zeros(feature_layout.size, dtype=np.int64),
        np.zeros((len(feature_layout.columns), len(VALUE_QUALITIES)), dtype=np.int64),
        np.zeros(output_layout.size, dtype=np.int64),
    )
    numeric_names = [c.name for c in feature_layout.columns if isinstance(c, NumericProfile)]
    categorical_names = [c.name for c in feature_layout.columns if not isinstance(c, NumericProfile)]
    for batch in reference_batches(data, features, fmt, s3, optional=outputs):
        numeric = _block(batch, numeric_names, numeric=True)
        categorical = _block(batch, categorical_names, numeric=False)
        codes = feature_layout.codes(numeric, categorical)
        tally.features += np.bincount(codes.ravel(), minlength=feature_layout.size)
        tally.quality += quality_counts(feature_layout, bounds, numeric, categorical, codes)
        present = {c.name: batch.column(c.name) for c in outputs if c.name in batch.schema.names}
        tally.outputs += output_layout.count(present)
        tally.outputs_present |= _with_values(present)
        tally.rows += batch.num_rows
    return tally


def _block(batch: pa.RecordBatch, names: Iterable[str], *, numeric: bool) -> np.ndarray[Any, Any] | None:
    """The batch's columns of one kind as the ``[rows, columns]`` block :meth:`Layout.codes` reads."""
    names = list(names)
    if not names:
        return None
    if numeric:
        return np.column_stack([numeric_values(batch.column(n)) for n in names])
    return np.column_stack([category_values(batch.column(n)) for n in names]).astype(object)


def _with_values(columns: Mapping[str, pa.Array]) -> frozenset[str]:
    """The output columns that hold a value (a CSV reads an absent optional column as all-null)."""
    return frozenset(name for name, values in columns.items() if values.null_count < len(values))


__all__ = ["FileCounts", "count_file"]
