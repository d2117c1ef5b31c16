"""dashboards.cluster_label: the PromQL rewriter that adds the cluster matcher to every series selector.

Prometheus' own parser (promtool check rules) accepts every rewritten query of every generated dashboard, and
every metric a query names carries the matcher; the integration test runs them on a federating Prometheus."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from dashboards.clusters import with_matcher
from tests.support import REPO
from tests.support.promql import VARIABLES, dashboard_queries, metric_names

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


def test_every_query_of_the_golden_cluster_dashboards_parses_and_selects_the_cluster(tmp_path: Path) -> None:
    dashboards = sorted((REPO / "tests" / "golden" / "multi-model" / "dashboards").glob("*.json"))
    variables = {**VARIABLES, "cluster": "eu-west-1"}
    queries = [q for path in dashboards for q in dashboard_queries(json.loads(path.read_text()), variables)]
    queries = [(where, expr) for where, expr in queries if not where.endswith("variable cluster")]  # lists them all
    assert len(queries) > 50
    for where, expr in queries:
        for name in metric_names(expr):
            for at in re.finditer(rf"(?<![\w:]){re.escape(name)}(?![\w:])", expr):
                after = expr[at.end() :]
                assert after.startswith('{cluster=~"eu-west-1"'), f"{where}: {name} without the cluster in {expr}"
    rules = {"groups": [{"name": "q", "rules": [{"record": f"q:{i}", "expr": e} for i, (_, e) in enumerate(queries)]}]}
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    checked = subprocess.run(
        ["promtool", "check", "rules", str(tmp_path / "rules.yml")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
