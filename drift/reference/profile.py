"""Reference profiles: everything the statistics need from the training data, computed once.

A :class:`ReferenceProfile` holds, per feature and per output, the bins (quantile edges or the category list),
the reference counts per bin, the KS reference sample and summary statistics; plus the source data's URI and ETag
or SHA-256, and ``version``: a hash of the statistical content, so identical data gives an identical version
whatever file format or store it came from.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import stats
from ..boundary import InputError, Limits, decode_json, shown
from ..coercion import ObjectArray
from ..config import CATEGORICAL, MODEL_VERSION, NUMERIC, ModelConfig, S3Config
from ..errors import ProfileError
from ..multivariate import ReconstructionModel
from ..quality.metrics import ReferencePerformance
from ..stats import FloatArray, IntArray
from .storage import read_bytes, write_bytes

FORMAT = "driftline.profile"
FORMAT_VERSION = 2
MAX_RARE = 10_000  # the most categories beyond the kept ones a profile lists (to tell a rare category from a new one)
FINE_BINS = 250  # at least this many fine bins per numeric column (a multiple of drift.bins)
# A profile of 100 columns with 10,000 rare categories each is ~30 MB; one is read whole, hence a bound.
PROFILE_LIMITS = Limits(max_bytes=256 * 1024 * 1024, max_depth=16)


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
    def cuts(self) -> FloatArray:
        return stats.cut_points(self.fine_edges)

    def window_counts(self, values: FloatArray) -> tuple[IntArray, int]:
        """``(counts per fine bin, missing)`` of a window column already made numeric (NaN, ±∞ = missing)."""
        return stats.counts_at_cuts(np.sort(values), self.cuts)

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


def _column_from_dict(d: Mapping[str, Any]) -> ColumnProfile:
    if d.get("type") == NUMERIC:
        return NumericProfile.from_dict(d)
    if d.get("type") == CATEGORICAL:
        return CategoricalProfile.from_dict(d)
    raise ValueError(f"column {shown(d.get('name'))} has unknown type {shown(d.get('type'))}")


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
    model_version: str = ""  # the serving version trained on this data; metadata, like created_at, not hashed
    multivariate: ReconstructionModel | None = None  # the features' PCA, when the config asks for multivariate drift

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
        if self.multivariate is not None:  # absent when not asked for: older profiles keep their version
            content["multivariate"] = self.multivariate.to_dict()
        return content

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "model": self.model,
            "namespace": self.namespace,
            "created_at": self.created_at,
            **({"model_version": self.model_version} if self.model_version else {}),
            "source": dict(self.source),
            **self._content(),
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), allow_nan=False, separators=(",", ":")).encode()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], origin: str = "profile") -> ReferenceProfile:
        """The profile a document describes; ProfileError for anything else (the document is outside input: no
        other exception escapes)."""
        if not isinstance(d, Mapping) or d.get("format") != FORMAT:
            raise ProfileError(f"{origin}: not a driftline reference profile; build one with `driftline profile`")
        if d.get("format_version") not in (1, FORMAT_VERSION):
            raise ProfileError(
                f"{origin}: profile format {shown(d.get('format_version'))} is not {FORMAT_VERSION}; "
                "rebuild it with this driftline's `driftline profile`"
            )
        claimed = d.get("version")
        try:
            profile = cls._from_content(d, origin)
        except ProfileError:
            raise
        except Exception as exc:  # whatever the content makes fail, the profile is corrupt
            if isinstance(exc, KeyError):
                detail = f"missing field {shown(exc.args[0] if exc.args else '')}"
            else:
                detail = shown(str(exc), 120).strip("'\"")
            raise ProfileError(f"{origin}: corrupt profile ({detail}); rebuild it with `driftline profile`") from None
        if profile.version != claimed:
            raise ProfileError(
                f"{origin}: content does not match its version {shown(claimed)} (edited or corrupted); "
                "rebuild it with `driftline profile`"
            )
        return profile

    @classmethod
    def _from_content(cls, d: Mapping[str, Any], origin: str) -> ReferenceProfile:
        if d.get("format_version") == 1:
            from .legacy import upgrade_format_1

            d = upgrade_format_1(d, origin, fine_bins_for(int(d.get("settings", {}).get("bins", 10))))
        return cls(
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
            model_version=_model_version(d.get("model_version")),
            multivariate=(
                ReconstructionModel.from_dict(d["multivariate"]) if d.get("multivariate") is not None else None
            ),
        )

    def save(self, uri: str, s3: S3Config | None = None) -> None:
        """Write the profile as JSON to a local path (atomically) or to ``s3://bucket/key``."""
        write_bytes(uri, self.to_json(), s3)

    @classmethod
    def load(cls, uri: str, s3: S3Config | None = None) -> ReferenceProfile:
        """Read a profile from a local path or ``s3://bucket/key``, verifying its content against its version."""
        data, _ = read_bytes(uri, s3, PROFILE_LIMITS.max_bytes)
        return cls.from_json(data, origin=uri)

    @classmethod
    def from_json(cls, data: bytes, origin: str = "profile") -> ReferenceProfile:
        try:
            document = decode_json(data, PROFILE_LIMITS, "the profile")
        except InputError as exc:
            message = f"{origin}: not a readable profile ({exc}); rebuild it with `driftline profile`"
            raise ProfileError(message) from None
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


def _model_version(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not re.fullmatch(MODEL_VERSION, value):
        raise ValueError(f"model_version {shown(value)} is not a model version")
    return value


def content_hash(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, allow_nan=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def fine_bins_for(bins: int) -> int:
    """The fine bins a numeric column is counted in: the smallest multiple of ``bins`` that is ≥ FINE_BINS."""
    return bins * -(-FINE_BINS // bins)


__all__ = [
    "CategoricalProfile",
    "ColumnProfile",
    "NumericProfile",
    "ReferenceProfile",
    "fine_bins_for",
]
