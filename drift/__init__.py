"""driftline's drift package: the monitor config, reference profiles and the drift statistics.

The Python API reproduces the exporter's numbers offline::

    import drift
    cfg = drift.load_config("monitor.yaml")
    model = cfg.models[0]
    profile = drift.build_profile(reference_df, model)
    result = drift.evaluate(profile, current_df, model)
    result.features["tenure"].psi, result.drift_share, result.drifted

This package imports nothing from the rest of driftline (exporters, dashboards, alerts).
"""

from .config import (
    ColumnConfig,
    DriftSettings,
    ModelConfig,
    MonitorConfig,
    load_config,
    parse_config,
)
from .configvalues import Duration, ListenAddress, SecretRef
from .errors import ConfigError, DataError, DriftlineError, ProfileError, StorageError
from .evaluate import ColumnDrift, DriftResult, evaluate, evaluate_window
from .profile import (
    CategoricalProfile,
    NumericProfile,
    ProfileBuilder,
    ReferenceProfile,
    build_profile,
    profile_from_source,
)

__all__ = [
    "CategoricalProfile",
    "ColumnConfig",
    "ColumnDrift",
    "ConfigError",
    "DataError",
    "DriftResult",
    "DriftSettings",
    "DriftlineError",
    "Duration",
    "ListenAddress",
    "ModelConfig",
    "MonitorConfig",
    "NumericProfile",
    "ProfileBuilder",
    "ProfileError",
    "ReferenceProfile",
    "SecretRef",
    "StorageError",
    "build_profile",
    "evaluate",
    "evaluate_window",
    "load_config",
    "parse_config",
    "profile_from_source",
]
