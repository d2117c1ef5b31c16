"""The Prometheus collector: turns the latest evaluation snapshot and the counters into metric families.

A scrape never computes a statistic and never sees a half-written result: it reads one immutable snapshot
(client_python's custom-collector idiom, as its docs recommend for exporters).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from .feedback import DELAY_BUCKETS
from .s3logs import S3Poller
from .service import DURATION_BUCKETS, EvaluationSnapshot, ExporterService

MODEL = ["model", "model_namespace"]


class DriftCollector(Collector):
    def __init__(self, service: ExporterService) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        snapshot = self.service.snapshot
        feature = {
            name: GaugeMetricFamily(f"driftline_feature_{name}", text, labels=[*MODEL, "feature"])
            for name, text in (
                ("psi", "Population Stability Index of the feature, current window vs reference."),
                ("psi_pvalue", "Sample-size-aware p-value of the feature's PSI."),
                ("ks_statistic", "Two-sample Kolmogorov-Smirnov statistic (numeric features)."),
                ("ks_pvalue", "Kolmogorov-Smirnov p-value (numeric features)."),
                ("chi2_pvalue", "Chi-square test p-value (categorical features)."),
                ("js_distance", "Jensen-Shannon distance (base 2) of the binned distributions."),
                ("drifted", "1 when the feature drifted: corrected p-value < alpha and PSI >= threshold."),
                ("missing_ratio", "Share of missing or invalid values of the feature in the window."),
            )
        }
        prediction = {
            name: GaugeMetricFamily(f"driftline_prediction_{name}", text, labels=[*MODEL, "output"])
            for name, text in (
                ("psi", "Population Stability Index of the model output, current window vs reference."),
                ("psi_pvalue", "Sample-size-aware p-value of the output's PSI."),
                ("drifted", "1 when the output drifted."),
            )
        }
        share = GaugeMetricFamily(
            "driftline_dataset_drift_share", "Share of the model's features that drifted.", labels=MODEL
        )
        dataset = GaugeMetricFamily(
            "driftline_dataset_drifted", "1 when the drift share reached drift_share.", labels=MODEL
        )
        window = GaugeMetricFamily("driftline_window_samples", "Rows in the current feature window.", labels=MODEL)
        output_window = GaugeMetricFamily(
            "driftline_output_window_samples", "Rows in the current output (prediction) window.", labels=MODEL
        )
        reference_rows = GaugeMetricFamily(
            "driftline_reference_samples", "Rows the reference profile was built from.", labels=MODEL
        )
        reference_info = GaugeMetricFamily(
            "driftline_reference_info", "The loaded reference profile (always 1).", labels=[*MODEL, "version", "source"]
        )
        loaded = GaugeMetricFamily(
            "driftline_reference_loaded", "1 when the model's reference profile is loaded.", labels=MODEL
        )
        created = GaugeMetricFamily(
            "driftline_reference_created_timestamp_seconds",
            "Unix time the loaded reference profile was built.",
            labels=MODEL,
        )
        last = GaugeMetricFamily(
            "driftline_last_evaluation_timestamp_seconds", "Unix time of the model's last evaluation.", labels=MODEL
        )
        settings = {
            name: GaugeMetricFamily(f"driftline_{name}", text, labels=MODEL)
            for name, text in (
                ("psi_threshold", "The model's drift.psi_threshold: a feature drifts only with a PSI at least this."),
                ("significance_level", "The model's drift.alpha: corrected p-values below it are significant."),
                ("drift_share_threshold", "The model's drift.drift_share: the dataset drifts at this share."),
                ("window_max_samples", "The model's window.size: the most rows a window holds."),
            )
        }
        for key, monitor in self.service.monitors.items():
            labels = [key[0], key[1]]
            config = monitor.model
            settings["psi_threshold"].add_metric(labels, config.drift.psi_threshold)
            settings["significance_level"].add_metric(labels, config.drift.alpha)
            settings["drift_share_threshold"].add_metric(labels, config.drift.drift_share)
            settings["window_max_samples"].add_metric(labels, float(config.window.size))
            evaluation = snapshot.models.get(key)
            profile = monitor.profile
            loaded.add_metric(labels, 1.0 if profile is not None else 0.0)
            if profile is not None:
                reference_rows.add_metric(labels, float(profile.rows))
                reference_info.add_metric([*labels, profile.version, monitor.model.reference.profile], 1.0)
                if (built := _timestamp(profile.created_at)) is not None:
                    created.add_metric(labels, built)
            if evaluation is None:
                continue
            window.add_metric(labels, float(evaluation.window_samples))
            if monitor.outputs is not None:
                output_window.add_metric(labels, float(evaluation.output_samples))
            result = evaluation.result
            if result is None:
                continue
            if evaluation.evaluated_at is not None:
                last.add_metric(labels, evaluation.evaluated_at)
            for name, column in result.features.items():
                if column.missing_ratio is not None:
                    feature["missing_ratio"].add_metric([*labels, name], column.missing_ratio)
                if column.psi is None:
                    continue
                for stat in ("psi", "psi_pvalue", "ks_statistic", "ks_pvalue", "chi2_pvalue", "js_distance"):
                    value = getattr(column, stat)
                    if value is not None:
                        feature[stat].add_metric([*labels, name], value)
                feature["drifted"].add_metric([*labels, name], float(column.drifted))
            for name, column in result.outputs.items():
                if column.psi is None or column.psi_pvalue is None:
                    continue
                prediction["psi"].add_metric([*labels, name], column.psi)
                prediction["psi_pvalue"].add_metric([*labels, name], column.psi_pvalue)
                prediction["drifted"].add_metric([*labels, name], float(column.drifted))
            if result.drift_share is not None:
                share.add_metric(labels, result.drift_share)
                dataset.add_metric(labels, float(result.drifted))
        yield from feature.values()
        yield from prediction.values()
        yield from (share, dataset, window, output_window, reference_rows, reference_info, loaded, created, last)
        yield from settings.values()
        yield from self._performance(snapshot)
        yield from self._counters()
        yield from self._feedback()

    def _performance(self, snapshot: EvaluationSnapshot) -> Iterator[Metric]:
        """Model quality from labelled predictions, for the models with a ``target``."""
        metric_labels = [*MODEL, "metric"]
        current = GaugeMetricFamily(
            "driftline_performance", "Model quality on the window of labelled predictions.", labels=metric_labels
        )
        reference = GaugeMetricFamily(
            "driftline_reference_performance",
            "Model quality on the labelled reference data (from the profile).",
            labels=metric_labels,
        )
        gauges = {
            name: GaugeMetricFamily(f"driftline_{name}", text, labels=MODEL)
            for name, text in (
                ("labelled_window_samples", "Labelled predictions in the model's performance window."),
                ("performance_degradation", "Relative loss of target.metric against the reference (positive = worse)."),
                ("performance_degradation_threshold", "The model's target.max_degradation."),
                ("performance_error_rate", "Share of wrong predictions (regression: error above the reference's p90)."),
                ("reference_error_rate", "The same share on the reference data."),
                ("performance_pvalue", "One-sided binomial p-value that the error rate exceeds the reference's."),
                (
                    "performance_dropped",
                    "1 when target.metric lost max_degradation and the error rise is significant.",
                ),
                ("concept_drift_detected", "1 when ADWIN finds a rise of the error rate within the labelled window."),
                ("label_psi", "PSI of the label distribution, labelled window vs reference target."),
                ("label_psi_pvalue", "Sample-size-aware p-value of the label PSI."),
                ("label_drifted", "1 when the label distribution drifted (as for a feature)."),
            )
        }
        for key, monitor in self.service.monitors.items():
            target = monitor.model.target
            if target is None:
                continue
            labels = [key[0], key[1]]
            gauges["performance_degradation_threshold"].add_metric(labels, target.max_degradation)
            evaluation = snapshot.models.get(key)
            if evaluation is None:
                continue
            gauges["labelled_window_samples"].add_metric(labels, float(evaluation.labelled_samples))
            result = evaluation.performance
            if result is None:
                continue
            for name, value in sorted(result.reference.items()):
                reference.add_metric([*labels, name], value)
            for name, value in sorted(result.metrics.items()):
                current.add_metric([*labels, name], value)
            optional: tuple[tuple[str, float | None], ...] = (
                ("performance_degradation", result.degradation),
                ("performance_error_rate", result.error_rate),
                ("reference_error_rate", result.reference_error_rate),
                ("performance_pvalue", result.pvalue),
            )
            for name, maybe in optional:
                if maybe is not None:
                    gauges[name].add_metric(labels, maybe)
            gauges["performance_dropped"].add_metric(labels, float(result.dropped))
            gauges["concept_drift_detected"].add_metric(labels, float(result.concept_drift))
            label = result.label_drift
            if label is not None and label.psi is not None and label.psi_pvalue is not None:
                gauges["label_psi"].add_metric(labels, label.psi)
                gauges["label_psi_pvalue"].add_metric(labels, label.psi_pvalue)
                gauges["label_drifted"].add_metric(labels, float(label.drifted))
        yield current
        yield reference
        yield from gauges.values()

    def _feedback(self) -> Iterator[Metric]:
        labels, rejected = self.service.feedback_counters.read()
        outcomes = CounterMetricFamily(
            "driftline_labels", "Labels received, by outcome of joining them to stored predictions.",
            labels=[*MODEL, "outcome"],
        )  # fmt: skip
        for outcome_key, count in sorted(labels.items()):
            outcomes.add_metric(list(outcome_key), float(count))
        rejects = CounterMetricFamily(
            "driftline_feedback_rejected", "Feedback documents or label rows rejected, by reason.", labels=["reason"]
        )
        for reason, count in sorted(rejected.items()):
            rejects.add_metric([reason], float(count))
        delay = HistogramMetricFamily(
            "driftline_label_delay_seconds", "Time from a prediction to its label becoming known.", labels=MODEL
        )
        stored = GaugeMetricFamily(
            "driftline_prediction_store_rows", "Predictions held for joining with labels.", labels=MODEL
        )
        capacity = GaugeMetricFamily(
            "driftline_prediction_store_capacity_rows", "The model's feedback.store_size.", labels=MODEL
        )
        evicted = CounterMetricFamily(
            "driftline_prediction_store_evictions",
            "Predictions dropped unlabelled: by size (overwritten) or ttl (older than feedback.ttl).",
            labels=[*MODEL, "reason"],
        )
        for key, monitor in self.service.monitors.items():
            if monitor.store is None:
                continue
            model = [key[0], key[1]]
            buckets, total, count = monitor.delays.read()
            points = [(repr(bound), float(n)) for bound, n in zip(DELAY_BUCKETS, buckets, strict=True)]
            delay.add_metric(model, [*points, ("+Inf", float(count))], total)
            stored.add_metric(model, float(monitor.store.rows()))
            capacity.add_metric(model, float(monitor.store.size))
            for reason, n in sorted(monitor.store.evicted.items()):
                evicted.add_metric([*model, reason], float(n))
        objects = _object_counter(
            "driftline_label_objects",
            "Label files read from feedback.s3_labels in pull mode, by outcome.",
            self.service.label_pullers,
        )
        yield from (outcomes, rejects, delay, stored, capacity, evicted, objects)

    def _counters(self) -> Iterator[Metric]:
        events, rejected = self.service.counters.read()
        total = CounterMetricFamily(
            "driftline_events", "Inference logger events by outcome.", labels=[*MODEL, "type", "outcome"]
        )
        for labels, count in sorted(events.items()):
            total.add_metric(list(labels), float(count))
        rejects = CounterMetricFamily("driftline_events_rejected", "Events rejected, by reason.", labels=["reason"])
        for reason, count in sorted(rejected.items()):
            rejects.add_metric([reason], float(count))
        durations = HistogramMetricFamily(
            "driftline_evaluation_duration_seconds", "Duration of one drift evaluation of one model.", labels=MODEL
        )
        for key, (buckets, total_seconds, count) in sorted(self.service.durations.read().items()):
            points = [(repr(bound), float(n)) for bound, n in zip(DURATION_BUCKETS, buckets, strict=True)]
            durations.add_metric([key[0], key[1]], [*points, ("+Inf", float(count))], total_seconds)
        objects = _object_counter(
            "driftline_log_objects", "Archived payload objects read from S3 in pull mode, by outcome.",
            self.service.pullers,
        )  # fmt: skip
        yield from (total, rejects, durations, objects)


def _object_counter(name: str, text: str, pullers: Sequence[S3Poller[Any]]) -> CounterMetricFamily:
    """Objects a pull-mode poller read, by outcome: ``processed`` or ``corrupt`` (skipped)."""
    objects = CounterMetricFamily(name, text, labels=[*MODEL, "outcome"])
    for puller in pullers:
        model = [puller.model.name, puller.model.namespace]
        objects.add_metric([*model, "processed"], float(puller.processed - puller.corrupt))
        objects.add_metric([*model, "corrupt"], float(puller.corrupt))
    return objects


def _timestamp(text: str) -> float | None:
    """``created_at`` of a profile (ISO 8601, UTC) as Unix time; None for a profile written without one."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
