"""The monitor config (version 1): one YAML file describing the models, their features and thresholds, the alerts
and the retraining webhook. This package reads the models' and the exporter's part — what a notebook and the exporter
need; the ``alerting:`` and ``webhook:`` sections are read by the components that own them (:mod:`alerts.config`).

* :mod:`.schema` — the typed, immutable config of the models and the exporter;
* :mod:`.values` — value types (durations, addresses, secret references) and their parsers; :mod:`.reader` the
  key-path-aware reader;
* :mod:`.loader` — ``load_config`` and ``parse_config``.
"""

from __future__ import annotations

from .loader import load_config, parse_config
from .schema import (
    CATEGORICAL,
    CLASSIFICATION,
    CLASSIFICATION_METRICS,
    CONFIG_VERSION,
    MODEL_VERSION,
    NUMERIC,
    REGRESSION,
    REGRESSION_METRICS,
    VERSION_PLACEHOLDER,
    ColumnConfig,
    DriftSettings,
    ExporterConfig,
    FeedbackConfig,
    ModelConfig,
    MonitorConfig,
    ReferenceConfig,
    S3Config,
    S3PullConfig,
    SamplingConfig,
    TargetConfig,
    VersionsConfig,
    WindowConfig,
    data_format,
)
from .values import Duration, ListenAddress, SecretRef

__all__ = [
    "CATEGORICAL",
    "CLASSIFICATION",
    "CLASSIFICATION_METRICS",
    "CONFIG_VERSION",
    "MODEL_VERSION",
    "NUMERIC",
    "REGRESSION",
    "REGRESSION_METRICS",
    "VERSION_PLACEHOLDER",
    "ColumnConfig",
    "DriftSettings",
    "Duration",
    "ExporterConfig",
    "FeedbackConfig",
    "ListenAddress",
    "ModelConfig",
    "MonitorConfig",
    "ReferenceConfig",
    "S3Config",
    "S3PullConfig",
    "SamplingConfig",
    "SecretRef",
    "TargetConfig",
    "VersionsConfig",
    "WindowConfig",
    "data_format",
    "load_config",
    "parse_config",
]
