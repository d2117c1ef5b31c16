"""The monitor config (version 1) as typed, immutable values: models, their columns, windows and thresholds.

The ``alerting:`` and ``webhook:`` sections belong to the components that read them (:mod:`alerts.config`,
:mod:`alerts.webhook.config`); :mod:`.loader` reads a YAML file into these types and leaves those sections to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError
from .values import Duration, ListenAddress

CONFIG_VERSION = 1
NUMERIC = "numeric"
CATEGORICAL = "categorical"
CORRECTIONS = ("fdr", "bonferroni", "none")
DATA_FORMATS = ("auto", "csv", "parquet")


@dataclass(frozen=True)
class S3Config:
    endpoint_url: str | None = None
    region: str = "us-east-1"


@dataclass(frozen=True)
class ExporterConfig:
    listen: ListenAddress = ListenAddress("0.0.0.0", 8080)
    evaluate_every: Duration = Duration(30.0)
    max_body_bytes: int = 10 * 1024 * 1024
    reference_check_every: Duration = Duration(120.0)
    report_interval: Duration = Duration(60.0)  # GET /report serves a cached report younger than this
    report_max_rows: int = 5000  # rows sampled from each side for a report
    state_dir: str | None = None  # where the windows are checkpointed; None: a restart starts them empty
    checkpoint_every: Duration = Duration(5.0)
    bin_counts: bool = False  # publish each column's PSI-bin counts (what Prometheus pools across replicas)
    replicas: int = 1  # exporter processes sharing each model's traffic; above 1 the alerts read the pooled rules
    component: str = "predictor"  # whose events are windowed (KServe's Ce-Component); the others' are counted


@dataclass(frozen=True)
class ReferenceConfig:
    data: str
    profile: str
    format: str = "auto"
    sample_size: int | None = None  # no effect since profile format 2 (KS uses fine bins of the whole reference)
    seed: int | None = None  # no effect since profile format 2


VERSION_SOURCES = ("annotation", "header", "extension", "response")
INFERENCE_COMPONENTS = ("predictor", "transformer", "explainer")  # KServe's Ce-Component values
VERSION_PLACEHOLDER = "{version}"
MODEL_VERSION = r"[A-Za-z0-9][A-Za-z0-9._:+-]{0,62}"  # a label value and a file-name part, never a path


@dataclass(frozen=True)
class VersionsConfig:
    """Where the serving model version of an event is read, and the references of the versions.

    ``source``: ``annotation`` (an InferenceService annotation the logger copies into ``Ce-Annotations``,
    ``logger.metadataAnnotations``), ``header`` (a request header it copies into ``Ce-Metadata``,
    ``logger.metadataHeaders``), ``extension`` (a CloudEvent attribute) or ``response`` (the Open Inference Protocol
    response's ``model_version``; the request waits for its response by event id)."""

    source: str
    name: str = ""  # the annotation, header or extension that holds the version
    max_versions: int = 4  # versions monitored at once; traffic of more is counted, not windowed
    references: tuple[tuple[str, str], ...] = ()  # (version, profile URI) beyond reference.profile
    wait: Duration = Duration(60.0)  # response source: how long a request waits for its response's version
    compare_outputs: bool = True  # while versions serve together: each one's outputs against the oldest one's

    def reference_of(self, version: str, profile: str) -> str | None:
        """The profile URI of ``version``: listed in ``references``, or ``profile`` with ``{version}`` filled in;
        None when only ``profile`` itself can say (by the ``model_version`` it records)."""
        for listed, uri in self.references:
            if listed == version:
                return uri
        return profile.replace(VERSION_PLACEHOLDER, version) if VERSION_PLACEHOLDER in profile else None


@dataclass(frozen=True)
class ColumnConfig:
    """A feature (model input) or an output (prediction) and how it is binned."""

    name: str
    type: str

    @property
    def is_numeric(self) -> bool:
        return self.type == NUMERIC


@dataclass(frozen=True)
class WindowConfig:
    size: int = 5000  # at most this many rows (the newest)
    max_age: Duration = Duration(3600.0)  # rows older than this leave the window
    min_rows: int = 100  # fewer rows than this: statistics, but no drift decision


@dataclass(frozen=True)
class SamplingConfig:
    rate: float = 1.0


@dataclass(frozen=True)
class S3PullConfig:
    """Pull mode: objects under an S3 prefix read in the order they were written, after a persisted watermark —
    payloads the KServe logger archived (``source.s3_logs``) or label files (``feedback.s3_labels``)."""

    prefix: str
    poll: Duration = Duration(60.0)
    max_objects_per_poll: int = 1000
    watermark: str | None = None
    max_object_bytes: int = 16 * 1024 * 1024  # a larger object is quarantined unread


@dataclass(frozen=True)
class DriftSettings:
    bins: int = 10
    psi_threshold: float = 0.1
    alpha: float = 0.05
    correction: str = "fdr"
    drift_share: float = 0.5
    max_categories: int = 50
    range_margin: float = 0.0  # data quality: a value beyond [min − m·w, max + m·w] of the reference is out of range


CLASSIFICATION = "classification"
REGRESSION = "regression"
CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION_METRICS = ("mae", "rmse", "mape")


@dataclass(frozen=True)
class TargetConfig:
    """The ground truth of a model: the label column of the reference data and how predictions are scored."""

    name: str
    task: str  # classification | regression
    prediction: str  # the output compared with the label
    positive: str | None = None  # classification: the positive class; a numeric prediction is its probability
    threshold: float = 0.5  # a score at or above it predicts the positive class
    # a multiclass classifier's class probabilities: ((class, numeric output), ...) in class order — CBPE estimates
    # its quality from them; the predicted class is the class of the highest score
    scores: tuple[tuple[str, str], ...] = ()
    metric: str = "accuracy"  # what DriftlinePerformanceDrop watches
    max_degradation: float = 0.1  # relative loss of `metric` against the reference that counts as a drop
    min_samples: int = 200  # labelled predictions needed before a drop or a concept drift is decided
    window: WindowConfig = field(default_factory=lambda: WindowConfig(5000, Duration(30 * 86400.0), 0))
    detector_delta: float = 0.002  # ADWIN's confidence: a no-change window is flagged with probability ≤ δ

    @property
    def column(self) -> ColumnConfig:
        return ColumnConfig(self.name, CATEGORICAL if self.task == CLASSIFICATION else NUMERIC)


@dataclass(frozen=True)
class FeedbackConfig:
    """How labels arrive and how long predictions wait for them."""

    store_size: int = 100_000  # predictions (rows) kept for joining
    ttl: Duration = Duration(7 * 86400.0)  # a prediction older than this can no longer be labelled
    labels: S3PullConfig | None = None  # pull mode: CSV/Parquet/JSON-lines files with id, row, label, timestamp


@dataclass(frozen=True)
class MultivariateConfig:
    """Multivariate drift by PCA reconstruction (:mod:`drift.multivariate`) over the features."""

    variance: float = 0.65  # the share of the reference's variance the principal components keep
    reference_rows: int = 20_000  # reference rows sampled (uniformly, seeded) to fit them


@dataclass(frozen=True)
class ModelConfig:
    name: str
    namespace: str
    reference: ReferenceConfig
    features: tuple[ColumnConfig, ...]
    outputs: tuple[ColumnConfig, ...] = ()
    window: WindowConfig = field(default_factory=WindowConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    drift: DriftSettings = field(default_factory=DriftSettings)
    source: S3PullConfig | None = None
    target: TargetConfig | None = None
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    versions: VersionsConfig | None = None  # None: every event counts for one window, whatever version served it
    multivariate: MultivariateConfig | None = None  # None: columns are tested one at a time only
    defined_in: str | None = None  # the model file it comes from (model_files.dir); None: the main config

    @property
    def columns(self) -> tuple[ColumnConfig, ...]:
        """Features then outputs: the columns the live windows hold."""
        return self.features + self.outputs

    @property
    def profiled_columns(self) -> tuple[ColumnConfig, ...]:
        """Every column the reference data must hold: features, outputs and the target."""
        return self.columns + ((self.target.column,) if self.target is not None else ())


@dataclass(frozen=True)
class DashboardsConfig:
    # the label that tells clusters apart where one Grafana reads several (federation, Thanos): a Cluster variable
    cluster_label: str | None = None


@dataclass(frozen=True)
class ModelFilesConfig:
    """A folder of team model files (:mod:`.model_files`) beside the main config's ``models:``."""

    dir: str
    poll: Duration = Duration(10.0)  # how often the exporter looks for a changed file


@dataclass(frozen=True)
class MonitorConfig:
    models: tuple[ModelConfig, ...]
    version: int = CONFIG_VERSION
    s3: S3Config = field(default_factory=S3Config)
    exporter: ExporterConfig = field(default_factory=ExporterConfig)
    dashboards: DashboardsConfig = field(default_factory=DashboardsConfig)
    source: str | None = None
    model_files: ModelFilesConfig | None = None

    def model(self, name: str) -> ModelConfig:
        """The model called ``name``; raises ConfigError naming the models there are."""
        for model in self.models:
            if model.name == name:
                return model
        known = ", ".join(m.name for m in self.models)
        raise ConfigError([f"no model named {name!r} (models in the config: {known})"], self.source)


def data_format(uri: str) -> str | None:
    """``csv`` or ``parquet`` judged by the file name, or None when the name does not tell."""
    name = uri.lower()
    if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    return None
