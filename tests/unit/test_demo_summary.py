"""The demo's summary never contradicts itself: verdicts are the last evaluation's, alerts every one that fired."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

from rich.console import Console

from driftline.demo.run import _summary
from driftline.demo.view import Snapshot


def _printed(snapshot: Snapshot, alerts: set[str], dropped_during: bool) -> str:
    out = io.StringIO()
    traffic = SimpleNamespace(rows=5600, errors=0)
    _summary(Console(file=out, width=200), snapshot, traffic, alerts, [], [], {}, {}, Path("demo-data"),  # type: ignore[arg-type]
             dropped_during)  # fmt: skip
    return out.getvalue()


def test_a_drop_the_labels_took_back_is_said_as_such() -> None:
    quality = {"accuracy": 0.696, "reference": 0.752, "labelled": 2000.0, "dropped": 0.0, "concept": 0.0}
    snapshot = Snapshot(quality=quality, alerts=[("DriftlineDatasetDrift", "firing", "")])
    text = _printed(snapshot, {"DriftlineDatasetDrift", "DriftlinePerformanceDrop"}, dropped_during=True)
    assert "accuracy 0.696 at the end (reference 0.752)" in text
    assert "dropped during the run, not at the end" in text and "no drop" not in text
    assert "DriftlineDatasetDrift, DriftlinePerformanceDrop (during the run)" in text
    assert "still firing:        DriftlineDatasetDrift (at the end)" in text


def test_no_drop_at_any_time_is_no_drop() -> None:
    quality = {"accuracy": 0.74, "reference": 0.752, "labelled": 2000.0, "dropped": 0.0, "concept": 0.0}
    text = _printed(Snapshot(quality=quality), set(), dropped_during=False)
    assert "; no drop, no concept drift" in text and "alerts that fired:   none (during the run)" in text
