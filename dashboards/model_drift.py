"""The *Model drift* dashboard: is this model's data still the data it was trained on, and which features moved?"""

from __future__ import annotations

from typing import Any

from grafanalib import core as g

from alerts import pooling
from alerts import promql as q
from alerts.catalogue import MODEL_DRIFT_DASHBOARD, report_link
from alerts.config import DeploymentConfig
from alerts.signals import decisions
from drift import catalogue as m
from drift.layout import MISSING_BIN
from drift.statistics import STATISTICS

from .common import (
    DATASOURCE,
    FEATURES,
    MODEL_SELECTOR,
    VERSIONS,
    Layout,
    dashboard,
    dashed_series,
    datasource_variable,
    model_variables,
    psi_panel,
    stat,
    steps,
    table,
    target,
    timeseries,
    value_map,
)
from .data_quality import add_data_quality_row
from .multivariate import add_multivariate_row
from .performance import add_estimated_row, add_quality_row, estimates, metric_variable
from .pooled import WINDOW, add_pooled_row
from .statistics import add_statistic_panel
from .versions import add_versions_row

SERVING = "job, instance, model, model_namespace"  # a version's series meet the model's settings on these


def _any_of(name: str, label: str, query: str) -> g.Template:
    """A variable of several values, all by default (``.*``: also a series without the label)."""
    return g.Template(
        name=name,
        label=label,
        query=query,
        dataSource=DATASOURCE,
        refresh=2,
        multi=True,
        includeAll=True,
        allValue=".*",
        default="$__all",
    )


def _feature_variable() -> g.Template:
    return _any_of("feature", "Feature", f"label_values({m.FEATURE_MISSING_RATIO.series}{{{MODEL_SELECTOR}}}, feature)")


def _version_variable() -> g.Template:
    """The serving versions of the model (none for a model whose versions are not told apart: then every series)."""
    query = f"label_values({m.WINDOW_SAMPLES.series}{{{MODEL_SELECTOR}}}, model_version)"
    return _any_of("model_version", "Model version", query)


def version_annotation() -> dict[str, Any]:
    """Mark the first ten minutes of each model version's traffic: where a rollout began on every time series."""
    serving = f'{m.WINDOW_SAMPLES.series}{{{MODEL_SELECTOR}, model_version!=""}}'
    by = "model, model_namespace, model_version"
    return {
        "datasource": DATASOURCE,
        "enable": True,
        "expr": f"max by ({by}) ({serving}) unless max by ({by}) ({serving} offset 10m)",
        "iconColor": "purple",
        "name": "model versions",
        "step": "1m",
        "tagKeys": "model_version",
        "textFormat": "model version {{ model_version }} started serving",
        "titleFormat": "version {{ model_version }}",
        "useValueForTime": False,
    }


def _window_variable(config: DeploymentConfig) -> g.Template:
    windows = [str(w) for w in config.alerting.pooling.windows]
    return g.Template(
        name="window",
        label="Pooled window",
        type="custom",
        query=",".join(windows),
        default=windows[0],
    )


def _bin_shares(config: DeploymentConfig) -> g.Table:
    """Each bin's share of the valid rows, live and in the reference, per feature."""
    keys = "model, model_namespace, model_version, feature"
    valid = f'{FEATURES}, bin!="{MISSING_BIN}"'
    if pooling.pooled(config):
        rows = f"{pooling.FEATURES.rows_in_bins(WINDOW)}{{{valid}}}"
        where = "over the pooled window chosen above, all replicas together"
    else:
        rows = f"increase({m.FEATURE_BIN_ROWS.series}{{{valid}}}[$__range])"
        where = "over the dashboard's time range"
    live = f"sum by ({keys}, bin) ({rows})"
    reference = f"max by ({keys}, bin) ({m.REFERENCE_FEATURE_BIN_ROWS.series}{{{FEATURES}}})"
    return table(
        "Bin shares: live vs reference",
        f"Each PSI bin's share of the feature's valid rows {where}, next to the reference's share of the same bin "
        "(bin: index from the lowest values for a numeric feature, the category for a categorical one). The bins "
        "that gained or lost most are where the distribution moved.",
        [
            target(f"{live} / on ({keys}) group_left () sum by ({keys}) ({live})", ref="A", table=True),
            target(f"{reference} / on ({keys}) group_left () sum by ({keys}) ({reference})", ref="B", table=True),
        ],
        columns={"A": ("live share", "percentunit"), "B": ("reference share", "percentunit")},
        hidden=["model", "model_namespace"],
        sort_by="live share",
    )


def build(config: DeploymentConfig) -> dict[str, Any]:
    layout = Layout()
    signal = decisions(config, WINDOW)  # what the alerts read, over the window chosen on the dashboard
    pooled = signal.pooled
    dataset_drifted = f"{signal.dataset_drifted}{{{VERSIONS}}}"
    drift_share = f"{signal.drift_share}{{{VERSIONS}}}"
    layout.add(
        stat(
            "Dataset drift",
            "Whether the share of drifted features reached the model's drift_share (the retraining trigger)"
            + (", pooled across the replicas over the chosen window." if pooled else "."),
            dataset_drifted,
            "none",
            thresholds=steps(("green", None), ("red", 1)),
            mappings=value_map(("0", "no drift", "green"), ("1", "DRIFT", "red")),
        ),
        4,
        4,
    )
    layout.add(
        stat(
            "Drift share",
            "Share of the model's features that drifted (significant after correction and PSI at least the "
            "threshold). The Dataset drift panel says whether it reached drift_share.",
            drift_share,
            "percentunit",
            thresholds=steps(("green", None), ("orange", 0.01)),
        ),
        4,
        4,
    )
    layout.add(
        stat(
            "Drifted features",
            "How many of the model's features drifted.",
            f"{q.FEATURES_DRIFTED}{{{VERSIONS}}}",
            "none",
            thresholds=steps(("green", None), ("orange", 1)),
        ),
        4,
        4,
    )
    layout.add(
        stat(
            "Window fill",
            "Rows in the current window as a share of window.size. Statistics on a thin window are uncertain "
            "(the p-values account for it).",
            f"{m.WINDOW_SAMPLES.series}{{{VERSIONS}}} / on ({SERVING}) group_left () "
            f"{m.WINDOW_MAX_SAMPLES.series}{{{MODEL_SELECTOR}}}",
            "percentunit",
            thresholds=steps(("orange", None), ("green", 0.2)),
        ),
        4,
        4,
    )
    layout.add(
        stat(
            "Window samples",
            "Rows in the current feature window (bounded by window.size and window.max_age).",
            f"{m.WINDOW_SAMPLES.series}{{{VERSIONS}}}",
            "none",
        ),
        4,
        4,
    )
    layout.add(
        stat(
            "Last evaluation",
            "Time since the exporter last evaluated this model. More than a few evaluate_every: the window is "
            "empty or the exporter is stuck.",
            f"time() - {m.LAST_EVALUATION.series}{{{VERSIONS}}}",
            "s",
            thresholds=steps(("green", None), ("orange", 300), ("red", 1800)),
        ),
        4,
        4,
    )
    layout.add(
        psi_panel(
            "PSI per feature",
            "Population Stability Index of each feature, current window vs reference. The dashed line is the "
            "model's psi_threshold; a feature drifts when its PSI is above it and its test is significant.",
            f"{m.FEATURE_PSI.series}{{{FEATURES}}}",
            "{{feature}} {{model_version}}",
        ),
        24,
        9,
    )
    layout.add(
        timeseries(
            "KS p-value (numeric features)",
            "Two-sample Kolmogorov-Smirnov p-value, before the multiple-testing correction. The dashed line is "
            "alpha; lower is more significant (log scale).",
            [
                target(f"{m.FEATURE_KS_PVALUE.series}{{{FEATURES}}}", "{{feature}} {{model_version}}", "A"),
                target(f"{m.SIGNIFICANCE_LEVEL.series}{{{MODEL_SELECTOR}}}", "alpha", "B"),
            ],
            "none",
            overrides=[dashed_series("alpha")],
            log_scale=True,
        ),
        12,
        8,
    )
    layout.add(
        timeseries(
            "Chi-square p-value (categorical features)",
            "Chi-square test p-value of the binned category counts, before correction. The dashed line is alpha.",
            [
                target(f"{m.FEATURE_CHI2_PVALUE.series}{{{FEATURES}}}", "{{feature}} {{model_version}}", "A"),
                target(f"{m.SIGNIFICANCE_LEVEL.series}{{{MODEL_SELECTOR}}}", "alpha", "B"),
            ],
            "none",
            overrides=[dashed_series("alpha")],
            log_scale=True,
        ),
        12,
        8,
    )
    layout.add(
        table(
            "Features ranked by PSI",
            "The current window per feature, most drifted first. KS for numeric, chi-square for categorical "
            "features; p-values before correction.",
            [
                target(f"{m.FEATURE_PSI.series}{{{FEATURES}}}", ref="A", table=True),
                target(f"{m.FEATURE_PSI_PVALUE.series}{{{FEATURES}}}", ref="B", table=True),
                target(f"{m.FEATURE_KS_PVALUE.series}{{{FEATURES}}}", ref="C", table=True),
                target(f"{m.FEATURE_CHI2_PVALUE.series}{{{FEATURES}}}", ref="D", table=True),
                target(f"{m.FEATURE_JS_DISTANCE.series}{{{FEATURES}}}", ref="E", table=True),
                target(f"{m.FEATURE_MISSING_RATIO.series}{{{FEATURES}}}", ref="F", table=True),
                target(f"{m.FEATURE_DRIFTED.series}{{{FEATURES}}}", ref="G", table=True),
            ],
            columns={
                "A": ("PSI", "none"),
                "B": ("PSI p-value", "none"),
                "C": ("KS p-value", "none"),
                "D": ("chi² p-value", "none"),
                "E": ("JS distance", "none"),
                "F": ("missing", "percentunit"),
                "G": ("drifted", "bool_yes_no"),
            },
            hidden=["job", "instance", "model", "model_namespace"],  # model_version stays: versions side by side
            sort_by="PSI",
        ),
        24,
        9,
    )
    layout.add(
        psi_panel(
            "Prediction drift (PSI per output)",
            "PSI of each model output (from response events) against the outputs on the reference data. The "
            "dashed line is psi_threshold.",
            f"{m.PREDICTION_PSI.series}{{{VERSIONS}}}",
            "{{output}} {{model_version}}",
        ),
        12,
        8,
    )
    layout.add(
        timeseries(
            "Prediction PSI p-value",
            "Sample-size-aware p-value of each output's PSI; the dashed line is alpha.",
            [
                target(f"{m.PREDICTION_PSI_PVALUE.series}{{{VERSIONS}}}", "{{output}} {{model_version}}", "A"),
                target(f"{m.SIGNIFICANCE_LEVEL.series}{{{MODEL_SELECTOR}}}", "alpha", "B"),
            ],
            "none",
            overrides=[dashed_series("alpha")],
            log_scale=True,
        ),
        12,
        8,
    )
    for statistic in STATISTICS:  # the statistics that declare a panel: one time series per feature each
        if statistic.panel is not None:
            add_statistic_panel(layout, statistic.panel, statistic.published)
    layout.add(
        timeseries(
            "Missing or invalid values",
            "Share of the window's values that were null, NaN or of the wrong type. A jump usually means an "
            "upstream schema change, not drift.",
            [target(f"{m.FEATURE_MISSING_RATIO.series}{{{FEATURES}}}", "{{feature}} {{model_version}}")],
            "percentunit",
            max_value=1,
        ),
        12,
        8,
    )
    layout.add(
        timeseries(
            "Window samples",
            "Rows in the feature and output windows; the dashed line is window.size.",
            [
                target(f"{m.WINDOW_SAMPLES.series}{{{VERSIONS}}}", "features {{model_version}}", "A"),
                target(f"{m.OUTPUT_WINDOW_SAMPLES.series}{{{VERSIONS}}}", "outputs {{model_version}}", "B"),
                target(f"{m.WINDOW_MAX_SAMPLES.series}{{{MODEL_SELECTOR}}}", "window.size", "C"),
            ],
            "none",
            overrides=[dashed_series("window.size", "blue")],
        ),
        24,
        7,
    )
    versioned = [model for model in config.models if model.versions is not None]
    if any(model.outputs for model in versioned):
        add_versions_row(layout)
    if any(model.multivariate is not None for model in config.models):
        add_multivariate_row(layout)
    add_data_quality_row(layout)
    if pooled:
        add_pooled_row(layout)
    if config.exporter.bin_counts:
        layout.add(_bin_shares(config), 24, 9)
    if any(model.target is not None for model in config.models):
        add_quality_row(layout)
    if estimates(config):
        add_estimated_row(layout)
    links = []
    if config.alerting.exporter_url is not None:
        report = report_link(config.alerting.exporter_url, "${model_namespace}", "${model}")
        links.append({"type": "link", "title": "Live drift report", "url": report, "targetBlank": True})
    return dashboard(
        MODEL_DRIFT_DASHBOARD,
        "driftline / Model drift",
        "Data, prediction and concept drift of one model served by KServe, measured by the driftline exporter.",
        [
            datasource_variable(),
            *model_variables(),
            _version_variable(),
            _feature_variable(),
            *([metric_variable()] if estimates(config) else []),
            *([_window_variable(config)] if pooled else []),
        ],
        layout,
        links=links,
        annotations=[version_annotation()] if versioned else [],
    )
