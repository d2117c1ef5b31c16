"""Reference profiles: everything the statistics need from the training data, computed once.

A :class:`ReferenceProfile` holds, per feature and per output, the bins (quantile edges or the category list),
the reference counts per bin, the KS reference sample and summary statistics; plus the source data's URI and ETag
or SHA-256, and ``version``: a hash of the statistical content, so identical data gives an identical version
whatever file format or store it came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..boundary import InputError, Limits, decode_json, shown
from ..config import MODEL_VERSION, ModelConfig, S3Config
from ..errors import ProfileError
from ..multivariate import ReconstructionModel
from ..quality.metrics import ReferencePerformance
from .columns import ColumnProfile, column_from_dict, fine_bins_for
from .hashing import content_hash
from .legacy import upgrade_format_1
from .registry import Registry, RegistryReference, attach, is_registry
from .storage import read_bytes, write_bytes

FORMAT = "driftline.profile"
FORMAT_VERSION = 2
# A profile of 100 columns with 10,000 rare categories each is ~30 MB; one is read whole, hence a bound.
PROFILE_LIMITS = Limits(max_bytes=256 * 1024 * 1024, max_depth=16)


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
            d = upgrade_format_1(d, origin, fine_bins_for(int(d.get("settings", {}).get("bins", 10))))
        return cls(
            model=str(d["model"]),
            namespace=str(d["namespace"]),
            rows=int(d["rows"]),
            features={c["name"]: column_from_dict(c) for c in d["features"]},
            outputs={c["name"]: column_from_dict(c) for c in d["outputs"]},
            settings={k: int(v) for k, v in d["settings"].items()},
            source=dict(d["source"]),
            created_at=str(d["created_at"]),
            target=column_from_dict(d["target"]) if d.get("target") is not None else None,
            performance=(
                ReferencePerformance.from_dict(d["performance"]) if d.get("performance") is not None else None
            ),
            version=d.get("upgraded_version", ""),
            model_version=_model_version(d.get("model_version")),
            multivariate=(
                ReconstructionModel.from_dict(d["multivariate"]) if d.get("multivariate") is not None else None
            ),
        )

    def save(self, uri: str, s3: S3Config | None = None) -> str:
        """Write the profile as JSON to a local path (atomically), to ``s3://bucket/key``, or to a model version in
        the MLflow registry (``models:/NAME/VERSION`` or ``@ALIAS``: :func:`~drift.reference.registry.attach`).
        Returns where it was written."""
        if is_registry(uri):
            return attach(self.to_json(), RegistryReference.parse(uri), s3).profile or uri
        write_bytes(uri, self.to_json(), s3)
        return uri

    @classmethod
    def load(cls, uri: str, s3: S3Config | None = None) -> ReferenceProfile:
        """Read a profile from a local path, ``s3://bucket/key`` or a model version in the MLflow registry (the
        profile it carries), verifying its content against its version."""
        if is_registry(uri):
            registry = Registry()
            source = registry.profile_of(registry.version(RegistryReference.parse(uri)))
            data, _ = registry.read(source, s3, PROFILE_LIMITS.max_bytes)
            return cls.from_json(data, origin=f"{uri} ({source})")
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


__all__ = ["ReferenceProfile"]
