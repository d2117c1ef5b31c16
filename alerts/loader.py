"""Reading the whole monitor config: drift's part (models, exporter) and the sections the alerting side owns —
``alerting:``, whose per-alert settings the alert catalogue declares, and ``webhook:`` — with every problem of
every section in one :class:`~drift.errors.ConfigError`. The command line, ``driftline generate`` and the webhook
read a config through here; a notebook reads drift's part with :func:`drift.load_config`."""

from __future__ import annotations

import os
import stat
from dataclasses import fields
from pathlib import Path
from typing import Any

from drift.config import MonitorConfig
from drift.config.loader import config_data, parse_with, read_config_text
from drift.config.reader import Section
from drift.config.safety import unsafe_settings as model_warnings
from drift.config.values import SecretRef

from .catalogue import ALERTS
from .config import AlertingConfig, DeploymentConfig, parse_alerting
from .webhook.config import WebhookConfig, parse_webhook


def load_deployment(path: str | os.PathLike[str], *, lenient_model_files: bool = False) -> DeploymentConfig:
    """Read and validate a monitor config file, every section of it (``lenient_model_files``: see
    :func:`drift.load_config`)."""
    return parse_deployment_text(read_config_text(path), path, lenient_model_files=lenient_model_files)


def parse_deployment_text(
    text: str, path: str | os.PathLike[str], *, lenient_model_files: bool = False
) -> DeploymentConfig:
    """Validate the text of the config file at ``path`` (for paths relative to it and error messages)."""
    data = config_data(text, str(path))
    return parse_deployment(data, Path(path).resolve().parent, str(path), lenient_model_files=lenient_model_files)


def parse_deployment(
    data: Any,
    base_dir: str | os.PathLike[str] = ".",
    source: str | None = None,
    *,
    lenient_model_files: bool = False,
) -> DeploymentConfig:
    """Validate an already-parsed config mapping. Relative paths resolve against ``base_dir``."""
    core, (alerting, webhook) = parse_with(data, _sections, base_dir, source, lenient_model_files=lenient_model_files)
    return with_sections(core, alerting, webhook)


def with_sections(core: MonitorConfig, alerting: AlertingConfig, webhook: WebhookConfig | None) -> DeploymentConfig:
    values = {f.name: getattr(core, f.name) for f in fields(MonitorConfig)}
    return DeploymentConfig(**values, alerting=alerting, webhook=webhook)


def _sections(root: Section, base_dir: Path) -> tuple[AlertingConfig, WebhookConfig | None]:
    alerting = parse_alerting(root.section("alerting"), ALERTS)
    webhook = parse_webhook(root.section("webhook"), base_dir) if root.has("webhook") else None
    return alerting, webhook


def unsafe_settings(config: DeploymentConfig) -> list[str]:
    """Settings that are valid but unsafe or obsolete, one ``key: what and what to do`` line each: what
    ``driftline check-config`` prints as warnings and the services log at start. Warnings, not errors: each unsafe
    one has a legitimate use (plain HTTP to a Service inside the cluster, behind a NetworkPolicy)."""
    warnings = model_warnings(config)
    plain = []
    if config.webhook is not None and config.webhook.github is not None:
        plain.append(("webhook.github.api_url", config.webhook.github.api_url, "the GitHub token"))
    if config.webhook is not None and config.webhook.kfp is not None:
        plain.append(("webhook.kfp.host", config.webhook.kfp.host, "the Kubeflow Pipelines token"))
    if config.alerting.retrain_webhook is not None:
        plain.append(("alerting.retrain_webhook.url", config.alerting.retrain_webhook.url, "the webhook's token"))
    for key, url, secret in plain:
        if url.startswith("http://"):
            warnings.append(f"{key}: {url} is plain HTTP: {secret} crosses the network unencrypted; use https://")
    for key, ref in secret_refs(config):
        if ref.scheme == "file":
            loose = _loose_mode(ref.target)
            if loose is not None:
                warnings.append(
                    f"{key}: {ref.target} is readable by others (mode {loose:o}); chmod 600 it "
                    "(a Kubernetes Secret volume: defaultMode: 0400)"
                )
    return warnings


def secret_refs(config: DeploymentConfig) -> list[tuple[str, SecretRef]]:
    refs: list[tuple[str, SecretRef | None]] = []
    if config.webhook is not None:
        refs.append(("webhook.token", config.webhook.token))
        if config.webhook.github is not None:
            refs.append(("webhook.github.token", config.webhook.github.token))
        if config.webhook.kfp is not None:
            refs.append(("webhook.kfp.token", config.webhook.kfp.token))
    return [(key, ref) for key, ref in refs if ref is not None]


def _loose_mode(path: str) -> int | None:
    """The file's permission bits when group or others may read or write it; None when it is private or absent."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None
    return mode if mode & 0o066 else None
