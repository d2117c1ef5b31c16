"""Reading one entry of ``models:``: its columns, reference, window, drift settings, target, feedback, versions and
pull-mode source, each problem recorded under its key path (``models[0].drift.alpha: …``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import values as v
from .reader import Section
from .schema import (
    CATEGORICAL,
    CLASSIFICATION,
    CLASSIFICATION_METRICS,
    CORRECTIONS,
    DATA_FORMATS,
    MODEL_VERSION,
    NUMERIC,
    REGRESSION,
    REGRESSION_METRICS,
    VERSION_PLACEHOLDER,
    VERSION_SOURCES,
    ColumnConfig,
    DriftSettings,
    FeedbackConfig,
    ModelConfig,
    MultivariateConfig,
    ReferenceConfig,
    S3PullConfig,
    SamplingConfig,
    TargetConfig,
    VersionsConfig,
    WindowConfig,
    data_format,
)
from .values import Duration

# InferenceService names are Kubernetes DNS-1035 labels; namespaces DNS-1123 labels.
_ISVC_NAME = r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?"
_NAMESPACE = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?|\*"


def read_model(sec: Section, base_dir: Path) -> ModelConfig:
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
        min_rows=window_sec.get("min_rows", v.integer(minimum=0, maximum=10_000_000), WindowConfig.min_rows),
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
    versions = _versions(sec.section("versions"), base_dir) if sec.has("versions") else None
    multivariate = _multivariate(sec.section("multivariate")) if sec.has("multivariate") else None
    if multivariate is not None and len(features) < 2:
        sec.problem(sec.key_path("multivariate"), "needs at least two features: it watches how they move together")
    if versions is None and VERSION_PLACEHOLDER in (reference.profile or ""):
        sec.problem(
            sec.key_path("reference.profile"),
            f"{VERSION_PLACEHOLDER} names the serving version's profile; add versions: {{source: ...}} to say where "
            "the version is read",
        )
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
        versions=versions,
        multivariate=multivariate,
    )


def _multivariate(sec: Section) -> MultivariateConfig:
    d = MultivariateConfig()
    config = MultivariateConfig(
        variance=sec.get("variance", v.number(0, 1, low_open=True, high_open=True), d.variance),
        reference_rows=sec.get("reference_rows", v.integer(minimum=100, maximum=1_000_000), d.reference_rows),
    )
    sec.finish()
    return config


def _versions(sec: Section, base_dir: Path) -> VersionsConfig:
    source = sec.get("source", v.choice(*VERSION_SOURCES))
    name = sec.get("name", v.string, "")
    if source and source != "response" and not name:
        sec.problem(sec.key_path("name"), f"is required with source: {source} (the {source} that holds the version)")
    version = v.matching(MODEL_VERSION, "a model version (letters, digits and . _ : + -, at most 63)")
    references = sec.pairs("references", v.profile_uri(base_dir), version)
    defaults = VersionsConfig(source)
    config = VersionsConfig(
        source=source,
        name=name,
        max_versions=sec.get("max_versions", v.integer(minimum=1, maximum=64), defaults.max_versions),
        references=references,
        wait=sec.get("wait", v.duration, defaults.wait),
        compare_outputs=sec.get("compare_outputs", v.boolean, defaults.compare_outputs),
    )
    sec.finish()
    return config


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
    scores = sec.pairs("scores", v.string, _class_name)
    if scores:
        _check_class_scores(sec, scores, task, by_name, column)
    if scored and positive is None:
        sec.problem(
            sec.key_path("positive"),
            f'{prediction!r} is numeric, so it is a score: name the class it is the probability of (e.g. "1")',
        )
    if task == REGRESSION and column is not None and not column.is_numeric:
        sec.problem(sec.key_path("prediction"), f"a regression's prediction must be numeric; {prediction!r} is not")
    metrics = CLASSIFICATION_METRICS if task == CLASSIFICATION else REGRESSION_METRICS
    metric = sec.get("metric", v.choice(*CLASSIFICATION_METRICS, *REGRESSION_METRICS), None)
    if metric is None:
        metric = "accuracy" if task == CLASSIFICATION else "rmse"
    elif task and metric not in metrics:
        sec.problem(sec.key_path("metric"), f"must be one of {', '.join(metrics)} for a {task}, not {metric!r}")
    if metric in ("roc_auc", "log_loss") and not scored:
        why = "the labelled path scores class predictions" if scores else "make target.prediction a numeric probability"
        sec.problem(sec.key_path("metric"), f"{metric} needs a binary classifier's score: {why}")
    d = TargetConfig
    window_sec = sec.section("window")
    window = WindowConfig(
        size=window_sec.get("size", v.integer(minimum=1, maximum=10_000_000), 5000),
        max_age=window_sec.get("max_age", v.duration, Duration(30 * 86400.0)),
        min_rows=0,
    )
    window_sec.finish()
    config = TargetConfig(
        name=name,
        task=task,
        prediction=prediction or "",
        positive=positive,
        threshold=sec.get("threshold", v.number(0, 1), d.threshold),
        scores=scores,
        metric=metric,
        max_degradation=sec.get("max_degradation", v.number(0, float("inf"), low_open=True), d.max_degradation),
        min_samples=sec.get("min_samples", v.integer(minimum=1, maximum=10_000_000), d.min_samples),
        window=window,
        detector_delta=sec.get("detector_delta", v.number(0, 1, low_open=True, high_open=True), d.detector_delta),
    )
    sec.finish()
    return config


@v.accepts({"type": "string", "pattern": "\\S"})
def _class_name(key: str) -> str:
    """A class of ``target.scores``, spelled as live labels are (a YAML key ``1`` reads as the label "1")."""
    return _category(key)


def _check_class_scores(
    sec: Section,
    scores: tuple[tuple[str, str], ...],
    task: str,
    outputs: Mapping[str, ColumnConfig],
    prediction: ColumnConfig | None,
) -> None:
    where = sec.key_path("scores")
    if task != CLASSIFICATION:
        sec.problem(where, "class scores belong to a classification target")
    if len(scores) < 3:
        sec.problem(where, "lists a multiclass classifier's classes (3 or more); a binary classifier's score is "
                    "target.prediction with target.positive")  # fmt: skip
    for label, output in scores:
        column = outputs.get(output)
        if column is None or not column.is_numeric:
            sec.problem(f"{where}.{label}", f"{output!r} is not one of the model's numeric outputs")
    if len({output for _, output in scores}) < len(scores):
        sec.problem(where, "names one output for two classes")
    if prediction is not None and prediction.is_numeric:
        sec.problem(sec.key_path("prediction"), "with class scores, the prediction is the predicted class: a "
                    "categorical output")  # fmt: skip


@v.accepts({"type": ["string", "number", "boolean"], "pattern": "\\S"})
def _category(value: Any) -> str:
    """A class label spelled as live labels are (``drift.coercion.category_of``): ``1``, ``true``, ``yes``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float) or (isinstance(value, str) and value.strip()):
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


@v.accepts({"type": "string", "pattern": "^s3://[^/]"})
def _s3_prefix(value: object) -> str:
    text = v.string(value)
    if not text.startswith("s3://") or not text[5:].split("/", 1)[0]:
        raise v.InvalidValueError(f"{text!r} is not s3://BUCKET/PREFIX")
    return text.rstrip("/")


def _source(sec: Section, base_dir: Path) -> S3PullConfig | None:
    """None only when ``s3_logs`` is missing or invalid, which is a problem already recorded."""
    config = _pull(sec, base_dir, "s3_logs", required=True)
    sec.finish()
    return config


def _pull(sec: Section, base_dir: Path, prefix_key: str, *, required: bool) -> S3PullConfig | None:
    """The pull-mode keys of a section: ``prefix_key`` (an ``s3://`` prefix), ``poll``, ``max_objects_per_poll``,
    ``watermark``. None when the prefix is optional and absent."""
    d = S3PullConfig
    prefix = sec.get(prefix_key, _s3_prefix) if required else sec.get(prefix_key, _s3_prefix, None)
    poll = sec.get("poll", v.duration, d.poll)
    max_objects = sec.get("max_objects_per_poll", v.integer(minimum=1, maximum=100_000), d.max_objects_per_poll)
    watermark = sec.get("watermark", v.uri(base_dir), None)
    max_bytes = sec.get("max_object_bytes", v.integer(minimum=1024, maximum=1 << 30), d.max_object_bytes)
    return S3PullConfig(prefix, poll, max_objects, watermark, max_bytes) if prefix else None


def _reference(sec: Section, base_dir: Path) -> ReferenceConfig:
    data = sec.get("data", v.uri(base_dir))
    fmt = sec.get("format", v.choice(*DATA_FORMATS), "auto")
    if data and fmt == "auto" and data_format(data) is None:
        sec.problem(
            sec.key_path("data"),
            f"cannot tell the format of {data!r} from its name; use .csv, .csv.gz or .parquet, or set reference.format",
        )
    config = ReferenceConfig(
        data=data,
        profile=sec.get("profile", v.profile_uri(base_dir)),
        sample_size=sec.get("sample_size", v.integer(minimum=10, maximum=10_000_000), None),
        format=fmt,
        seed=sec.get("seed", v.integer(minimum=0), None),
    )
    sec.finish()
    return config


def _columns(parent: Section, key: str, required: bool) -> list[ColumnConfig]:
    columns = []
    if_empty = "must list at least one feature: {name: ..., type: numeric}" if required else None
    for path, item in parent.items(key, if_empty=if_empty):
        sec = Section(item, path, parent.problems)
        columns.append(
            ColumnConfig(name=sec.get("name", v.string), type=sec.get("type", v.choice(NUMERIC, CATEGORICAL)))
        )
        sec.finish()
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
        range_margin=sec.get("range_margin", v.number(0, float("inf")), d.range_margin),
    )
    sec.finish()
    return config
