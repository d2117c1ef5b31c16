"""driftline's verdict as the top of a drift report: what on-call reads in ten seconds.

First the dataset decision (the retraining trigger), then every feature and output sorted by evidence — drifted ones
first, then by corrected p-value — each with its reference and current distribution drawn on driftline's own PSI
bins, its PSI, its test's p-value before and after the correction, and the decision. The numbers are the ones
``/metrics`` and the alerts use (:func:`drift.detector.evaluate`), so the page and the pager agree.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .config import DriftSettings, ModelConfig
from .detector import column_values
from .evaluation import ColumnDrift, DriftResult
from .layout import ColumnBins, layouts, psi_bins
from .reference.columns import NumericProfile
from .reference.profile import ReferenceProfile

DRIFTED, STABLE, UNDECIDED = "DRIFTED", "stable", "not decided"
_COLOURS = {DRIFTED: "#c62828", STABLE: "#2e7d32", UNDECIDED: "#757575"}
_STYLE = """
#driftline-verdict{font-family:system-ui,sans-serif;padding:16px 24px;background:#fff;color:#1a1a1a}
#driftline-verdict .decision{color:#fff;padding:14px 18px;border-radius:6px;margin:0 0 12px}
#driftline-verdict .decision h2{margin:0;font-size:24px}
#driftline-verdict .decision p{margin:4px 0 0;font-size:15px}
#driftline-verdict table{border-collapse:collapse;width:100%;font-size:14px}
#driftline-verdict th{text-align:left;border-bottom:2px solid #ccc;padding:6px 8px}
#driftline-verdict td{border-bottom:1px solid #eee;padding:6px 8px;vertical-align:middle}
#driftline-verdict .badge{color:#fff;border-radius:4px;padding:2px 8px;font-weight:600;white-space:nowrap}
#driftline-verdict .num{font-variant-numeric:tabular-nums;text-align:right}
#driftline-verdict .legend{font-size:12px;color:#555;margin:6px 0 0}
"""


def window_bins(profile: ReferenceProfile, model: ModelConfig, frame: pd.DataFrame) -> dict[str, ColumnBins]:
    """Each column's rows of ``frame`` in the profile's PSI bins, with the reference's (outputs the frame has)."""
    feature_layout, output_layout = layouts(profile)
    out: dict[str, ColumnBins] = {}
    for layout, configured in ((feature_layout, model.features), (output_layout, model.outputs)):
        present = [c for c in configured if c.name in frame.columns]
        if not present or len(present) < len(layout.columns):
            continue
        columns = {c.name: column_values(frame[c.name], c) for c in present}
        out.update({b.name: b for b in psi_bins(layout, layout.count(columns))})
    return out


def counted_bins(profile: ReferenceProfile, features: Any, outputs: Any | None) -> dict[str, ColumnBins]:
    """The same from count vectors a window already holds (over :func:`drift.layout.layouts` of ``profile``)."""
    feature_layout, output_layout = layouts(profile)
    out = {b.name: b for b in psi_bins(feature_layout, features)}
    if outputs is not None:
        out.update({b.name: b for b in psi_bins(output_layout, outputs)})
    return out


def decision(column: ColumnDrift) -> str:
    if column.drifted:
        return DRIFTED
    return STABLE if column.adjusted_pvalue is not None else UNDECIDED


def evidence_order(columns: Mapping[str, ColumnDrift]) -> list[ColumnDrift]:
    """Drifted first, then by corrected p-value (smallest first), then by PSI (largest first)."""

    def key(column: ColumnDrift) -> tuple[int, float, float]:
        adjusted = column.adjusted_pvalue if column.adjusted_pvalue is not None else 2.0
        return (0 if column.drifted else 1, adjusted, -(column.psi or 0.0))

    return sorted(columns.values(), key=key)


def verdict_section(
    result: DriftResult, bins: Mapping[str, ColumnBins], profile: ReferenceProfile, settings: DriftSettings
) -> str:
    """The verdict as a self-contained HTML section (inline style, inline SVG charts)."""
    features = evidence_order(result.features)
    tested = [c for c in features if c.adjusted_pvalue is not None]
    drifted = [c for c in tested if c.drifted]
    if result.drift_share is None:
        state, headline = UNDECIDED, f"NOT DECIDED — {result.not_decided or 'no feature could be tested'}"
    elif result.drifted:
        state, headline = DRIFTED, "DATASET DRIFTED"
    else:
        state, headline = STABLE, "NO DATASET DRIFT"
    share = f"{result.drift_share:.0%}" if result.drift_share is not None else "—"
    summary = (
        f"{len(drifted)} of {len(tested)} features drifted (share {share}; the dataset drifts at "
        f"{settings.drift_share:.0%}). A column drifts when its PSI ≥ {settings.psi_threshold:g} and its test's "
        f"{settings.correction.upper()}-corrected p-value < {settings.alpha:g}; "
        f"{result.window_samples:,} current rows against the {profile.rows:,} of profile {profile.version}."
    )
    parts = [
        f"<style>{_STYLE}</style>",
        '<section id="driftline-verdict">',
        f'<div class="decision" id="driftline-decision" style="background:{_COLOURS[state]}">'
        f"<h2>{html.escape(headline)}</h2><p>{html.escape(summary)}</p></div>",
        _table("driftline-features", "feature", features, bins, profile),
    ]
    if result.outputs:
        parts.append(_table("driftline-outputs", "output", evidence_order(result.outputs), bins, profile))
    parts.append(
        '<p class="legend">Bars: each PSI bin\'s share of the valid rows — <b style="color:#9e9e9e">reference</b> '
        'and <b style="color:#1565c0">current</b> (numeric bins from the lowest values up; categories in the '
        "profile's order, then __other__).</p></section>"
    )
    return "".join(parts)


def _table(
    table_id: str, kind: str, columns: list[ColumnDrift], bins: Mapping[str, ColumnBins], profile: ReferenceProfile
) -> str:
    head = (
        f"<tr><th>{kind}</th><th>decision</th><th class=num>PSI</th><th>test</th><th class=num>p-value</th>"
        "<th class=num>corrected</th><th>reference vs current</th></tr>"
    )
    rows = []
    for column in columns:
        state = decision(column)
        test = "KS" if column.type == "numeric" else "chi²"
        profiled = profile.features.get(column.name) or profile.outputs.get(column.name)
        chart = _chart(bins[column.name], profiled) if column.name in bins else ""
        rows.append(
            f'<tr class="{state.split()[0].lower()}"><td><b>{html.escape(column.name)}</b></td>'
            f'<td><span class="badge" style="background:{_COLOURS[state]}">{state}</span></td>'
            f"<td class=num>{_number(column.psi, '.3f')}</td><td>{test}</td>"
            f"<td class=num>{_number(column.pvalue, '.3g')}</td><td class=num>{_number(column.adjusted_pvalue, '.3g')}"
            f"</td><td>{chart}</td></tr>"
        )
    return f'<table id="{table_id}"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _number(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _chart(column: ColumnBins, profiled: Any) -> str:
    """Paired bars of the reference's and the current window's share per PSI bin, as inline SVG."""
    reference = np.asarray(column.reference, dtype=float)
    current = np.asarray(column.counts, dtype=float)
    ref_share = reference / max(reference.sum(), 1.0)
    cur_share = current / max(current.sum(), 1.0)
    top = max(float(ref_share.max(initial=0.0)), float(cur_share.max(initial=0.0)), 1e-9)
    width, height, n = 260, 44, len(column.labels)
    slot = width / max(n, 1)
    bar = max(slot / 2 - 1, 1.0)
    names = _bin_names(column, profiled)
    shapes = []
    for i in range(n):
        x = i * slot
        for offset, share, colour in ((0.0, ref_share[i], "#9e9e9e"), (bar, cur_share[i], "#1565c0")):
            h = height * float(share) / top
            shapes.append(
                f'<rect x="{x + offset:.1f}" y="{height - h:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{html.escape(names[i])}: reference {ref_share[i]:.1%}, current {cur_share[i]:.1%}</title>"
                "</rect>"
            )
    return f'<svg width="{width}" height="{height}" role="img">{"".join(shapes)}</svg>'


def _bin_names(column: ColumnBins, profiled: Any) -> list[str]:
    if not isinstance(profiled, NumericProfile):
        return list(column.labels)
    edges = [float("-inf"), *profiled.edges.tolist(), float("inf")]
    return [f"{edges[i]:.4g} – {edges[i + 1]:.4g}" for i in range(len(column.labels))]


__all__ = ["counted_bins", "decision", "evidence_order", "verdict_section", "window_bins"]
