"""What every driftline dashboard shares: the datasource variable, model variables, panel builders and layout.

Panels are built with grafanalib and serialised to plain JSON by :func:`finish`, which also brings grafanalib's
output up to modern Grafana (``schemaVersion`` 39, datasource references as ``{type, uid}`` objects bound to the
``datasource`` variable, no legacy row/span keys).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import attr
from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

from drift import catalogue as m

SCHEMA_VERSION = 39
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
MODEL_SELECTOR = 'model="$model", model_namespace="$model_namespace"'
VERSIONS = f'{MODEL_SELECTOR}, model_version=~"$model_version"'  # during a rollout, each serving version's series
FEATURES = f'{VERSIONS}, feature=~"$feature"'
TAG = "driftline"
_LEGACY_KEYS = {"rows", "style", "sharedCrosshair", "hideControls", "span", "height", "minSpan", "error", "gnetId"}
_LEGACY_TARGET_KEYS = {"target", "metric", "step", "intervalFactor", "query"}


def target(expr: str, legend: str = "", ref: str = "A", *, table: bool = False) -> g.Target:
    return g.Target(
        expr=expr,
        legendFormat=legend,
        refId=ref,
        instant=table,
        format=g.TABLE_TARGET_FORMAT if table else g.TIME_SERIES_TARGET_FORMAT,
        datasource=DATASOURCE,
    )


def steps(*values: tuple[str, float | None]) -> list[dict[str, Any]]:
    """Threshold steps: ``steps(("green", None), ("red", 0.1))``."""
    return [{"color": color, "value": value} for color, value in values]


def dashed_series(name: str, color: str | None = "red", *, regex: bool = False) -> dict[str, Any]:
    """An override drawing the series called ``name`` (a threshold; a pattern when ``regex``) as a dashed line."""
    properties: list[dict[str, Any]] = [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}]
    if color is not None:
        properties.append({"id": "color", "value": {"mode": "fixed", "fixedColor": color}})
    return {"matcher": {"id": "byRegexp" if regex else "byName", "options": name}, "properties": properties}


def timeseries(
    title: str,
    description: str,
    targets: list[g.Target],
    unit: str,
    *,
    thresholds: list[dict[str, Any]] | None = None,
    overrides: list[dict[str, Any]] | None = None,
    log_scale: bool = False,
    max_value: int | None = None,
) -> g.TimeSeries:
    return g.TimeSeries(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=targets,
        unit=unit,
        thresholds=thresholds or steps(("green", None)),
        thresholdsStyleMode="line" if thresholds else "off",
        overrides=overrides or [],
        scaleDistributionType="log" if log_scale else "linear",
        scaleDistributionLog=10,
        valueMin=0 if not log_scale else None,
        valueMax=max_value,
        legendDisplayMode="table",
        legendPlacement="right",
        legendCalcs=["lastNotNull", "max"],
        tooltipMode="multi",
        tooltipSort="desc",
        maxDataPoints=500,
    )


def stat(
    title: str,
    description: str,
    expr: str,
    unit: str,
    *,
    thresholds: list[dict[str, Any]] | None = None,
    mappings: list[dict[str, Any]] | None = None,
    legend: str = "",
) -> g.Stat:
    return g.Stat(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=[target(expr, legend)],
        format=unit,
        thresholds=thresholds or steps(("green", None)),
        mappings=mappings or [],
        reduceCalc="lastNotNull",
        graphMode="none",
        colorMode="background",
        noValue="no data",
    )


def value_map(*entries: tuple[str, str, str]) -> list[dict[str, Any]]:
    """Value mappings: ``value_map(("0", "OK", "green"), ("1", "DRIFT", "red"))``."""
    return [
        {
            "type": "value",
            "options": {
                value: {"text": text, "color": color, "index": i} for i, (value, text, color) in enumerate(entries)
            },
        }
    ]


def table(
    title: str,
    description: str,
    targets: list[g.Target],
    *,
    columns: dict[str, tuple[str, str]],
    hidden: list[str],
    sort_by: str,
) -> g.Table:
    """A table of instant queries merged on their labels. ``columns`` maps ``Value #REF`` to (title, unit)."""
    rename = {f"Value #{ref}": name for ref, (name, _) in columns.items()}
    overrides = [
        {"matcher": {"id": "byName", "options": name}, "properties": [{"id": "unit", "value": unit}]}
        for name, unit in columns.values()
    ]
    return g.Table(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=targets,
        unit="none",
        overrides=overrides,
        transformations=[
            {"id": "merge", "options": {}},
            {
                "id": "organize",
                "options": {
                    "excludeByName": {name: True for name in ["Time", "__name__", *hidden]},
                    "renameByName": rename,
                },
            },
        ],
        sortBy=[g.TableSortByField(displayName=sort_by, desc=True)],
    )


@dataclass
class Layout:
    """Places panels left to right, wrapping at Grafana's 24 columns; a row starts where the tallest one ended."""

    panels: list[Any] = field(default_factory=list)
    x: int = 0
    y: int = 0
    row_height: int = 0

    def add(self, panel: Any, width: int, height: int) -> None:
        if self.x + width > 24:
            self.newline()
        self.panels.append(attr.evolve(panel, gridPos=g.GridPos(h=height, w=width, x=self.x, y=self.y)))
        self.x += width
        self.row_height = max(self.row_height, height)

    def row(self, title: str) -> None:
        self.newline()
        self.panels.append(g.RowPanel(title=title, gridPos=g.GridPos(h=1, w=24, x=0, y=self.y)))
        self.y += 1

    def newline(self) -> None:
        if self.x:
            self.y += self.row_height
        self.x, self.row_height = 0, 0


def datasource_variable() -> g.Template:
    return g.Template(name="datasource", label="Data source", query="prometheus", type="datasource", refresh=1)


def model_variables() -> list[g.Template]:
    return [
        g.Template(
            name="model_namespace",
            label="Namespace",
            query=f"label_values({m.WINDOW_SAMPLES.series}, model_namespace)",
            dataSource=DATASOURCE,
            refresh=2,
        ),
        g.Template(
            name="model",
            label="Model",
            query=f'label_values({m.WINDOW_SAMPLES.series}{{model_namespace="$model_namespace"}}, model)',
            dataSource=DATASOURCE,
            refresh=2,
        ),
    ]


def alert_annotations() -> list[dict[str, Any]]:
    """Mark when the model's driftline alerts fired on every time series panel."""
    return [
        {
            "builtIn": 1,
            "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True,
            "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard",
        },
        {
            "datasource": DATASOURCE,
            "enable": True,
            "expr": f'ALERTS{{alertname=~"Driftline.+", alertstate="firing", {MODEL_SELECTOR}}}',
            "iconColor": "red",
            "name": "driftline alerts",
            "step": "1m",
            "tagKeys": "alertname,severity",
            "textFormat": "{{ alertname }} ({{ severity }})",
            "titleFormat": "{{ alertname }}",
            "useValueForTime": False,
        },
    ]


def dashboard(
    uid: str,
    title: str,
    description: str,
    templates: list[g.Template],
    layout: Layout,
    links: list[dict[str, Any]] | None = None,
    annotations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    built = g.Dashboard(
        title=title,
        uid=uid,
        description=description,
        tags=[TAG],
        editable=False,
        graphTooltip=g.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        refresh="1m",
        time=g.Time("now-6h", "now"),
        timezone="browser",
        schemaVersion=SCHEMA_VERSION,
        templating=g.Templating(list=templates),
        annotations=g.Annotations(list=[*alert_annotations(), *(annotations or [])]),
        links=[
            {
                "type": "dashboards",
                "tags": [TAG],
                "asDropdown": True,
                "title": "driftline",
                "includeVars": True,
                "keepTime": True,
            },
            *(links or []),
        ],
        panels=layout.panels,
    ).auto_panel_ids()
    return finish(json.loads(json.dumps(built.to_json_data(), cls=DashboardEncoder)))


def finish(data: dict[str, Any]) -> dict[str, Any]:
    """Strip grafanalib's legacy keys, and every null at any depth: Grafana reads an absent key as its default, and
    Grafana's own SDK (grafana-foundation-sdk) refuses a null where the schema has an object or a number."""
    data = {k: v for k, v in data.items() if k not in _LEGACY_KEYS and v is not None}
    data["panels"] = [_panel(p) for p in data["panels"]]
    pruned: dict[str, Any] = without_nulls(data)
    return pruned


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value if v is not None]
    return value


def _panel(panel: dict[str, Any]) -> dict[str, Any]:
    panel = {k: v for k, v in panel.items() if k not in _LEGACY_KEYS and v is not None}
    if "targets" in panel:
        panel["targets"] = [
            {k: v for k, v in t.items() if k not in _LEGACY_TARGET_KEYS and v not in (None, "")}
            for t in panel["targets"]
        ]
    if panel.get("type") == "row":
        panel.pop("datasource", None)
        panel["panels"] = []
    return panel


def psi_panel(title: str, description: str, psi: str, legend: str) -> g.TimeSeries:
    """PSI series with the model's psi_threshold as a dashed line."""
    return timeseries(
        title,
        description,
        [target(psi, legend, "A"), target(f"max({m.PSI_THRESHOLD.series}{{{MODEL_SELECTOR}}})", "psi_threshold", "B")],
        "none",
        overrides=[dashed_series("psi_threshold")],
    )
