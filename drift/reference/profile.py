"""Reference profiles: everything the statistics need from the training data, computed once.

A :class:`ReferenceProfile` holds, per feature and per output, the bins (quantile edges or the category list),
the reference counts per bin, the KS reference sample and summary statistics; plus the source data's URI and ETag
or SHA-256, and ``version``: a hash of the statistical content, so identical data gives an identical version
whatever file format or store it came from.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import stats
from ..coercion import ObjectArray, arrow_categories, category_values, numeric_values
from ..config import CATEGORICAL, NUMERIC, ColumnConfig, ModelConfig, S3Config
from ..errors import DataError, ProfileError
from ..quality.metrics import ReferencePerformance, reference_performance
from ..stats import FloatArray, IntArray
from .reader import MeterFactory, SourceInfo, reference_batches
from .storage import read_bytes, write_bytes

FORMAT = "driftline.profile"
FORMAT_VERSION = 2
FINE_BINS = 100  # at least this many fine bins per numeric column (a multiple of drift.bins)


def _frozen(array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
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
    def cuts(self) -> FloatArray:
        return stats.cut_points(self.fine_edges)

    def window_counts(self, values: FloatArray) -> tuple[IntArray, int]:
        """``(counts per fine bin, missing)`` of a window column already made numeric (NaN, ±∞ = missing)."""
        return stats.counts_at_cuts(np.sort(values), self.cuts)

    def sorted_window_counts(self, ordered: FloatArray) -> tuple[IntArray, int]:
        """:meth:`window_counts` of a column already sorted."""
        return stats.counts_at_cuts(ordered, self.cuts)

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
        edges = _frozen(np.asarray(d["edges"], dtype=np.float64))
        counts = _frozen(np.asarray(d["counts"], dtype=np.int64))
        fine_edges = _frozen(np.asarray(d["fine_edges"], dtype=np.float64))
        fine_counts = _frozen(np.asarray(d["fine_counts"], dtype=np.int64))
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
            raise ValueError(f"column {d['name']!r}: edges and counts are inconsistent")
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
    """

    name: str
    count: int
    missing: int
    categories: tuple[str, ...]
    counts: IntArray
    type: str = CATEGORICAL
    _index: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)

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
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CategoricalProfile:
        categories = tuple(str(c) for c in d["categories"])
        counts = _frozen(np.asarray(d["counts"], dtype=np.int64))
        if counts.size != len(categories) + 1 or len(set(categories)) != len(categories):
            raise ValueError(f"column {d['name']!r}: categories and counts are inconsistent")
        return cls(
            name=str(d["name"]), count=int(d["count"]), missing=int(d["missing"]), categories=categories, counts=counts
        )


ColumnProfile = NumericProfile | CategoricalProfile


def _column_from_dict(d: Mapping[str, Any]) -> ColumnProfile:
    if d.get("type") == NUMERIC:
        return NumericProfile.from_dict(d)
    if d.get("type") == CATEGORICAL:
        return CategoricalProfile.from_dict(d)
    raise ValueError(f"column {d.get('name')!r} has unknown type {d.get('type')!r}")


@dataclass(frozen=True)
class ReferenceProfile:
    """The reference distribution of one model's features and outputs. Immutable; share it across threads."""

    model: str
    namespace: str
    rows: int
    features: Mapping[str, ColumnProfile]
    outputs: Mapping[str, ColumnProfile]
    settings: Mapping[str, int]
    source: Mapping[str, Any]
    created_at: str
    version: str = ""
    target: ColumnProfile | None = None  # the label distribution, when the config names a target
    performance: ReferencePerformance | None = None  # the reference's own predictions scored against the label

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", MappingProxyType(dict(self.features)))
        object.__setattr__(self, "outputs", MappingProxyType(dict(self.outputs)))
        if not self.version:
            object.__setattr__(self, "version", content_hash(self._content()))

    def _content(self) -> dict[str, Any]:
        """What ``version`` hashes: the statistics and the settings that made them — not where or when."""
        content: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "rows": self.rows,
            "settings": dict(self.settings),
            "features": [c.to_dict() for c in self.features.values()],
            "outputs": [c.to_dict() for c in self.outputs.values()],
        }
        if self.target is not None:  # absent, not null, so profiles without a target keep their version
            content["target"] = self.target.to_dict()
            content["performance"] = self.performance.to_dict() if self.performance is not None else None
        return content

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "model": self.model,
            "namespace": self.namespace,
            "created_at": self.created_at,
            "source": dict(self.source),
            **self._content(),
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), allow_nan=False, separators=(",", ":")).encode()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], origin: str = "profile") -> ReferenceProfile:
        if not isinstance(d, Mapping) or d.get("format") != FORMAT:
            raise ProfileError(f"{origin}: not a driftline reference profile; build one with `driftline profile`")
        if d.get("format_version") not in (1, FORMAT_VERSION):
            raise ProfileError(
                f"{origin}: profile format {d.get('format_version')!r} is not {FORMAT_VERSION}; "
                "rebuild it with this driftline's `driftline profile`"
            )
        claimed = d.get("version")
        if d.get("format_version") == 1:
            from .legacy import upgrade_format_1

            d = upgrade_format_1(d, origin, fine_bins_for(int(d.get("settings", {}).get("bins", 10))))
        try:
            profile = cls(
                model=str(d["model"]),
                namespace=str(d["namespace"]),
                rows=int(d["rows"]),
                features={c["name"]: _column_from_dict(c) for c in d["features"]},
                outputs={c["name"]: _column_from_dict(c) for c in d["outputs"]},
                settings={k: int(v) for k, v in d["settings"].items()},
                source=dict(d["source"]),
                created_at=str(d["created_at"]),
                target=_column_from_dict(d["target"]) if d.get("target") is not None else None,
                performance=(
                    ReferencePerformance.from_dict(d["performance"]) if d.get("performance") is not None else None
                ),
                version=d.get("upgraded_version", ""),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ProfileError(f"{origin}: corrupt profile ({detail}); rebuild it with `driftline profile`") from None
        if profile.version != claimed:
            raise ProfileError(
                f"{origin}: content does not match its version {d.get('version')!r} (edited or corrupted); "
                "rebuild it with `driftline profile`"
            )
        return profile

    def save(self, uri: str, s3: S3Config | None = None) -> None:
        """Write the profile as JSON to a local path (atomically) or to ``s3://bucket/key``."""
        write_bytes(uri, self.to_json(), s3)

    @classmethod
    def load(cls, uri: str, s3: S3Config | None = None) -> ReferenceProfile:
        """Read a profile from a local path or ``s3://bucket/key``, verifying its content against its version."""
        data, _ = read_bytes(uri, s3)
        return cls.from_json(data, origin=uri)

    @classmethod
    def from_json(cls, data: bytes, origin: str = "profile") -> ReferenceProfile:
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProfileError(f"{origin}: not JSON ({exc}); rebuild it with `driftline profile`") from None
        return cls.from_dict(document, origin=origin)

    def problems_with(self, model: ModelConfig) -> list[str]:
        """Why this profile cannot serve ``model`` (a feature missing or of another type); empty when it can."""
        problems = []
        for kind, configured, profiled in (
            ("feature", model.features, self.features),
            ("output", model.outputs, self.outputs),
        ):
            for column in configured:
                have = profiled.get(column.name)
                if have is None:
                    problems.append(f"the profile has no {kind} {column.name!r}")
                elif have.type != column.type:
                    problems.append(
                        f"{kind} {column.name!r} is {column.type} in the config, {have.type} in the profile"
                    )
        return problems

    def serves_target(self, model: ModelConfig) -> bool:
        """Whether the profile holds the label distribution and reference quality of the model's ``target``.

        Not a compatibility problem: a profile built before a target was configured still serves drift (and the
        window's quality), only without a reference to compare the quality with until it is rebuilt."""
        target = model.target
        return (
            target is not None
            and self.target is not None
            and self.target.name == target.name
            and self.target.type == target.column.type
        )

    def require_compatible(self, model: ModelConfig, origin: str = "profile") -> None:
        problems = self.problems_with(model)
        if problems:
            raise ProfileError(f"{origin}: {'; '.join(problems)}; rebuild it with `driftline profile`")


def content_hash(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, allow_nan=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


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

    def add_batch(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Add an Arrow batch holding (at least) the model's columns."""
        for column in self.model.profiled_columns:
            array = batch.column(column.name)
            if column.is_numeric:
                self._add_numeric(column.name, numeric_values(array))
            else:
                self._add_categories(column.name, arrow_categories(array))
        self._add_pairs(lambda name: batch.column(name))
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
        self.rows += rows

    def _add_pairs(self, column: Any) -> None:
        target = self.model.target
        if target is None:
            return
        prediction = next(c for c in self.model.outputs if c.name == target.prediction)
        for out, config in ((self._labels, target.column), (self._predictions, prediction)):
            values = column(config.name)
            out.append(numeric_values(values) if config.is_numeric else category_values(values))

    def _add_numeric(self, name: str, values: FloatArray) -> None:
        finite = values[np.isfinite(values)]
        self._missing[name] += int(values.size - finite.size)
        self._numeric[name].extend(finite)

    def _add_categories(self, name: str, values: pa.Array | pa.ChunkedArray) -> None:
        self._missing[name] += int(values.null_count)
        counts = self._categories[name]
        for entry in pc.value_counts(values.drop_null()).to_pylist():
            counts[entry["values"]] = counts.get(entry["values"], 0) + int(entry["counts"])

    def build(self, source: Mapping[str, Any] | None = None, origin: str = "reference data") -> ReferenceProfile:
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
            performance=self._performance(),
        )

    def _performance(self) -> ReferencePerformance | None:
        target = self.model.target
        if target is None or not self._labels:
            return None
        return reference_performance(
            target.task,
            np.concatenate(self._labels),
            np.concatenate(self._predictions),
            positive=target.positive,
            threshold=target.threshold,
        )


def fine_bins_for(bins: int) -> int:
    """The fine bins a numeric column is counted in: the smallest multiple of ``bins`` that is ≥ FINE_BINS."""
    return bins * -(-FINE_BINS // bins)


def _numeric_profile(column: ColumnConfig, values: FloatArray, missing: int, origin: str, bins: int) -> NumericProfile:
    if values.size == 0:
        raise DataError(f"{origin}: column {column.name!r} has no numeric values; is it really numeric?")
    edges, fine_edges = stats.nested_quantile_edges(values, bins, fine_bins_for(bins))
    return NumericProfile(
        name=column.name,
        count=int(values.size),
        missing=missing,
        edges=_frozen(edges),
        counts=_frozen(stats.bin_counts(values, edges)),
        fine_edges=_frozen(fine_edges),
        fine_counts=_frozen(stats.bin_counts(values, fine_edges)),
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
    kept = ranked[:max_categories]
    other = sum(n for _, n in ranked[max_categories:])
    return CategoricalProfile(
        name=column.name,
        count=int(sum(counts.values())),
        missing=missing,
        categories=tuple(c for c, _ in kept),
        counts=_frozen(np.asarray([n for _, n in kept] + [other], dtype=np.int64)),
    )


def build_profile(
    reference: pd.DataFrame, model: ModelConfig, source: Mapping[str, Any] | None = None
) -> ReferenceProfile:
    """The reference profile of a pandas DataFrame holding the model's features and outputs as columns."""
    missing = [c.name for c in model.profiled_columns if c.name not in reference.columns]
    if missing:
        raise DataError(f"reference DataFrame: no column {', '.join(map(repr, missing))}")
    builder = ProfileBuilder(model)
    builder.add_columns({c.name: reference[c.name] for c in model.profiled_columns}, rows=len(reference))
    return builder.build(source or {"uri": None}, origin="reference DataFrame")


def profile_from_source(
    model: ModelConfig, s3: S3Config | None = None, progress: MeterFactory | None = None
) -> ReferenceProfile:
    """Stream ``model.reference.data`` (CSV or Parquet, local or S3) into a profile."""
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
    return builder.build(source, origin=uri)


__all__ = [
    "CategoricalProfile",
    "ColumnProfile",
    "NumericProfile",
    "ProfileBuilder",
    "ReferenceProfile",
    "build_profile",
    "profile_from_source",
]
