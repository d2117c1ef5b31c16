"""The ``webhook:`` section of the monitor config: where the retraining webhook listens, its secrets, its outbox
and the targets it starts retrainings on (GitHub ``repository_dispatch``, Kubeflow Pipelines runs)."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drift.config import values as v
from drift.config.reader import Section
from drift.config.values import Duration, ListenAddress, SecretRef


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
    "model_version",
    "dispatch_id",
    "alerts",
    "drifted_features",
    "starts_at",
    "dashboard_url",
    "alertmanager_url",
    "group_key",
    "reference_source",
    "registry_version",
    "registered",
    "profile_version",
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


def parse_webhook(sec: Section, base_dir: Path) -> WebhookConfig:
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
        state=sec.get("state", v.uri(base_dir, local_only=True), d.state),
        max_body_bytes=sec.get("max_body_bytes", v.integer(minimum=1024), d.max_body_bytes),
        retry=retry,
        kfp=kfp,
    )
    sec.finish()
    return config


def _github(g: Section) -> GitHubConfig:
    repo = v.matching(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", "OWNER/REPO")
    github = GitHubConfig(
        repository=g.get("repository", repo),
        token=g.get("token", v.secret_ref),
        event_type=g.get("event_type", _event_type, GitHubConfig.event_type),
        api_url=g.get("api_url", v.http_url, GitHubConfig.api_url),
        repositories=g.pairs("repositories", repo),
        timeout=g.get("timeout", v.duration, GitHubConfig.timeout),
    )
    g.finish()
    return github


@v.accepts({"type": ["string", "number"], "pattern": "\\S"})
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
    config = KfpConfig(
        host=k.get("host", v.http_url),
        experiment=k.get("experiment", v.string, "driftline-retraining"),
        pipeline_package=k.get("pipeline_package", v.uri(base_dir, local_only=True), None),
        pipeline_id=k.get("pipeline_id", v.string, None),
        version_id=k.get("version_id", v.string, None),
        arguments=k.pairs("arguments", _template),
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


@v.accepts({"type": "string", "pattern": "\\S", "maxLength": 100})
def _event_type(value: Any) -> str:
    text = v.string(value)
    if len(text) > 100:
        raise v.InvalidValueError("must be at most 100 characters (GitHub's limit for repository_dispatch)")
    return text
