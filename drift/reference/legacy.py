"""Reading profiles written by earlier driftline versions, so an upgrade does not wait for every profile to be
rebuilt."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import stats
from ..config import NUMERIC
from ..errors import ProfileError
from .hashing import content_hash

_FORMAT_1_CONTENT = ("format_version", "rows", "settings", "features", "outputs", "target", "performance")


def upgrade_format_1(d: Mapping[str, Any], origin: str, fine_bins: int) -> dict[str, Any]:
    """A format-1 profile (a sorted KS sample per numeric column, no fine bins) as format 2, keeping its version.

    Its content is verified against its version first. The fine bins become the PSI edges plus the sample's
    quantiles, counted over the sample, so KS is tested against the sample as format 1 did; PSI keeps the full
    reference's counts. `driftline profile` rebuilds it as format 2 (fine bins over the whole reference).
    """
    content = {key: d[key] for key in _FORMAT_1_CONTENT if key in d}
    try:
        version = content_hash(content)
    except (TypeError, ValueError):
        version = None
    if version is None or version != d.get("version"):
        raise ProfileError(
            f"{origin}: content does not match its version {d.get('version')!r} (edited or corrupted); "
            "rebuild it with `driftline profile`"
        )

    def upgraded(column: Mapping[str, Any]) -> Mapping[str, Any]:
        if column.get("type") != NUMERIC or "sample" not in column:
            return column
        sample = np.asarray(column["sample"], dtype=np.float64)
        edges = np.asarray(column["edges"], dtype=np.float64)
        fine = np.union1d(edges, stats.quantile_edges(sample, fine_bins)) if sample.size else edges
        counts = stats.bin_counts(sample, fine)
        return {**column, "fine_edges": fine.tolist(), "fine_counts": counts.tolist()}

    out = dict(d)
    for key in ("features", "outputs"):
        out[key] = [upgraded(c) for c in d.get(key, [])]
    out["upgraded_version"] = version
    return out


__all__ = ["upgrade_format_1"]
