"""Team model files (``model_files.dir``): how one is read and refused, how the folder combines with the main config,
and an exporter that applies a change while it runs — a model started, a threshold changed with its window kept, a
broken file refused alone, a file removed with its series (the same on real Prometheus and Alertmanager:
tests/e2e/test_model_files.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from prometheus_client.exposition import generate_latest

import drift
from drift.config.model_files import combine, model_file_paths, read_model_file, scan
from drift.errors import ConfigError
from exporters.app import ExporterApp
from exporters.events import InferenceEvent
from exporters.service import ExporterService
from tests.support.teams import FEATURES, team_file


def main_config(tmp: Path, folder: Path, inline: bool = True) -> dict[str, Any]:
    models = []
    if inline:
        rng = np.random.default_rng(1)
        pd.DataFrame({"x": rng.normal(size=2000)}).to_csv(tmp / "platform.csv", index=False)
        models.append(
            {
                "name": "platform-model",
                "reference": {"data": str(tmp / "platform.csv"), "profile": str(tmp / "platform.json")},
                "features": [{"name": "x", "type": "numeric"}],
            }
        )
    return {"version": 1, "models": models, "model_files": {"dir": str(folder), "poll": "1s"}}


def test_a_team_file_is_read_with_its_paths_relative_to_it(tmp_path: Path) -> None:
    path = team_file(tmp_path / "teams", "team-a.yaml")
    file = read_model_file(path)
    assert file.problems == ()
    (model,) = file.models
    assert (model.name, model.namespace, model.defined_in) == ("team-model", "team-a", str(path))
    assert model.reference.data == str((tmp_path / "teams" / "data" / "train.csv").resolve())
    assert len(file.digest) == 64


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("models: [\n", "invalid YAML"),
        ("models: []\n", "models: must list at least one model"),
        ("- name: x\n", "must be a mapping"),
        ("models:\n  - name: Bad_Name\n", "models[0].name"),
        (
            "models:\n  - {name: ok, reference: {data: d.csv, profile: p.json}, features: [{name: a, type: x}]}\n",
            "models[0].features[0].type",
        ),
        (
            "models: [{name: ok, reference: {data: d.csv, profile: p.json}, features: [{name: a, type: numeric}]}]\n"
            "alerting: {}\n",
            "alerting",
        ),
        (b"\xff\xfe".decode("latin-1"), "not UTF-8"),
    ],
)
def test_a_broken_file_is_refused_whole_and_says_where(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_bytes(text.encode("latin-1") if problem == "not UTF-8" else text.encode())
    file = read_model_file(path)
    assert file.refused and file.models == ()
    assert any(problem in p for p in file.problems), file.problems


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"#" * (4 * 1024 * 1024 + 1))
    file = read_model_file(path)
    assert file.refused and "cannot read the file" in file.problems[0]


def test_only_visible_yaml_files_are_model_files(tmp_path: Path) -> None:
    """A projected ConfigMap's folder holds ``..data`` and timestamped hidden folders besides the keys' links."""
    team_file(tmp_path, "team-a.yaml")
    team_file(tmp_path, "team-b.yml", model="other")
    (tmp_path / "..data").mkdir()
    (tmp_path / ".team-c.yaml").write_text("models: []\n")
    (tmp_path / "README.md").write_text("not a model file\n")
    assert [p.name for p in model_file_paths(tmp_path)] == ["team-a.yaml", "team-b.yml"]
    assert model_file_paths(tmp_path / "missing") == []


def test_a_projected_configmap_is_read_through_its_links(tmp_path: Path) -> None:
    """The kubelet writes a ConfigMap volume as ``..<timestamp>/KEY``, ``..data -> ..<timestamp>`` and
    ``KEY -> ..data/KEY``, and swaps ``..data`` on an update: the key's link is what the folder lists and reads."""
    version = tmp_path / "..2026_12_06_10_00_00.1"
    version.mkdir()
    team_file(version, "team-a.yaml")
    (tmp_path / "..data").symlink_to(version.name)
    (tmp_path / "team-a.yaml").symlink_to("..data/team-a.yaml")
    (file,) = scan(tmp_path)
    assert file.problems == () and [m.name for m in file.models] == ["team-model"]


def test_a_model_defined_twice_refuses_the_later_file(tmp_path: Path) -> None:
    team_file(tmp_path, "a.yaml")
    team_file(tmp_path, "b.yaml")  # the same model again
    team_file(tmp_path, "c.yaml", model="third")
    models, refused = combine([], scan(tmp_path))
    assert [m.name for m in models] == ["team-model", "third"]
    (file,) = refused
    assert file.path.endswith("b.yaml")
    assert "'team-model' in namespace 'team-a' is already in" in file.problems[0] and "a.yaml" in file.problems[0]


def test_the_main_config_reads_the_folder_strictly_unless_told(tmp_path: Path) -> None:
    folder = tmp_path / "teams"
    team_file(folder, "team-a.yaml")
    (folder / "team-b.yaml").write_text("models: [\n")
    document = main_config(tmp_path, folder)
    with pytest.raises(ConfigError) as raised:
        drift.parse_config(document)
    assert any(p.startswith(f"{folder / 'team-b.yaml'}: invalid YAML") for p in raised.value.problems)
    lenient = drift.parse_config(document, lenient_model_files=True)
    assert [m.name for m in lenient.models] == ["platform-model", "team-model"]
    assert lenient.model_files is not None and lenient.model_files.poll.seconds == 1.0


def test_a_config_without_models_needs_a_model_files_dir(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"models: must list at least one model \(or name a model_files.dir\)"):
        drift.parse_config({"version": 1, "models": []})
    assert drift.parse_config(main_config(tmp_path, tmp_path / "empty", inline=False)).models == ()


# --- an exporter applying changes while it runs ---


def _send(service: ExporterService, model: str, rows: int, shift: float = 0.0, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for i in range(rows):
        row = (rng.normal(size=len(FEATURES)) + shift).tolist()
        answer = service.intake.event(InferenceEvent("request", model, "team-a", f"{seed}-{i}", {"instances": [row]}))
        assert answer[0] == 202 and answer[1].get("status") != "ignored", answer


def _series(service: ExporterService, model: str) -> list[str]:
    text = generate_latest(service.registry).decode()
    return [line for line in text.splitlines() if f'model="{model}"' in line and not line.startswith("#")]


def _value(service: ExporterService, metric: str, model: str) -> float:
    (line,) = [s for s in _series(service, model) if s.startswith(metric + "{")]
    return float(line.rsplit(" ", 1)[1])


def _profile(folder: Path, name: str) -> None:
    for model in read_model_file(folder / name).models:
        drift.profile_from_source(model).save(model.reference.profile)


def test_an_exporter_applies_team_files_while_it_runs(tmp_path: Path) -> None:
    folder = tmp_path / "teams"
    folder.mkdir()
    config = drift.parse_config(main_config(tmp_path, folder), lenient_model_files=True)
    drift.profile_from_source(config.models[0]).save(config.models[0].reference.profile)
    service = ExporterService(config)
    ExporterApp(service)  # registers the drift collector: the service's registry is what /metrics serves
    assert list(service.models) == [("platform-model", "default")]

    # a new team file: its model starts, its events are taken, its drift is published
    team_file(folder, "team-a.yaml")
    _profile(folder, "team-a.yaml")
    service.reload_model_files()
    assert ("team-model", "team-a") in service.models
    service.refresh_references()
    _send(service, "team-model", 300, shift=1.0)
    service.evaluate_all()
    assert _value(service, "driftline_dataset_drifted", "team-model") == 1.0
    assert _value(service, "driftline_psi_threshold", "team-model") == 0.1
    text = generate_latest(service.registry).decode()
    assert 'driftline_model_files{state="loaded"} 1.0' in text
    assert 'driftline_model_file_changes_total{outcome="applied"} 1.0' in text

    # a changed threshold applies, and the window counted against the same profile is kept
    (stream,) = service.models["team-model", "team-a"].streams
    counted = stream.features.rows(service.clock())
    team_file(folder, "team-a.yaml", psi_threshold=0.3)
    service.reload_model_files()
    (stream,) = service.models["team-model", "team-a"].streams
    assert stream.profile is not None  # the same profile, taken over at once
    assert stream.features.rows(service.clock()) == counted == 300
    assert _value(service, "driftline_psi_threshold", "team-model") == 0.3

    # a broken new file is refused alone: counted once, on /readyz, the other models go on
    (folder / "team-b.yaml").write_text("models:\n  - name: b\n    features: 3\n")
    service.reload_model_files()
    service.reload_model_files()
    ready, detail = service.ready()
    assert ready and list(detail["refused_model_files"]) == [str(folder / "team-b.yaml")]
    text = generate_latest(service.registry).decode()
    assert 'driftline_model_files{state="refused"} 1.0' in text
    assert 'driftline_model_file_changes_total{outcome="refused"} 1.0' in text
    assert set(service.models) == {("platform-model", "default"), ("team-model", "team-a")}
    _send(service, "team-model", 10, seed=1)

    # a good file broken by an edit keeps its last good models; fixed, the fix applies
    (folder / "team-a.yaml").write_text("models: {\n")
    service.reload_model_files()
    assert ("team-model", "team-a") in service.models
    assert str(folder / "team-a.yaml") in service.ready()[1]["refused_model_files"]
    team_file(folder, "team-a.yaml", psi_threshold=0.2)
    service.reload_model_files()
    assert str(folder / "team-a.yaml") not in service.ready()[1]["refused_model_files"]
    assert _value(service, "driftline_psi_threshold", "team-model") == 0.2

    # the file removed: the model retires and every series of it goes
    (folder / "team-a.yaml").unlink()
    service.reload_model_files()
    assert set(service.models) == {("platform-model", "default")}
    assert _series(service, "team-model") == []
    assert _series(service, "platform-model") != []
    answer = service.intake.event(InferenceEvent("request", "team-model", "team-a", "late", {"instances": [[0, 0, 0]]}))
    assert answer == (202, {"status": "ignored", "reason": "unknown_model"})
