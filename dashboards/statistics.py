"""A registered statistic's panel (:class:`drift.statistics.Panel`): its published series per feature."""

from __future__ import annotations

from drift import catalogue as m
from drift.statistics import Output, Panel

from .common import FEATURES, Layout, target, timeseries


def add_statistic_panel(layout: Layout, panel: Panel, outputs: tuple[Output, ...]) -> None:
    series = [m.FEATURE_STATISTICS[output.name].series for output in outputs]
    legend = "{{feature}} {{model_version}}"
    targets = (
        [target(f"{name}{{{FEATURES}}}", legend) for name in series]
        if len(series) == 1
        else [target(f"{name}{{{FEATURES}}}", f"{name} {legend}", chr(ord("A") + i)) for i, name in enumerate(series)]
    )
    layout.add(timeseries(panel.title, panel.description, targets, panel.unit, max_value=panel.max_value), 12, 8)
