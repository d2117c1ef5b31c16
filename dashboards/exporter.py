"""The *driftline* dashboard: is the monitor itself healthy — receiving events, evaluating, holding references,
and dispatching retrainings?"""

from __future__ import annotations

from typing import Any

from alerts import promql as q
from alerts.catalogue import SELF_DASHBOARD
from alerts.catalogue.exporter import REFERENCE_STALE, REJECT_RATE
from alerts.config import DeploymentConfig
from alerts.webhook.metrics import RETRAIN_NOTIFICATIONS
from drift import catalogue as m

from .common import (
    MODEL_SELECTOR,
    Layout,
    dashboard,
    datasource_variable,
    model_variables,
    stat,
    steps,
    table,
    target,
    timeseries,
    value_map,
)


def build(config: DeploymentConfig) -> dict[str, Any]:
    alerting = config.alerting
    job = f"job={q.string(alerting.exporter_job)}"
    reject = REJECT_RATE.settings(config).limit
    layout = Layout()
    layout.add(
        stat(
            "Exporter targets up",
            f"Scrape targets of job {alerting.exporter_job} that Prometheus reaches.",
            f"sum(up{{{job}}})",
            "none",
            thresholds=steps(("red", None), ("green", 1)),
        ),
        6,
        4,
    )
    layout.add(
        stat(
            "Reference loaded",
            "Whether the exporter holds the model's reference profile (/readyz fails until it does).",
            f"{m.REFERENCE_LOADED.series}{{{MODEL_SELECTOR}}}",
            "none",
            thresholds=steps(("red", None), ("green", 1)),
            mappings=value_map(("0", "NOT LOADED", "red"), ("1", "loaded", "green")),
        ),
        6,
        4,
    )
    layout.add(
        stat(
            "Reference age",
            "Time since the reference profile was built.",
            f"time() - {m.REFERENCE_CREATED.series}{{{MODEL_SELECTOR}}}",
            "s",
            thresholds=steps(("green", None), ("orange", REFERENCE_STALE.settings(config).limit)),
        ),
        6,
        4,
    )
    layout.add(
        stat(
            "Reference rows",
            "Rows of training data the reference profile was built from.",
            f"{m.REFERENCE_SAMPLES.series}{{{MODEL_SELECTOR}}}",
            "short",
        ),
        6,
        4,
    )
    layout.add(
        timeseries(
            "Events by outcome",
            "Inference logger events per second for the model: accepted into the window, sampled out "
            "(sampling.rate), or rejected.",
            [target(f"{q.EVENTS_RATE}{{{MODEL_SELECTOR}}}", "{{type}} {{outcome}}")],
            "cps",
        ),
        12,
        8,
    )
    layout.add(
        timeseries(
            "Rejected events by reason",
            "Events the exporter could not use, for every model of the job (unknown_model: an InferenceService "
            "that is not in the config logs to this exporter).",
            [target(f"{q.REJECTED_RATE}{{{job}}}", "{{reason}}")],
            "cps",
        ),
        12,
        8,
    )
    layout.add(
        timeseries(
            "Reject ratio",
            "Share of all events sent to the exporter that it rejected; the line is the DriftlineHighRejectRate "
            "threshold.",
            [target(f"{q.REJECTED_RATIO}{{{job}}}", "{{job}}")],
            "percentunit",
            thresholds=steps(("green", None), ("red", reject)),
        ),
        12,
        8,
    )
    if any(model.target is not None for model in config.models):
        layout.add(
            timeseries(
                "Rejected feedback by reason",
                "Feedback documents (POST /feedback) and label-file rows the exporter could not use: invalid_label "
                "(wrong type, missing id), bad_json, unknown_model, no_target, unsupported_type, too_large.",
                [
                    target(
                        f"sum by (reason) (rate({m.FEEDBACK_REJECTED.series}{{{job}}}[$__rate_interval]))", "{{reason}}"
                    )
                ],
                "cps",
            ),
            24,
            6,
        )
    buckets = f"rate({m.EVALUATION_DURATION.bucket}{{{MODEL_SELECTOR}}}[$__rate_interval])"
    layout.add(
        timeseries(
            "Evaluation duration",
            "Time to evaluate one window of the model (all statistics of all features).",
            [
                target(f"histogram_quantile(0.5, sum by (le) ({buckets}))", "p50", "A"),
                target(f"histogram_quantile(0.99, sum by (le) ({buckets}))", "p99", "B"),
            ],
            "s",
        ),
        12,
        8,
    )
    layout.add(
        table(
            "Reference profiles",
            "The reference profile each model is compared with: its version (a hash of its statistics) and where "
            "it was loaded from.",
            [
                target(f"{m.REFERENCE_INFO.series}{{{job}}}", ref="A", table=True),
                target(f"{m.REFERENCE_SAMPLES.series}{{{job}}}", ref="B", table=True),
                target(f"time() - {m.REFERENCE_CREATED.series}{{{job}}}", ref="C", table=True),
            ],
            columns={"B": ("rows", "short"), "C": ("age", "s")},
            hidden=["job", "instance", "Value #A"],
            sort_by="age",
        ),
        12,
        8,
    )
    layout.add(
        timeseries(
            "S3 log objects (pull mode)",
            "Archived payload objects read from S3 per second, by outcome; quarantined objects are skipped for good.",
            [target(f"rate({m.LOG_OBJECTS.series}{{{MODEL_SELECTOR}}}[$__rate_interval])", "{{outcome}}")],
            "cps",
        ),
        12,
        8,
    )
    layout.add(
        timeseries(
            "Retraining notifications",
            "Alertmanager notifications the retraining webhook handled in the last hour, by outcome "
            "(dispatched: a repository_dispatch was sent).",
            [target(f"sum by (outcome) (increase({RETRAIN_NOTIFICATIONS.series}[1h]))", "{{outcome}}")],
            "short",
        ),
        12,
        8,
    )
    layout.add(
        timeseries(
            "Exporter memory",
            "Resident memory of each exporter process. Windows are bounded; this should be flat.",
            [target(f"process_resident_memory_bytes{{{job}}}", "{{instance}}")],
            "bytes",
        ),
        12,
        8,
    )
    layout.add(
        timeseries(
            "Exporter CPU",
            "CPU seconds per second of each exporter process.",
            [target(f"rate(process_cpu_seconds_total{{{job}}}[$__rate_interval])", "{{instance}}")],
            "percentunit",
        ),
        12,
        8,
    )
    return dashboard(
        SELF_DASHBOARD,
        "driftline / Exporter",
        "The driftline exporter and retraining webhook: events, evaluations, reference profiles, dispatches.",
        [datasource_variable(), *model_variables()],
        layout,
    )
