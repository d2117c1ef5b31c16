"""prometheus-client glue shared by the exporter and the webhook: instruments and metric families built from the
metric catalogue (:mod:`drift.catalogue`), the build info, and ``/metrics`` rendered as the client library does —
OpenMetrics when the scraper asks for it, gzip when it accepts it."""

from __future__ import annotations

import gzip
import itertools
import platform
from collections.abc import Iterable
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

from drift import catalogue
from drift.catalogue import Metric
from drift.release import VERSION

# ``*_created`` series double every counter's series and nothing here reads them (Prometheus 2.x ignores them).
disable_created_metrics()  # type: ignore[no-untyped-call]


def counter(metric: Metric, registry: CollectorRegistry) -> Counter:
    assert metric.type == catalogue.COUNTER, metric.name
    return Counter(metric.name, metric.help, metric.labels, registry=registry)


def histogram(metric: Metric, registry: CollectorRegistry) -> Histogram:
    assert metric.type == catalogue.HISTOGRAM, metric.name
    return Histogram(metric.name, metric.help, metric.labels, registry=registry, buckets=metric.buckets)


def gauge(metric: Metric, registry: CollectorRegistry) -> Gauge:
    assert metric.type == catalogue.GAUGE, metric.name
    return Gauge(metric.name, metric.help, metric.labels, registry=registry)


def gauge_family(metric: Metric) -> GaugeMetricFamily:
    """An empty family for a custom collector's ``collect()``."""
    assert metric.type == catalogue.GAUGE, metric.name
    return GaugeMetricFamily(metric.name, metric.help, labels=list(metric.labels))


def counter_family(metric: Metric) -> CounterMetricFamily:
    assert metric.type == catalogue.COUNTER, metric.name
    return CounterMetricFamily(metric.name, metric.help, labels=list(metric.labels))


def with_known_labels(instrument: Any, metric: Metric, prefix: Iterable[tuple[str, ...]] = ((),)) -> None:
    """Create every child of ``instrument`` whose label values the catalogue lists, after each ``prefix`` of leading
    label values (a model's name and namespace): it exports zeros from the start."""
    known = [metric.label_values[label] for label in metric.labels if label in metric.label_values]
    for head in prefix:
        for tail in itertools.product(*known):
            instrument.labels(*head, *tail)


def build_info(registry: CollectorRegistry) -> None:
    """``driftline_build_info{version, python_version} 1``: which release a target runs, for dashboards and upgrades."""
    info = Info(catalogue.BUILD_INFO.name, catalogue.BUILD_INFO.help, registry=registry)
    info.info({"version": VERSION, "python_version": platform.python_version()})


def observe_many(child: Any, values: Any, buckets: tuple[float, ...]) -> None:
    """Observe every value of a numpy array in one histogram child: bucket counts by ``searchsorted``, then one
    increment per bucket. prometheus-client observes one value at a time; a feedback batch has up to ~10^5."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return
    counts = np.diff(np.searchsorted(np.sort(values), (*buckets, np.inf), side="right"), prepend=0)
    counted = getattr(child, "_buckets", None)
    total = getattr(child, "_sum", None)
    if counted is None or total is None or len(counted) != len(counts):  # a client version with other internals
        for value in values.tolist():
            child.observe(value)
        return
    for bucket, n in zip(counted, counts.tolist(), strict=True):
        if n:
            bucket.inc(n)
    total.inc(float(values.sum()))


def render(registry: CollectorRegistry, accept: str, accept_encoding: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The exposition for a scrape with these ``Accept`` and ``Accept-Encoding`` headers, and its headers. Blocking
    (it runs every collector): call it off the event loop."""
    encoder, content_type = choose_encoder(accept)
    body = encoder(registry)
    headers = [(b"content-type", content_type.encode())]
    if "gzip" in accept_encoding.lower():
        body = gzip.compress(body, compresslevel=6)
        headers.append((b"content-encoding", b"gzip"))
    return body, headers
