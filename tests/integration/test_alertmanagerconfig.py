"""The generated AlertmanagerConfig custom resource: valid against the Prometheus Operator's own CRD schema, and —
turned into Alertmanager config the way the operator does — routing every alert to the same receivers as the
generated alertmanager.yml, by amtool 0.25.

The CRD schema is prometheus-operator v0.93.0's, vendored in tests/fixtures/crds (descriptions removed). The
apiserver prunes unknown fields silently and ``kubectl --validate=strict`` refuses them; the check here is strict.
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from alerts.alertmanagerconfig import SECRET, SLACK_URL_KEY, WEBHOOK_TOKEN_KEY
from alerts.loader import load_deployment
from driftline.generate import generate, write_files
from tests.support import HANG_TIMEOUT, REPO

CRD_SCHEMA = REPO / "tests" / "fixtures" / "crds" / "alertmanagerconfigs.monitoring.coreos.com-v1alpha1.json"
CONFIGS = [
    REPO / "examples" / "monitor.yaml",
    REPO / "tests" / "fixtures" / "configs" / "multi-model.yaml",
    REPO / "tests" / "fixtures" / "configs" / "minimal.yaml",
]
CR_KEY = "monitoring/driftline"  # the operator names a resource's receivers <namespace>/<name>/<receiver>
LABEL_SETS = {
    "retrain": {"alertname": "DriftlineDatasetDrift", "severity": "critical", "action": "retrain",
                "model": "churn-model", "model_namespace": "default"},
    "warning": {"alertname": "DriftlineFeatureDrift", "severity": "warning", "feature": "tenure",
                "model": "churn-model", "model_namespace": "default"},
    "critical, no retrain": {"alertname": "DriftlineServingErrors", "severity": "critical", "model": "churn-model"},
    "exporter down": {"alertname": "DriftlineExporterDown", "severity": "warning", "job": "driftline-exporter"},
    "not driftline's": {"alertname": "KubePodCrashLooping", "severity": "critical", "action": "retrain"},
}  # fmt: skip


def strict(schema: Any) -> Any:
    """The CRD schema with unknown fields refused, as ``kubectl apply --validate=strict`` does."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if "properties" in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out.setdefault("additionalProperties", False)
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def resource_and_plain(config_path: Path, out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    write_files(generate(load_deployment(config_path)), out)
    resource = yaml.safe_load((out / "alertmanager" / "alertmanagerconfig.yaml").read_text())
    plain = yaml.safe_load((out / "alertmanager" / "alertmanager.yml").read_text())
    return resource, plain


def as_operator_would(resource: dict[str, Any]) -> dict[str, Any]:
    """The Alertmanager config the operator builds around the resource (pkg/alertmanager/amcfg.go): the resource's
    route under a global one with ``continue: true``, receivers prefixed with the resource's key, Secret keys
    resolved (to stand-in values here), matchers as ``name op "value"``."""
    spec = copy.deepcopy(resource["spec"])

    def matchers(items: list[dict[str, str]]) -> list[str]:
        return [f"{m['name']}{m['matchType']}{json.dumps(m['value'])}" for m in items]

    def route(r: dict[str, Any]) -> dict[str, Any]:
        names = {"groupBy": "group_by", "groupWait": "group_wait", "groupInterval": "group_interval",
                 "repeatInterval": "repeat_interval", "continue": "continue"}  # fmt: skip
        out = {names[k]: v for k, v in r.items() if k in names}
        out["receiver"] = f"{CR_KEY}/{r['receiver']}"
        if "matchers" in r:
            out["matchers"] = matchers(r["matchers"])
        if "routes" in r:
            out["routes"] = [route(child) for child in r["routes"]]
        return out

    secrets = {(SECRET, SLACK_URL_KEY): "https://hooks.slack.example/T0/B0/x", (SECRET, WEBHOOK_TOKEN_KEY): "token"}
    receivers = [{"name": "null"}]
    for r in spec["receivers"]:
        receiver: dict[str, Any] = {"name": f"{CR_KEY}/{r['name']}"}
        for slack in r.get("slackConfigs", []):
            api_url = secrets[(slack["apiURL"]["name"], slack["apiURL"]["key"])]
            receiver.setdefault("slack_configs", []).append({
                "api_url": api_url, "channel": slack["channel"], "send_resolved": slack["sendResolved"],
                "title": slack["title"], "text": slack["text"], "color": slack["color"], "actions": slack["actions"],
            })  # fmt: skip
        for hook in r.get("webhookConfigs", []):
            credentials = hook["httpConfig"]["authorization"]["credentials"]
            receiver.setdefault("webhook_configs", []).append({
                "url": hook["url"], "send_resolved": hook["sendResolved"],
                "http_config": {"authorization": {"type": hook["httpConfig"]["authorization"]["type"],
                                                  "credentials": secrets[(credentials["name"], credentials["key"])]}},
            })  # fmt: skip
        receivers.append(receiver)
    top = route(spec["route"])
    top["continue"] = True
    inhibit = [
        {"source_matchers": matchers(i["sourceMatch"]), "target_matchers": matchers(i["targetMatch"]),
         "equal": i["equal"]}
        for i in spec["inhibitRules"]
    ]  # fmt: skip
    return {"route": {"receiver": "null", "routes": [top]}, "receivers": receivers, "inhibit_rules": inhibit}


def receivers_of(config: Path, labels: dict[str, str]) -> list[str]:
    shown = subprocess.run(
        ["amtool", "config", "routes", "test", f"--config.file={config}", *(f"{k}={v}" for k, v in labels.items())],
        capture_output=True, text=True, timeout=HANG_TIMEOUT,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stdout + shown.stderr
    return sorted(name.removeprefix(f"{CR_KEY}/") for name in shown.stdout.strip().split(","))


@pytest.mark.parametrize("config_path", CONFIGS, ids=lambda p: p.stem)
def test_the_resource_is_valid_against_the_operators_crd_schema(config_path: Path, tmp_path: Path) -> None:
    resource, _ = resource_and_plain(config_path, tmp_path / "out")
    schema = strict(json.loads(CRD_SCHEMA.read_text()))
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in
              jsonschema.Draft7Validator(schema).iter_errors(resource)]  # fmt: skip
    assert errors == []
    assert resource["apiVersion"] == "monitoring.coreos.com/v1alpha1" and resource["kind"] == "AlertmanagerConfig"
    broken = copy.deepcopy(resource)
    broken["spec"]["route"]["groupwait"] = "30s"  # a misspelt field: the strict check is real
    assert not jsonschema.Draft7Validator(schema).is_valid(broken)


@pytest.mark.parametrize("config_path", CONFIGS, ids=lambda p: p.stem)
def test_the_resource_routes_and_inhibits_like_alertmanager_yml(config_path: Path, tmp_path: Path) -> None:
    resource, plain = resource_and_plain(config_path, tmp_path / "out")
    text = (tmp_path / "out" / "alertmanager" / "alertmanagerconfig.yaml").read_text()
    assert "_file" not in text, "secrets are Secret keys in the resource, never file paths"
    built = tmp_path / "operator.yml"
    built.write_text(yaml.safe_dump(as_operator_would(resource)))
    checked = subprocess.run(
        ["amtool", "check-config", str(built)], capture_output=True, text=True, timeout=HANG_TIMEOUT
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    plain_file = tmp_path / "out" / "alertmanager" / "alertmanager.yml"
    for case, labels in LABEL_SETS.items():
        expected = receivers_of(plain_file, labels)
        got = receivers_of(built, labels)
        if case == "not driftline's":
            assert got == ["null"], "the resource sees only driftline's alerts"
            continue
        assert got == expected, case
    assert as_operator_would(resource)["inhibit_rules"] == plain["inhibit_rules"]
