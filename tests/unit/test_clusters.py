"""dashboards.cluster_label: the PromQL rewriter that adds the cluster matcher to every series selector.

The rewriting on known queries here; tests/integration/test_generated_config.py has Prometheus' own parser (promtool
check rules) accept every rewritten query of every generated dashboard, and runs them on a federating Prometheus."""

from __future__ import annotations

import pytest

from dashboards.clusters import with_matcher

MATCHER = 'cluster=~"$cluster"'


@pytest.mark.parametrize(
    ("expr", "rewritten"),
    [
        ("up", 'up{cluster=~"$cluster"}'),
        ('m{a="b"}', 'm{cluster=~"$cluster", a="b"}'),
        ('m{a="}{"}', 'm{cluster=~"$cluster", a="}{"}'),
        ("sum by (model, le) (rate(m_bucket[5m]))", 'sum by (model, le) (rate(m_bucket{cluster=~"$cluster"}[5m]))'),
        ("sum(rate(x[5m])) by (model)", 'sum(rate(x{cluster=~"$cluster"}[5m])) by (model)'),
        ("a / on(model) group_left(feature) b",
         'a{cluster=~"$cluster"} / on(model) group_left(feature) b{cluster=~"$cluster"}'),
        ('label_replace(x, "dst", "$1", "src", "(.*)")',
         'label_replace(x{cluster=~"$cluster"}, "dst", "$1", "src", "(.*)")'),
        ("x > bool 0.5 or vector(0)", 'x{cluster=~"$cluster"} > bool 0.5 or vector(0)'),
        ("time() - m:rule:sum offset 5m", 'time() - m:rule:sum{cluster=~"$cluster"} offset 5m'),
        ('{__name__=~"driftline_.+"}', '{cluster=~"$cluster", __name__=~"driftline_.+"}'),
        ("topk(3, count without (a) (b))", 'topk(3, count without (a) (b{cluster=~"$cluster"}))'),
    ],
)  # fmt: skip
def test_the_matcher_goes_into_every_selector_and_nowhere_else(expr: str, rewritten: str) -> None:
    assert with_matcher(expr, MATCHER) == rewritten
