"""Building a reference profile: the training data streamed in batches (CSV or Parquet, local or S3, or a DataFrame)
and reduced to the bins and counts of :mod:`drift.reference.profile`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import stats
from ..coercion import arrow_categories, category_values, numeric_values
from ..config import REGRESSION, ColumnConfig, ModelConfig, S3Config
from ..errors import DataError
from ..extras import ESTIMATION, missing
from ..multivariate import ReconstructionModel, fit_encoding, fit_reconstruction
from ..quality.loss_model import Inputs, LossModels, fit_loss_models
from ..quality.metrics import ClassScores, ReferencePerformance, reference_performance
from ..stats import FloatArray
from .columns import MAX_RARE, CategoricalProfile, ColumnProfile, NumericProfile, fine_bins_for, frozen
from .profile import ReferenceProfile
from .reader import MeterFactory, SourceInfo, reference_batches

log = logging.getLogger("driftline.profile")
LOSS_MODEL_ROWS = 50_000  # labelled rows the loss models are fitted on (a uniform sample of the reference)
MIN_LOSS_MODEL_ROWS = 200  # fewer: no loss models (nothing to hold a fifth out of)
LABEL = "\x00label"  # the loss sample's label, beside the features and the prediction


class _GrowingArray:
    """A float64 array that grows by doubling: one large allocation instead of thousands of chunk-sized ones,
    which the allocator could not hand back to the system after a multi-GB file."""

    def __init__(self) -> None:
        self._data = np.empty(1 << 16, dtype=np.float64)
        self.size = 0

    def extend(self, values: FloatArray) -> None:
        end = self.size + values.size
        if end > self._data.size:
            grown = np.empty(max(end, 2 * self._data.size), dtype=np.float64)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : end] = values
        self.size = end

    def values(self) -> FloatArray:
        return self._data[: self.size]


class ProfileBuilder:
    """Accumulates a reference one batch at a time and computes the profile at the end.

    Memory: the finite values of each numeric column (8 bytes each, in arrays that grow by doubling) and a count
    per distinct category; nothing else of the input is kept.
    """

    def __init__(self, model: ModelConfig) -> None:
        self.model = model
        self.rows = 0
        columns = model.profiled_columns
        self._numeric: dict[str, _GrowingArray] = {c.name: _GrowingArray() for c in columns if c.is_numeric}
        self._categories: dict[str, dict[str, int]] = {c.name: {} for c in columns if not c.is_numeric}
        self._missing: dict[str, int] = {c.name: 0 for c in columns}
        # With a target: the labels and the predictions, row-aligned, to score the reference (O(rows) memory).
        self._labels: list[np.ndarray[Any, Any]] = []
        self._predictions: list[np.ndarray[Any, Any]] = []
        self._class_scores: list[np.ndarray[Any, Any]] = []  # a multiclass target's [rows, classes] scores
        # With a regression target: a uniform sample of labelled rows to fit the loss models on (bounded memory).
        target = model.target
        self._loss_rows = RowReservoir(LOSS_MODEL_ROWS) if target is not None and target.task == REGRESSION else None
        # With multivariate drift: a uniform sample of whole feature rows to fit the PCA on (bounded memory).
        multivariate = model.multivariate
        self._rows = RowReservoir(multivariate.reference_rows) if multivariate is not None else None

    def add_batch(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Add an Arrow batch holding (at least) the model's columns."""
        for column in self.model.profiled_columns:
            array = batch.column(column.name)
            if column.is_numeric:
                self._add_numeric(column.name, numeric_values(array))
            else:
                self._add_categories(column.name, arrow_categories(array))
        self._add_pairs(lambda name: batch.column(name))
        if self._rows is not None:
            self._rows.add({c.name: _row_values(c, batch.column(c.name)) for c in self.model.features}, batch.num_rows)
        self.rows += batch.num_rows

    def add_columns(self, columns: Mapping[str, Any], rows: int) -> None:
        """Add plain columns (numpy arrays, lists or pandas Series) keyed by name."""
        for column in self.model.profiled_columns:
            values = columns[column.name]
            if column.is_numeric:
                self._add_numeric(column.name, numeric_values(values))
            else:
                self._add_categories(column.name, pa.array(category_values(values), type=pa.string()))
        self._add_pairs(lambda name: columns[name])
        if self._rows is not None:
            self._rows.add({c.name: _row_values(c, columns[c.name]) for c in self.model.features}, rows)
        self.rows += rows

    def _add_pairs(self, column: Any) -> None:
        target = self.model.target
        if target is None:
            return
        prediction = next(c for c in self.model.outputs if c.name == target.prediction)
        for out, config in ((self._labels, target.column), (self._predictions, prediction)):
            values = column(config.name)
            out.append(numeric_values(values) if config.is_numeric else category_values(values))
        if target.scores:
            self._class_scores.append(np.column_stack([numeric_values(column(name)) for _, name in target.scores]))
        if self._loss_rows is not None:
            kept = {c.name: _row_values(c, column(c.name)) for c in self.model.features}
            kept[LABEL], kept[target.prediction] = self._labels[-1], self._predictions[-1]
            self._loss_rows.add(kept, self._labels[-1].size)

    def _add_numeric(self, name: str, values: FloatArray) -> None:
        finite = values[np.isfinite(values)]
        self._missing[name] += int(values.size - finite.size)
        self._numeric[name].extend(finite)

    def _add_categories(self, name: str, values: pa.Array | pa.ChunkedArray) -> None:
        self._missing[name] += int(values.null_count)
        counts = self._categories[name]
        for entry in pc.value_counts(values.drop_null()).to_pylist():
            counts[entry["values"]] = counts.get(entry["values"], 0) + int(entry["counts"])

    def build(
        self, source: Mapping[str, Any] | None = None, origin: str = "reference data", model_version: str = ""
    ) -> ReferenceProfile:
        settings = self.model.drift
        columns: dict[str, ColumnProfile] = {}
        for column in self.model.profiled_columns:
            if column.is_numeric:
                values = self._numeric.pop(column.name).values()
                columns[column.name] = _numeric_profile(
                    column, values, self._missing[column.name], origin, settings.bins
                )
            else:
                columns[column.name] = _categorical_profile(
                    column, self._categories[column.name], self._missing[column.name], origin, settings.max_categories
                )
        return ReferenceProfile(
            model=self.model.name,
            namespace=self.model.namespace,
            rows=self.rows,
            features={c.name: columns[c.name] for c in self.model.features},
            outputs={c.name: columns[c.name] for c in self.model.outputs},
            settings={
                "bins": settings.bins,
                "max_categories": settings.max_categories,
                "fine_bins": fine_bins_for(settings.bins),
            },
            source=dict(source or {}),
            created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            target=columns[target.name] if (target := self.model.target) is not None else None,
            performance=self._performance(columns),
            model_version=model_version,
            multivariate=self._multivariate(columns),
        )

    def _multivariate(self, columns: Mapping[str, ColumnProfile]) -> ReconstructionModel | None:
        config = self.model.multivariate
        if config is None or self._rows is None:
            return None
        sample = self._rows.columns()
        numeric = {c.name: sample[c.name] for c in self.model.features if c.is_numeric}
        categorical: dict[str, tuple[Any, tuple[str, ...]]] = {
            name: (sample[name], profile.categories)
            for name, profile in ((c.name, columns[c.name]) for c in self.model.features)
            if isinstance(profile, CategoricalProfile)
        }
        encoding = fit_encoding(numeric, categorical)
        return fit_reconstruction(encoding, encoding.raw(sample, self._rows.size), config.variance)

    def _loss_models(self, columns: Mapping[str, ColumnProfile]) -> LossModels | None:
        """A regression's loss models (DLE), fitted when scikit-learn is installed (the profile serves without them:
        the quality is then known only from labels)."""
        if self._loss_rows is None or self._loss_rows.size < MIN_LOSS_MODEL_ROWS:
            return None
        if missing(ESTIMATION):
            log.warning(f"no loss models, so no estimated quality before the labels: {ESTIMATION.install}")
            return None
        rows = self._loss_rows.columns()
        prediction = self.model.target.prediction  # type: ignore[union-attr]
        inputs = Inputs(
            (*(c.name for c in self.model.features if c.is_numeric), prediction),
            tuple((c.name, columns[c.name].categories) for c in self.model.features  # type: ignore[union-attr]
                  if not c.is_numeric),
        )  # fmt: skip
        labels, predictions = rows.pop(LABEL).astype(np.float64), rows[prediction].astype(np.float64)
        return fit_loss_models(inputs, rows, labels, predictions)

    def _performance(self, columns: Mapping[str, ColumnProfile]) -> ReferencePerformance | None:
        target = self.model.target
        if target is None or not self._labels:
            return None
        found = reference_performance(
            target.task,
            np.concatenate(self._labels),
            np.concatenate(self._predictions),
            positive=target.positive,
            threshold=target.threshold,
            class_scores=(
                ClassScores(tuple(label for label, _ in target.scores), np.concatenate(self._class_scores))
                if target.scores
                else None
            ),
        )
        if found is None or target.task != REGRESSION:
            return found
        return replace(found, loss_models=self._loss_models(columns))


class RowReservoir:
    """A uniform random sample of at most ``capacity`` whole rows of a stream of batches (seeded: the same data
    gives the same sample): each row gets a random key, and the rows with the smallest keys are kept."""

    def __init__(self, capacity: int, seed: int = 0) -> None:
        self.capacity = capacity
        self._rng = np.random.default_rng(seed)
        self._keys = np.zeros(0)
        self._columns: dict[str, np.ndarray[Any, Any]] = {}

    @property
    def size(self) -> int:
        return int(self._keys.size)

    def add(self, columns: Mapping[str, np.ndarray[Any, Any]], rows: int) -> None:
        keys = np.concatenate([self._keys, self._rng.random(rows)])
        merged = {
            name: np.concatenate([self._columns.get(name, values[:0]), values]) for name, values in columns.items()
        }
        if keys.size > self.capacity:
            keep = np.sort(np.argpartition(keys, self.capacity - 1)[: self.capacity])
            keys = keys[keep]
            merged = {name: values[keep] for name, values in merged.items()}
        self._keys, self._columns = keys, merged

    def columns(self) -> dict[str, np.ndarray[Any, Any]]:
        return dict(self._columns)


def _row_values(column: ColumnConfig, values: Any) -> np.ndarray[Any, Any]:
    """A column as the reservoir keeps it: float64 for a numeric column, strings (None when missing) otherwise."""
    return numeric_values(values) if column.is_numeric else np.asarray(category_values(values), dtype=object)


def _numeric_profile(column: ColumnConfig, values: FloatArray, missing: int, origin: str, bins: int) -> NumericProfile:
    if values.size == 0:
        raise DataError(f"{origin}: column {column.name!r} has no numeric values; is it really numeric?")
    edges, fine_edges = stats.nested_quantile_edges(values, bins, fine_bins_for(bins))
    return NumericProfile(
        name=column.name,
        count=int(values.size),
        missing=missing,
        edges=frozen(edges),
        counts=frozen(stats.bin_counts(values, edges)),
        fine_edges=frozen(fine_edges),
        fine_counts=frozen(stats.bin_counts(values, fine_edges)),
        mean=float(np.mean(values)),
        std=float(np.std(values)),
        min=float(np.min(values)),
        max=float(np.max(values)),
    )


def _categorical_profile(
    column: ColumnConfig, counts: Mapping[str, int], missing: int, origin: str, max_categories: int
) -> CategoricalProfile:
    if not counts:
        raise DataError(f"{origin}: column {column.name!r} has no values (all missing)")
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept, rare = ranked[:max_categories], ranked[max_categories:]
    other = sum(n for _, n in rare)
    return CategoricalProfile(
        name=column.name,
        count=int(sum(counts.values())),
        missing=missing,
        categories=tuple(c for c, _ in kept),
        counts=frozen(np.asarray([n for _, n in kept] + [other], dtype=np.int64)),
        rare=tuple(sorted(c for c, _ in rare)) if 0 < len(rare) <= MAX_RARE else None,
    )


def build_profile(
    reference: pd.DataFrame, model: ModelConfig, source: Mapping[str, Any] | None = None, model_version: str = ""
) -> ReferenceProfile:
    """The reference profile of a pandas DataFrame holding the model's features and outputs as columns;
    ``model_version``: the serving version trained on it, when the exporter tells versions apart."""
    missing = [c.name for c in model.profiled_columns if c.name not in reference.columns]
    if missing:
        raise DataError(f"reference DataFrame: no column {', '.join(map(repr, missing))}")
    builder = ProfileBuilder(model)
    builder.add_columns({c.name: reference[c.name] for c in model.profiled_columns}, rows=len(reference))
    return builder.build(source or {"uri": None}, origin="reference DataFrame", model_version=model_version)


def profile_from_source(
    model: ModelConfig, s3: S3Config | None = None, progress: MeterFactory | None = None, model_version: str = ""
) -> ReferenceProfile:
    """Stream ``model.reference.data`` (CSV or Parquet, local or S3) into a profile of the serving version
    ``model_version`` (empty: not recorded)."""
    uri = model.reference.data
    info = SourceInfo(uri)
    builder = ProfileBuilder(model)
    batches: Iterable[pa.RecordBatch] = reference_batches(
        uri, model.profiled_columns, model.reference.format, s3, info, progress
    )
    try:
        for batch in batches:
            builder.add_batch(batch)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataError(f"{uri}: {str(exc).splitlines()[0]}") from None
    if builder.rows == 0:
        raise DataError(f"{uri}: no rows; the reference data must not be empty")
    source = {"uri": uri, "etag": info.etag, "sha256": info.sha256, "size": info.size}
    return builder.build(source, origin=uri, model_version=model_version)


__all__ = ["ProfileBuilder", "build_profile", "profile_from_source"]
