"""Drift reports for humans: one HTML page of current data against the model's reference.

On top, driftline's verdict (:mod:`drift.verdict`, the numbers the alerts use) when a profile is at hand; below, an
Evidently report of a sample of the reference data against the current data — its data summary and, when both sides
carry the label and the prediction, classification or regression quality. Evidently's own drift tests are left out,
so the page gives one drift answer. Evidently's cost grows with the rows it is given (seconds for tens of
thousands), so both sides are capped at ``max_rows`` by a seeded uniform sample, and the page says so.
"""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from .coercion import category_values, numeric_values
from .config import CLASSIFICATION, ColumnConfig, ModelConfig, MonitorConfig, S3Config
from .errors import DriftlineError
from .extras import REPORT, missing
from .file_counts import count_file
from .reference.profile import ReferenceProfile
from .reference.reader import reference_batches
from .verdict import counted_bins, verdict_section

DEFAULT_MAX_ROWS = 5000


@dataclass(frozen=True)
class Sample:
    frame: pd.DataFrame
    total_rows: int  # rows the sample was drawn from


def read_sample(
    uri: str,
    model: ModelConfig,
    s3: S3Config | None,
    max_rows: int,
    *,
    fmt: str = "auto",
    seed: int = 0,
    required: Sequence[ColumnConfig] | None = None,
) -> Sample:
    """A uniform random sample of at most ``max_rows`` rows of a CSV or Parquet file (streamed; memory ~ 4 ×
    ``max_rows`` rows). ``required`` columns must be present (default: the features); the model's other columns
    are read when the file has them."""
    required = tuple(required if required is not None else model.features)
    optional = tuple(c for c in model.profiled_columns if c not in required)
    rng = np.random.default_rng(seed)
    tables: list[pa.Table] = []
    keys: list[np.ndarray[Any, Any]] = []
    total = 0
    for batch in reference_batches(uri, required, fmt, s3, optional=optional):
        tables.append(pa.Table.from_batches([batch]))
        keys.append(rng.random(batch.num_rows))
        total += batch.num_rows
        if sum(t.num_rows for t in tables) > 4 * max_rows:
            tables, keys = _keep_smallest(tables, keys, max_rows)
    tables, keys = _keep_smallest(tables, keys, max_rows)
    frame = tables[0].to_pandas() if tables else pd.DataFrame()
    present = [c.name for c in model.profiled_columns if c.name in frame.columns and frame[c.name].notna().any()]
    return Sample(frame[present].reset_index(drop=True), total)


def _keep_smallest(
    tables: list[pa.Table], keys: list[np.ndarray[Any, Any]], k: int
) -> tuple[list[pa.Table], list[np.ndarray[Any, Any]]]:
    if not tables:
        return [], []
    table = pa.concat_tables(tables, promote_options="permissive")
    key = np.concatenate(keys)
    chosen = np.sort(np.argsort(key, kind="stable")[:k])
    return [table.take(pa.array(chosen))], [key[chosen]]


def sample_frame(frame: pd.DataFrame, max_rows: int, seed: int = 0) -> pd.DataFrame:
    """At most ``max_rows`` rows of ``frame``, uniformly at random (seeded), in their original order."""
    if len(frame) <= max_rows:
        return frame.reset_index(drop=True)
    chosen = np.sort(np.random.default_rng(seed).choice(len(frame), size=max_rows, replace=False))
    return frame.iloc[chosen].reset_index(drop=True)


def render_report(
    model: ModelConfig,
    reference: Sample,
    current: Sample,
    *,
    max_rows: int,
    title: str,
    notes: Sequence[str] = (),
    verdict: str = "",
    quality: Sequence[tuple[str, str, str]] = (),
    labelled: Sample | None = None,
) -> str:
    """The report as one self-contained HTML page (Evidently inlines its scripts: it opens offline): the title,
    driftline's ``verdict`` (:func:`drift.verdict.verdict_section`), the notes and ``quality`` rows, then Evidently's
    data summary and model quality. Evidently's own drift tests are left out: the page gives one drift answer.

    ``labelled``: labelled predictions (the target and prediction columns only) whose quality is reported in a
    section of its own, when ``current`` has no labels — the exporter's live window, whose labels arrive later for
    other rows than the ones in its feature window.
    """
    if missing(REPORT):
        return _without_evidently(title, notes, verdict, quality)
    ref = _normalise(sample_frame(reference.frame, max_rows), model)
    cur = _normalise(sample_frame(current.frame, max_rows), model)
    columns = [c for c in model.columns if c.name in ref.columns and c.name in cur.columns]
    presets = ["summary"]
    labelled_quality = _quality(model, ref, cur)
    page = _evidently_page(model, ref, cur, columns, presets + (["quality"] if labelled_quality else []))
    notes = [
        f"Rows: current {len(cur):,} of {current.total_rows:,}, reference {len(ref):,} of {reference.total_rows:,} "
        f"(each side is capped at {max_rows:,} rows by a uniform random sample: Evidently is slow on many rows).",
        *notes,
    ]
    if labelled_quality is not None:
        notes.append("Model quality: current labels against the reference's (below the data summary).")
    elif labelled is not None:
        page = _add_labelled_quality(page, model, ref, labelled, max_rows, notes)
    else:
        notes.append("No model quality section: the current data has no labels (or the model has no target).")
    notes.append("Below: Evidently's data summary of each column, current against reference.")
    return page.replace("<body>", "<body>" + _banner(title, notes, verdict, quality), 1)


def _without_evidently(title: str, notes: Sequence[str], verdict: str, quality: Sequence[tuple[str, str, str]]) -> str:
    """The page of a core install: driftline's verdict and notes, and why Evidently's sections are not there."""
    notes = [*notes, f"Not shown: {REPORT.gives}, which need the {REPORT.name} extra: {REPORT.install}."]
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>' + html.escape(title) + "</title></head>"
        "<body>" + _banner(title, notes, verdict, quality) + "</body></html>"
    )


def _add_labelled_quality(
    page: str, model: ModelConfig, ref: pd.DataFrame, labelled: Sample, max_rows: int, notes: list[str]
) -> str:
    lab = _normalise(sample_frame(labelled.frame, max_rows), model)
    if _quality(model, ref, lab) is None:
        notes.append("No model quality section: no labelled predictions yet (or no labels in the reference data).")
        return page
    merged = _append_dashboard(page, _evidently_page(model, ref, lab, [], ["quality"]))
    if merged is None:
        notes.append("The model quality section could not be added (unexpected Evidently page layout).")
        return page
    notes.append(
        f"Model quality (last section): {len(lab):,} of {labelled.total_rows:,} labelled predictions against the "
        "reference's labels."
    )
    return merged


def _evidently_page(
    model: ModelConfig, ref: pd.DataFrame, cur: pd.DataFrame, columns: Sequence[ColumnConfig], sections: list[str]
) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from evidently import DataDefinition, Dataset, Report
        from evidently.presets import ClassificationPreset, DataDriftPreset, DataSummaryPreset, RegressionPreset

        definition: dict[str, Any] = {
            "numerical_columns": [c.name for c in columns if c.is_numeric],
            "categorical_columns": [c.name for c in columns if not c.is_numeric],
        }
        presets: list[Any] = []
        if "drift" in sections:
            presets.append(DataDriftPreset(columns=[c.name for c in columns]))
        if "summary" in sections:
            presets.append(DataSummaryPreset())
        if "quality" in sections and (quality := _quality(model, ref, cur)) is not None:
            key, task = quality  # the DataDefinition keyword: "classification" or "regression"
            definition[key] = [task]
            presets.append(ClassificationPreset() if key == "classification" else RegressionPreset())
        data = DataDefinition(**definition)
        snapshot = Report(presets).run(
            Dataset.from_pandas(cur, data_definition=data), Dataset.from_pandas(ref, data_definition=data)
        )
        return str(snapshot.get_html_str(as_iframe=False))


_DASHBOARD_DATA = re.compile(r"<script>\s*var (metric_[0-9a-f]+) = .*?</script>", re.S)


def _append_dashboard(page: str, other: str) -> str | None:
    """``page`` with the dashboard of ``other`` (another Evidently page) drawn below its own. Evidently 0.7 puts a
    dashboard's data in a ``var metric_<id>`` script in the head, an empty ``root_metric_<id>`` div in the body, and a
    ``drawDashboard`` call after its scripts; the scripts themselves are the same in both pages. None when ``other``
    does not look like that."""
    data = _DASHBOARD_DATA.search(other)
    if data is None or "</body>" not in page:
        return None
    name = data.group(1)
    draw = re.search(r"<script>\s*window\.drawDashboard\(" + name + r",.*?</script>", other, re.S)
    if draw is None:
        return None
    section = (
        '<h2 style="font-family:sans-serif;padding:12px 24px 0">Model quality on the labelled window</h2>'
        f'{data.group(0)}<div id="root_{name}"></div>{draw.group(0)}'
    )
    head, tail = page.rsplit("</body>", 1)
    return f"{head}{section}</body>{tail}"


class FileReport(NamedTuple):
    html: str
    no_verdict: str | None  # why driftline's verdict is missing (the profile cannot be used), else None


def file_report(
    config: MonitorConfig, model: ModelConfig, current_uri: str, max_rows: int = DEFAULT_MAX_ROWS
) -> FileReport:
    """``driftline report``: the report of a CSV or Parquet file (local or S3) against the model's reference data,
    with driftline's verdict from the reference profile when it can be read."""
    reference = read_sample(model.reference.data, model, config.s3, max_rows, fmt=model.reference.format)
    current = read_sample(current_uri, model, config.s3, max_rows)
    notes: list[str] = []
    verdict, no_verdict = "", None
    try:
        profile = ReferenceProfile.load(model.reference.profile, config.s3)
        profile.require_compatible(model, origin=model.reference.profile)
    except DriftlineError as exc:
        no_verdict = str(exc)
        notes.append(f"No driftline verdict: the reference profile cannot be used ({exc}).")
    else:
        counts = count_file(profile, model, current_uri, s3=config.s3)
        # Every current row, not the sample the sections below draw: the decision of a window holding these rows.
        result = counts.evaluate(profile, model)
        bins = counted_bins(profile, counts.features, counts.outputs if result.outputs else None)
        verdict = verdict_section(result, bins, profile, model.drift)
        notes.append(
            f"driftline's verdict above: its own statistics on all {counts.rows:,} current rows against profile "
            f"{profile.version} — the numbers and the decision the exporter and the alerts use."
        )
    title = f"driftline drift report: {model.namespace}/{model.name} — {current_uri}"
    html = render_report(model, reference, current, max_rows=max_rows, title=title, notes=notes, verdict=verdict)
    return FileReport(html, no_verdict)


def _normalise(frame: pd.DataFrame, model: ModelConfig) -> pd.DataFrame:
    """Numeric columns as float64 and categories as strings, the way driftline reads them."""
    out = {}
    for column in model.profiled_columns:
        if column.name in frame.columns:
            values = frame[column.name]
            out[column.name] = numeric_values(values) if column.is_numeric else category_values(values)
    return pd.DataFrame(out)


def _quality(model: ModelConfig, ref: pd.DataFrame, cur: pd.DataFrame) -> tuple[str, Any] | None:
    target = model.target
    if target is None:
        return None
    both = [target.name, target.prediction]
    if not all(name in frame.columns and frame[name].notna().any() for frame in (ref, cur) for name in both):
        return None
    from evidently import BinaryClassification, MulticlassClassification, Regression

    if target.task != CLASSIFICATION:
        return "regression", Regression(target=target.name, prediction=target.prediction)
    prediction = next(c for c in model.outputs if c.name == target.prediction)
    if prediction.is_numeric:
        task: Any = BinaryClassification(
            target=target.name, prediction_probas=target.prediction, pos_label=target.positive
        )
    elif target.positive is not None:
        task = BinaryClassification(target=target.name, prediction_labels=target.prediction, pos_label=target.positive)
    else:
        task = MulticlassClassification(target=target.name, prediction_labels=target.prediction)
    return "classification", task


def _banner(title: str, notes: Sequence[str], verdict: str, quality: Sequence[tuple[str, str, str]]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td><td>{html.escape(c)}</td></tr>" for a, b, c in quality
    )
    table = (
        '<table id="driftline-quality" style="border-collapse:collapse;margin-top:8px">'
        "<thead><tr><th align=left>model quality</th><th align=left>decision</th><th align=left>numbers</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
        if quality
        else ""
    )
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return (
        f"<h1 style='font-family:system-ui,sans-serif;font-size:20px;margin:16px 24px 0'>{html.escape(title)}</h1>"
        f"{verdict}"
        '<section id="driftline-banner" style="font-family:system-ui,sans-serif;padding:8px 24px 12px;'
        f"background:#f4f6fa;border-bottom:1px solid #ccd\"><ul style='margin:0'>{items}</ul>{table}</section>"
    )


__all__ = [
    "DEFAULT_MAX_ROWS",
    "FileReport",
    "Sample",
    "file_report",
    "read_sample",
    "render_report",
    "sample_frame",
]
