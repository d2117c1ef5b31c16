"""Reading a monitor config: ``load_config(path)`` returns a validated, immutable :class:`~.schema.MonitorConfig` or
raises :class:`~drift.errors.ConfigError` listing every problem with its key path.

Relative local paths (``reference.data``, ``reference.profile``, ``webhook.state``) are resolved against the config
file's folder, so a config works the same from any working directory.

The ``alerting:`` and ``webhook:`` sections (:data:`COMPONENT_SECTIONS`) belong to the components that read them:
:func:`parse_config` lets them be and :func:`parse_with` hands the same reader to a component's parser, so one
``driftline check-config`` lists the problems of every section at once (:mod:`alerts.loader`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..boundary import InputError, Limits, load_yaml, read_regular, shown
from ..errors import ConfigError
from . import values as v
from .model_files import combine, duplicates, scan
from .models import read_model
from .reader import Blueprint, Section
from .schema import (
    CONFIG_VERSION,
    INFERENCE_COMPONENTS,
    DashboardsConfig,
    ExporterConfig,
    ModelFilesConfig,
    MonitorConfig,
    S3Config,
)

T = TypeVar("T")

# Top-level sections other components read (alerts.config, alerts.webhook.config): a notebook leaves them alone.
COMPONENT_SECTIONS = ("alerting", "webhook")
# A config is a few KB; a team's file with hundreds of models a few hundred. Anchors and aliases are fine, an
# expansion past this many values is not.
CONFIG_LIMITS = Limits(max_bytes=4 * 1024 * 1024, max_depth=64, max_nodes=200_000)


def load_config(path: str | os.PathLike[str], *, lenient_model_files: bool = False) -> MonitorConfig:
    """Read and validate a monitor config file, and its model files (``model_files.dir``): a problem in one is a
    problem of the config — or, ``lenient_model_files``, that file's models are left out (the exporter's start: it
    refuses such a file itself, and keeps watching it)."""
    return parse_config_text(read_config_text(path), path, lenient_model_files=lenient_model_files)


def read_config_text(path: str | os.PathLike[str]) -> str:
    """The text of a config file, read within :data:`CONFIG_LIMITS`; ConfigError naming the file when it cannot be."""
    source = str(path)
    try:
        data = read_regular(path, CONFIG_LIMITS.max_bytes)
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(["file not found; pass the monitor config with --config PATH"], source) from None
    except InputError as exc:
        raise ConfigError([f"cannot read the file: {exc}"], source) from None
    except UnicodeDecodeError as exc:
        byte = shown(data[exc.start : exc.start + 1])
        raise ConfigError([f"not UTF-8 text (byte {exc.start:,} is {byte})"], source) from None
    except OSError as exc:
        raise ConfigError([f"cannot read the file: {exc.strerror or exc}"], source) from None
    return text


def config_data(text: str, source: str) -> Any:
    """The YAML document of a config, decoded within :data:`CONFIG_LIMITS`."""
    try:
        return load_yaml(text, CONFIG_LIMITS)
    except InputError as exc:
        raise ConfigError([f"invalid YAML: {exc}"], source) from None


def parse_config_text(text: str, path: str | os.PathLike[str], *, lenient_model_files: bool = False) -> MonitorConfig:
    """Validate the text of the config file at ``path`` (for paths relative to it and error messages)."""
    data = config_data(text, str(path))
    base_dir = Path(path).resolve().parent
    return parse_config(data, base_dir=base_dir, source=str(path), lenient_model_files=lenient_model_files)


def parse_config(
    data: Any, base_dir: str | os.PathLike[str] = ".", source: str | None = None, *, lenient_model_files: bool = False
) -> MonitorConfig:
    """Validate an already-parsed config mapping. Relative paths resolve against ``base_dir``."""
    config, _ = parse_with(data, lambda root, base: None, base_dir, source, lenient_model_files=lenient_model_files)
    return config


def parse_with(
    data: Any,
    components: Callable[[Section, Path], T],
    base_dir: str | os.PathLike[str] = ".",
    source: str | None = None,
    *,
    lenient_model_files: bool = False,
) -> tuple[MonitorConfig, T]:
    """drift's part of a config and what ``components`` reads of the same root (the sections it owns), with the
    problems of both in one ConfigError."""
    problems: list[str] = []
    root = Section(data, "", problems)
    if data is None:
        raise ConfigError(["the file is empty; see the README for a complete example"], source)
    version = root.get("version", _config_version, CONFIG_VERSION)
    if version != CONFIG_VERSION:
        root.problem("version", f"must be {CONFIG_VERSION} (this driftline reads config version {CONFIG_VERSION})")
        raise ConfigError(problems, source)
    s3 = _s3(root.section("s3"))
    exporter = _exporter(root.section("exporter"), Path(base_dir))
    if exporter.replicas > 1 and not exporter.bin_counts:
        root.problem("exporter.replicas", "above 1 needs exporter.bin_counts: the replicas are pooled from them")
    model_files = _model_files(root.section("model_files"), Path(base_dir)) if root.has("model_files") else None
    empty = None if model_files is not None else "must list at least one model (or name a model_files.dir)"
    listed = root.items("models", if_empty=empty)
    models = tuple(read_model(Section(item, path, problems), Path(base_dir)) for path, item in listed)
    problems += duplicates(models)
    if model_files is not None and not isinstance(data, Blueprint):
        combined, refused = combine(models, scan(model_files.dir))
        models = tuple(combined)
        if not lenient_model_files:
            problems += [f"{file.path}: {problem}" for file in refused for problem in file.problems]
    theirs = components(root, Path(base_dir))
    dashboards = _dashboards(root.section("dashboards"))
    root.leave(*COMPONENT_SECTIONS)
    root.finish()
    if problems:
        raise ConfigError(problems, source)
    config = MonitorConfig(
        models=models,
        version=version,
        s3=s3,
        exporter=exporter,
        dashboards=dashboards,
        source=source,
        model_files=model_files,
    )
    return config, theirs


def _model_files(sec: Section, base_dir: Path) -> ModelFilesConfig:
    config = ModelFilesConfig(
        dir=sec.get("dir", v.uri(base_dir, local_only=True)),
        poll=sec.get("poll", v.duration, ModelFilesConfig.poll),
    )
    sec.finish()
    return config


# labels the dashboards already select or group by: a cluster label cannot be one of them
_DRIFTLINE_LABELS = ("model", "model_namespace", "model_version", "feature", "output", "job", "instance", "le")


@v.accepts({"type": "string", "pattern": v.fullmatch(v.PROM_LABEL), "not": {"enum": list(_DRIFTLINE_LABELS)}})
def _cluster_label(value: Any) -> str:
    label = v.matching(v.PROM_LABEL, "a Prometheus label name")(value)
    if label in _DRIFTLINE_LABELS:
        raise v.InvalidValueError(f"{label!r} is one of driftline's own labels; name the label your clusters differ by")
    return label


def _dashboards(sec: Section) -> DashboardsConfig:
    config = DashboardsConfig(cluster_label=sec.get("cluster_label", _cluster_label, None))
    sec.finish()
    return config


@v.accepts({"const": CONFIG_VERSION})
def _config_version(value: Any) -> int:
    return v.integer()(value)


def _s3(sec: Section) -> S3Config:
    config = S3Config(
        endpoint_url=sec.get("endpoint_url", v.http_url, None),
        region=sec.get("region", v.string, S3Config.region),
    )
    sec.finish()
    return config


def _exporter(sec: Section, base_dir: Path) -> ExporterConfig:
    defaults = ExporterConfig()
    replicas = sec.get("replicas", v.integer(minimum=1, maximum=1000), defaults.replicas)
    # the bin counts cost 2k + 2 series a column: by default published only where the pooling rules read them
    config = ExporterConfig(
        listen=sec.get("listen", v.listen_address, defaults.listen),
        evaluate_every=sec.get("evaluate_every", v.duration, defaults.evaluate_every),
        max_body_bytes=sec.get("max_body_bytes", v.integer(minimum=1024), defaults.max_body_bytes),
        reference_check_every=sec.get("reference_check_every", v.duration, defaults.reference_check_every),
        report_interval=sec.get("report_interval", v.duration, defaults.report_interval),
        report_max_rows=sec.get("report_max_rows", v.integer(minimum=10, maximum=1_000_000), defaults.report_max_rows),
        state_dir=sec.get("state_dir", v.uri(base_dir, local_only=True), None),
        checkpoint_every=sec.get("checkpoint_every", v.duration, defaults.checkpoint_every),
        bin_counts=bins if (bins := sec.get("bin_counts", v.boolean, None)) is not None else replicas > 1,
        replicas=replicas,
        component=sec.get("component", v.choice(*INFERENCE_COMPONENTS), defaults.component),
    )
    sec.finish()
    return config
