"""The PSI-bin counts an exporter publishes for Prometheus to pool across replicas: every bin from the start, the
counts equal to an independent binning of the rows posted, the reference's counts equal to the profile's, and a
switch that leaves them out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import drift
from alerts.pooling import PROCESS_START
from drift.catalogue import FEATURE_BIN_ROWS, OUTPUT_BIN_ROWS, REFERENCE_FEATURE_BIN_ROWS, REFERENCE_OUTPUT_BIN_ROWS
from drift.reference.columns import CategoricalProfile, NumericProfile
from exporters.app import ExporterApp
from exporters.service import ExporterService
from tests.support import IRIS, iris_config, logger_headers
from tests.support.asgi import AsgiClient
from tests.support.service import only_stream


def _app(tmp_path: Path, **exporter: object) -> tuple[ExporterApp, AsgiClient]:
    path = iris_config(tmp_path, cli=False)
    model = drift.load_config(path).models[0]
    config = drift.parse_config(
        {
            "version": 1,
            "exporter": exporter,
            "models": [
                {
                    "name": model.name,
                    "reference": {"data": model.reference.data, "profile": model.reference.profile},
                    "features": [{"name": n, "type": "numeric"} for n in IRIS],
                    "outputs": [{"name": "class", "type": "categorical"}],
                }
            ],
        }
    )
    app = ExporterApp(ExporterService(config))
    app.service.refresh_references()
    return app, AsgiClient(app)


def _samples(client: AsgiClient, name: str) -> dict[tuple[str, str], float]:
    return {
        (dict(labels)[next(k for k in ("feature", "output") if k in dict(labels))], dict(labels)["bin"]): value
        for labels, value in client.metrics().get(name, {}).items()
    }


def test_bins_are_published_from_the_start_and_count_what_was_posted(tmp_path: Path) -> None:
    app, client = _app(tmp_path, bin_counts=True)
    profile = only_stream(app.service).profile
    assert profile is not None
    before = _samples(client, FEATURE_BIN_ROWS.series)
    assert before and set(before.values()) == {0.0}  # every bin, before any event

    rng = np.random.default_rng(7)
    rows = rng.normal([5.8, 3.0, 3.7, 1.2], [0.8, 0.4, 1.7, 0.7], size=(300, 4)).round(3)
    rows[:10, 1] = np.nan  # missing values land in __missing__
    classes = rng.choice(["setosa", "versicolor", "virginica", "unheard-of"], size=300)
    for i in range(0, 300, 30):
        instances = [[None if np.isnan(v) else float(v) for v in row] for row in rows[i : i + 30]]
        assert (
            client.post("/", {"instances": instances}, logger_headers("sklearn-iris", event_id=f"e{i}")).status == 202
        )
        response = logger_headers("sklearn-iris", "response", event_id=f"e{i}")
        assert client.post("/", {"predictions": classes[i : i + 30].tolist()}, response).status == 202

    assert set(_samples(client, FEATURE_BIN_ROWS.series).values()) == {0.0}, "a scrape reads the last evaluation"
    app.service.evaluate_all()
    counted = _samples(client, FEATURE_BIN_ROWS.series)
    reference = _samples(client, REFERENCE_FEATURE_BIN_ROWS.series)
    for j, name in enumerate(IRIS):
        column = profile.features[name]
        assert isinstance(column, NumericProfile)
        values = rows[:, j][np.isfinite(rows[:, j])]
        expected = np.bincount(np.searchsorted(column.edges, values, side="right"), minlength=column.counts.size)
        width = len(str(column.counts.size - 1))
        got = [counted[(name, str(b).zfill(width))] for b in range(column.counts.size)]
        assert got == expected.tolist(), name
        assert counted[(name, "__missing__")] == float(np.isnan(rows[:, j]).sum())
        assert [reference[(name, str(b).zfill(width))] for b in range(column.counts.size)] == column.counts.tolist()

    output = profile.outputs["class"]
    assert isinstance(output, CategoricalProfile)
    outputs = _samples(client, OUTPUT_BIN_ROWS.series)
    for category in output.categories:
        assert outputs[("class", category)] == float((classes == category).sum())
    assert outputs[("class", "__other__")] == float((~np.isin(classes, output.categories)).sum())
    shares = _samples(client, REFERENCE_OUTPUT_BIN_ROWS.series)
    assert [shares[("class", c)] for c in (*output.categories, "__other__")] == output.counts.tolist()


def test_bin_counts_can_be_left_out(tmp_path: Path) -> None:
    _, client = _app(tmp_path, bin_counts=False)
    metrics = client.metrics()
    assert FEATURE_BIN_ROWS.series not in metrics and REFERENCE_FEATURE_BIN_ROWS.series not in metrics


@pytest.mark.parametrize(("replicas", "published"), [(1, False), (3, True)])
def test_bin_counts_are_published_by_default_only_where_the_pooling_rules_read_them(
    tmp_path: Path, replicas: int, published: bool
) -> None:
    _, client = _app(tmp_path, replicas=replicas)
    metrics = client.metrics()
    assert (FEATURE_BIN_ROWS.series in metrics, REFERENCE_OUTPUT_BIN_ROWS.series in metrics) == (published, published)
    assert PROCESS_START in metrics  # how the pooling rules tell a replica's restart (alerts/pooling.py)


def test_replicas_need_the_bin_counts() -> None:
    with pytest.raises(drift.ConfigError, match=r"exporter\.replicas: above 1 needs exporter\.bin_counts"):
        drift.parse_config(
            {
                "version": 1,
                "exporter": {"replicas": 3, "bin_counts": False},
                "models": [
                    {"name": "m", "reference": {"data": "d.csv", "profile": "p.json"}, "features": [{"name": "x"}]}
                ],
            }
        )
