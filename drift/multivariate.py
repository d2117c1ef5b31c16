"""Multivariate drift: a change in the *relation* between features that no column-by-column test sees.

Data reconstruction with PCA (the method of NannyML's ``DataReconstructionDriftCalculator``): the reference's
features, encoded and standardised, are compressed to the principal components that keep a share of their variance
and decompressed; each row's reconstruction error is the Euclidean distance it travelled. Rows drawn like the
reference come back about as well as the reference's own; when features that moved together stop doing so, the
components no longer describe the rows, and the window's mean error rises.

Unlike NannyML's ±3σ band over reference chunks, the decision is a test with a stated false-alarm rate: the
window's mean error against the reference's, one-sided, at ``alpha``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats

from .stats import FloatArray

DEFAULT_VARIANCE = 0.65  # NannyML's default share of the variance the components keep


@dataclass(frozen=True)
class Encoding:
    """How rows become the matrix the PCA sees: numeric columns as they are (a missing value imputed with the
    reference mean), each categorical column one-hot over the reference's categories (missing or unseen: all
    zeros); then every column centred and scaled by the reference's mean and standard deviation."""

    numeric: tuple[str, ...]
    categorical: tuple[tuple[str, tuple[str, ...]], ...]  # (column, its categories)
    center: FloatArray
    scale: FloatArray

    @property
    def width(self) -> int:
        return len(self.numeric) + sum(len(categories) for _, categories in self.categorical)

    def raw(self, columns: Mapping[str, Any], rows: int) -> FloatArray:
        """The encoded matrix before standardising: numeric values (NaN when missing) and 0/1 indicators."""
        out = np.zeros((rows, self.width))
        for j, name in enumerate(self.numeric):
            values = columns.get(name)
            out[:, j] = np.nan if values is None else np.asarray(values, dtype=np.float64)
        j = len(self.numeric)
        for name, categories in self.categorical:
            values = columns.get(name)
            if values is not None:
                cells = np.asarray(values, dtype=object)
                for k, category in enumerate(categories):
                    out[:, j + k] = cells == category
            j += len(categories)
        return out

    def standardise(self, raw: FloatArray) -> FloatArray:
        """``(x − center) / scale``, a missing (non-finite) numeric value at the centre: 0."""
        z = (raw - self.center) / self.scale
        z[~np.isfinite(z)] = 0.0
        return z


@dataclass(frozen=True)
class ReconstructionModel:
    """The PCA of the reference and the reference's own reconstruction errors, measured out of sample (an error on
    the rows the components were fitted to is biased low)."""

    encoding: Encoding
    mean: FloatArray  # the standardised reference's mean: the point the components pass through
    components: FloatArray  # k × d, orthonormal rows
    variance_kept: float  # the share of the variance the k components keep
    error_mean: float  # the reference's mean reconstruction error per row (held-out rows)
    error_std: float  # its standard deviation per row
    error_rows: int  # reference rows it was measured on

    def to_dict(self) -> dict[str, Any]:
        return {
            "numeric": list(self.encoding.numeric),
            "categorical": [
                {"name": name, "categories": list(categories)} for name, categories in self.encoding.categorical
            ],
            "center": self.encoding.center.tolist(),
            "scale": self.encoding.scale.tolist(),
            "mean": self.mean.tolist(),
            "components": self.components.tolist(),
            "variance_kept": self.variance_kept,
            "error_mean": self.error_mean,
            "error_std": self.error_std,
            "error_rows": self.error_rows,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ReconstructionModel:
        encoding = Encoding(
            numeric=tuple(str(n) for n in d["numeric"]),
            categorical=tuple((str(c["name"]), tuple(str(v) for v in c["categories"])) for c in d["categorical"]),
            center=np.asarray(d["center"], dtype=np.float64),
            scale=np.asarray(d["scale"], dtype=np.float64),
        )
        components = np.asarray(d["components"], dtype=np.float64).reshape(-1, encoding.width)
        model = cls(
            encoding=encoding,
            mean=np.asarray(d["mean"], dtype=np.float64),
            components=components,
            variance_kept=float(d["variance_kept"]),
            error_mean=float(d["error_mean"]),
            error_std=float(d["error_std"]),
            error_rows=int(d["error_rows"]),
        )
        if not (encoding.center.size == encoding.scale.size == model.mean.size == encoding.width):
            raise ValueError("multivariate: the encoding's vectors do not match its columns")
        return model


@dataclass(frozen=True)
class ReconstructionDrift:
    error: float  # the window's mean reconstruction error
    upper: float  # the largest mean error a window of this size shows without drift, at alpha
    pvalue: float
    drifted: bool
    rows: int


def fit_encoding(numeric: Mapping[str, FloatArray], categorical: Mapping[str, tuple[Any, Sequence[str]]]) -> Encoding:
    """The encoding of reference rows: ``numeric`` maps a column to its values; ``categorical`` a column to (its
    values, the categories to encode — the profile's)."""
    names = tuple(numeric)
    groups = tuple((name, tuple(categories)) for name, (_, categories) in categorical.items())
    rows = len(next(iter(numeric.values()))) if numeric else len(next(iter(categorical.values()))[0])
    draft = Encoding(names, groups, np.zeros(0), np.ones(0))
    raw = draft.raw({**numeric, **{name: values for name, (values, _) in categorical.items()}}, rows)
    center = np.nanmean(raw, axis=0) if rows else np.zeros(raw.shape[1])
    scale = np.nanstd(raw, axis=0) if rows else np.ones(raw.shape[1])
    center = np.where(np.isfinite(center), center, 0.0)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)  # a constant column: left as it is
    return Encoding(names, groups, center, scale)


def principal_components(z: FloatArray, variance: float) -> tuple[FloatArray, float]:
    """The fewest principal components of ``z`` that keep at least ``variance`` of its total variance: with the
    column means removed, ``z − z̄ = U·S·Vᵀ``; the first ``k`` rows of ``Vᵀ``, ``k`` the smallest with
    ``Σᵢ≤ₖ sᵢ² / Σ sᵢ² ≥ variance`` (Jolliffe, *Principal Component Analysis*, 2002, §6.1)."""
    _, singular, vt = np.linalg.svd(z - z.mean(axis=0), full_matrices=False)
    energy = singular**2
    total = float(energy.sum())
    if total == 0.0:
        return vt[:1], 1.0
    kept = np.cumsum(energy) / total
    k = int(np.searchsorted(kept, variance - 1e-12) + 1)
    return vt[:k], float(kept[k - 1])


def reconstruction_errors(z: FloatArray, mean: FloatArray, components: FloatArray) -> FloatArray:
    """Each row's distance to its reconstruction from the components: ``‖(z − z̄) − (z − z̄)·Vₖᵀ·Vₖ‖₂``."""
    centred = z - mean
    errors: FloatArray = np.linalg.norm(centred - (centred @ components.T) @ components, axis=1)
    return errors


def fit_reconstruction(encoding: Encoding, raw: FloatArray, variance: float = DEFAULT_VARIANCE) -> ReconstructionModel:
    """Fit the components on every reference row; measure the reference's errors out of sample by two-fold
    cross-fitting (components fitted on the even rows score the odd ones and the other way round), so every row
    counts and none is scored by components fitted to it."""
    z = encoding.standardise(raw)
    components, kept = principal_components(z, variance)
    halves = (z[0::2], z[1::2])
    errors = np.concatenate(
        [
            reconstruction_errors(held_out, fit.mean(axis=0), principal_components(fit, variance)[0])
            for fit, held_out in (halves, halves[::-1])
            if fit.shape[0] > 1
        ]
        or [np.zeros(0)]
    )
    return ReconstructionModel(
        encoding=encoding,
        mean=z.mean(axis=0),
        components=components,
        variance_kept=kept,
        error_mean=float(errors.mean()) if errors.size else 0.0,
        error_std=float(errors.std(ddof=1)) if errors.size > 1 else 0.0,
        error_rows=int(errors.size),
    )


def reconstruction_drift(model: ReconstructionModel, raw: FloatArray, alpha: float) -> ReconstructionDrift:
    """The window's mean reconstruction error ``ē`` (``n`` rows) against the reference's ``ē_ref`` (``N`` rows,
    per-row standard deviation ``σ``), one-sided::

        s = σ · (1/√n + 1/√N),   p = 1 − Φ((ē − ē_ref) / s),   drift when p < α,   upper = ē_ref + Φ⁻¹(1 − α) · s

    For rows drawn like the reference the window's mean spreads as ``σ/√n`` (central limit theorem). ``ē_ref`` is
    itself an estimate, off by ``σ/√N`` typically, and off the same way for every window the exporter will ever
    test: adding its spread to the window's (rather than in quadrature) keeps the false-alarm rate at most α for
    the reference at hand, not only on average over references. With ``N`` ten times ``n`` the band is 1.3 times the
    window's own spread.
    """
    rows = raw.shape[0]
    if rows == 0:
        return ReconstructionDrift(math.nan, math.nan, math.nan, False, 0)
    errors = reconstruction_errors(model.encoding.standardise(raw), model.mean, model.components)
    error = float(errors.mean())
    spread = model.error_std * (1.0 / math.sqrt(rows) + 1.0 / math.sqrt(max(model.error_rows, 1)))
    upper = model.error_mean + float(scipy.stats.norm.isf(alpha)) * spread
    if spread == 0.0:
        pvalue = 0.0 if error > model.error_mean else 1.0
    else:
        pvalue = float(scipy.stats.norm.sf((error - model.error_mean) / spread))
    return ReconstructionDrift(error, upper, pvalue, pvalue < alpha, rows)


def window_drift(
    model: ReconstructionModel, columns: Mapping[str, Any], rows: int, alpha: float
) -> ReconstructionDrift:
    """:func:`reconstruction_drift` of a window given as one array per feature (float64 or categories)."""
    return reconstruction_drift(model, model.encoding.raw(columns, rows), alpha)


__all__ = [
    "DEFAULT_VARIANCE",
    "Encoding",
    "ReconstructionDrift",
    "ReconstructionModel",
    "fit_encoding",
    "fit_reconstruction",
    "principal_components",
    "reconstruction_drift",
    "reconstruction_errors",
    "window_drift",
]
