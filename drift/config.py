"""The monitor config (version 1): one YAML file describing models, features, thresholds and alert routing.

``load_config(path)`` returns a typed, validated, immutable :class:`MonitorConfig` or raises
:class:`~drift.errors.ConfigError` listing every problem with its key path. Relative local paths
(``reference.data``, ``reference.profile``, ``webhook.state``) are resolved against the config file's folder,
so a config works the same from any working directory.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import configvalues as v
from .alertconfig import AlertingConfig, parse_alerting
from .configvalues import Duration, ListenAddress, SecretRef, Section
from .errors import ConfigError

CONFIG_VERSION = 1
NUMERIC = "numeric"
CATEGORICAL = "categorical"
CORRECTIONS = ("fdr", "bonferroni", "none")
DATA_FORMATS = ("auto", "csv", "parquet")
# InferenceService names are Kubernetes DNS-1035 labels; namespaces DNS-1123 labels.
_ISVC_NAME = r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?"
_NAMESPACE = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?|\*"


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


@dataclass(frozen=True)
class ReferenceConfig:
    data: str
    profile: str
    sample_size: int = 20000
    format: str = "auto"
    seed: int = 0


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
    size: int = 5000
    max_age: Duration = Duration(3600.0)


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


@dataclass(frozen=True)
class DriftSettings:
    bins: int = 10
    psi_threshold: float = 0.1
    alpha: float = 0.05
    correction: str = "fdr"
    drift_share: float = 0.5
    max_categories: int = 50


CLASSIFICATION = "classification"
REGRESSION = "regression"
CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION_METRICS = ("mae", "rmse")


@dataclass(frozen=True)
class TargetConfig:
    """The ground truth of a model: the label column of the reference data and how predictions are scored."""

    name: str
    task: str  # classification | regression
    prediction: str  # the output compared with the label
    positive: str | None = None  # classification: the positive class; a numeric prediction is its probability
    threshold: float = 0.5  # a score at or above it predicts the positive class
    metric: str = "accuracy"  # what DriftlinePerformanceDrop watches
    max_degradation: float = 0.1  # relative loss of `metric` against the reference that counts as a drop
    min_samples: int = 200  # labelled predictions needed before a drop or a concept drift is decided
    window: WindowConfig = field(default_factory=lambda: WindowConfig(5000, Duration(30 * 86400.0)))
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

    @property
    def columns(self) -> tuple[ColumnConfig, ...]:
        """Features then outputs: the columns the live windows hold."""
        return self.features + self.outputs

    @property
    def profiled_columns(self) -> tuple[ColumnConfig, ...]:
        """Every column the reference data must hold: features, outputs and the target."""
        return self.columns + ((self.target.column,) if self.target is not None else ())


@dataclass(frozen=True)
class GitHubConfig:
    repository: str
    token: SecretRef
    event_type: str = "drift-detected"
    api_url: str = "https://api.github.com"
    repositories: tuple[tuple[str, str], ...] = ()  # (model name, OWNER/REPO) where a model has its own repository
    timeout: Duration = Duration(10.0)

    def repository_for(self, model: str) -> str:
        return dict(self.repositories).get(model, self.repository)


@dataclass(frozen=True)
class RetryConfig:
    """Delivery retries: exponential backoff with jitter from ``initial_backoff`` up to ``max_backoff``."""

    initial_backoff: Duration = Duration(1.0)
    max_backoff: Duration = Duration(600.0)
    give_up_after: Duration = Duration(86400.0)


# What a KFP run's arguments and name may say about the incident (str.format fields).
KFP_TEMPLATE_FIELDS = (
    "model",
    "namespace",
    "dispatch_id",
    "alerts",
    "drifted_features",
    "starts_at",
    "dashboard_url",
    "alertmanager_url",
    "group_key",
)


@dataclass(frozen=True)
class KfpConfig:
    """Start a Kubeflow Pipelines run directly, through the KFP v2beta1 REST API."""

    host: str
    experiment: str
    pipeline_package: str | None = None
    pipeline_id: str | None = None
    version_id: str | None = None
    arguments: tuple[tuple[str, str], ...] = ()  # (pipeline parameter, template)
    run_name: str = "driftline-{model}-{dispatch_id}"
    token: SecretRef | None = None
    namespace: str | None = None  # multi-user KFP: the profile namespace experiments and runs belong to
    timeout: Duration = Duration(30.0)


@dataclass(frozen=True)
class WebhookConfig:
    token: SecretRef
    github: GitHubConfig | None = None
    listen: ListenAddress = ListenAddress("0.0.0.0", 8081)
    cooldown: Duration = Duration(6 * 3600.0)
    state: str = "/var/lib/driftline/webhook.sqlite"
    max_body_bytes: int = 1024 * 1024
    retry: RetryConfig = field(default_factory=RetryConfig)
    kfp: KfpConfig | None = None


@dataclass(frozen=True)
class MonitorConfig:
    models: tuple[ModelConfig, ...]
    version: int = CONFIG_VERSION
    s3: S3Config = field(default_factory=S3Config)
    exporter: ExporterConfig = field(default_factory=ExporterConfig)
    alerting: AlertingConfig = field(default_factory=AlertingConfig)
    webhook: WebhookConfig | None = None
    source: str | None = None

    def model(self, name: str) -> ModelConfig:
        """The model called ``name``; raises ConfigError naming the models there are."""
        for model in self.models:
            if model.name == name:
                return model
        known = ", ".join(m.name for m in self.models)
        raise ConfigError([f"no model named {name!r} (models in the config: {known})"], self.source)


# --- loading ---


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader that rejects duplicate keys, which plain YAML silently resolves to the last one."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_config(path: str | os.PathLike[str]) -> MonitorConfig:
    """Read and validate a monitor config file."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(["file not found; pass the monitor config with --config PATH"], source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot read the file: {getattr(exc, 'strerror', None) or exc}"], source) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"invalid YAML: {where}{problem}"], source) from None
    return parse_config(data, base_dir=Path(path).resolve().parent, source=source)


def parse_config(data: Any, base_dir: str | os.PathLike[str] = ".", source: str | None = None) -> MonitorConfig:
    """Validate an already-parsed config mapping. Relative paths resolve against ``base_dir``."""
    problems: list[str] = []
    root = Section(data, "", problems)
    if data is None:
        raise ConfigError(["the file is empty; see the README for a complete example"], source)
    version = root.get("version", v.integer(), CONFIG_VERSION)
    if version != CONFIG_VERSION:
        root.problem("version", f"must be {CONFIG_VERSION} (this driftline reads config version {CONFIG_VERSION})")
        raise ConfigError(problems, source)
    s3 = _s3(root.section("s3"))
    exporter = _exporter(root.section("exporter"))
    models = tuple(_model(Section(item, path, problems), Path(base_dir)) for path, item in root.items("models"))
    if not root.has("models") or not models:
        root.problem("models", "must list at least one model")
    _check_unique_models(models, problems)
    alerting = parse_alerting(root.section("alerting"))
    webhook = _webhook(root.section("webhook"), Path(base_dir)) if root.has("webhook") else None
    root.finish()
    if problems:
        raise ConfigError(problems, source)
    return MonitorConfig(
        models=models, version=version, s3=s3, exporter=exporter, alerting=alerting, webhook=webhook, source=source
    )


def _s3(sec: Section) -> S3Config:
    config = S3Config(
        endpoint_url=sec.get("endpoint_url", v.http_url, None),
        region=sec.get("region", v.string, S3Config.region),
    )
    sec.finish()
    return config


def _exporter(sec: Section) -> ExporterConfig:
    defaults = ExporterConfig()
    config = ExporterConfig(
        listen=sec.get("listen", v.listen_address, defaults.listen),
        evaluate_every=sec.get("evaluate_every", v.duration, defaults.evaluate_every),
        max_body_bytes=sec.get("max_body_bytes", v.integer(minimum=1024), defaults.max_body_bytes),
        reference_check_every=sec.get("reference_check_every", v.duration, defaults.reference_check_every),
        report_interval=sec.get("report_interval", v.duration, defaults.report_interval),
        report_max_rows=sec.get("report_max_rows", v.integer(minimum=10, maximum=1_000_000), defaults.report_max_rows),
    )
    sec.finish()
    return config


def _model(sec: Section, base_dir: Path) -> ModelConfig:
    name = sec.get("name", v.matching(_ISVC_NAME, "an InferenceService name (lowercase letters, digits and '-')"))
    namespace = sec.get("namespace", v.matching(_NAMESPACE, 'a Kubernetes namespace or "*"'), "default")
    reference = _reference(sec.section("reference"), base_dir)
    features = _columns(sec, "features", required=True)
    outputs = _columns(sec, "outputs", required=False)
    seen: dict[str, str] = {}
    for kind, columns in (("features", features), ("outputs", outputs)):
        for i, column in enumerate(columns):
            here = f"{sec.key_path(kind)}[{i}].name"
            if column.name in seen:
                sec.problem(here, f"{column.name!r} is already used by {seen[column.name]}; names must be unique")
            else:
                seen[column.name] = here.removesuffix(".name")
    window_sec = sec.section("window")
    window = WindowConfig(
        size=window_sec.get("size", v.integer(minimum=1, maximum=10_000_000), WindowConfig.size),
        max_age=window_sec.get("max_age", v.duration, WindowConfig().max_age),
    )
    window_sec.finish()
    sampling_sec = sec.section("sampling")
    sampling = SamplingConfig(rate=sampling_sec.get("rate", v.number(0, 1, low_open=True), SamplingConfig.rate))
    sampling_sec.finish()
    drift = _drift(sec.section("drift"))
    source = _source(sec.section("source"), base_dir) if sec.has("source") else None
    target = _target(sec.section("target"), outputs, seen) if sec.has("target") else None
    feedback = _feedback(sec.section("feedback"), base_dir) if sec.has("feedback") else FeedbackConfig()
    if sec.has("feedback") and target is None:
        sec.problem(sec.key_path("feedback"), "labels need a target: add target: {name: ..., task: ...}")
    sec.finish()
    return ModelConfig(
        name=name,
        namespace=namespace,
        reference=reference,
        features=tuple(features),
        outputs=tuple(outputs),
        window=window,
        sampling=sampling,
        drift=drift,
        source=source,
        target=target,
        feedback=feedback,
    )


def _target(sec: Section, outputs: list[ColumnConfig], seen: dict[str, str]) -> TargetConfig:
    name = sec.get("name", v.string)
    if name in seen:
        sec.problem(sec.key_path("name"), f"{name!r} is already used by {seen[name]}; the label needs its own column")
    task = sec.get("task", v.choice(CLASSIFICATION, REGRESSION))
    by_name = {c.name: c for c in outputs}
    default_prediction = outputs[0].name if len(outputs) == 1 else None
    prediction = sec.get("prediction", v.string, default_prediction)
    column = by_name.get(prediction) if prediction is not None else None
    if prediction is None:
        sec.problem(sec.key_path("prediction"), "name the output the label is compared with (one of outputs[])")
    elif column is None:
        sec.problem(sec.key_path("prediction"), f"{prediction!r} is not one of the model's outputs")
    positive = sec.get("positive", _category, None)
    scored = task == CLASSIFICATION and column is not None and column.is_numeric
    if scored and positive is None:
        sec.problem(
            sec.key_path("positive"),
            f'{prediction!r} is numeric, so it is a score: name the class it is the probability of (e.g. "1")',
        )
    if task == REGRESSION and column is not None and not column.is_numeric:
        sec.problem(sec.key_path("prediction"), f"a regression's prediction must be numeric; {prediction!r} is not")
    metrics = CLASSIFICATION_METRICS if task == CLASSIFICATION else REGRESSION_METRICS
    default_metric = "accuracy" if task == CLASSIFICATION else "rmse"
    metric = sec.get("metric", v.choice(*metrics), default_metric)
    if metric in ("roc_auc", "log_loss") and not scored:
        sec.problem(sec.key_path("metric"), f"{metric} needs scores: make target.prediction a numeric probability")
    d = TargetConfig
    window_sec = sec.section("window")
    window = WindowConfig(
        size=window_sec.get("size", v.integer(minimum=1, maximum=10_000_000), 5000),
        max_age=window_sec.get("max_age", v.duration, Duration(30 * 86400.0)),
    )
    window_sec.finish()
    config = TargetConfig(
        name=name,
        task=task,
        prediction=prediction or "",
        positive=positive,
        threshold=sec.get("threshold", v.number(0, 1), d.threshold),
        metric=metric,
        max_degradation=sec.get("max_degradation", v.number(0, float("inf"), low_open=True), d.max_degradation),
        min_samples=sec.get("min_samples", v.integer(minimum=1, maximum=10_000_000), d.min_samples),
        window=window,
        detector_delta=sec.get("detector_delta", v.number(0, 1, low_open=True, high_open=True), d.detector_delta),
    )
    sec.finish()
    return config


def _category(value: Any) -> str:
    """A class label spelled as live labels are (``drift.values.category_of``): ``1``, ``true``, ``yes``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float) or (isinstance(value, str) and value):
        return value if isinstance(value, str) else repr(value)
    raise v.InvalidValueError(f"{value!r} is not a class label (a string, number or boolean)")


def _feedback(sec: Section, base_dir: Path) -> FeedbackConfig:
    d = FeedbackConfig
    config = FeedbackConfig(
        store_size=sec.get("store_size", v.integer(minimum=1, maximum=100_000_000), d.store_size),
        ttl=sec.get("ttl", v.duration, d.ttl),
        labels=_pull(sec, base_dir, "s3_labels", required=False),
    )
    sec.finish()
    return config


def _s3_prefix(value: object) -> str:
    text = v.string(value)
    if not text.startswith("s3://") or not text[5:].split("/", 1)[0]:
        raise v.InvalidValueError(f"{text!r} is not s3://BUCKET/PREFIX")
    return text.rstrip("/")


def _source(sec: Section, base_dir: Path) -> S3PullConfig:
    config = _pull(sec, base_dir, "s3_logs", required=True)
    sec.finish()
    assert config is not None
    return config


def _pull(sec: Section, base_dir: Path, prefix_key: str, *, required: bool) -> S3PullConfig | None:
    """The pull-mode keys of a section: ``prefix_key`` (an ``s3://`` prefix), ``poll``, ``max_objects_per_poll``,
    ``watermark``. None when the prefix is optional and absent."""
    d = S3PullConfig
    prefix = sec.get(prefix_key, _s3_prefix) if required else sec.get(prefix_key, _s3_prefix, None)
    poll = sec.get("poll", v.duration, d.poll)
    max_objects = sec.get("max_objects_per_poll", v.integer(minimum=1, maximum=100_000), d.max_objects_per_poll)
    watermark = sec.get("watermark", _uri(base_dir), None)
    return S3PullConfig(prefix, poll, max_objects, watermark) if prefix else None


def _reference(sec: Section, base_dir: Path) -> ReferenceConfig:
    data = sec.get("data", _uri(base_dir))
    fmt = sec.get("format", v.choice(*DATA_FORMATS), "auto")
    if data and fmt == "auto" and data_format(data) is None:
        sec.problem(
            sec.key_path("data"),
            f"cannot tell the format of {data!r} from its name; use .csv, .csv.gz or .parquet, or set reference.format",
        )
    config = ReferenceConfig(
        data=data,
        profile=sec.get("profile", _uri(base_dir)),
        sample_size=sec.get("sample_size", v.integer(minimum=10, maximum=10_000_000), ReferenceConfig.sample_size),
        format=fmt,
        seed=sec.get("seed", v.integer(minimum=0), ReferenceConfig.seed),
    )
    sec.finish()
    return config


def _columns(parent: Section, key: str, required: bool) -> list[ColumnConfig]:
    columns = []
    for path, item in parent.items(key):
        sec = Section(item, path, parent.problems)
        columns.append(
            ColumnConfig(name=sec.get("name", v.string), type=sec.get("type", v.choice(NUMERIC, CATEGORICAL)))
        )
        sec.finish()
    if required and not columns:
        parent.problem(parent.key_path(key), "must list at least one feature: {name: ..., type: numeric}")
    return columns


def _drift(sec: Section) -> DriftSettings:
    d = DriftSettings()
    config = DriftSettings(
        bins=sec.get("bins", v.integer(minimum=2, maximum=1000), d.bins),
        psi_threshold=sec.get("psi_threshold", v.number(0, float("inf")), d.psi_threshold),
        alpha=sec.get("alpha", v.number(0, 1, low_open=True, high_open=True), d.alpha),
        correction=sec.get("correction", v.choice(*CORRECTIONS), d.correction),
        drift_share=sec.get("drift_share", v.number(0, 1, low_open=True), d.drift_share),
        max_categories=sec.get("max_categories", v.integer(minimum=1, maximum=10_000), d.max_categories),
    )
    sec.finish()
    return config


def _webhook(sec: Section, base_dir: Path) -> WebhookConfig:
    d = WebhookConfig
    github = _github(sec.section("github")) if sec.has("github") else None
    kfp = _kfp(sec.section("kfp"), base_dir) if sec.has("kfp") else None
    if github is None and kfp is None:
        sec.problem(sec.key_path("github"), "is required (or kfp): where should a retraining be started?")
    r = sec.section("retry")
    retry = RetryConfig(
        initial_backoff=r.get("initial_backoff", v.duration, RetryConfig.initial_backoff),
        max_backoff=r.get("max_backoff", v.duration, RetryConfig.max_backoff),
        give_up_after=r.get("give_up_after", v.duration, RetryConfig.give_up_after),
    )
    r.finish()
    config = WebhookConfig(
        token=sec.get("token", v.secret_ref),
        github=github,
        listen=sec.get("listen", v.listen_address, d.listen),
        cooldown=sec.get("cooldown", v.duration, d.cooldown),
        state=sec.get("state", _uri(base_dir, local_only=True), d.state),
        max_body_bytes=sec.get("max_body_bytes", v.integer(minimum=1024), d.max_body_bytes),
        retry=retry,
        kfp=kfp,
    )
    sec.finish()
    return config


def _github(g: Section) -> GitHubConfig:
    repo = v.matching(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", "OWNER/REPO")
    repositories: list[tuple[str, str]] = []
    if g.has("repositories"):
        per_model = g.section("repositories")
        for model in list(per_model.data):
            repositories.append((str(model), per_model.get(str(model), repo)))
        per_model.finish()
    github = GitHubConfig(
        repository=g.get("repository", repo),
        token=g.get("token", v.secret_ref),
        event_type=g.get("event_type", _event_type, GitHubConfig.event_type),
        api_url=g.get("api_url", v.http_url, GitHubConfig.api_url),
        repositories=tuple(repositories),
        timeout=g.get("timeout", v.duration, GitHubConfig.timeout),
    )
    g.finish()
    return github


def _template(value: Any) -> str:
    """A str.format template using only the incident's fields."""
    text = v.string(value) if not isinstance(value, int | float) or isinstance(value, bool) else str(value)
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise v.InvalidValueError(f"{text!r} is not a valid template: {exc}") from None
    unknown = sorted(f for f in fields if f not in KFP_TEMPLATE_FIELDS)
    if unknown:
        raise v.InvalidValueError(
            f"{text!r} uses {{{unknown[0]}}}; templates may use {', '.join('{' + f + '}' for f in KFP_TEMPLATE_FIELDS)}"
        )
    return text


def _kfp(k: Section, base_dir: Path) -> KfpConfig:
    arguments: list[tuple[str, str]] = []
    if k.has("arguments"):
        args = k.section("arguments")
        for name in list(args.data):
            arguments.append((str(name), args.get(str(name), _template)))
        args.finish()
    config = KfpConfig(
        host=k.get("host", v.http_url),
        experiment=k.get("experiment", v.string, "driftline-retraining"),
        pipeline_package=k.get("pipeline_package", _uri(base_dir, local_only=True), None),
        pipeline_id=k.get("pipeline_id", v.string, None),
        version_id=k.get("version_id", v.string, None),
        arguments=tuple(arguments),
        run_name=k.get("run_name", _template, KfpConfig.run_name),
        token=k.get("token", v.secret_ref, None),
        namespace=k.get("namespace", v.string, None),
        timeout=k.get("timeout", v.duration, KfpConfig.timeout),
    )
    if (config.pipeline_package is None) == (config.pipeline_id is None):
        k.problem(k.path, "needs exactly one of pipeline_package (a compiled pipeline YAML) or pipeline_id")
    if config.version_id is not None and config.pipeline_id is None:
        k.problem(k.key_path("version_id"), "is only used with pipeline_id")
    k.finish()
    return config


def _event_type(value: Any) -> str:
    text = v.string(value)
    if len(text) > 100:
        raise v.InvalidValueError("must be at most 100 characters (GitHub's limit for repository_dispatch)")
    return text


def _uri(base_dir: Path, local_only: bool = False) -> Any:
    def parse(value: Any) -> str:
        text = v.string(value)
        if text.startswith("s3://"):
            if local_only:
                raise v.InvalidValueError(f"{text!r} must be a local path")
            bucket, _, key = text[5:].partition("/")
            if not bucket or not key:
                raise v.InvalidValueError(f"{text!r} is not s3://BUCKET/KEY")
            return text
        if "://" in text:
            raise v.InvalidValueError(f"{text!r}: only local paths and s3://BUCKET/KEY are supported")
        return str(base_dir / os.path.expanduser(text))

    return parse


def data_format(uri: str) -> str | None:
    """``csv`` or ``parquet`` judged by the file name, or None when the name does not tell."""
    name = uri.lower()
    if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    return None


def _check_unique_models(models: tuple[ModelConfig, ...], problems: list[str]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for i, model in enumerate(models):
        key = (model.name, model.namespace)
        if model.name and key in seen:
            problems.append(
                f"models[{i}].name: {model.name!r} in namespace {model.namespace!r} is already models[{seen[key]}]"
            )
        seen.setdefault(key, i)
