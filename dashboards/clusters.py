"""One Grafana over several clusters' driftline (Prometheus federation, Thanos, Mimir): with
``dashboards.cluster_label`` in the config, every dashboard gets a *Cluster* variable and every series selector of
its queries, annotations and variables a matcher on that label.

The matcher is added by :func:`with_matcher`, a small PromQL rewriter, after the dashboards are built, so no panel is
written twice; the integration test evaluates every rewritten query on a real Prometheus whose series carry the label.
"""

from __future__ import annotations

import json
import re
from typing import Any

from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

from drift import catalogue as m

from .common import DATASOURCE, without_nulls

CLUSTER = "cluster"  # the variable's name: $cluster
# A PromQL token: a string, a brace or bracket group, a name, or one character of anything else.
_TOKEN = re.compile(
    r"""(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)"""
    r"|(?P<braces>\{(?:[^}\"']|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')*\})"
    r"|(?P<range>\[[^\]]*\])"
    r"|(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r"|(?P<number>[0-9][0-9.eE+-]*[a-z]*)"
    r"|(?P<other>.)",
    re.S,
)
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "atan2"}
_GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
                 "quantile", "limitk", "limit_ratio"}  # fmt: skip


def with_matcher(expr: str, matcher: str) -> str:
    """``expr`` with ``matcher`` (``cluster=~"$cluster"``) added to every series selector: ``m`` becomes
    ``m{matcher}``, ``m{a="b"}`` becomes ``m{matcher, a="b"}``; functions, aggregations, grouping label lists,
    strings, ranges and keywords are left as they are."""
    tokens = [(match.lastgroup or "other", match.group(0)) for match in _TOKEN.finditer(expr)]
    out: list[str] = []
    skip_group = False  # inside a grouping clause's label list: names there are labels
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        following = _next_significant(tokens, i + 1)
        if skip_group:
            out.append(text)
            skip_group = text != ")"
        elif kind == "name" and text in _GROUPING:
            out.append(text)
            skip_group = following is not None and following[1] == "("
        elif kind == "name" and text in _AGGREGATIONS and following is not None and following[1] in _GROUPING:
            out.append(text)  # sum by (…) (…): an aggregation, its clause first
        elif kind == "name" and text.lower() not in _KEYWORDS and (following is None or following[1] != "("):
            if following is not None and following[0] == "braces":
                j = following[2]
                out.append(text + "".join(t for _, t in tokens[i + 1 : j]) + _inside(tokens[j][1], matcher))
                i = j
            else:
                out.append(f"{text}{{{matcher}}}")
        elif kind == "braces":
            out.append(_inside(text, matcher))  # a selector without a name: {__name__=~"..."}
        else:
            out.append(text)
        i += 1
    return "".join(out)


def _next_significant(tokens: list[tuple[str, str]], start: int) -> tuple[str, str, int] | None:
    for j in range(start, len(tokens)):
        if not tokens[j][1].isspace():
            return tokens[j][0], tokens[j][1], j
    return None


def _inside(braces: str, matcher: str) -> str:
    body = braces[1:-1].strip()
    return f"{{{matcher}, {body}}}" if body else f"{{{matcher}}}"


def for_clusters(dashboard: dict[str, Any], label: str) -> dict[str, Any]:
    """``dashboard`` with a Cluster variable (first after the data source; All by default) and every query
    restricted to the chosen cluster."""
    matcher = f'{label}=~"${CLUSTER}"'
    data: dict[str, Any] = json.loads(json.dumps(dashboard))
    for panel in data["panels"]:
        for target in panel.get("targets", []):
            target["expr"] = with_matcher(target["expr"], matcher)
    for annotation in data["annotations"]["list"]:
        if "expr" in annotation:
            annotation["expr"] = with_matcher(annotation["expr"], matcher)
    variables = data["templating"]["list"]
    for variable in variables:
        if variable.get("type") == "query":
            inner = re.fullmatch(r"label_values\((.*), *(\w+)\)", variable["query"])
            if inner is not None:
                variable["query"] = f"label_values({with_matcher(inner.group(1), matcher)}, {inner.group(2)})"
    at = next((i + 1 for i, v in enumerate(variables) if v.get("type") == "datasource"), 0)
    variables.insert(at, _cluster_variable(label))
    return data


def _cluster_variable(label: str) -> dict[str, Any]:
    template = g.Template(
        name=CLUSTER,
        label="Cluster",
        query=f"label_values({m.WINDOW_SAMPLES.series}, {label})",
        dataSource=DATASOURCE,
        refresh=2,
        includeAll=True,
        allValue=".*",
        default="$__all",
    )
    encoded: dict[str, Any] = without_nulls(json.loads(json.dumps(template.to_json_data(), cls=DashboardEncoder)))
    return encoded
