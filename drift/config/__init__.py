"""The monitor config (version 1): one YAML file describing the models, their features and thresholds, the alerts
and the retraining webhook.

* :mod:`.schema` — the typed, immutable config of the models and the exporter;
* :mod:`.alerting` — the ``alerting:`` section (what ``driftline generate`` writes rules and routing from);
* :mod:`.webhook` — the ``webhook:`` section (the retraining webhook and its targets);
* :mod:`.values` — value types (durations, addresses, secret references) and the key-path-aware reader;
* :mod:`.loader` — ``load_config`` and ``parse_config``.
"""

from __future__ import annotations

from .alerting import AlertingConfig, AlertRules, AlertSettings, PoolingConfig, ServingMetrics
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
from .webhook import KFP_TEMPLATE_FIELDS, GitHubConfig, KfpConfig, RetryConfig, WebhookConfig

__all__ = [
    "CATEGORICAL",
    "CLASSIFICATION",
    "CLASSIFICATION_METRICS",
    "CONFIG_VERSION",
    "KFP_TEMPLATE_FIELDS",
    "MODEL_VERSION",
    "NUMERIC",
    "REGRESSION",
    "REGRESSION_METRICS",
    "VERSION_PLACEHOLDER",
    "AlertRules",
    "AlertSettings",
    "AlertingConfig",
    "ColumnConfig",
    "DriftSettings",
    "Duration",
    "ExporterConfig",
    "FeedbackConfig",
    "GitHubConfig",
    "KfpConfig",
    "ListenAddress",
    "ModelConfig",
    "MonitorConfig",
    "PoolingConfig",
    "ReferenceConfig",
    "RetryConfig",
    "S3Config",
    "S3PullConfig",
    "SamplingConfig",
    "SecretRef",
    "ServingMetrics",
    "TargetConfig",
    "VersionsConfig",
    "WebhookConfig",
    "WindowConfig",
    "data_format",
    "load_config",
    "parse_config",
]
