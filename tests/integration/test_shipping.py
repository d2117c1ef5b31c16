"""What ships: the image recipe (hadolint), the Kubernetes and ArgoCD manifests (kubernetes-validate, CRD required
fields, kustomize structure), the GitHub workflows (check-jsonschema), and the package installed the way the image
installs it — a wheel into a fresh venv, run from outside the source tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import REPO

BIN = Path(sys.executable).parent
KUBERNETES = REPO / "deploy" / "kubernetes"
MANIFESTS = sorted(
    p
    for p in [
        *KUBERNETES.rglob("*.yaml"),
        *(REPO / "deploy" / "argocd").glob("*.yaml"),
        *(REPO / "deploy" / "generated" / "kubernetes").glob("*.yaml"),
    ]
    if p.name not in ("kustomization.yaml", "monitor.yaml")
)
# What each custom resource needs at least, from its CRD's required fields and what its controller reads.
CRD_REQUIRED = {
    "ServiceMonitor": [("spec", "selector"), ("spec", "endpoints")],
    "PrometheusRule": [("spec", "groups")],
    "InferenceService": [("spec", "predictor")],
    "Application": [
        ("spec", "project"),
        ("spec", "source", "repoURL"),
        ("spec", "source", "path"),
        ("spec", "destination", "namespace"),
    ],
}


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def run(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, cwd=cwd, timeout=timeout)


def test_dockerfile_passes_hadolint() -> None:
    result = run(str(BIN / "hadolint"), str(REPO / "Dockerfile"))
    assert result.returncode == 0, result.stdout + result.stderr
    text = (REPO / "Dockerfile").read_text()
    assert "USER 10001" in text and 'ENTRYPOINT ["driftline"]' in text and "HEALTHCHECK" not in text
    assert text.count("FROM ") == 2, "multi-stage: wheels built in the first stage"


def test_builtin_manifests_pass_kubernetes_validate() -> None:
    result = run(str(BIN / "kubernetes-validate"), "--strict", "-k", "1.30.0", *map(str, MANIFESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR" not in result.stdout + result.stderr
    validated = result.stdout + result.stderr
    for kind in (
        "deployment/driftline-exporter",
        "deployment/driftline-webhook",
        "networkpolicy/driftline-webhook",
        "persistentvolumeclaim/driftline-webhook-state",
        "serviceaccount/driftline",
    ):
        assert f"passed for resource {kind}" in validated, kind


def required_fields_present(where: str, doc: dict[str, Any]) -> bool:
    """Assert a custom resource (no schema in kubernetes-validate) has its CRD's required fields; False for others."""
    required = CRD_REQUIRED.get(doc["kind"])
    if required is None:
        return False
    for keys in required:
        value: Any = doc
        for key in keys:
            assert isinstance(value, dict) and key in value, f"{where}: {doc['kind']} lacks {'.'.join(keys)}"
            value = value[key]
        assert value, f"{where}: {doc['kind']} has an empty {'.'.join(keys)}"
    return True


def test_custom_resources_have_their_required_fields() -> None:
    seen = {doc["kind"] for path in MANIFESTS for doc in documents(path) if required_fields_present(path.name, doc)}
    assert seen == set(CRD_REQUIRED)


@pytest.mark.parametrize("kustomization", ["base", "overlays/example", "overlays/replicas"])
def test_every_kustomization_builds_and_every_built_object_validates(tmp_path: Path, kustomization: str) -> None:
    """What `kubectl apply -k` would send: `kubectl kustomize` builds it, kubernetes-validate (strict, Kubernetes
    1.30) passes every core object, and every custom resource has its CRD's required fields."""
    built = run("kubectl", "kustomize", str(KUBERNETES / kustomization))
    assert built.returncode == 0, built.stderr
    docs = [d for d in yaml.safe_load_all(built.stdout) if d]
    out = tmp_path / "built.yaml"
    out.write_text(built.stdout)
    result = run(str(BIN / "kubernetes-validate"), "--strict", "-k", "1.30.0", str(out))
    assert result.returncode == 0 and "ERROR" not in result.stdout + result.stderr, result.stdout + result.stderr
    for doc in docs:
        if not required_fields_present(kustomization, doc):
            name = f"{doc['kind'].lower()}/{doc['metadata']['name']}"
            assert f"passed for resource {name}" in result.stdout + result.stderr, name
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "ConfigMap", "PrometheusRule", "ServiceMonitor", "NetworkPolicy"} <= kinds


def test_pods_run_locked_down() -> None:
    deployments = [d for p in MANIFESTS for d in documents(p) if d["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} == {"driftline-exporter", "driftline-webhook"}
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
            assert security["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            for env in container.get("env", []):
                assert "value" not in env, f"{env['name']}: a secret value in a manifest; use a secretKeyRef"
    exporter = next(d for d in deployments if d["metadata"]["name"] == "driftline-exporter")
    assert exporter["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_kustomizations_are_consistent() -> None:
    for kustomization in KUBERNETES.rglob("kustomization.yaml"):
        content = yaml.safe_load(kustomization.read_text())
        for resource in content.get("resources", []):
            assert (kustomization.parent / resource).exists(), f"{kustomization}: {resource} does not exist"
        for generator in content.get("configMapGenerator", []):
            for file in generator["files"]:
                assert (kustomization.parent / file.split("=")[-1]).exists()
    base = yaml.safe_load((KUBERNETES / "base" / "kustomization.yaml").read_text())
    assert "../../generated/kubernetes" in base["resources"], "the generated PrometheusRule and dashboards ship"
    # the base's config is the example config, so deploy/generated matches what is deployed
    assert (KUBERNETES / "base" / "monitor.yaml").read_text() == (REPO / "examples" / "monitor.yaml").read_text()
    overlay = yaml.safe_load((KUBERNETES / "overlays" / "example" / "kustomization.yaml").read_text())
    assert overlay["resources"] == ["../../base"] and overlay["images"][0]["name"] == "driftline"
    application = documents(REPO / "deploy" / "argocd" / "application.yaml")[0]
    assert application["spec"]["source"]["path"] == "deploy/kubernetes/overlays/example"
    assert (REPO / application["spec"]["source"]["path"]).is_dir()
    service = next(d for d in documents(KUBERNETES / "base" / "exporter.yaml") if d["kind"] == "Service")
    monitor = yaml.safe_load((REPO / "examples" / "monitor.yaml").read_text())
    assert monitor.get("alerting", {}).get("exporter_job", "driftline-exporter") == service["metadata"]["name"]
    isvc = next(
        d for d in documents(KUBERNETES / "examples" / "inferenceservice.yaml") if d["kind"] == "InferenceService"
    )
    assert isvc["spec"]["predictor"]["logger"]["url"].startswith(f"http://{service['metadata']['name']}.")


def test_the_replicas_overlay_runs_pooled_replicas() -> None:
    """`kubectl kustomize` (kustomize v5) builds the three-replica overlay: a rolling Deployment of three without the
    shared volume, spread over nodes, a PodDisruptionBudget, and the pooled rules and config generated for it."""
    built = run("kubectl", "kustomize", str(KUBERNETES / "overlays" / "replicas"))
    assert built.returncode == 0, built.stderr
    docs = [d for d in yaml.safe_load_all(built.stdout) if d]
    by_kind = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    exporter = by_kind[("Deployment", "driftline-exporter")]["spec"]
    assert exporter["replicas"] == 3 and exporter["strategy"]["type"] == "RollingUpdate"
    pod = exporter["template"]["spec"]
    assert {v["name"]: v for v in pod["volumes"]}["state"] == {"name": "state", "emptyDir": {"sizeLimit": "256Mi"}}
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
    assert ("PersistentVolumeClaim", "driftline-exporter-state") not in by_kind
    budget = by_kind[("PodDisruptionBudget", "driftline-exporter")]["spec"]
    assert budget["maxUnavailable"] == 1 and budget["selector"]["matchLabels"] == pod_labels(exporter)
    groups = {g["name"] for g in by_kind[("PrometheusRule", "driftline")]["spec"]["groups"]}
    assert "driftline-pooling.rules" in groups
    (config,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("driftline-config")]
    assert yaml.safe_load(config["data"]["monitor.yaml"])["exporter"]["replicas"] == 3


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    return {"app.kubernetes.io/name": deployment["template"]["metadata"]["labels"]["app.kubernetes.io/name"]}


@pytest.mark.parametrize("workflow", [".github/workflows/ci.yml", "deploy/github/retrain.yml"])
def test_workflows_pass_the_github_schema(workflow: str) -> None:
    result = run(str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(REPO / workflow))
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_workflow_ships_the_way_it_should() -> None:
    text = (REPO / ".github" / "workflows" / "ci.yml").read_text()
    ci = yaml.safe_load(text)
    steps = " ".join(str(s) for s in ci["jobs"]["test"]["steps"])
    for needed in (
        "prometheus-alertmanager",
        "ruff check",
        "pytest",
        "driftline generate",
        "git diff --exit-code",
        "trivy-action",
    ):
        assert needed in steps, needed
    image = ci["jobs"]["image"]
    assert image["permissions"]["id-token"] == "write", "AWS credentials by OIDC"
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text, "no long-lived keys"
    image_steps = " ".join(str(s) for s in image["steps"])
    assert "amazon-ecr-login" in image_steps and "github.sha" in image_steps
    assert "kustomize edit set image" in image_steps and "[skip ci]" in image_steps


def test_wheel_installs_into_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    """The path the image takes: build the wheel, install it (not the source tree) into a clean venv, run it."""
    # the build context the Dockerfile copies, and nothing else
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, source / name)
    for package in ("drift", "exporters", "dashboards", "alerts", "driftline"):
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(wheels), str(source), timeout=600)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = wheels.glob("driftline-*.whl")
    listing = run(sys.executable, "-m", "zipfile", "-l", str(wheel)).stdout
    assert "tests/" not in listing and "drift/stats.py" in listing and "alerts/webhook/outbox.py" in listing
    assert "licenses/LICENSE" in listing, "the license travels with the wheel"
    for package in ("drift", "exporters", "dashboards", "alerts", "driftline"):
        assert f"{package}/py.typed" in listing, f"{package} is marked typed (PEP 561)"
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    installed = run(str(env_dir / "bin" / "pip"), "install", "--quiet", str(wheel), timeout=900)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    driftline = str(env_dir / "bin" / "driftline")
    assert run(driftline, "--help", cwd=outside).returncode == 0
    checked = run(driftline, "check-config", "--config", str(REPO / "examples" / "monitor.yaml"), cwd=outside)
    assert checked.returncode == 0 and checked.stdout.startswith("ok:"), checked.stderr
    demo = run(driftline, "demo", "--no-servers", "--duration", "20s", cwd=outside, timeout=300)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "summary" in demo.stdout and (outside / "demo-data" / "profile.json").exists()
