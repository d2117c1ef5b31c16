"""promtool unit tests for the generated alerts, generated with them (``promtool test rules rules_test.yml``).

Every alert gets a timeline: quiet, then the bad condition long enough to fire, then quiet again. It must not
fire while quiet, must not fire before its ``for`` has passed, must fire with exactly the expected labels and
rendered annotations, must keep firing through ``keep_firing_for``, and must resolve. Alerts with a threshold
also get a run just below it, where they must stay silent. The expected annotations are rendered here in Python
from the same inputs, an independent check of the Go templates in the rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from drift import catalogue as m
from drift.config import AlertSettings, Duration, ModelConfig, MonitorConfig
from drift.errors import ConfigError

from . import promql as q
from .rules import Alert, all_alerts, dashboard_link, report_link

OK, BAD, NEAR = "ok", "bad", "near"
INSTANCE = "driftline-exporter:8080"
RATE_WINDOW = 300  # seconds: every rate() in the rules looks back 5m

Series = list[tuple[str, list[float]]]


@dataclass
class Scenario:
    """How to drive one alert: its input series per state, and what it must say when it fires."""

    alert: Alert
    settings: AlertSettings
    series: Callable[[list[str]], Series]
    labels: dict[str, str]
    description: Callable[[int], str]  # eval step -> the rendered description
    extra_annotations: dict[str, str] = field(default_factory=dict)
    rate_based: bool = False
    window: int = RATE_WINDOW  # seconds the rate()/increase() of a rate-based alert looks back
    has_near: bool = True


# --- rendering helpers (Go's fmt and Prometheus' template functions, for the values used here) ---


def go_g4(value: float) -> str:
    """Go's ``%.4g`` for the plain numbers used in these tests."""
    return f"{value:.4g}"


def humanize_percentage(value: float) -> str:
    return go_g4(value * 100) + "%"


def humanize_duration(seconds: float) -> str:
    """Prometheus' ``humanizeDuration`` for non-negative values."""
    if seconds == 0:
        return "0s"
    if seconds >= 1:
        whole = int(seconds)
        days, hours, minutes, secs = whole // 86400, whole // 3600 % 24, whole // 60 % 60, whole % 60
        if days:
            return f"{days}d {hours}h {minutes}m {secs}s"
        if hours:
            return f"{hours}h {minutes}m {secs}s"
        if minutes:
            return f"{minutes}m {secs}s"
        return f"{go_g4(seconds)}s"
    prefix = ""
    for p in ("m", "u", "n", "p"):
        if seconds >= 1:
            break
        prefix, seconds = p, seconds * 1000
    return f"{go_g4(seconds)}{prefix}s"


def series_notation(values: list[float]) -> str:
    """Values in promtool's expanding notation: runs of equal steps become ``a+bxn``."""
    parts: list[str] = []
    i = 0
    while i < len(values):
        j = i + 1
        if j < len(values):
            step = values[j] - values[i]
            while j + 1 < len(values) and math.isclose(values[j + 1] - values[j], step, abs_tol=1e-12):
                j += 1
            if j - i >= 2:
                parts.append(f"{_num(values[i])}{'+' if step >= 0 else '-'}{_num(abs(step))}x{j - i}")
                i = j + 1
                continue
        parts.append(_num(values[i]))
        i += 1
    return " ".join(parts)


def _num(value: float) -> str:
    return f"{value:.12g}"


def selector(metric: str, labels: dict[str, str]) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{metric}{{{inner}}}"


def counter(increments: list[float]) -> list[float]:
    total, values = 0.0, []
    for inc in increments:
        total += inc
        values.append(total)
    return values


def matching_value(pattern: str, candidates: list[str], what: str, group: str | None = None) -> str:
    """A label value that ``pattern`` matches (whole), with ``group`` captured when given."""
    compiled = re.compile(pattern)
    for candidate in candidates:
        match = compiled.fullmatch(candidate)
        if match and (group is None or (match.groups() and match.group(1) == group)):
            return candidate
    raise ConfigError([f"{what}: cannot make up a test label value for {pattern!r}; tried {', '.join(candidates)}"])


# --- the scenarios ---


class ScenarioBuilder:
    def __init__(self, config: MonitorConfig) -> None:
        self.config = config
        self.alerting = config.alerting
        self.model: ModelConfig = config.models[0]
        namespace = self.model.namespace if self.model.namespace != "*" else "default"
        self.model_labels = {"model": self.model.name, "model_namespace": namespace}
        self.target = {"job": self.alerting.exporter_job, "instance": INSTANCE}
        self.alerts = {alert.name: alert for alert in all_alerts(config)}
        self.where = f"{namespace}/{self.model.name}"
        self.model_names = {model.name for model in config.models}

    def settings(self, alert: Alert) -> AlertSettings:
        settings: AlertSettings = getattr(self.alerting.alerts, alert.settings_key)
        return settings

    def scenario(self, name: str, **kwargs: Any) -> Scenario:
        alert = self.alerts[name]
        return Scenario(alert=alert, settings=self.settings(alert), **kwargs)

    def all(self) -> list[Scenario]:
        scenarios = [
            self.feature_drift(),
            self.dataset_drift(),
            self.prediction_drift(),
            self.performance_drop(),
            self.concept_drift(),
            self.exporter_down(),
            self.no_traffic(),
            self.reference_not_loaded(),
            self.reference_stale(),
            self.reject_rate(),
            self.serving_errors(),
            self.serving_latency(),
            self.retraining_failed(),
            self.retraining_stuck(),
        ]
        return [s for s in scenarios if s.settings.enabled]

    def feature_drift(self) -> Scenario:
        feature = self.model.features[0].name
        labels = {**self.target, **self.model_labels, "feature": feature}

        def series(states: list[str]) -> Series:
            return [
                (selector(m.FEATURE_PSI.series, labels), [0.25 if s != OK else 0.02 for s in states]),
                # NEAR: a large PSI that is not significant (a small window) is not drift
                (selector(m.FEATURE_DRIFTED.series, labels), [1.0 if s == BAD else 0.0 for s in states]),
            ]

        return self.scenario(
            "DriftlineFeatureDrift",
            series=series,
            labels={**labels, "severity": "warning"},
            description=lambda _: (
                f"Feature {feature} of {self.where} drifted: PSI 0.250, significant after correction for the "
                "model's features."
            ),
        )

    def dataset_drift(self) -> Scenario:
        names = [f.name for f in self.model.features[:3]]
        drifted = names[:2] if len(names) > 1 else names
        psis = dict(zip(names, (0.31, 0.205, 0.012), strict=False))
        share = len(drifted) / len(self.model.features)
        labels = {**self.target, **self.model_labels}

        def series(states: list[str]) -> Series:
            out: Series = []
            for name in names:
                flagged = name in drifted
                feature = {**labels, "feature": name}
                out.append((selector(m.FEATURE_PSI.series, feature), [psis[name] for _ in states]))
                out.append(
                    (
                        selector(m.FEATURE_DRIFTED.series, feature),
                        [1.0 if flagged and s == BAD else 0.0 for s in states],
                    )
                )
            out.append((selector(m.DATASET_DRIFT_SHARE.series, labels), [share if s != OK else 0.0 for s in states]))
            # NEAR: some features drifted, but fewer than drift_share
            out.append((selector(m.DATASET_DRIFTED.series, labels), [1.0 if s == BAD else 0.0 for s in states]))
            return out

        listing = ", ".join(f"{n}={psis[n]:.3f}" for n in sorted(drifted))
        return self.scenario(
            "DriftlineDatasetDrift",
            series=series,
            labels={**labels, "severity": "critical", "action": "retrain"},
            description=lambda _: (
                f"{humanize_percentage(share)} of the features of {self.where} drifted (feature=PSI: {listing}). "
                "A retraining is requested."
            ),
            extra_annotations={"drifted_features": listing},
        )

    def prediction_drift(self) -> Scenario:
        output = self.model.outputs[0].name if self.model.outputs else "prediction"
        labels = {**self.target, **self.model_labels, "output": output}

        def series(states: list[str]) -> Series:
            return [
                (selector(m.PREDICTION_PSI.series, labels), [0.4 if s != OK else 0.01 for s in states]),
                (selector(m.PREDICTION_DRIFTED.series, labels), [1.0 if s == BAD else 0.0 for s in states]),
            ]

        return self.scenario(
            "DriftlinePredictionDrift",
            series=series,
            labels={**labels, "severity": "warning"},
            description=lambda _: f"Output {output} of {self.where} drifted: PSI 0.400.",
        )

    def performance_drop(self) -> Scenario:
        labels = {**self.target, **self.model_labels}

        def series(states: list[str]) -> Series:
            return [
                (selector(m.PERFORMANCE_DEGRADATION.series, labels), [0.25 if s != OK else 0.01 for s in states]),
                # NEAR: a large loss on too few labels, or not significant, is not a drop
                (selector(m.PERFORMANCE_DROPPED.series, labels), [1.0 if s == BAD else 0.0 for s in states]),
                (selector(m.PERFORMANCE_ERROR_RATE.series, labels), [0.45 if s != OK else 0.28 for s in states]),
                (selector(m.REFERENCE_ERROR_RATE.series, labels), [0.28 for _ in states]),
            ]

        return self.scenario(
            "DriftlinePerformanceDrop",
            series=series,
            labels={**labels, "severity": "critical", "action": "retrain"},
            description=lambda _: (
                f"The quality of {self.where} on its recent labelled predictions is 25% below the reference's "
                "(target.metric), and its error rate (45%) is significantly above the reference's (28%). "
                "A retraining is requested."
            ),
        )

    def concept_drift(self) -> Scenario:
        labels = {**self.target, **self.model_labels}

        def series(states: list[str]) -> Series:
            return [(selector(m.CONCEPT_DRIFT.series, labels), [1.0 if s == BAD else 0.0 for s in states])]

        return self.scenario(
            "DriftlineConceptDrift",
            series=series,
            labels={**labels, "severity": "warning"},
            description=lambda _: (
                f"ADWIN found a significant rise of the error rate of {self.where} within its window of labelled "
                "predictions (ordered by prediction time): the relation between inputs and labels changed."
            ),
            has_near=False,
        )

    def exporter_down(self) -> Scenario:
        def series(states: list[str]) -> Series:
            return [(selector("up", self.target), [0.0 if s == BAD else 1.0 for s in states])]

        return self.scenario(
            "DriftlineExporterDown",
            series=series,
            labels={**self.target, "severity": "warning"},
            description=lambda _: (
                f"Prometheus cannot scrape the driftline exporter {INSTANCE} (job {self.alerting.exporter_job}). "
                "Drift alerts from this exporter are inhibited until it is back."
            ),
            has_near=False,
        )

    def no_traffic(self) -> Scenario:
        labels = {**self.target, **self.model_labels}
        events = {**labels, "type": "request", "outcome": "accepted"}

        def series(states: list[str]) -> Series:
            return [
                (selector(m.WINDOW_SAMPLES.series, labels), [0.0 if s == BAD else 500.0 for s in states]),
                (selector(m.EVENTS.series, events), counter([0 if s == BAD else 30 for s in states])),
            ]

        return self.scenario(
            "DriftlineNoTraffic",
            series=series,
            labels={**labels, "severity": "warning"},
            description=lambda _: (
                f"No inference requests from {self.where} reached the driftline exporter. Check the "
                "InferenceService's logger (url, mode) and that the model is serving traffic."
            ),
            has_near=False,
        )

    def reference_not_loaded(self) -> Scenario:
        labels = {**self.target, **self.model_labels}

        def series(states: list[str]) -> Series:
            return [(selector(m.REFERENCE_LOADED.series, labels), [0.0 if s == BAD else 1.0 for s in states])]

        return self.scenario(
            "DriftlineReferenceNotLoaded",
            series=series,
            labels={**labels, "severity": "warning"},
            description=lambda _: (
                f"The reference profile of {self.where} is not loaded (the exporter's /readyz fails). The exporter "
                "logs why: usually the profile is missing (run driftline profile) or S3 denies access."
            ),
            has_near=False,
        )

    def reference_stale(self) -> Scenario:
        labels = {**self.target, **self.model_labels}
        settings = self.alerting.alerts.reference_stale
        max_age = settings.threshold or 0.0
        # Test time starts at the Unix epoch, so a profile "built max_age ago" has a negative timestamp:
        # BAD is just past max_age at t=0, NEAR one day younger than max_age throughout the test.
        created = {OK: 0.0, BAD: -max_age, NEAR: -max_age + 86400.0}

        def series(states: list[str]) -> Series:
            return [(selector(m.REFERENCE_CREATED.series, labels), [created[s] for s in states])]

        return self.scenario(
            "DriftlineReferenceStale",
            series=series,
            labels={**labels, "severity": "warning"},
            description=lambda t: (
                f"The reference profile of {self.where} was built {humanize_duration(t + max_age)} ago. Retrain the "
                "model or rebuild the profile from current training data."
            ),
        )

    def reject_rate(self) -> Scenario:
        threshold = self.alerting.alerts.reject_rate.threshold or 0.0
        total = 1000
        rejected = {
            OK: 0,
            BAD: min(total, math.floor(threshold * total) + 1),
            NEAR: max(0, math.ceil(threshold * total) - 1),
        }
        job = {"job": self.alerting.exporter_job}
        kept = {**self.target, **self.model_labels, "type": "request", "outcome": "accepted"}
        reason = {**self.target, "reason": "bad_json"}

        def series(states: list[str]) -> Series:
            return [
                (selector(m.EVENTS.series, kept), counter([total - rejected[s] for s in states])),
                (selector(m.EVENTS_REJECTED.series, reason), counter([rejected[s] for s in states])),
            ]

        step = self.step
        return self.scenario(
            "DriftlineHighRejectRate",
            series=series,
            labels={**job, "severity": "warning"},
            description=lambda _: (
                f"{humanize_percentage(rejected[BAD] / total)} of the events sent to {job['job']} are rejected, by "
                f"reason: bad_json {rejected[BAD] / step:.2f}/s. The exporter's logs name each bad event."
            ),
            rate_based=True,
        )

    def _serving_labels(self, code: str, model: str | None = None) -> dict[str, str]:
        serving = self.alerting.serving
        name = model or self.model.name
        service = matching_value(
            serving.model_regex,
            [f"{name}-predictor", f"{name}-predictor-00001", name],
            "alerting.serving.model_regex",
            group=name,
        )
        labels = {serving.model_label: service, serving.namespace_label: self.model_labels["model_namespace"]}
        if code:
            labels[serving.code_label] = code
        return labels

    def serving_errors(self) -> Scenario:
        serving = self.alerting.serving
        threshold = self.alerting.alerts.serving_errors.threshold or 0.0
        error_code = matching_value(serving.error_codes, ["5xx", "500", "503", "error"], "alerting.serving.error_codes")
        ok_code = next(c for c in ("2xx", "200", "ok") if not re.fullmatch(serving.error_codes, c))
        total = 1000
        errors = {
            OK: 0,
            BAD: min(total, math.floor(threshold * total) + 1),
            NEAR: max(0, math.ceil(threshold * total) - 1),
        }

        # an InferenceService in the same namespace that nobody monitors fails all along: it must never alert
        unmonitored = next(f"unmonitored{i}" for i in range(100) if f"unmonitored{i}" not in self.model_names)

        def series(states: list[str]) -> Series:
            return [
                (
                    selector(serving.requests_metric, self._serving_labels(ok_code)),
                    counter([total - errors[s] for s in states]),
                ),
                (
                    selector(serving.requests_metric, self._serving_labels(error_code)),
                    counter([errors[s] for s in states]),
                ),
                (
                    selector(serving.requests_metric, self._serving_labels(error_code, unmonitored)),
                    counter([float(total) for _ in states]),
                ),
            ]

        return self.scenario(
            "DriftlineServingErrors",
            series=series,
            labels={**self.model_labels, "severity": "critical"},
            description=lambda _: (
                f"{humanize_percentage(errors[BAD] / total)} of the requests to {self.where} fail with a server "
                "error. Drift alerts of the model are inhibited while it fails."
            ),
            rate_based=True,
        )

    def serving_latency(self) -> Scenario:
        serving = self.alerting.serving
        settings = self.alerting.alerts.serving_latency
        threshold = settings.threshold or 1.0
        quantile = settings.quantile or 0.99
        scale = 1000.0 if serving.latency_unit == "milliseconds" else 1.0
        bounds = [threshold / 2, threshold, threshold * 2, threshold * 4]
        # all requests in one bucket: OK and NEAR in (T/2, T], BAD in (2T, 4T]
        bucket_of = {OK: 1, NEAR: 1, BAD: 3}
        base = self._serving_labels("")

        def series(states: list[str]) -> Series:
            out: Series = []
            for i, bound in enumerate([*bounds, math.inf]):
                le = "+Inf" if bound == math.inf else _num(bound * scale)
                counts = [100.0 if i >= bucket_of[s] else 0.0 for s in states]
                out.append((selector(f"{serving.latency_metric}_bucket", {**base, "le": le}), counter(counts)))
            return out

        low, high = bounds[2] * scale, bounds[3] * scale
        value = (low + (high - low) * quantile) / scale
        return self.scenario(
            "DriftlineServingLatency",
            series=series,
            labels={**self.model_labels, "quantile": q.quantile_label(quantile), "severity": "warning"},
            description=lambda _: (
                f"The {q.quantile_label(quantile * 100)}th percentile latency of {self.where} is "
                f"{humanize_duration(value)}."
            ),
            rate_based=True,
        )

    def retraining_failed(self) -> Scenario:
        webhook = {"job": "driftline-webhook", "instance": "driftline-webhook:8081"}
        window = int(Duration.parse(q.FAILED_WINDOW).seconds)

        def series(states: list[str]) -> Series:
            # one more failed retraining every step while BAD
            failed = counter([1.0 if s == BAD else 0.0 for s in states])
            return [(selector(m.RETRAIN_NOTIFICATIONS.series, {**webhook, "outcome": "failed"}), failed)]

        per_window = window // self.step
        return self.scenario(
            "DriftlineRetrainingFailed",
            series=series,
            labels={**webhook, "outcome": "failed", "severity": "critical"},
            description=lambda _: (
                f"The retraining webhook {webhook['instance']} gave up on {per_window} retraining start(s) in the last "
                f"{q.FAILED_WINDOW}. Its log names the model and GitHub's or Kubeflow's answer; start the retraining "
                "by hand once the cause is fixed."
            ),
            rate_based=True,
            window=window,
            has_near=False,
        )

    def retraining_stuck(self) -> Scenario:
        webhook = {"job": "driftline-webhook", "instance": "driftline-webhook:8081"}

        def series(states: list[str]) -> Series:
            return [
                (
                    selector(m.OUTBOX_DISPATCHES.series, {**webhook, "state": "pending"}),
                    [2.0 if s == BAD else 0.0 for s in states],
                )
            ]

        return self.scenario(
            "DriftlineRetrainingStuck",
            series=series,
            labels={**webhook, "state": "pending", "severity": "warning"},
            description=lambda _: (
                "2 retraining start(s) have been waiting in the outbox of the retraining webhook "
                f"{webhook['instance']}; its log says what GitHub or Kubeflow Pipelines answers."
            ),
            has_near=False,
        )

    @property
    def step(self) -> int:
        """The test's sample and evaluation interval: fine enough to place every ``for`` exactly."""
        seconds = [60]
        for f in fields(self.alerting.alerts):
            s: AlertSettings = getattr(self.alerting.alerts, f.name)
            seconds += [int(s.for_.seconds)] + ([int(s.keep_firing_for.seconds)] if s.keep_firing_for else [])
        return max(1, math.gcd(*seconds))


# --- assembling the test file ---


def _steps(seconds: float, step: int) -> int:
    return math.ceil(seconds / step)


def _at(step_index: int, step: int) -> str:
    return str(Duration(float(step_index * step)))


def _expected(builder: ScenarioBuilder, scenario: Scenario, t: int) -> dict[str, Any]:
    alerting = builder.alerting
    annotations = {
        "summary": scenario.alert.summary,
        "description": scenario.description(t),
        "runbook_url": alerting.runbook(scenario.alert.name),
        **scenario.extra_annotations,
    }
    if scenario.alert.dashboard is not None and alerting.grafana_url is not None:
        link = dashboard_link(alerting.grafana_url, scenario.alert.dashboard)
        annotations["dashboard_url"] = link.replace(
            "{{ $labels.model_namespace }}", scenario.labels.get("model_namespace", "")
        ).replace("{{ $labels.model }}", scenario.labels.get("model", ""))
    if scenario.alert.report and alerting.exporter_url is not None:
        annotations["report_url"] = report_link(
            alerting.exporter_url, scenario.labels["model_namespace"], scenario.labels["model"]
        )
    return {"exp_labels": dict(scenario.labels), "exp_annotations": annotations}


def _test_group(
    builder: ScenarioBuilder, scenario: Scenario, states: list[str], checks: list[tuple[int, bool]], name: str
) -> dict[str, Any]:
    step = builder.step
    return {
        "name": name,
        "interval": str(Duration(float(step))),
        "input_series": [{"series": sel, "values": series_notation(values)} for sel, values in scenario.series(states)],
        "alert_rule_test": [
            {
                "eval_time": _at(t, step),
                "alertname": scenario.alert.name,
                "exp_alerts": [_expected(builder, scenario, t * step)] if firing else [],
            }
            for t, firing in checks
        ],
    }


def scenario_tests(builder: ScenarioBuilder, scenario: Scenario) -> list[dict[str, Any]]:
    step = builder.step
    settings = scenario.settings
    lag = _steps(scenario.window, step) if scenario.rate_based else 0
    hold = _steps(settings.for_.seconds, step)
    keep = _steps(settings.keep_firing_for.seconds, step) if settings.keep_firing_for else 0
    quiet, active, after = 3, lag + hold + 3, lag + keep + 4
    states = [OK] * quiet + [BAD] * active + [OK] * after
    end = quiet + active  # first step back to normal
    fire = quiet + lag + hold + 1
    checks = [(quiet - 1, False)]
    if hold > 0:
        checks.append((quiet + hold - 1, False))  # condition true, but not for long enough
    checks.append((fire, True))
    if keep >= 2 and not scenario.rate_based:
        checks.append((end + keep // 2, True))  # back to normal, kept firing by keep_firing_for
    checks.append((end + lag + keep + 2, False))
    name = scenario.alert.name
    groups = [
        _test_group(builder, scenario, states, checks, f"{name}: fires after for, resolves after keep_firing_for")
    ]
    if scenario.has_near:
        near = [OK] * quiet + [NEAR] * (active + after)
        groups.append(_test_group(builder, scenario, near, [(fire, False)], f"{name}: just below the threshold"))
    return groups


def _exporter_absent(builder: ScenarioBuilder) -> dict[str, Any]:
    """The exporter's job has no target at all (not deployed, ServiceMonitor not matching)."""
    step = builder.step
    settings = builder.alerting.alerts.exporter_down
    hold = _steps(settings.for_.seconds, step)
    alert = builder.alerts["DriftlineExporterDown"]
    job = builder.alerting.exporter_job
    scenario = Scenario(
        alert=alert,
        settings=settings,
        series=lambda states: [
            (selector("up", {"job": "some-other-job", "instance": "x:9090"}), [1.0 for _ in states])
        ],
        labels={"job": job, "severity": "warning"},
        description=lambda _: (
            f"Prometheus has no target for job {job}: the exporter is not running or not discovered (check its "
            "ServiceMonitor). Drift alerts from this exporter are inhibited until it is back."
        ),
    )
    return _test_group(builder, scenario, [OK] * (hold + 4), [(hold + 2, True)], "DriftlineExporterDown: no target")


def rule_tests(config: MonitorConfig, rule_file: str = "rules.yml") -> dict[str, Any]:
    """The ``promtool test rules`` document for ``rule_groups(config)`` written to ``rule_file`` beside it."""
    builder = ScenarioBuilder(config)
    tests: list[dict[str, Any]] = []
    for scenario in builder.all():
        tests += scenario_tests(builder, scenario)
    if builder.alerting.alerts.exporter_down.enabled:
        tests.append(_exporter_absent(builder))
    return {
        "rule_files": [rule_file],
        "evaluation_interval": str(Duration(float(builder.step))),
        "tests": tests,
    }
