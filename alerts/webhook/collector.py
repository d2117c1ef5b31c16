"""The outbox as Prometheus sees it: dispatches per state, read from the database at scrape time (the webhook's
counters and histograms are prometheus-client instruments, in :mod:`.service`)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from httpserver.exposition import gauge_family

from . import metrics
from .service import WebhookService


class OutboxCollector(Collector):
    def __init__(self, service: WebhookService) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        depth = gauge_family(metrics.OUTBOX_DISPATCHES)
        counts = self.service.outbox.counts() if self.service.outbox is not None else {}
        for state in metrics.OUTBOX_STATES:
            depth.add_metric([state], float(counts.get(state, 0)))
        yield depth
