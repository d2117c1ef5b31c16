"""Settings that are valid but unsafe, or no longer have an effect: what ``driftline check-config`` prints as warnings
and the services log at start. They are warnings, not errors, because each unsafe one has a legitimate use (plain
HTTP to a Service inside the cluster, behind a NetworkPolicy) and an obsolete one must not break a working config;
they are said out loud so nobody runs them by accident."""

from __future__ import annotations

import os
import stat

from .schema import MonitorConfig
from .values import SecretRef


def unsafe_settings(config: MonitorConfig) -> list[str]:
    """One ``key: what is unsafe (or obsolete) and what to do`` line per such setting."""
    warnings = []
    for i, model in enumerate(config.models):
        for key in ("sample_size", "seed"):
            if getattr(model.reference, key) is not None:
                warnings.append(
                    f"models[{i}].reference.{key}: has no effect since profile format 2 (KS is computed from fine "
                    "bins of the whole reference); remove it"
                )
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


def secret_refs(config: MonitorConfig) -> list[tuple[str, SecretRef]]:
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
