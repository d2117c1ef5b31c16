"""The *Multivariate drift* row: PCA reconstruction error against the reference's."""

from __future__ import annotations

from drift import catalogue as m

from .common import VERSIONS, Layout, stat, steps, target, timeseries, value_map


def add_multivariate_row(layout: Layout) -> None:
    """PCA reconstruction: a change in how the features move together (``multivariate:`` in the config)."""
    layout.row("Multivariate drift")
    layout.add(
        timeseries(
            "Reconstruction error",
            "Mean distance the window's rows travel through the reference's principal components and back, against "
            "the reference's own (out of sample) and the largest a window of this size shows without drift at "
            "alpha. Above the band: the features no longer move together as in training.",
            [
                target(f"{m.MULTIVARIATE_ERROR.series}{{{VERSIONS}}}", "window {{model_version}}", "A"),
                target(f"{m.MULTIVARIATE_REFERENCE_ERROR.series}{{{VERSIONS}}}", "reference {{model_version}}", "B"),
                target(f"{m.MULTIVARIATE_ERROR_UPPER.series}{{{VERSIONS}}}", "no-drift band {{model_version}}", "C"),
            ],
            "none",
        ),
        16,
        8,
    )
    layout.add(
        stat(
            "Multivariate drift",
            "1 when the window's mean reconstruction error is significantly above the reference's (one-sided, at "
            "alpha): DriftlineMultivariateDrift.",
            f"max by (model_version) ({m.MULTIVARIATE_DRIFTED.series}{{{VERSIONS}}})",
            "none",
            thresholds=steps(("green", None), ("red", 1)),
            mappings=value_map(("0", "no drift", "green"), ("1", "DRIFT", "red")),
        ),
        8,
        8,
    )
