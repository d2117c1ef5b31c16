"""``GET /report/{namespace}/{model}``: the Evidently report of a model's live window, for on-call.

Reports are built on one worker thread, never on the event loop, and at most one at a time: a request while another
model's report is being built gets 429 with Retry-After. A model's report is reused for
``exporter.report_interval``, so a page refreshed by ten people builds it once. The reference side is a sample of
``reference.data`` (``exporter.report_max_rows`` rows) read once per profile version.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pandas as pd

from drift.detector import Window
from drift.errors import DriftlineError
from drift.report import Sample, read_sample, render_report
from drift.verdict import counted_bins, verdict_section

from .service import ExporterService
from .stream import Stream, StreamId

log = logging.getLogger("driftline.exporter")


class ReportUnavailableError(Exception):
    def __init__(self, status: int, reason: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.reason, self.retry_after = status, reason, retry_after


@dataclass(frozen=True)
class BuiltReport:
    html: bytes
    built_at: float


class ReportBuilder:
    def __init__(self, service: ExporterService) -> None:
        self.service = service
        self.interval = service.config.exporter.report_interval.seconds
        self.max_rows = service.config.exporter.report_max_rows
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="driftline-report")
        self._lock = threading.Lock()
        self._busy = False
        self._cache: dict[StreamId, BuiltReport] = {}
        self._references: dict[StreamId, tuple[str, Sample]] = {}

    def stream(self, namespace: str, name: str) -> Stream:
        """The model's stream that appeared last: during a rollout, the new version's."""
        model = self.service.models.get((name, namespace))
        if model is None:
            raise ReportUnavailableError(404, "unknown_model", f"no configured model {namespace}/{name}")
        serving = list(model.streams)
        if not serving:
            raise ReportUnavailableError(409, "empty_window", "no model version has sent traffic yet")
        return serving[-1]

    def cached(self, stream: Stream) -> BuiltReport | None:
        """A report young enough to serve again, or None; claims the builder when it returns None."""
        with self._lock:
            report = self._cache.get(stream.id)
            if report is not None and time.monotonic() - report.built_at < self.interval:
                return report
            if self._busy:
                raise ReportUnavailableError(429, "busy", "another report is being built; retry shortly", 5.0)
            self._busy = True
            return None

    def build(self, stream: Stream) -> BuiltReport:
        """Build (on the worker thread) after :meth:`cached` claimed the builder."""
        try:
            html = self._render(stream).encode()
            report = BuiltReport(html, time.monotonic())
            with self._lock:
                self._cache[stream.id] = report
            return report
        finally:
            with self._lock:
                self._busy = False

    def _render(self, stream: Stream) -> str:
        model, profile = stream.model, stream.profile
        if profile is None:
            raise ReportUnavailableError(503, "reference_not_loaded", "the reference profile is not loaded yet", 30.0)
        now = self.service.clock()
        features = stream.features.sample(now, self.max_rows)
        if features.rows == 0:
            raise ReportUnavailableError(
                409, "empty_window", "the window holds no sampled rows yet (none since the last start); send traffic"
            )
        rows = features.rows
        columns = dict(features.columns)
        if stream.outputs is not None:
            # Independent samples of the inputs and the outputs: each column's distribution (all the report compares)
            # is right, so they are shown side by side, cut to the same length.
            outputs = stream.outputs.sample(now, self.max_rows)
            if outputs.rows:
                rows = min(rows, outputs.rows)
                columns = {name: values[:rows] for name, values in {**columns, **outputs.columns}.items()}
        current = Sample(pd.DataFrame(columns), rows)
        reference = self._reference(stream, profile.version)
        quality = self.service.snapshot.models.get(stream.key)
        verdict = ""
        totals = stream.features.totals(now)
        answers = stream.outputs.totals(now) if stream.outputs is not None else None
        detector = stream.detector
        if detector is not None and totals.version == profile.version:  # the window as the next evaluation sees it
            answered = answers.counts if answers is not None and answers.version == profile.version else None
            result = detector.evaluate(Window(totals.counts, totals.rows, answered, answers.rows if answers else 0))
            verdict = verdict_section(result, counted_bins(profile, totals.counts, answered), profile, model.drift)
        quality_rows: list[tuple[str, str, str]] = []
        notes = [
            f"The exporter's live window at {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(now))}; driftline's "
            "verdict above is this window evaluated now, as /metrics and the alerts have it from the next evaluation.",
        ]
        performance = quality.performance if quality is not None else None
        if performance is not None and performance.samples:
            for metric, value in sorted(performance.metrics.items()):
                reference_value = performance.reference.get(metric)
                shown = f"{value:.4f}" + (f" (reference {reference_value:.4f})" if reference_value is not None else "")
                quality_rows.append((metric, "", shown))
            decision = "DROPPED" if performance.dropped else "ok"
            quality_rows.append(("quality", decision, f"{performance.samples:,} labelled predictions"))
            quality_rows.append(("concept drift", "DETECTED" if performance.concept_drift else "none", "ADWIN"))
        evaluation = self.service.snapshot.streams.get(stream.id)
        estimated = evaluation.result.estimated if evaluation is not None and evaluation.result is not None else None
        if estimated is not None:  # CBPE: the quality the scores promise before the labels say
            for metric, value in sorted(estimated.metrics.items()):
                low, high = estimated.lower.get(metric), estimated.upper.get(metric)
                band = f" (band {low:.4f}–{high:.4f})" if low is not None and high is not None else ""
                quality_rows.append((f"estimated {metric}", "", f"{value:.4f}{band}"))
            decision = "DROP?" if estimated.dropped else "ok"
            quality_rows.append(("estimated quality", decision, f"{estimated.samples:,} scored predictions, no labels"))
        labelled = None
        if stream.ground_truth is not None and model.target is not None:
            window = stream.ground_truth.labelled.snapshot(now)
            if window.rows:
                frame = pd.DataFrame({model.target.name: window.labels, model.target.prediction: window.predictions})
                labelled = Sample(frame, window.rows)
        title = f"driftline live drift report: {model.namespace}/{model.name}"
        return render_report(
            model,
            reference,
            current,
            max_rows=self.max_rows,
            title=title,
            notes=notes,
            verdict=verdict,
            quality=quality_rows,
            labelled=labelled,
        )

    def _reference(self, stream: Stream, version: str) -> Sample:
        held = self._references.get(stream.id)
        if held is not None and held[0] == version:
            return held[1]
        model = stream.model
        try:
            sample = read_sample(
                model.reference.data, model, self.service.config.s3, self.max_rows, fmt=model.reference.format
            )
        except DriftlineError as exc:
            raise ReportUnavailableError(
                503, "reference_unavailable", f"cannot read reference.data: {exc}", 60.0
            ) from None
        self._references[stream.id] = (version, sample)
        return sample

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
