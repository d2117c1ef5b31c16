"""The *Model versions* row: while versions serve together, does the newer one answer differently?"""

from __future__ import annotations

from drift import catalogue as m

from .common import VERSIONS, Layout, psi_panel, stat, steps, value_map


def add_versions_row(layout: Layout) -> None:
    """While versions serve together (a canary, a rolling update): does the newer one answer differently?"""
    layout.row("Model versions: canary against stable")
    layout.add(
        psi_panel(
            "Outputs against the stable version (PSI)",
            "PSI of each serving version's outputs against those of the version serving longest, window against "
            "window: both see the same traffic, so a difference is the model's, not the data's. Dashed: "
            "psi_threshold.",
            f"{m.VERSION_OUTPUT_PSI.series}{{{VERSIONS}}}",
            "{{output}} {{model_version}} vs {{baseline_version}}",
        ),
        16,
        8,
    )
    layout.add(
        stat(
            "Answers differently",
            "1 when a version's outputs differ significantly from the stable version's (corrected p-value below "
            "alpha and PSI at least psi_threshold) — same rule as prediction drift.",
            f"max by (model_version) ({m.VERSION_OUTPUT_DRIFTED.series}{{{VERSIONS}}})",
            "none",
            thresholds=steps(("green", None), ("red", 1)),
            mappings=value_map(("0", "same", "green"), ("1", "DIFFERENT", "red")),
        ),
        8,
        8,
    )
