"""Settings that are valid but unsafe, or no longer have an effect: what ``driftline check-config`` prints as warnings
and the services log at start. They are warnings, not errors, because each unsafe one has a legitimate use (plain
HTTP to a Service inside the cluster, behind a NetworkPolicy) and an obsolete one must not break a working config;
they are said out loud so nobody runs them by accident."""

from __future__ import annotations

from .schema import MonitorConfig


def unsafe_settings(config: MonitorConfig) -> list[str]:
    """One ``key: what is unsafe (or obsolete) and what to do`` line per such setting of drift's part of the config
    (the alerting side adds its own: :func:`alerts.loader.unsafe_settings`)."""
    warnings = []
    for i, model in enumerate(config.models):
        for key in ("sample_size", "seed"):
            if getattr(model.reference, key) is not None:
                warnings.append(
                    f"models[{i}].reference.{key}: has no effect since profile format 2 (KS is computed from fine "
                    "bins of the whole reference); remove it"
                )
    return warnings
