"""The *Pooled across replicas* row: the drift Prometheus pools from every replica's bin counts."""

from __future__ import annotations

from grafanalib import core as g  # noqa: F401

from alerts import pooling

from .common import FEATURES, VERSIONS, Layout, psi_panel, stat

WINDOW = "$window"  # a pooled window's name in a recording rule, chosen on the dashboard


def add_pooled_row(layout: Layout) -> None:
    """The drift Prometheus pools from every replica's bin counts (``exporter.replicas`` > 1)."""
    layout.row("Pooled across replicas ($window)")
    psi = pooling.FEATURES.psi(WINDOW)
    layout.add(
        psi_panel(
            "Pooled PSI per feature",
            "PSI of every replica's rows together over the chosen window (alerting.pooling.windows), recorded by "
            "Prometheus from the replicas' bin counts; the alerts read the first window. Dashed: psi_threshold.",
            f"{psi}{{{FEATURES}}}",
            "{{feature}} {{model_version}}",
        ),
        16,
        8,
    )
    layout.add(
        stat(
            "Pooled rows",
            "Valid rows of the first feature in the pooled window, all replicas together.",
            f"max(topk(1, {pooling.FEATURES.rows(WINDOW)}{{{VERSIONS}}}))",
            "none",
        ),
        8,
        8,
    )
