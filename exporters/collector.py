"""The custom collector over the latest evaluation snapshot: drift, quality and reference metrics per model.

A scrape never computes a statistic and never sees a half-written result: it reads one immutable snapshot
(client_python's custom-collector idiom for exporters). The exporter's counters and histograms are ordinary
prometheus-client instruments (:mod:`exporters.instruments`); names, labels and help come from
:mod:`drift.catalogue`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from drift import catalogue as m
from drift.layout import MISSING_BIN
from drift.stats import chi2_critical
from httpserver.exposition import counter_family, gauge_family

from .snapshot import EvaluationSnapshot

MULTIVARIATE = (
    m.MULTIVARIATE_ERROR,
    m.MULTIVARIATE_REFERENCE_ERROR,
    m.MULTIVARIATE_ERROR_UPPER,
    m.MULTIVARIATE_PVALUE,
    m.MULTIVARIATE_DRIFTED,
)
ESTIMATED = (
    m.ESTIMATED_SAMPLES,
    m.ESTIMATED_DEGRADATION,
    m.ESTIMATED_ERROR_RATE,
    m.ESTIMATED_PVALUE,
    m.ESTIMATED_DROPPED,
)
ESTIMATED_BY_METRIC = (m.ESTIMATED_PERFORMANCE, m.ESTIMATED_PERFORMANCE_LOWER, m.ESTIMATED_PERFORMANCE_UPPER)
SETTINGS = (m.PSI_THRESHOLD, m.SIGNIFICANCE_LEVEL, m.DRIFT_SHARE_THRESHOLD, m.WINDOW_MAX_SAMPLES, m.WINDOW_MIN_SAMPLES)
QUALITY = (
    m.LABELLED_WINDOW_SAMPLES,
    m.PERFORMANCE_DEGRADATION,
    m.PERFORMANCE_DEGRADATION_THRESHOLD,
    m.PERFORMANCE_ERROR_RATE,
    m.REFERENCE_ERROR_RATE,
    m.PERFORMANCE_PVALUE,
    m.PERFORMANCE_DROPPED,
    m.CONCEPT_DRIFT,
    m.LABEL_PSI,
    m.LABEL_PSI_PVALUE,
    m.LABEL_DRIFTED,
)


class DriftCollector(Collector):
    """The drift, quality and reference families of whatever snapshot ``snapshot()`` returns now."""

    def __init__(self, snapshot: Callable[[], EvaluationSnapshot], bin_counts: bool) -> None:
        self.snapshot = snapshot
        self.bin_counts = bin_counts

    def collect(self) -> Iterator[Metric]:
        snapshot = self.snapshot()
        families = {
            metric.name: gauge_family(metric)
            for metric in (
                *m.FEATURE_STATISTICS.values(),
                m.FEATURE_DRIFTED,
                m.FEATURE_MISSING_RATIO,
                m.PREDICTION_PSI,
                m.PREDICTION_PSI_PVALUE,
                m.PREDICTION_DRIFTED,
                m.DATASET_DRIFT_SHARE,
                m.DATASET_DRIFTED,
                *MULTIVARIATE,
                m.WINDOW_SAMPLES,
                m.OUTPUT_WINDOW_SAMPLES,
                m.REFERENCE_SAMPLES,
                m.REFERENCE_INFO,
                m.REFERENCE_LOADED,
                m.REFERENCE_CREATED,
                m.LAST_EVALUATION,
                *SETTINGS,
            )
        }

        def add(metric: m.Metric, labels: list[str], value: float) -> None:
            families[metric.name].add_metric(labels, value)

        for key, model in snapshot.models.items():
            labels = [key[0], key[1]]
            config = model.model
            add(m.PSI_THRESHOLD, labels, config.drift.psi_threshold)
            add(m.SIGNIFICANCE_LEVEL, labels, config.drift.alpha)
            add(m.DRIFT_SHARE_THRESHOLD, labels, config.drift.drift_share)
            add(m.WINDOW_MAX_SAMPLES, labels, float(config.window.size))
            add(m.WINDOW_MIN_SAMPLES, labels, float(config.window.min_rows))
        for stream_id, evaluation in snapshot.streams.items():
            labels = list(stream_id)
            reference = evaluation.reference
            if reference.loaded is not None:  # a version seen a moment ago is loading, not missing
                add(m.REFERENCE_LOADED, labels, 1.0 if reference.loaded else 0.0)
            if reference.loaded:
                add(m.REFERENCE_SAMPLES, labels, float(reference.rows))
                add(m.REFERENCE_INFO, [*labels, reference.version, reference.uri, reference.registry_version], 1.0)
                if reference.created_at is not None:
                    add(m.REFERENCE_CREATED, labels, reference.created_at)
            add(m.WINDOW_SAMPLES, labels, float(evaluation.window_samples))
            if evaluation.output_samples is not None:
                add(m.OUTPUT_WINDOW_SAMPLES, labels, float(evaluation.output_samples))
            result = evaluation.result
            if result is None:
                continue
            if evaluation.evaluated_at is not None:
                add(m.LAST_EVALUATION, labels, evaluation.evaluated_at)
            for name, column in result.features.items():
                if column.missing_ratio is not None:
                    add(m.FEATURE_MISSING_RATIO, [*labels, name], column.missing_ratio)
                if column.psi is None:
                    continue
                for stat, metric in m.FEATURE_STATISTICS.items():
                    value = column.statistics.get(stat)
                    if value is not None:
                        add(metric, [*labels, name], value)
                if column.adjusted_pvalue is not None:  # decided: absent below window.min_rows, as pooled
                    add(m.FEATURE_DRIFTED, [*labels, name], float(column.drifted))
            for name, column in result.outputs.items():
                if column.psi is None or column.psi_pvalue is None:
                    continue
                add(m.PREDICTION_PSI, [*labels, name], column.psi)
                add(m.PREDICTION_PSI_PVALUE, [*labels, name], column.psi_pvalue)
                if column.adjusted_pvalue is not None:
                    add(m.PREDICTION_DRIFTED, [*labels, name], float(column.drifted))
            if result.drift_share is not None:
                add(m.DATASET_DRIFT_SHARE, labels, result.drift_share)
                add(m.DATASET_DRIFTED, labels, float(result.drifted))
            multivariate = result.multivariate
            if multivariate is not None and reference.multivariate_error is not None:
                add(m.MULTIVARIATE_ERROR, labels, multivariate.error)
                add(m.MULTIVARIATE_REFERENCE_ERROR, labels, reference.multivariate_error)
                add(m.MULTIVARIATE_ERROR_UPPER, labels, multivariate.upper)
                add(m.MULTIVARIATE_PVALUE, labels, multivariate.pvalue)
                add(m.MULTIVARIATE_DRIFTED, labels, float(multivariate.drifted))
        yield from families.values()
        yield from _versions(snapshot)
        yield from _performance(snapshot)
        yield from _estimated(snapshot)
        yield from _data_quality(snapshot)
        if self.bin_counts:
            yield from _bins(snapshot)


def _versions(snapshot: EvaluationSnapshot) -> Iterator[Metric]:
    """Each version serving beside an older one: its outputs against the older one's."""
    families = {
        metric.name: gauge_family(metric)
        for metric in (m.VERSION_OUTPUT_PSI, m.VERSION_OUTPUT_PSI_PVALUE, m.VERSION_OUTPUT_DRIFTED)
    }
    for stream_id, evaluation in snapshot.streams.items():
        if evaluation.against_baseline is None:
            continue
        for name, column in evaluation.against_baseline.items():
            if column.psi is None or column.psi_pvalue is None:
                continue
            labels = [*stream_id, evaluation.baseline_version, name]
            families[m.VERSION_OUTPUT_PSI.name].add_metric(labels, column.psi)
            families[m.VERSION_OUTPUT_PSI_PVALUE.name].add_metric(labels, column.psi_pvalue)
            families[m.VERSION_OUTPUT_DRIFTED.name].add_metric(labels, float(column.drifted))
    yield from families.values()


def _estimated(snapshot: EvaluationSnapshot) -> Iterator[Metric]:
    """Quality estimated from the output window's scores (CBPE), per model version."""
    families = {metric.name: gauge_family(metric) for metric in (*ESTIMATED_BY_METRIC, *ESTIMATED)}
    for stream_id, evaluation in snapshot.streams.items():
        estimated = evaluation.result.estimated if evaluation.result is not None else None
        if estimated is None:
            continue
        labels = list(stream_id)
        for metric, values in zip(
            ESTIMATED_BY_METRIC, (estimated.metrics, estimated.lower, estimated.upper), strict=True
        ):
            for name, value in sorted(values.items()):
                families[metric.name].add_metric([*labels, name], value)
        scalars = (
            float(estimated.samples),
            estimated.degradation,
            estimated.error_rate,
            estimated.pvalue,
            float(estimated.dropped),
        )
        for metric, scalar in zip(ESTIMATED, scalars, strict=True):
            if scalar is not None:
                families[metric.name].add_metric(labels, scalar)
    yield from families.values()


def _data_quality(snapshot: EvaluationSnapshot) -> Iterator[Metric]:
    """Each feature's values by quality since its profile loaded, and its payload errors (counters: Prometheus takes
    the shares over any range, summed across replicas)."""
    values, errors = counter_family(m.FEATURE_VALUES), counter_family(m.FEATURE_PAYLOAD_ERRORS)
    for stream_id, evaluation in snapshot.streams.items():
        if evaluation.quality is None:
            continue
        for column, quality, count in evaluation.quality.values:
            values.add_metric([*stream_id, column, quality], float(count))
        for column, error, count in evaluation.quality.payload_errors:
            errors.add_metric([*stream_id, column, error], float(count))
    yield values
    yield errors


def _bins(snapshot: EvaluationSnapshot) -> Iterator[Metric]:
    """Each column's PSI-bin counts since the profile loaded, and the reference's: what Prometheus sums across the
    replicas of a model (the pooled rules). Every bin is published from the start, zeros included, so an increase is
    never missed by a series appearing late."""
    counted = {metric.name: counter_family(metric) for metric in (m.FEATURE_BIN_ROWS, m.OUTPUT_BIN_ROWS)}
    reference = {
        metric.name: gauge_family(metric) for metric in (m.REFERENCE_FEATURE_BIN_ROWS, m.REFERENCE_OUTPUT_BIN_ROWS)
    }
    critical = {metric.name: gauge_family(metric) for metric in (m.FEATURE_CHI2_CRITICAL, m.OUTPUT_CHI2_CRITICAL)}
    kinds = (
        (m.FEATURE_BIN_ROWS, m.REFERENCE_FEATURE_BIN_ROWS, m.FEATURE_CHI2_CRITICAL),
        (m.OUTPUT_BIN_ROWS, m.REFERENCE_OUTPUT_BIN_ROWS, m.OUTPUT_CHI2_CRITICAL),
    )
    for stream_id, evaluation in snapshot.streams.items():
        drift = snapshot.models[stream_id[:2]].model.drift
        for bins, (counted_metric, reference_metric, critical_metric) in zip(
            (evaluation.feature_bins, evaluation.output_bins), kinds, strict=True
        ):
            family, in_reference = counted[counted_metric.name], reference[reference_metric.name]
            tests = 1 if drift.correction == "none" else len(bins)
            for column in bins:
                labels = [*stream_id, column.name]
                for label, count, expected in zip(column.labels, column.counts, column.reference, strict=True):
                    family.add_metric([*labels, label], float(count))
                    in_reference.add_metric([*labels, label], float(expected))
                family.add_metric([*labels, MISSING_BIN], float(column.missing))
                bin_count = len(column.labels)
                if bin_count >= 2:
                    critical[critical_metric.name].add_metric(labels, chi2_critical(drift.alpha, tests, bin_count))
    yield from counted.values()
    yield from reference.values()
    yield from critical.values()


def _performance(snapshot: EvaluationSnapshot) -> Iterator[Metric]:
    """Model quality from labelled predictions, for the models with a ``target``."""
    current, reference = gauge_family(m.PERFORMANCE), gauge_family(m.REFERENCE_PERFORMANCE)
    gauges: dict[str, GaugeMetricFamily] = {metric.name: gauge_family(metric) for metric in QUALITY}

    def add(metric: m.Metric, labels: list[str], value: float | None) -> None:
        if value is not None:
            gauges[metric.name].add_metric(labels, value)

    for key, evaluation in snapshot.models.items():
        target = evaluation.model.target
        if target is None:
            continue
        labels = [key[0], key[1]]
        add(m.PERFORMANCE_DEGRADATION_THRESHOLD, labels, target.max_degradation)
        add(m.LABELLED_WINDOW_SAMPLES, labels, float(evaluation.labelled_samples))
        result = evaluation.performance
        if result is None:
            continue
        for name, value in sorted(result.reference.items()):
            reference.add_metric([*labels, name], value)
        for name, value in sorted(result.metrics.items()):
            current.add_metric([*labels, name], value)
        add(m.PERFORMANCE_DEGRADATION, labels, result.degradation)
        add(m.PERFORMANCE_ERROR_RATE, labels, result.error_rate)
        add(m.REFERENCE_ERROR_RATE, labels, result.reference_error_rate)
        add(m.PERFORMANCE_PVALUE, labels, result.pvalue)
        add(m.PERFORMANCE_DROPPED, labels, float(result.dropped))
        add(m.CONCEPT_DRIFT, labels, float(result.concept_drift))
        label = result.label_drift
        if label is not None and label.psi is not None and label.psi_pvalue is not None:
            add(m.LABEL_PSI, labels, label.psi)
            add(m.LABEL_PSI_PVALUE, labels, label.psi_pvalue)
            add(m.LABEL_DRIFTED, labels, float(label.drifted))
    yield current
    yield reference
    yield from gauges.values()
