"""The exporter's statistics: drift, settings, reference, bin counts, quality, data quality, estimated performance,
model versions. Its operation (ingestion, state, model files, ground truth) is in :mod:`.operation`."""

from __future__ import annotations

from ..statistics import STATISTICS
from .definition import (
    COMPARED,
    COUNTER,
    GAUGE,
    MODEL,
    PAYLOAD_ERRORS,
    VALUE_QUALITIES,
    VERSIONED,
    declare,
)

_DRIFT = "Drift"
# One gauge per published output of each registered statistic (drift.statistics), in the registry's order.
FEATURE_STATISTICS = {
    output.name: declare(
        f"driftline_feature_{output.name}", GAUGE, output.help, (*VERSIONED, "feature"), section=_DRIFT
    )
    for statistic in STATISTICS
    for output in statistic.published
    if output.help is not None
}
FEATURE_PSI = FEATURE_STATISTICS["psi"]
FEATURE_PSI_PVALUE = FEATURE_STATISTICS["psi_pvalue"]
FEATURE_KS_STATISTIC = FEATURE_STATISTICS["ks_statistic"]
FEATURE_KS_PVALUE = FEATURE_STATISTICS["ks_pvalue"]
FEATURE_CHI2_PVALUE = FEATURE_STATISTICS["chi2_pvalue"]
FEATURE_JS_DISTANCE = FEATURE_STATISTICS["js_distance"]
FEATURE_DRIFTED = declare(
    "driftline_feature_drifted",
    GAUGE,
    "1 when the feature drifted: corrected p-value < alpha and PSI >= threshold. Absent while the window holds fewer "
    "than window.min_rows rows: nothing is decided.",
    (*VERSIONED, "feature"),
    section=_DRIFT,
)
FEATURE_MISSING_RATIO = declare(
    "driftline_feature_missing_ratio",
    GAUGE,
    "Share of missing or invalid values of the feature in the window.",
    (*VERSIONED, "feature"),
    section=_DRIFT,
)
PREDICTION_PSI = declare(
    "driftline_prediction_psi",
    GAUGE,
    "Population Stability Index of the model output, current window vs reference.",
    (*VERSIONED, "output"),
    section=_DRIFT,
)
PREDICTION_PSI_PVALUE = declare(
    "driftline_prediction_psi_pvalue",
    GAUGE,
    "Sample-size-aware p-value of the output's PSI.",
    (*VERSIONED, "output"),
    section=_DRIFT,
)
PREDICTION_DRIFTED = declare(
    "driftline_prediction_drifted",
    GAUGE,
    "1 when the output drifted. Absent below window.min_rows responses.",
    (*VERSIONED, "output"),
    section=_DRIFT,
)
DATASET_DRIFT_SHARE = declare(
    "driftline_dataset_drift_share", GAUGE, "Share of the model's features that drifted.", VERSIONED, section=_DRIFT
)
DATASET_DRIFTED = declare(
    "driftline_dataset_drifted",
    GAUGE,
    "1 when the drift share reached drift_share. Absent (as is the share) below window.min_rows rows.",
    VERSIONED,
    section=_DRIFT,
)
_MULTIVARIATE = "Multivariate drift"
MULTIVARIATE_ERROR = declare(
    "driftline_multivariate_reconstruction_error",
    GAUGE,
    "Mean PCA reconstruction error of the window's rows (with multivariate: in the config).",
    VERSIONED,
    section=_MULTIVARIATE,
)
MULTIVARIATE_REFERENCE_ERROR = declare(
    "driftline_multivariate_reference_error",
    GAUGE,
    "Mean PCA reconstruction error of the reference's rows, out of sample.",
    VERSIONED,
    section=_MULTIVARIATE,
)
MULTIVARIATE_ERROR_UPPER = declare(
    "driftline_multivariate_reconstruction_error_upper",
    GAUGE,
    "The largest mean reconstruction error a window of this size shows without drift, at alpha.",
    VERSIONED,
    section=_MULTIVARIATE,
)
MULTIVARIATE_PVALUE = declare(
    "driftline_multivariate_drift_pvalue",
    GAUGE,
    "One-sided p-value of the window's mean reconstruction error against the reference's.",
    VERSIONED,
    section=_MULTIVARIATE,
)
MULTIVARIATE_DRIFTED = declare(
    "driftline_multivariate_drifted",
    GAUGE,
    "1 when the multivariate drift p-value is below alpha.",
    VERSIONED,
    section=_MULTIVARIATE,
)
WINDOW_SAMPLES = declare(
    "driftline_window_samples", GAUGE, "Rows in the current feature window.", VERSIONED, section=_DRIFT
)
OUTPUT_WINDOW_SAMPLES = declare(
    "driftline_output_window_samples",
    GAUGE,
    "Rows in the current output (prediction) window.",
    VERSIONED,
    section=_DRIFT,
)
LAST_EVALUATION = declare(
    "driftline_last_evaluation_timestamp_seconds",
    GAUGE,
    "Unix time of the model's last evaluation.",
    VERSIONED,
    section=_DRIFT,
)

_SETTINGS = "Settings (so dashboards draw the lines alerts use)"
PSI_THRESHOLD = declare(
    "driftline_psi_threshold",
    GAUGE,
    "The model's drift.psi_threshold: a feature drifts only with a PSI at least this.",
    section=_SETTINGS,
)
SIGNIFICANCE_LEVEL = declare(
    "driftline_significance_level",
    GAUGE,
    "The model's drift.alpha: corrected p-values below it are significant.",
    section=_SETTINGS,
)
DRIFT_SHARE_THRESHOLD = declare(
    "driftline_drift_share_threshold",
    GAUGE,
    "The model's drift.drift_share: the dataset drifts at this share.",
    section=_SETTINGS,
)
WINDOW_MAX_SAMPLES = declare(
    "driftline_window_max_samples", GAUGE, "The model's window.size: the most rows a window holds.", section=_SETTINGS
)
WINDOW_MIN_SAMPLES = declare(
    "driftline_window_min_samples",
    GAUGE,
    "The model's window.min_rows: with fewer rows, statistics but no drift decision.",
    section=_SETTINGS,
)
PERFORMANCE_DEGRADATION_THRESHOLD = declare(
    "driftline_performance_degradation_threshold", GAUGE, "The model's target.max_degradation.", section=_SETTINGS
)

_REFERENCE = "Reference profile"
REFERENCE_SAMPLES = declare(
    "driftline_reference_samples", GAUGE, "Rows the reference profile was built from.", VERSIONED, section=_REFERENCE
)
REFERENCE_INFO = declare(
    "driftline_reference_info",
    GAUGE,
    "The loaded reference profile (always 1). source: reference.profile as configured; registry_version: the MLflow "
    "model version it was read from (empty unless source is models:/…).",
    (*VERSIONED, "version", "source", "registry_version"),
    section=_REFERENCE,
)
REFERENCE_LOADED = declare(
    "driftline_reference_loaded",
    GAUGE,
    "1 when the model's reference profile is loaded.",
    VERSIONED,
    section=_REFERENCE,
)
REFERENCE_CREATED = declare(
    "driftline_reference_created_timestamp_seconds",
    GAUGE,
    "Unix time the loaded reference profile was built.",
    VERSIONED,
    section=_REFERENCE,
)

_BINS = "Bin counts (pooled across replicas by Prometheus)"
_BIN_LABEL = " bin: a numeric column's bin index (00 lowest), a category, __other__, or __missing__ (missing values)."
FEATURE_BIN_ROWS = declare(
    "driftline_feature_bin_rows",
    COUNTER,
    "Rows this exporter counted in each PSI bin of the feature since it loaded the reference profile." + _BIN_LABEL,
    (*VERSIONED, "feature", "bin"),
    section=_BINS,
)
OUTPUT_BIN_ROWS = declare(
    "driftline_output_bin_rows",
    COUNTER,
    "Rows this exporter counted in each PSI bin of the model output since it loaded the reference profile."
    + _BIN_LABEL,
    (*VERSIONED, "output", "bin"),
    section=_BINS,
)
REFERENCE_FEATURE_BIN_ROWS = declare(
    "driftline_reference_feature_bin_rows",
    GAUGE,
    "Reference rows in each PSI bin of the feature (their sum is the feature's valid reference rows).",
    (*VERSIONED, "feature", "bin"),
    section=_BINS,
)
REFERENCE_OUTPUT_BIN_ROWS = declare(
    "driftline_reference_output_bin_rows",
    GAUGE,
    "Reference rows in each PSI bin of the model output.",
    (*VERSIONED, "output", "bin"),
    section=_BINS,
)
FEATURE_CHI2_CRITICAL = declare(
    "driftline_feature_chi2_critical",
    GAUGE,
    "The chi-square critical value the feature's pooled PSI statistic must exceed: χ²⁻¹(1 − α/m; k − 1) for its k "
    "PSI bins, Bonferroni over the model's m features. What the pooled rules decide with.",
    (*VERSIONED, "feature"),
    section=_BINS,
)
OUTPUT_CHI2_CRITICAL = declare(
    "driftline_output_chi2_critical",
    GAUGE,
    "The chi-square critical value the output's pooled PSI statistic must exceed (as for features, over the "
    "model's outputs).",
    (*VERSIONED, "output"),
    section=_BINS,
)

_QUALITY = "Model quality (models with a target)"
PERFORMANCE = declare(
    "driftline_performance",
    GAUGE,
    "Model quality on the window of labelled predictions.",
    (*MODEL, "metric"),
    section=_QUALITY,
)
REFERENCE_PERFORMANCE = declare(
    "driftline_reference_performance",
    GAUGE,
    "Model quality on the labelled reference data (from the profile).",
    (*MODEL, "metric"),
    section=_QUALITY,
)
LABELLED_WINDOW_SAMPLES = declare(
    "driftline_labelled_window_samples",
    GAUGE,
    "Labelled predictions in the model's performance window.",
    section=_QUALITY,
)
PERFORMANCE_DEGRADATION = declare(
    "driftline_performance_degradation",
    GAUGE,
    "Relative loss of target.metric against the reference (positive = worse).",
    section=_QUALITY,
)
PERFORMANCE_ERROR_RATE = declare(
    "driftline_performance_error_rate",
    GAUGE,
    "Share of wrong predictions (regression: error above the reference's p90).",
    section=_QUALITY,
)
REFERENCE_ERROR_RATE = declare(
    "driftline_reference_error_rate", GAUGE, "The same share on the reference data.", section=_QUALITY
)
PERFORMANCE_PVALUE = declare(
    "driftline_performance_pvalue",
    GAUGE,
    "One-sided binomial p-value that the error rate exceeds the reference's.",
    section=_QUALITY,
)
PERFORMANCE_DROPPED = declare(
    "driftline_performance_dropped",
    GAUGE,
    "1 when target.metric lost max_degradation and the error rise is significant.",
    section=_QUALITY,
)
CONCEPT_DRIFT = declare(
    "driftline_concept_drift_detected",
    GAUGE,
    "1 when ADWIN finds a rise of the error rate within the labelled window.",
    section=_QUALITY,
)
LABEL_PSI = declare(
    "driftline_label_psi",
    GAUGE,
    "PSI of the label distribution, labelled window vs reference target.",
    section=_QUALITY,
)
LABEL_PSI_PVALUE = declare(
    "driftline_label_psi_pvalue", GAUGE, "Sample-size-aware p-value of the label PSI.", section=_QUALITY
)
LABEL_DRIFTED = declare(
    "driftline_label_drifted", GAUGE, "1 when the label distribution drifted (as for a feature).", section=_QUALITY
)

_DATA_QUALITY = "Data quality (per feature, against the reference)"
FEATURE_VALUES = declare(
    "driftline_feature_values",
    COUNTER,
    "Values of the feature counted since the reference profile loaded, by quality: valid, missing, out_of_range "
    "(numeric, beyond the reference's range and drift.range_margin), unseen_category (categorical, not in the "
    "reference's vocabulary).",
    (*VERSIONED, "feature", "quality"),
    section=_DATA_QUALITY,
    quality=VALUE_QUALITIES,
)
FEATURE_PAYLOAD_ERRORS = declare(
    "driftline_feature_payload_errors",
    COUNTER,
    "Values of the feature that could not be read, counted as missing: type (a string where a number is expected, "
    "an object), absent (the payload lacks the column).",
    (*VERSIONED, "feature", "error"),
    section=_DATA_QUALITY,
    error=PAYLOAD_ERRORS,
)

_ESTIMATED = "Estimated performance (before the labels: classifiers' scores, a regression's inputs)"
ESTIMATED_PERFORMANCE = declare(
    "driftline_estimated_performance",
    GAUGE,
    "Model quality estimated without labels: a classifier's from its calibrated scores (CBPE), a regression's from "
    "its loss models over its inputs and predictions (DLE).",
    (*VERSIONED, "metric"),
    section=_ESTIMATED,
)
ESTIMATED_PERFORMANCE_LOWER = declare(
    "driftline_estimated_performance_lower",
    GAUGE,
    "Lower end of the band the realised metric falls in once these predictions are labelled (1 - alpha).",
    (*VERSIONED, "metric"),
    section=_ESTIMATED,
)
ESTIMATED_PERFORMANCE_UPPER = declare(
    "driftline_estimated_performance_upper",
    GAUGE,
    "Upper end of that band.",
    (*VERSIONED, "metric"),
    section=_ESTIMATED,
)
ESTIMATED_SAMPLES = declare(
    "driftline_estimated_performance_samples",
    GAUGE,
    "Predictions the estimate is computed from (a sample of the window: scored outputs, or a regression's requests "
    "joined to their responses).",
    VERSIONED,
    section=_ESTIMATED,
)
ESTIMATED_DEGRADATION = declare(
    "driftline_estimated_performance_degradation",
    GAUGE,
    "Estimated relative loss of target.metric against the reference (positive = worse).",
    VERSIONED,
    section=_ESTIMATED,
)
ESTIMATED_ERROR_RATE = declare(
    "driftline_estimated_error_rate",
    GAUGE,
    "Expected share of wrong predictions in the output window (classifiers).",
    VERSIONED,
    section=_ESTIMATED,
)
ESTIMATED_PVALUE = declare(
    "driftline_estimated_performance_pvalue",
    GAUGE,
    "One-sided p-value that the expected error rate (a regression: the mean loss behind target.metric) exceeds the "
    "reference's.",
    VERSIONED,
    section=_ESTIMATED,
)
ESTIMATED_DROPPED = declare(
    "driftline_estimated_performance_dropped",
    GAUGE,
    "1 when the estimated target.metric lost max_degradation and the expected error (or loss) rise is significant.",
    VERSIONED,
    section=_ESTIMATED,
)

_VERSIONS = "Model versions (canary against stable, while several serve)"
VERSION_OUTPUT_PSI = declare(
    "driftline_version_output_psi",
    GAUGE,
    "PSI of the version's outputs against those of the version serving longest (baseline_version), window "
    "against window.",
    COMPARED,
    section=_VERSIONS,
)
VERSION_OUTPUT_PSI_PVALUE = declare(
    "driftline_version_output_psi_pvalue",
    GAUGE,
    "Two-sample p-value of that PSI (both windows are samples).",
    COMPARED,
    section=_VERSIONS,
)
VERSION_OUTPUT_DRIFTED = declare(
    "driftline_version_output_drifted",
    GAUGE,
    "1 when the version answers differently from baseline_version: corrected p-value < alpha and PSI >= threshold.",
    COMPARED,
    section=_VERSIONS,
)
