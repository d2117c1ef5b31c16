"""driftline's drift package: the monitor config, reference profiles, the drift statistics and model quality.

* ``drift.config`` — the monitor config: its schema, the alerting and webhook sections, the loader;
* ``drift.reference`` — reference profiles, the readers that build them, file and S3 storage;
* ``drift.stats`` and ``drift.coercion`` — the statistics over numpy arrays, and raw values made binnable;
* ``drift.evaluation`` — a window against a profile: per-column drift and the dataset decision;
* ``drift.comparison`` — window against window: a canary version's outputs against the stable version's;
* ``drift.quality`` — model quality from ground truth, its drop decision and ADWIN's concept-drift test;
* ``drift.catalogue`` — every metric driftline exports, defined once;
* ``drift.verdict`` and ``drift.report`` — drift reports for humans: driftline's verdict first, Evidently's data
  summary and quality below.

The Python API reproduces the exporter's numbers offline::

    import drift
    cfg = drift.load_config("monitor.yaml")
    model = cfg.models[0]
    profile = drift.build_profile(reference_df, model)
    result = drift.evaluate(profile, current_df, model)
    result.features["tenure"].psi, result.drift_share, result.drifted

This package imports nothing from the rest of driftline (exporters, dashboards, alerts). Names are imported on
first use, so reading a config does not pay for importing scipy and pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "config": ("ColumnConfig", "DriftSettings", "ModelConfig", "MonitorConfig", "load_config", "parse_config"),
    "config.values": ("Duration", "ListenAddress", "SecretRef"),
    "comparison": ("compare_outputs",),
    "errors": ("ConfigError", "DataError", "DriftlineError", "ProfileError", "StorageError"),
    "evaluation": ("ColumnDrift", "DriftResult", "evaluate_counts"),
    "detector": ("Detector", "Window", "evaluate", "evaluate_window"),
    "quality.evaluation": ("PerformanceResult", "evaluate_performance"),
    "reference.columns": ("CategoricalProfile", "NumericProfile"),
    "reference.profile": ("ReferenceProfile",),
    "reference.builder": ("ProfileBuilder", "build_profile", "profile_from_source"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = [
    "CategoricalProfile",
    "ColumnConfig",
    "ColumnDrift",
    "ConfigError",
    "DataError",
    "Detector",
    "DriftResult",
    "DriftSettings",
    "DriftlineError",
    "Duration",
    "ListenAddress",
    "ModelConfig",
    "MonitorConfig",
    "NumericProfile",
    "PerformanceResult",
    "ProfileBuilder",
    "ProfileError",
    "ReferenceProfile",
    "SecretRef",
    "StorageError",
    "Window",
    "build_profile",
    "compare_outputs",
    "evaluate",
    "evaluate_counts",
    "evaluate_performance",
    "evaluate_window",
    "load_config",
    "parse_config",
    "profile_from_source",
]


def __dir__() -> list[str]:
    """The public API, loaded or not (the names are imported on first use)."""
    return sorted({*globals(), *__all__})


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'drift' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .comparison import compare_outputs
    from .config import ColumnConfig, DriftSettings, ModelConfig, MonitorConfig, load_config, parse_config
    from .config.values import Duration, ListenAddress, SecretRef
    from .detector import Detector, Window, evaluate, evaluate_window
    from .errors import ConfigError, DataError, DriftlineError, ProfileError, StorageError
    from .evaluation import ColumnDrift, DriftResult, evaluate_counts
    from .quality.evaluation import PerformanceResult, evaluate_performance
    from .reference.builder import ProfileBuilder, build_profile, profile_from_source
    from .reference.columns import CategoricalProfile, NumericProfile
    from .reference.profile import ReferenceProfile
