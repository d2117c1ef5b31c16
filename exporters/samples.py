"""What an evaluation computes from the windows' raw-row samples rather than their bin counts: multivariate drift
from the features' rows, and the performance estimated from the output window's scores (CBPE).

Each bucket of a window keeps a uniform reservoir of its rows (the ingest path fills it anyway, for ``/report``);
an evaluation draws at most ``exporter.report_max_rows`` of them. The samples are not checkpointed: after a restart
these numbers return as the window refills, while the counted statistics are restored at once.
"""

from __future__ import annotations

from drift.multivariate import ReconstructionDrift, window_drift
from drift.quality.estimation import EstimatedPerformance, estimate_window
from drift.reference.profile import ReferenceProfile

from .monitor import ModelMonitor


def multivariate_drift(
    monitor: ModelMonitor, profile: ReferenceProfile, now: float, max_rows: int
) -> ReconstructionDrift | None:
    """Multivariate drift of the window's sampled rows; none without the profile's PCA or below window.min_rows."""
    if profile.multivariate is None:
        return None
    sample = monitor.features.sample(now, max_rows)
    if sample.rows < max(monitor.model.window.min_rows, 2):
        return None
    return window_drift(profile.multivariate, sample.columns, sample.rows, monitor.model.drift.alpha)


def estimated_performance(
    monitor: ModelMonitor, profile: ReferenceProfile, now: float, max_rows: int
) -> EstimatedPerformance | None:
    """CBPE on the output window's sampled scores (:func:`drift.quality.estimation.estimate_window`)."""
    target = monitor.model.target
    if target is None or monitor.outputs is None or target.prediction not in monitor.outputs.numeric_names:
        return None
    sample = monitor.outputs.sample(now, max_rows)
    return estimate_window(profile, monitor.model, sample.columns[target.prediction])


__all__ = ["estimated_performance", "multivariate_drift"]
