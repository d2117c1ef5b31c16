"""What ships: the image recipe (hadolint), the Kubernetes and ArgoCD manifests (kubernetes-validate, CRD required
fields, kustomize structure), the GitHub workflows (check-jsonschema), and the package installed the way the image
installs it — a wheel into a fresh venv, run from outside the source tree."""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import REPO
from tests.support.packages import OTHERS, drift_modules

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
    # the same config, each with the schema line its own folder needs
    base, example = ((p / "monitor.yaml").read_text().split("\n", 1) for p in (KUBERNETES / "base", REPO / "examples"))
    assert base[1] == example[1] and base[0].startswith("# yaml-language-server: $schema=")
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


@pytest.mark.parametrize(
    "workflow",
    [
        ".github/workflows/ci.yml",
        ".github/workflows/release.yml",
        "deploy/github/retrain.yml",
        "deploy/github/data-gate.yml",
    ],
)
def test_workflows_pass_the_github_schema(workflow: str) -> None:
    result = run(str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(REPO / workflow))
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_workflow_ships_the_way_it_should() -> None:
    text = (REPO / ".github" / "workflows" / "ci.yml").read_text()
    ci = yaml.safe_load(text)
    test = ci["jobs"]["test"]
    assert test["strategy"]["matrix"]["python"] == ["3.11", "3.12", "3.13"]
    classifiers = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["classifiers"]
    assert {f"Programming Language :: Python :: {v}" for v in test["strategy"]["matrix"]["python"]} <= set(classifiers)
    steps = [str(step.get("run", "")) for step in test["steps"]]
    targets = make_targets()
    test_line = re.search(r"^test: (.*)$", (REPO / "Makefile").read_text(), re.M)
    assert test_line is not None
    gates = test_line.group(1).split()
    assert gates == ["lint", "typecheck", "check-generated", "unit"], "the fast gate first"
    assert "-j2 --output-sync=target integration pytest-core" in targets["test"], "then the slow tiers, side by side"
    # what `make test` runs, step by step and in its order (the core install is a job of its own)
    assert [run.split()[1] for run in steps if run.startswith("make ")] == [*gates, "integration"]
    assert all(gate in targets for gate in gates)
    assert "trivy-action" in " ".join(str(step) for step in test["steps"])
    core = ci["jobs"]["core"]
    assert [step["run"] for step in core["steps"] if "run" in step] == ["make pytest-core PYTHON=python"]
    assert "pytest-core" in targets and ci["jobs"]["image"]["needs"] == ["test", "core"]
    image = ci["jobs"]["image"]
    assert image["permissions"]["id-token"] == "write", "AWS credentials by OIDC"
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text, "no long-lived keys"
    image_steps = " ".join(str(s) for s in image["steps"])
    assert "amazon-ecr-login" in image_steps and "github.sha" in image_steps
    assert "kustomize edit set image" in image_steps and "[skip ci]" in image_steps


def test_release_workflow_publishes_by_trusted_publishing_and_a_multi_arch_attested_image() -> None:
    text = (REPO / ".github" / "workflows" / "release.yml").read_text()
    release = yaml.safe_load(text)
    assert release[True] == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+*"]}}, "tags only"  # YAML reads `on` as True
    assert release["permissions"] == {"contents": "read"}
    jobs = release["jobs"]
    build = " ".join(str(step) for step in jobs["build"]["steps"])
    assert '"v$version" != "$GITHUB_REF_NAME"' in build and "python -m build" in build and "twine check" in build
    assert "driftline generate --config examples/monitor.yaml" in build and "monitor.schema.json" in build
    pypi = jobs["pypi"]
    assert pypi["permissions"] == {"id-token": "write"} and pypi["environment"]["name"] == "pypi"
    (publish,) = [step for step in pypi["steps"] if step.get("uses", "").startswith("pypa/gh-action-pypi-publish")]
    assert "with" not in publish, "trusted publishing: no password or token"
    assert re.findall(r"secrets\.(\w+)", text) == ["GITHUB_TOKEN"], "no stored secret: OIDC and the job's token"
    image = jobs["image"]
    assert image["permissions"]["packages"] == "write" and image["permissions"]["id-token"] == "write"
    (push,) = [step for step in image["steps"] if step.get("uses", "").startswith("docker/build-push-action")]
    assert push["with"]["platforms"] == "linux/amd64,linux/arm64" and push["with"]["push"] is True
    assert push["with"]["sbom"] is True and push["with"]["provenance"] == "mode=max"
    assert "VERSION=${{ needs.build.outputs.version }}" in push["with"]["build-args"]
    assert release["env"]["IMAGE"].startswith("ghcr.io/")
    steps = " ".join(str(step) for step in jobs["release"]["steps"])
    assert jobs["release"]["needs"] == ["build", "pypi", "image"]
    assert "gh release create" in steps and "artifacts/dist/*" in steps and "artifacts/release-files/*" in steps


def test_every_place_that_names_the_release_names_pyprojects_version() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert importlib.metadata.version("driftline") == version, "reinstall: pip install -e '.[dev]'"
    cli = run(str(BIN / "driftline"), "--version")
    assert cli.stdout.strip() == f"driftline {version}"
    assert f"ARG VERSION={version}\n" in (REPO / "Dockerfile").read_text()
    chart = yaml.safe_load((REPO / "deploy" / "helm" / "driftline" / "Chart.yaml").read_text())
    assert (chart["version"], chart["appVersion"]) == (version, version), "the Helm chart"
    for kustomization in ("base", "overlays/example"):
        images = yaml.safe_load((KUBERNETES / kustomization / "kustomization.yaml").read_text())["images"]
        assert [image["newTag"] for image in images if image["name"] == "driftline"] == [version], kustomization
    assert (
        f'DRIFTLINE_IMAGE = "ghcr.io/driftline/driftline:{version}"' in (REPO / "deploy/kfp/components.py").read_text()
    )
    for workflow in ("retrain.yml", "data-gate.yml"):
        assert f"vars.DRIFTLINE_VERSION || '{version}'" in (REPO / "deploy/github" / workflow).read_text(), workflow
    assert re.search(rf"^## {re.escape(version)}$", (REPO / "CHANGELOG.md").read_text(), re.M), "a CHANGELOG section"


def test_the_image_constraints_pin_every_package_of_core_and_report_and_still_resolve(tmp_path: Path) -> None:
    """What the image installs resolves with the pins (they satisfy pyproject's requirements), and the pins are
    closed: no package of the install is left to float."""
    constraints = REPO / "deploy" / "image" / "constraints.txt"
    pinned = {}
    for line in constraints.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pinned[name.lower().replace("_", "-")] = version
    report = tmp_path / "report.json"
    resolved = run(sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
                   "--constraint", str(constraints), "--report", str(report), f"{REPO}[server,report]",
                   timeout=600)  # fmt: skip
    assert resolved.returncode == 0, resolved.stderr[-3000:]
    installed = {
        item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
        if item["metadata"]["name"] != "driftline"
    }
    assert installed == pinned, {k: (installed.get(k), pinned.get(k)) for k in installed.keys() ^ pinned.keys()}
    assert "evidently" in pinned  # the report extra: the exporter's /report has Evidently's sections
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "deploy/image/constraints.txt" in dockerfile and "--constraint constraints.txt" in dockerfile


def make_targets() -> dict[str, str]:
    """The Makefile's targets and their recipes."""
    text = (REPO / "Makefile").read_text()
    return {m.group(1): m.group(2) for m in re.finditer(r"^([\w$()/.-]+):[^\n=]*\n((?:\t.*\n)*)", text, re.M)}


def test_make_test_runs_what_depends_on_the_install_again_on_the_core_install_and_pandas_3() -> None:
    targets = make_targets()
    assert "pytest-core" in targets["test"]
    recipe = targets["pytest-core"]
    assert "$(CORE_BIN)/pytest -q -n $(UNIT_WORKERS) -m 'not report' tests/unit" in recipe
    assert (
        "$(CORE_BIN)/pytest -q $(PARALLEL) -m 'install and not report' tests/integration tests/e2e tests/test_readme.py"
        in recipe
    )
    assert 'find_spec("evidently") is not None' in recipe, "the run fails if Evidently is installed there"
    install = targets["$(CORE_BIN)/.installed"]
    assert "-e '.[test]' 'pandas>=3'" in install and "report" not in install and "dev" not in install
    assert "-e '.[demo]'" in targets["$(DEMO_BIN)/.installed"]
    assert "$(DEMO_BIN)/driftline demo" in targets["demo"]


def test_wheel_installs_into_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    """The path the image takes: build the wheel, install it (not the source tree) into a clean venv, run it; the
    core install has none of the extras, and the demo runs once its extra is added."""
    # the build context the Dockerfile copies, and nothing else
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, source / name)
    for package in ("drift", "httpserver", "exporters", "dashboards", "alerts", "driftline"):
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(wheels), str(source), timeout=600)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = wheels.glob("driftline-*.whl")
    listing = run(sys.executable, "-m", "zipfile", "-l", str(wheel)).stdout
    assert "tests/" not in listing and "drift/stats.py" in listing and "alerts/webhook/outbox.py" in listing
    assert "licenses/LICENSE" in listing, "the license travels with the wheel"
    assert "drift/config/monitor.schema.json" in listing, "the config's JSON Schema travels with the package"
    for package in ("drift", "httpserver", "exporters", "dashboards", "alerts", "driftline"):
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
    core = run(str(env_dir / "bin" / "python"), "-m", "pip", "list", "--format=freeze").stdout.lower()
    assert "evidently==" not in core and "scikit-learn==" not in core and "rich==" not in core, "the core install"
    needs = run(driftline, "demo", "--no-servers", "--duration", "20s", cwd=outside)
    assert needs.returncode == 1 and needs.stderr.count("\n") == 1 and "driftline[demo]" in needs.stderr
    with_demo = run(str(env_dir / "bin" / "pip"), "install", "--quiet", f"{wheel}[demo]", timeout=900)
    assert with_demo.returncode == 0, with_demo.stdout[-2000:] + with_demo.stderr[-2000:]
    demo = run(driftline, "demo", "--no-servers", "--duration", "20s", cwd=outside, timeout=300)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "summary" in demo.stdout and (outside / "demo-data" / "profile.json").exists()


SCHEMA_FILE = REPO / "docs" / "monitor.schema.json"
EXAMPLES = [
    REPO / "examples" / "monitor.yaml",
    REPO / "deploy" / "kubernetes" / "base" / "monitor.yaml",
    REPO / "deploy" / "kubernetes" / "overlays" / "replicas" / "monitor.yaml",
    *sorted((REPO / "tests" / "fixtures" / "configs").glob("*.yaml")),
]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_example_validates_with_check_jsonschema_and_names_the_schema(example: Path) -> None:
    first = example.read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema="), "editors find the schema through this line"
    named = (example.parent / first.split("=", 1)[1]).resolve()
    assert named == SCHEMA_FILE
    check = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run([str(check), "--schemafile", str(named), str(example)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_every_module_of_drift_loads_nothing_else_of_driftline() -> None:
    modules = drift_modules()
    assert len(modules) >= 15 and "drift.config.loader" in modules and "drift.quality.adwin" in modules
    code = (
        f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {OTHERS!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert out.strip() == "[]"


def test_reading_a_config_does_not_import_the_numeric_stack() -> None:
    code = "import sys, drift; drift.load_config; print('scipy' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


def test_make_clean_restores_a_fresh_clone(tmp_path: Path) -> None:
    """What the Makefile's targets, the demo and the Quick start leave behind, `make clean` removes: afterwards git
    sees nothing, ignored files included."""
    import shutil

    for name in ("Makefile", ".gitignore"):
        shutil.copyfile(REPO / name, tmp_path / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    for command in (["init", "-q"], ["add", "Makefile", ".gitignore"], ["commit", "-q", "-m", "clone"]):
        subprocess.run([*git, *command], cwd=tmp_path, check=True, capture_output=True)
    left_behind = [".venv/bin/python", ".venv-demo/bin/python", ".venv-core/bin/python",
                   "demo-data/monitoring/prometheus/rules.yml", "demo-data/report.html",
                   ".pytest_cache/v", ".mypy_cache/x", ".ruff_cache/x", ".hypothesis/x", ".peers/x",
                   "pkg/__pycache__/m.pyc", "driftline.egg-info/PKG-INFO"]  # fmt: skip
    for left in left_behind:
        (tmp_path / left).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / left).write_text("x")
    subprocess.run(["make", "clean"], cwd=tmp_path, check=True, capture_output=True)
    status = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=tmp_path, capture_output=True,
                            text=True, check=True)  # fmt: skip
    assert status.stdout == "", status.stdout


def _dockerfile_extras() -> tuple[str, str]:
    """The requirement the image's two pip lines name, expanded by a POSIX shell as the build does: with the default
    EXTRAS and with the report variant's."""
    text = (REPO / "Dockerfile").read_text()
    default = re.search(r'^ARG EXTRAS="([^"]*)"$', text, re.M)
    assert default is not None and text.count(default.group(0)) == 2, "EXTRAS declared in both stages, alike"
    (wheel_line,) = re.findall(r'"(\.\$\{EXTRAS:\+\[\$\{EXTRAS\}\]\})"', text)

    def expand(extras: str) -> str:
        return run("sh", "-c", f'EXTRAS="{extras}"; printf %s "{wheel_line}"').stdout

    return expand(default.group(1)), expand("server,report")


def test_the_image_is_the_core_install_and_the_report_a_variant(tmp_path: Path) -> None:
    """The default image resolves to the core and uvloop — no Evidently, far fewer packages than the report variant
    (docs/install.md gives both counts and sizes)."""
    core, report = _dockerfile_extras()
    assert (core, report) == (".[server]", ".[server,report]")
    constraints = REPO / "deploy" / "image" / "constraints.txt"
    counts = {}
    for requirement in (core, report):
        out = tmp_path / f"{requirement}.json"
        resolved = run(sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
                       "--constraint", str(constraints), "--report", str(out), f"{REPO}{requirement[1:]}",
                       timeout=600)  # fmt: skip
        assert resolved.returncode == 0, resolved.stderr[-3000:]
        counts[requirement] = {item["metadata"]["name"].lower() for item in json.loads(out.read_text())["install"]}
    assert "uvloop" in counts[core] and "evidently" not in counts[core] and "evidently" in counts[report]
    print(f"image packages: core {len(counts[core])}, report variant {len(counts[report])}")
    assert len(counts[core]) * 2 < len(counts[report])


def test_the_notebook_api_installs_on_windows(tmp_path: Path) -> None:
    """`pip install driftline` resolves to wheels for Windows: no package of the core lacks one (uvloop is the server
    extra's)."""
    wheels = tmp_path / "wheels"
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(wheels), str(REPO), timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = wheels.glob("driftline-*.whl")
    out = tmp_path / "windows.json"
    resolved = run(sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
                   "--platform", "win_amd64", "--python-version", "3.11", "--only-binary=:all:", "--report", str(out),
                   str(wheel), timeout=600)  # fmt: skip
    assert resolved.returncode == 0, resolved.stderr[-3000:]
    names = {item["metadata"]["name"].lower() for item in json.loads(out.read_text())["install"]}
    assert {"driftline", "numpy", "scipy", "pandas", "pyarrow", "uvicorn", "httptools"} <= names
    assert "uvloop" not in names
