"""The prometheus-client glue: a batch observed at once equals the same values observed one by one."""

from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.exposition import generate_latest

from drift import catalogue
from httpserver.exposition import histogram, observe_many


@pytest.mark.parametrize(
    "values",
    [[], [0.0], [60.0, 60.0, 61.0], list(np.random.default_rng(0).exponential(86400.0, 5000)), [1e9, 5.0, 3600.0]],
)
def test_observe_many_equals_observing_one_value_at_a_time(values: list[float]) -> None:
    batch, single = CollectorRegistry(), CollectorRegistry()
    buckets = catalogue.LABEL_DELAY.buckets
    observe_many(histogram(catalogue.LABEL_DELAY, batch).labels("m", "ns"), np.array(values), buckets)
    one_by_one = histogram(catalogue.LABEL_DELAY, single).labels("m", "ns")
    for value in values:
        one_by_one.observe(value)

    def samples(registry: CollectorRegistry) -> dict[str, float]:
        lines = generate_latest(registry).decode().splitlines()
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in lines if not line.startswith("#")}

    got, expected = samples(batch), samples(single)
    total = 'driftline_label_delay_seconds_sum{model="m",model_namespace="ns"}'
    assert got.pop(total) == pytest.approx(expected.pop(total), rel=1e-12)  # numpy sums pairwise
    assert got == expected and len(got) == len(buckets) + 2  # every bucket, +Inf and the count, exactly


def test_observe_many_falls_back_to_observe_on_other_internals() -> None:
    registry = CollectorRegistry()
    child = Histogram("x_seconds", "x", registry=registry, buckets=(1.0, 2.0))
    observe_many(child, np.array([0.5, 1.5, 9.0]), (1.0,))  # bucket bounds that do not match the child's
    assert registry.get_sample_value("x_seconds_count") == 3
    assert registry.get_sample_value("x_seconds_bucket", {"le": "2.0"}) == 2
