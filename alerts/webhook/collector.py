"""The webhook's Prometheus metrics, read from its counters and the outbox at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from .outbox import STATES
from .service import LATENCY_BUCKETS, WebhookService

OUTCOMES = (
    "dispatched",
    "duplicate",
    "cooldown",
    "resolved_ignored",
    "not_retrain",
    "failed",
    "unauthorized",
    "invalid",
)


class WebhookCollector(Collector):
    def __init__(self, service: WebhookService) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        notifications, attempts, buckets, total, count = self.service.counters.read()
        outcomes = CounterMetricFamily(
            "driftline_retrain_notifications",
            "Alerts and requests the retraining webhook handled, by outcome.",
            labels=["outcome"],
        )
        for outcome in OUTCOMES:  # every outcome from the start, so rate() and alerts see zeros
            outcomes.add_metric([outcome], float(notifications.get(outcome, 0)))
        tries = CounterMetricFamily(
            "driftline_retrain_dispatch_attempts",
            "Delivery attempts to the retraining target, by result (delivered, retry, rate_limited, failed).",
            labels=["target", "result"],
        )
        for (target, result), n in sorted(attempts.items()):
            tries.add_metric([target, result], float(n))
        latency = HistogramMetricFamily(
            "driftline_retrain_dispatch_latency_seconds",
            "Time from accepting a retraining to its successful delivery.",
        )
        points = [(repr(bound), float(n)) for bound, n in zip(LATENCY_BUCKETS, buckets, strict=True)]
        latency.add_metric([], [*points, ("+Inf", float(count))], total)
        depth = GaugeMetricFamily(
            "driftline_retrain_outbox_dispatches", "Dispatches in the outbox, by state.", labels=["state"]
        )
        counts = self.service.outbox.counts() if self.service.outbox is not None else {}
        for state in STATES:
            depth.add_metric([state], float(counts.get(state, 0)))
        yield from (outcomes, tries, latency, depth)
