"""`driftline generate` output without the Prometheus binaries: golden files, conventions, config sensitivity.

Set UPDATE_GOLDEN=1 to rewrite the golden files (and review the diff) after an intended change.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import drift
from alerts.loader import load_deployment, parse_deployment
from alerts.rules import rule_groups
from drift.config import VersionsConfig
from driftline.generate import generate, write_files
from tests.support import REPO

EXAMPLE = REPO / "examples" / "monitor.yaml"
CONFIGS = REPO / "tests" / "fixtures" / "configs"
GOLDEN = {
    EXAMPLE: REPO / "deploy" / "generated",
    CONFIGS / "multi-model.yaml": REPO / "tests" / "golden" / "multi-model",
    CONFIGS / "minimal.yaml": REPO / "tests" / "golden" / "minimal",
    CONFIGS / "replicas.yaml": REPO / "tests" / "golden" / "replicas",
}
ALL_CONFIGS = list(GOLDEN)


def load(path: Path) -> drift.MonitorConfig:
    return load_deployment(path)


def alerts_of(groups: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


@pytest.mark.parametrize("config_path", ALL_CONFIGS, ids=lambda p: p.stem)
def test_generated_files_match_the_golden_files(config_path: Path) -> None:
    """deploy/generated is the golden set of the example config: this is also CI's freshness check."""
    golden = GOLDEN[config_path]
    files = generate(load(config_path))
    if os.environ.get("UPDATE_GOLDEN"):
        write_files(files, golden)
    on_disk = {str(p.relative_to(golden)) for p in golden.rglob("*") if p.is_file()}
    assert on_disk == set(files), f"{golden} holds other files than generate writes; regenerate it"
    for name, content in files.items():
        assert (golden / name).read_text() == content, (
            f"{golden / name} is stale: run `driftline generate --config {config_path.relative_to(REPO)} "
            f"--out {golden.relative_to(REPO)}` (or UPDATE_GOLDEN=1 pytest) and commit the result"
        )


def _with(config_path: Path, change: dict[str, Any]) -> drift.MonitorConfig:
    data = yaml.safe_load(config_path.read_text())

    def merge(into: dict[str, Any], update: dict[str, Any]) -> None:
        for key, value in update.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = value

    merge(data, copy.deepcopy(change))
    return parse_deployment(data)


def _rule_diff(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, set[str]]:
    """{rule name: keys that differ} between two rule group lists."""

    def index(groups: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {
            rule.get("alert") or f"{rule['record']}{rule.get('labels', '')}": rule
            for group in groups
            for rule in group["rules"]
        }

    left, right = index(a), index(b)
    assert left.keys() == right.keys()
    return {
        name: {k for k in set(left[name]) | set(right[name]) if left[name].get(k) != right[name].get(k)}
        for name in left
        if left[name] != right[name]
    }


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"alerting": {"alerts": {"reject_rate": {"threshold": 0.1}}}}, {"DriftlineHighRejectRate": {"expr"}}),
        ({"alerting": {"alerts": {"dataset_drift": {"for": "30m"}}}}, {"DriftlineDatasetDrift": {"for"}}),
        (
            {"alerting": {"alerts": {"no_traffic": {"keep_firing_for": "1h"}}}},
            {"DriftlineNoTraffic": {"keep_firing_for"}},
        ),
        ({"alerting": {"alerts": {"serving_latency": {"threshold": "2s"}}}}, {"DriftlineServingLatency": {"expr"}}),
        ({"alerting": {"alerts": {"reference_stale": {"max_age": "30d"}}}}, {"DriftlineReferenceStale": {"expr"}}),
        (
            {"alerting": {"runbook_url": "https://runbooks.example.org/{alertname}"}},
            "every alert's annotations",
        ),
    ],
)
def test_changing_one_setting_changes_exactly_the_expected_rules(change: dict[str, Any], expected: Any) -> None:
    before = rule_groups(load(EXAMPLE))
    after = rule_groups(_with(EXAMPLE, change))
    diff = _rule_diff(before, after)
    if expected == "every alert's annotations":
        assert set(diff) == set(alerts_of(before)) and all(keys == {"annotations"} for keys in diff.values())
    else:
        assert diff == expected


def test_disabled_alerts_are_left_out_with_their_tests() -> None:
    config = _with(EXAMPLE, {"alerting": {"alerts": {"serving_latency": {"enabled": False}}}})
    files = generate(config)
    assert "DriftlineServingLatency" not in files["prometheus/rules.yml"]
    assert "DriftlineServingLatency" not in files["prometheus/rules_test.yml"]
    assert "DriftlineServingErrors" in files["prometheus/rules.yml"]


@pytest.mark.parametrize("config_path", ALL_CONFIGS, ids=lambda p: p.stem)
def test_alerts_follow_the_mixin_conventions(config_path: Path) -> None:
    config = load(config_path)
    alerts = alerts_of(rule_groups(config))
    assert alerts
    for name, rule in alerts.items():
        assert re.fullmatch(r"Driftline([A-Z][a-z]+)+", name), name
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert {"summary", "description", "runbook_url"} <= set(rule["annotations"])
        assert "{{" not in rule["annotations"]["summary"], "summary is static; templates go in description"
        assert "{{" in rule["annotations"]["description"], f"{name}: description should say which model/what value"
        assert rule["annotations"]["runbook_url"].startswith(config.alerting.runbook_url.split("{")[0])
        assert name in rule["annotations"]["runbook_url"] or name.lower() in rule["annotations"]["runbook_url"]
        assert "$value | humanize }}" not in rule["annotations"]["description"], "humanize prints 0.3 as 300m"
    assert alerts["DriftlineDatasetDrift"]["labels"] == {"severity": "critical", "action": "retrain"}
    assert alerts["DriftlinePerformanceDrop"]["labels"] == {"severity": "critical", "action": "retrain"}


def test_every_listed_alert_exists_in_the_example() -> None:
    names = set(alerts_of(rule_groups(load(EXAMPLE))))
    assert names == {
        "DriftlineFeatureDrift",
        "DriftlineDatasetDrift",
        "DriftlineMultivariateDrift",
        "DriftlinePredictionDrift",
        "DriftlinePerformanceDrop",
        "DriftlineConceptDrift",
        "DriftlineEstimatedPerformanceDrop",
        "DriftlineFeatureOutOfRange",
        "DriftlineUnseenCategories",
        "DriftlineFeaturePayloadErrors",
        "DriftlineExporterDown",
        "DriftlineNoTraffic",
        "DriftlineReferenceNotLoaded",
        "DriftlineObjectsQuarantined",
        "DriftlineVersionWithoutReference",
        "DriftlineReferenceStale",
        "DriftlineHighRejectRate",
        "DriftlineServingErrors",
        "DriftlineServingLatency",
        "DriftlineRetrainingFailed",
        "DriftlineRetrainingStuck",
    }


@pytest.mark.parametrize("config_path", ALL_CONFIGS, ids=lambda p: p.stem)
def test_dashboards_are_modern_grafana_json(config_path: Path) -> None:
    files = generate(load(config_path))
    dashboards = {name: json.loads(content) for name, content in files.items() if name.startswith("dashboards/")}
    assert len(dashboards) == 3
    uids = set()
    for name, dashboard in dashboards.items():
        assert dashboard["schemaVersion"] >= 39, name
        assert re.fullmatch(r"[a-z0-9-]{1,40}", dashboard["uid"]), "stable, URL-safe uid"
        uids.add(dashboard["uid"])
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), f"{name}: panel ids must be unique"
        occupied: set[tuple[int, int]] = set()
        for panel in dashboard["panels"]:
            pos = panel["gridPos"]
            assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24 and pos["h"] > 0, (name, panel["title"])
            cells = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
            assert not cells & occupied, f"{name}: {panel['title']} overlaps another panel"
            occupied |= cells
        for panel in panels(dashboard):
            where = f"{name}: {panel['title']}"
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, where
            assert panel["fieldConfig"]["defaults"].get("unit"), f"{where} has no unit"
            assert panel.get("description"), f"{where} has no description for the (i) tooltip"
            assert panel["targets"], where
            for t in panel["targets"]:
                assert t["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, where
                assert t["expr"].strip(), where
            refs = [t["refId"] for t in panel["targets"]]
            assert len(refs) == len(set(refs)), where
    assert len(uids) == 3


def test_model_drift_dashboard_has_what_on_call_needs() -> None:
    dashboard = json.loads(generate(load(EXAMPLE))["dashboards/driftline-model-drift.json"])
    variables = [v["name"] for v in dashboard["templating"]["list"]]
    assert variables == ["datasource", "model_namespace", "model", "model_version", "feature", "metric"]
    names = [a["name"] for a in dashboard["annotations"]["list"]]
    assert "model versions" not in names, "no rollout marks for a model whose versions are not told apart"
    by_title = {p["title"]: p for p in panels(dashboard)}
    for title in ("Dataset drift", "Drift share", "Drifted features", "Window fill", "Last evaluation"):
        assert by_title[title]["type"] == "stat"
    psi = by_title["PSI per feature"]
    assert any("driftline_psi_threshold" in t["expr"] for t in psi["targets"]), "the PSI threshold is drawn"
    ranked = by_title["Features ranked by PSI"]
    assert ranked["type"] == "table" and ranked["options"]["sortBy"] == [{"displayName": "PSI", "desc": True}]
    exprs = " ".join(t["expr"] for t in ranked["targets"])
    for metric in (
        "driftline_feature_psi",
        "driftline_feature_ks_pvalue",
        "driftline_feature_chi2_pvalue",
        "driftline_feature_missing_ratio",
    ):
        assert metric in exprs
    assert any(
        "driftline_prediction_psi" in t["expr"] for t in by_title["Prediction drift (PSI per output)"]["targets"]
    )
    estimated = " ".join(t["expr"] for t in by_title["Estimated vs realised $metric"]["targets"])
    for metric in (
        "driftline_estimated_performance{",
        "driftline_estimated_performance_lower{",
        "driftline_performance{",
    ):
        assert metric in estimated, "the estimate, its band and the realised metric side by side"


def test_a_model_with_versions_gets_rollout_marks_and_the_canary_row() -> None:
    config = load(EXAMPLE)
    versioned = dataclasses.replace(
        config.models[0], versions=VersionsConfig("annotation", "driftline.io/model-version")
    )
    config = dataclasses.replace(config, models=(versioned, *config.models[1:]))
    dashboard = json.loads(generate(config)["dashboards/driftline-model-drift.json"])
    marks = [a for a in dashboard["annotations"]["list"] if a["name"] == "model versions"]
    assert marks and 'model_version!=""' in marks[0]["expr"], "a rollout is marked on every time series"
    titles = {p["title"] for p in [*dashboard["panels"], *panels(dashboard)]}
    assert {"Model versions: canary against stable", "Outputs against the stable version (PSI)"} <= titles


@pytest.mark.parametrize("config_path", ALL_CONFIGS, ids=lambda p: p.stem)
def test_alertmanager_config_routes_and_keeps_secrets_out(config_path: Path) -> None:
    config = load(config_path)
    am = yaml.safe_load(generate(config)["alertmanager/alertmanager.yml"])
    text = json.dumps(am)
    for forbidden in ('"url_file"', '"timeout"', '"api_url"', '"credentials"', '"password"'):
        assert forbidden not in text, f"{forbidden} is not valid in Alertmanager 0.25 or would hold a secret"
    route = am["route"]
    assert route["group_by"][:2] == ["alertname", "model"]
    if config.alerting.slack is None:
        assert route["receiver"] == "null" and "routes" not in route
        return
    retrain, slack_route = route["routes"]
    assert slack_route["receiver"] == "slack" and "continue" not in slack_route
    assert retrain["receiver"] == "retrain-webhook" and retrain["continue"] is True
    assert set(retrain["matchers"]) == {'severity="critical"', 'action="retrain"'}
    receivers = {r["name"]: r for r in am["receivers"]}
    hook = receivers["retrain-webhook"]["webhook_configs"][0]
    assert hook["send_resolved"] is False
    assert hook["http_config"]["authorization"] == {
        "type": "Bearer",
        "credentials_file": config.alerting.retrain_webhook.credentials_file,
    }
    slack_config = receivers["slack"]["slack_configs"][0]
    assert slack_config["send_resolved"] is True and slack_config["api_url_file"]
    assert [a["text"] for a in slack_config["actions"]][:1] == ["Runbook"]
    inhibited = [r for r in am["inhibit_rules"] if r["source_matchers"] == ['alertname="DriftlineExporterDown"']]
    assert inhibited and "DriftlineDatasetDrift" in inhibited[0]["target_matchers"][0]


def test_every_alert_has_a_runbook_section() -> None:
    """The default runbook_url links docs/runbooks.md#<alertname lower>: that anchor must exist."""
    headings = re.findall(r"^## (\w+)$", (REPO / "docs" / "runbooks.md").read_text(), flags=re.MULTILINE)
    alerts = set(alerts_of(rule_groups(load(EXAMPLE))))
    assert alerts <= set(headings), f"runbooks missing for {alerts - set(headings)}"
    default = parse_deployment({"models": yaml.safe_load(EXAMPLE.read_text())["models"]})
    assert default.alerting.runbook("DriftlineDatasetDrift").endswith("docs/runbooks.md#driftlinedatasetdrift")


def _nulls(value: Any, where: str = "") -> list[str]:
    if value is None:
        return [where]
    if isinstance(value, dict):
        return [n for k, v in value.items() for n in _nulls(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [n for i, v in enumerate(value) for n in _nulls(v, f"{where}[{i}]")]
    return []


@pytest.mark.parametrize("config_path", ALL_CONFIGS, ids=lambda p: p.stem)
def test_grafanas_own_sdk_reads_every_dashboard(config_path: Path) -> None:
    """Grafana's foundation SDK, the build for Grafana 11.6 (pinned: a plain install resolves to a 10.1 build), parses
    every generated dashboard — with versions too — and no leaf is null (the SDK raises on nulls Grafana's UI
    tolerates)."""
    from grafana_foundation_sdk.models.dashboard import Dashboard

    config = load(config_path)
    versioned = dataclasses.replace(config.models[0], versions=VersionsConfig("annotation", "driftline.io/v"))
    for variant in (config, dataclasses.replace(config, models=(versioned, *config.models[1:]))):
        for name, text in generate(variant).items():
            if not (name.startswith("dashboards/") and name.endswith(".json")):
                continue
            data = json.loads(text)
            assert _nulls(data) == [], f"{name}: null leaves"
            parsed = Dashboard.from_json(data)
            assert parsed.uid == data["uid"] and parsed.panels and len(parsed.panels) == len(data["panels"]), name


@pytest.mark.parametrize("config_path", [EXAMPLE, CONFIGS / "replicas.yaml"], ids=lambda p: p.stem)
def test_the_rules_and_dashboards_never_name_a_model(config_path: Path) -> None:
    """One model or fifty, in other namespaces, with other thresholds: the rule files and dashboards are the same
    bytes, so a model a team adds later (model_files) is covered by what was generated before it existed. (The
    promtool tests exercise the first model; they too stay the same.)"""
    document = yaml.safe_load(config_path.read_text())
    first = document["models"][0]
    fleet = copy.deepcopy(document)
    fleet["models"] = [first] + [
        {
            **copy.deepcopy(first),
            "name": f"team-model-{i:02d}",
            "namespace": f"team-{i % 7}",
            "drift": {**first.get("drift", {}), "psi_threshold": 0.05 + i / 100, "alpha": 0.01},
        }
        for i in range(49)
    ]
    one = generate(parse_deployment({**document, "models": [first]}, base_dir=config_path.parent))
    fifty = generate(parse_deployment(fleet, base_dir=config_path.parent))
    assert set(one) == set(fifty)
    assert {"prometheus/rules.yml", "kubernetes/prometheusrule.yaml"} <= set(one)
    for name in one:
        assert "team-model" not in fifty[name]
        assert one[name] == fifty[name], f"{name} differs between 1 and 50 models"


def test_a_config_whose_models_are_all_in_team_files_generates_the_same_rules(tmp_path: Path) -> None:
    """No model in the main config (every one in model_files.dir): the rules are the example's, and their promtool
    tests exercise a built-in example model."""
    document = yaml.safe_load(EXAMPLE.read_text())
    teams = {**{k: v for k, v in document.items() if k != "models"}, "model_files": {"dir": str(tmp_path)}}
    with_teams = generate(parse_deployment(teams, base_dir=EXAMPLE.parent, source=str(EXAMPLE)))
    example = generate(load(EXAMPLE))
    for name in ("prometheus/rules.yml", "kubernetes/prometheusrule.yaml"):
        assert with_teams[name] == example[name]
    assert "example-model" in with_teams["prometheus/rules_test.yml"]
