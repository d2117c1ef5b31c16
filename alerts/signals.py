"""The drift decisions that alerts and dashboards both read, chosen in one place: the exporter's own series, or —
with ``exporter.replicas`` > 1 — the pooled decisions the rules of :mod:`.pooling` record over a window. An alert and
the dashboard panel it links to cannot disagree on which decision they show."""

from __future__ import annotations

from dataclasses import dataclass

from drift import catalogue as m
from drift.config import Duration

from . import pooling
from .config import DeploymentConfig

# the labels one model version's decision is joined on: the exporter's (per replica) or the pooled rules'
EXPORTER_KEYS = "job, instance, model, model_namespace, model_version"
POOLED_KEYS = pooling.VERSION_KEY


@dataclass(frozen=True)
class Decisions:
    """The series of the dataset, feature and output decisions, and the labels that join them."""

    pooled: bool
    window: Duration | str | None  # the pooled window (a duration, or a dashboard variable); None: not pooled
    keys: str

    @property
    def dataset_drifted(self) -> str:
        return pooling.dataset_drifted(self.window) if self.window is not None else m.DATASET_DRIFTED.series

    @property
    def drift_share(self) -> str:
        return pooling.share(self.window) if self.window is not None else m.DATASET_DRIFT_SHARE.series

    def column(self, kind: pooling.Kind) -> tuple[str, str]:
        """A column kind's PSI and decision series."""
        if self.window is not None:
            return kind.psi(self.window), kind.drifted(self.window)
        return kind.psi_metric, kind.drifted_metric  # gauges: the series is the name


def decisions(config: DeploymentConfig, window: Duration | str | None = None) -> Decisions:
    """The decisions of ``config``'s deployment; pooled ones over ``window`` (the alerts' window by default)."""
    if not pooling.pooled(config):
        return Decisions(pooled=False, window=None, keys=EXPORTER_KEYS)
    return Decisions(
        pooled=True, window=window if window is not None else pooling.alert_window(config), keys=POOLED_KEYS
    )
