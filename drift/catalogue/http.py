"""The metrics both services export: HTTP refusals and the build."""

from __future__ import annotations

from .definition import COUNTER, EXPORTER, HTTP_REFUSAL_REASONS, INFO, WEBHOOK, declare

_BUILD = "Build"
HTTP_REFUSED = declare(
    "driftline_http_refused",
    COUNTER,
    "Requests refused outside an endpoint's own counters: slow or large headers, a slow body, no such endpoint or "
    "method, a report that cannot be built now.",
    ("reason",),
    served_by=f"{EXPORTER} and {WEBHOOK}",
    section=_BUILD,
    reason=HTTP_REFUSAL_REASONS,
)
BUILD_INFO = declare(
    "driftline_build",
    INFO,
    "The driftline version and the Python it runs on (always 1).",
    ("version", "python_version"),
    served_by=f"{EXPORTER} and {WEBHOOK}",
    section=_BUILD,
)
