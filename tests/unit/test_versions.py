"""Model versions in the exporter: where the version is read (annotation, header, extension, the v2 response), one
window per version compared with that version's reference, a version without a reference counted and not compared,
hostile versions refused, and bounds on how many versions and how many waiting requests are held."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

import drift
from drift.config import ColumnConfig, VersionsConfig
from exporters.app import ExporterApp
from exporters.events import InferenceEvent, RejectedEventError
from exporters.service import ExporterService
from exporters.streams import VersionStreams
from exporters.versions import serving_version
from tests.support import IRIS, logger_headers
from tests.support.asgi import AsgiClient
from tests.support.service import stream_versions

ANNOTATION = "driftline.io/model-version"


def _reference(tmp: Path, name: str, shift: float) -> Path:
    rng = np.random.default_rng(int(shift * 10) + 1)
    path = tmp / f"{name}.csv"
    frame = pd.DataFrame({c: rng.normal(5.0 + shift, 1.0, 3000) for c in IRIS})
    frame["class"] = rng.choice(["a", "b", "c"], 3000)
    frame.to_csv(path, index=False)
    return path


def _config(tmp: Path, versions: dict[str, Any], profile: str = "runs/{version}/profile.json") -> drift.MonitorConfig:
    return drift.parse_config(
        {
            "version": 1,
            "models": [
                {
                    "name": "sklearn-iris",
                    "reference": {"data": str(_reference(tmp, "train", 0.0)), "profile": str(tmp / profile)},
                    "features": [{"name": n, "type": "numeric"} for n in IRIS],
                    "outputs": [{"name": "class", "type": "categorical"}],
                    "window": {"size": 2000, "max_age": "1h", "min_rows": 50},
                    "versions": versions,
                }
            ],
        }
    )


def _profile(config: drift.MonitorConfig, tmp: Path, version: str, shift: float, recorded: str | None = None) -> None:
    """The profile of ``version`` trained on data shifted by ``shift``, at the path {version} names."""
    model = config.models[0]
    data = _reference(tmp, f"train-{version}", shift)
    source = dataclasses.replace(model.reference, data=str(data), format="csv")
    built = drift.profile_from_source(
        dataclasses.replace(model, reference=source),
        model_version=version if recorded is None else recorded,
    )
    (tmp / "runs" / version).mkdir(parents=True, exist_ok=True)
    built.save(str(tmp / "runs" / version / "profile.json"))


def _rows(shift: float, n: int = 200, seed: int = 0) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    return rng.normal(5.0 + shift, 1.0, size=(n, 4)).round(4).tolist()


def _annotated(version: str, kind: str = "request", event_id: str = "e") -> dict[str, str]:
    return logger_headers("sklearn-iris", kind, event_id, **{"Ce-Annotations": json.dumps({ANNOTATION: version})})


def _app(config: drift.MonitorConfig) -> tuple[ExporterApp, AsgiClient]:
    app = ExporterApp(ExporterService(config))
    return app, AsgiClient(app)


def _by_version(client: AsgiClient, name: str) -> dict[str, float]:
    return {dict(labels).get("model_version", ""): v for labels, v in client.metrics().get(name, {}).items()}


def test_each_version_is_compared_with_its_own_reference(tmp_path: Path) -> None:
    config = _config(tmp_path, {"source": "annotation", "name": ANNOTATION})
    _profile(config, tmp_path, "1", 0.0)
    _profile(config, tmp_path, "2", 2.0)  # version 2 was trained on data shifted by two standard deviations
    app, client = _app(config)
    for version, shift in (("1", 2.0), ("2", 2.0)):  # both serve the shifted traffic
        answer = client.post("/", {"instances": _rows(shift)}, _annotated(version))
        assert answer.status == 202 and answer.json() == {"status": "accepted"}
    app.service.refresh_references()
    app.service.evaluate_all()
    assert _by_version(client, "driftline_window_samples") == {"1": 200.0, "2": 200.0}
    drifted = _by_version(client, "driftline_dataset_drifted")
    assert drifted == {"1": 1.0, "2": 0.0}, "version 1 drifted from its data; version 2 sees what it was trained on"
    info = client.metrics()["driftline_reference_info"]
    sources = {dict(labels)["model_version"]: dict(labels)["source"] for labels in info}
    assert sources == {v: str(tmp_path / "runs" / v / "profile.json") for v in ("1", "2")}


def _unversioned(client: AsgiClient) -> dict[str, float]:
    return {dict(k)["reason"]: v for k, v in client.metrics()["driftline_unversioned_events_total"].items()}


def test_a_version_without_a_reference_is_counted_not_compared(tmp_path: Path) -> None:
    config = _config(tmp_path, {"source": "annotation", "name": ANNOTATION})
    _profile(config, tmp_path, "1", 0.0)
    app, client = _app(config)
    client.post("/", {"instances": _rows(0.0)}, _annotated("1"))
    client.post("/", {"instances": _rows(3.0)}, _annotated("9"))
    app.service.refresh_references()  # version 9's profile does not exist: its windows go, it is refused for now
    answer = client.post("/", {"instances": _rows(3.0)}, _annotated("9"))
    assert answer.json() == {"status": "ignored", "reason": "no_reference"}
    app.service.evaluate_all()
    assert _by_version(client, "driftline_window_samples") == {"1": 200.0}
    assert _by_version(client, "driftline_reference_loaded") == {"1": 1.0}
    assert set(_by_version(client, "driftline_dataset_drifted")) == {"1"}, "nothing compares version 9"
    assert _unversioned(client)["no_reference"] == 1.0
    ready, detail = app.service.ready()
    assert ready, "a new version's missing profile does not take the exporter out of service"
    assert detail["versions_without_reference"] == {"default/sklearn-iris": ["9"]}


def test_review2_finding_6_made_up_versions_cannot_take_the_slot_of_a_version_with_a_reference(tmp_path: Path) -> None:
    """Four events with versions nobody configured took every max_versions slot for max_age (1 h); now a version
    without a reference gives its slot back once its lookup fails, and the real version gets one."""
    clock = [1_000_000.0]
    config = _config(tmp_path, {"source": "annotation", "name": ANNOTATION, "max_versions": 4})
    _profile(config, tmp_path, "7", 0.0)
    service = ExporterService(config, clock=lambda: clock[0])
    client = AsgiClient(ExporterApp(service))
    for squatter in ("0", "CON", "x1", "x2"):
        client.post("/", {"instances": _rows(0.0, 5)}, _annotated(squatter))
    assert client.post("/", {"instances": _rows(0.0, 5)}, _annotated("7")).json()["reason"] == "too_many_versions"
    service.refresh_references()  # the squatters' profiles do not exist: their slots are free again
    assert client.post("/", {"instances": _rows(0.0, 5)}, _annotated("7")).json() == {"status": "accepted"}
    service.refresh_references()
    for squatter in ("0", "CON", "y1", "y2", "y3", "y4"):  # new made-up versions take free slots, never version 7's
        client.post("/", {"instances": _rows(0.0, 5)}, _annotated(squatter))
    service.refresh_references()
    assert stream_versions(service) == ["7"]
    assert client.post("/", {"instances": _rows(0.0, 5)}, _annotated("0")).json()["reason"] == "no_reference"
    clock[0] += 121  # exporter.reference_check_every: a refused version is looked up again
    assert client.post("/", {"instances": _rows(0.0, 5)}, _annotated("0")).json() == {"status": "accepted"}
    counted = _unversioned(client)
    assert counted["too_many_versions"] >= 1 and counted["no_reference"] >= 1


def test_a_fixed_reference_serves_only_the_version_it_records(tmp_path: Path) -> None:
    config = _config(tmp_path, {"source": "extension", "name": "modelversion"}, profile="runs/2/profile.json")
    _profile(config, tmp_path, "2", 0.0)
    app, client = _app(config)
    for version in ("1", "2"):
        client.post(
            "/",
            {"instances": _rows(0.0)},
            logger_headers("sklearn-iris", "request", "e", **{"Ce-Modelversion": version}),
        )
    app.service.refresh_references()
    app.service.evaluate_all()
    assert _by_version(client, "driftline_reference_loaded") == {"2": 1.0}  # version 1: refused, not compared
    assert stream_versions(app.service) == ["2"]
    assert app.service.ready()[1]["versions_without_reference"] == {"default/sklearn-iris": ["1"]}
    listed = _config(
        tmp_path,
        {"source": "extension", "name": "modelversion", "references": {"1": str(tmp_path / "runs/2/profile.json")}},
        profile="runs/2/profile.json",
    )
    service = ExporterService(listed)
    service.ingest(
        {k.lower(): v for k, v in logger_headers("sklearn-iris", "request", "e", **{"Ce-Modelversion": "1"}).items()},
        json.dumps({"instances": _rows(0.0)}).encode(),
    )
    service.refresh_references()
    version_1 = service.models[("sklearn-iris", "default")].stream("1")
    assert version_1 is not None and version_1.profile is None
    assert "built for model version '2', not '1'" in (version_1.reference.error or "")


def test_the_v2_response_names_the_version_and_the_request_waits_for_it(tmp_path: Path) -> None:
    config = _config(tmp_path, {"source": "response", "wait": "30s"})
    _profile(config, tmp_path, "7", 0.0)
    app, client = _app(config)
    request = {"inputs": [{"name": "x", "shape": [50, 4], "datatype": "FP32", "data": _rows(0.0, 50)}]}
    response = {"model_name": "sklearn-iris", "model_version": "7",
                "outputs": [{"name": "class", "shape": [50], "datatype": "BYTES", "data": ["a"] * 50}]}  # fmt: skip
    assert client.post("/", request, logger_headers("sklearn-iris", "request", "r1")).status == 202
    assert client.post("/", response, logger_headers("sklearn-iris", "response", "r1")).status == 202
    # the response first: its version waits for the request
    client.post("/", response, logger_headers("sklearn-iris", "response", "r2"))
    assert client.post("/", request, logger_headers("sklearn-iris", "request", "r2")).status == 202
    app.service.refresh_references()
    app.service.evaluate_all()
    assert _by_version(client, "driftline_window_samples") == {"7": 100.0}
    assert _by_version(client, "driftline_output_window_samples") == {"7": 100.0}
    # a request whose response never comes is given up after versions.wait, and counted
    client.post("/", request, logger_headers("sklearn-iris", "request", "r3"))
    waiting = app.service.models[("sklearn-iris", "default")].streams
    assert isinstance(waiting, VersionStreams) and waiting.waiting is not None
    assert waiting.waiting.expire(app.service.clock() + 31) == 1
    assert waiting.waiting.rows_waiting == 0


def test_hostile_versions_are_refused_and_bounded(tmp_path: Path) -> None:
    config = _config(tmp_path, {"source": "annotation", "name": ANNOTATION, "max_versions": 2})
    app, client = _app(config)
    for bad in ("../../etc", "x" * 100, "a b"):
        answer = client.post("/", {"instances": _rows(0.0, 5)}, _annotated(bad))
        assert answer.status == 400 and answer.json()["reason"] == "bad_version"
    for version in ("1", "2", "3", "4"):
        client.post("/", {"instances": _rows(0.0, 5)}, _annotated(version))
    client.post("/", {"instances": _rows(0.0, 5)}, logger_headers("sklearn-iris", "request", "e"))
    app.service.evaluate_all()
    assert set(_by_version(client, "driftline_window_samples")) == {"1", "2"}
    unversioned = {dict(k)["reason"]: v for k, v in client.metrics()["driftline_unversioned_events_total"].items()}
    assert unversioned == {"too_many_versions": 2.0, "no_version": 1.0, "no_response": 0.0, "no_reference": 0.0}
    rejected = client.metrics()["driftline_events_rejected_total"]
    assert rejected[(("reason", "bad_version"),)] == 3.0


def test_a_silent_version_is_retired_after_the_window_age(tmp_path: Path) -> None:
    clock = [1_000_000.0]
    config = _config(tmp_path, {"source": "annotation", "name": ANNOTATION})
    service = ExporterService(config, clock=lambda: clock[0])
    headers = {k.lower(): v for k, v in _annotated("1").items()}
    service.ingest(headers, json.dumps({"instances": _rows(0.0, 5)}).encode())
    assert stream_versions(service) == ["1"]
    clock[0] += 3601
    service.evaluate_all()
    assert stream_versions(service) == []


@pytest.mark.parametrize(
    ("source", "attributes", "expected"),
    [
        ("annotation", {"ce-annotations": json.dumps({ANNOTATION: "3"})}, "3"),
        ("annotation", {"annotations": {ANNOTATION: "3"}}, "3"),  # an S3 record holds the object
        ("header", {"ce-metadata": json.dumps({"X-Model-Version": ["4"]})}, "4"),
        ("header", {"metadata": '{"x-model-version": ["4"]}'}, "4"),
        ("extension", {"ce-modelversion": "5"}, "5"),
        ("extension", {"modelversion": "5"}, "5"),
        ("annotation", {"ce-annotations": "not json"}, None),
        ("header", {"ce-metadata": "{}"}, None),
    ],
)
def test_where_the_version_is_read(source: str, attributes: dict[str, Any], expected: str | None) -> None:
    name = {"annotation": ANNOTATION, "header": "X-Model-Version", "extension": "modelversion"}[source]
    event = InferenceEvent("request", "m", "default", "id", {}, attributes)
    assert serving_version(VersionsConfig(source, name), event) == expected


def test_a_version_that_is_not_a_string_is_refused() -> None:
    event = InferenceEvent("response", "m", "default", "id", {"model_version": {"nested": 1}})
    with pytest.raises(RejectedEventError, match="is not a version"):
        serving_version(VersionsConfig("response"), event)


def test_outputs_window_against_window_match_scipy() -> None:
    """The canary comparison's chi-square is scipy's contingency test of the two windows' counts; its KS statistic
    scipy's two-sample KS within one fine bin (the windows are counted in 250 quantile bins of the baseline)."""
    rng = np.random.default_rng(0)
    columns = (ColumnConfig("p", "numeric"), ColumnConfig("c", "categorical"))
    kinds = np.array(["x", "y", "z"], dtype=object)
    stable = {"p": rng.beta(2, 5, 3000), "c": rng.choice(kinds, 3000)}
    canary = {"p": rng.beta(2.2, 5, 2000), "c": rng.choice(kinds, 2000, p=[0.36, 0.33, 0.31])}
    compared = drift.compare_outputs(stable, canary, columns, drift.DriftSettings(), min_rows=100)
    assert compared is not None
    table = [[int((side["c"] == k).sum()) for k in kinds] for side in (stable, canary)]
    assert compared["c"].chi2_pvalue == pytest.approx(scipy_stats.chi2_contingency(table, correction=False).pvalue)
    ks = scipy_stats.ks_2samp(stable["p"], canary["p"]).statistic
    assert compared["p"].ks_statistic == pytest.approx(ks, abs=1 / 250)
    same = drift.compare_outputs(stable, {"p": rng.beta(2, 5, 2000), "c": rng.choice(kinds, 2000)}, columns,
                                 drift.DriftSettings(), min_rows=100)  # fmt: skip
    assert same is not None and not any(c.drifted for c in same.values())
    assert drift.compare_outputs(stable, {"p": canary["p"][:50], "c": canary["c"][:50]}, columns,
                                 drift.DriftSettings(), min_rows=100) is None  # fmt: skip


def test_a_canary_is_compared_with_the_stable_version_on_metrics(tmp_path: Path) -> None:
    """Both versions' windows counted (their references loaded): the canary's outputs against the stable's."""
    config = _config(tmp_path, {"source": "annotation", "name": ANNOTATION})
    _profile(config, tmp_path, "1", 0.0)
    _profile(config, tmp_path, "2", 0.0)
    app, client = _app(config)
    rng = np.random.default_rng(1)
    for version in ("1", "2"):
        client.post("/", {"predictions": ["a"]}, _annotated(version, "response", f"{version}-first"))
    app.service.refresh_references()
    for version, classes in (("1", ["a", "b", "c"]), ("2", ["a", "a", "a", "a", "b", "c"])):
        for i in range(4):
            headers = _annotated(version, "response", f"{version}-{i}")
            client.post("/", {"predictions": rng.choice(classes, 100).tolist()}, headers)
    app.service.evaluate_all()
    metrics = client.metrics()
    labels = (("baseline_version", "1"), ("model", "sklearn-iris"), ("model_namespace", "default"),
              ("model_version", "2"), ("output", "class"))  # fmt: skip
    assert metrics["driftline_version_output_drifted"] == {labels: 1.0}
    assert metrics["driftline_version_output_psi"][labels] > 0.1


def test_a_versions_window_survives_a_restart(tmp_path: Path) -> None:
    """Each version's windows are checkpointed under their own name and restored when the version is seen again."""
    config = _config(tmp_path, {"source": "annotation", "name": ANNOTATION})
    content = dataclasses.replace(config, exporter=dataclasses.replace(config.exporter, state_dir=str(tmp_path / "s")))
    _profile(config, tmp_path, "1", 0.0)
    _profile(config, tmp_path, "2", 1.0)
    first = ExporterService(content)
    for version, rows in (("1", 300), ("2", 120)):
        headers = {k.lower(): v for k, v in _annotated(version).items()}
        assert first.ingest(headers, json.dumps({"instances": _rows(0.0, rows)}).encode())[0] == 202
    first.refresh_references()
    first.checkpoint()
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [
        "default%2Fsklearn-iris%401.npz",
        "default%2Fsklearn-iris%402.npz",
    ]
    again = ExporterService(content)
    headers = {k.lower(): v for k, v in _annotated("1").items()}
    again.ingest(headers, json.dumps({"instances": _rows(0.0, 5)}).encode())
    again.refresh_references()
    evaluated = again.evaluate_all().streams
    assert evaluated[("sklearn-iris", "default", "1")].window_samples == 305
    assert ("sklearn-iris", "default", "2") not in evaluated, "version 2 comes back when it sends again"
