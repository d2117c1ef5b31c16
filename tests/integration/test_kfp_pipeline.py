"""The retraining pipeline of ``deploy/kfp/``: compiled by the ``kfp`` SDK, and its steps run here as KFP would run
them — the lightweight components' functions on local artifacts, the container component's command line with its
placeholders filled — so the profile a retraining builds is proven to load and fit the deployed monitor config."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import numpy as np
import pytest
import yaml
from kfp import compiler
from kfp.dsl import Artifact, Dataset, Metrics, Model

import drift
from driftline.demo.data import LABEL, customers
from tests.support import HANG_TIMEOUT, REPO
from tests.support.kfp import kfp_module
from tests.support.mlflow import ARTIFACT_BUCKET, MlflowServer

pytestmark = pytest.mark.install

MONITOR_CONFIG = REPO / "deploy" / "kubernetes" / "base" / "monitor.yaml"


@pytest.fixture(scope="module")
def pipeline() -> ModuleType:
    return kfp_module("pipeline")


@pytest.fixture(scope="module")
def components() -> ModuleType:
    return kfp_module("components")


def test_the_example_pipeline_compiles_with_the_profile_step(pipeline: ModuleType, tmp_path: Path) -> None:
    package = tmp_path / "retrain-pipeline.yaml"
    compiler.Compiler().compile(pipeline.retrain_pipeline, str(package))
    spec = yaml.safe_load(package.read_text())
    assert set(spec["components"]) == {
        "comp-data-gate", "comp-train", "comp-evaluate", "comp-register-version", "comp-reference-profile",
        "comp-promote",
    }  # fmt: skip
    assert set(spec["root"]["inputDefinitions"]["parameters"]) >= {"model_name", "model_namespace", "drifted_features"}
    executors = spec["deploymentSpec"]["executors"]
    assert executors["exec-reference-profile"]["container"]["image"] == "ghcr.io/driftline/driftline:0.1.0"
    tasks = spec["root"]["dag"]["tasks"]
    profile = tasks["reference-profile"]
    assert profile["taskInfo"]["name"] == "reference-profile"
    assert profile["inputs"]["artifacts"]["reference"]["taskOutputArtifact"] == {
        "outputArtifactKey": "reference",
        "producerTask": "train",
    }
    parameters = json.dumps(profile["inputs"]["parameters"])
    assert "{{$.pipeline_job_uuid}}" in parameters, "the model version is the run's id"
    assert "/driftline-profile.json" in parameters, "the profile is published beside the model"
    assert tasks["train"]["dependentTasks"] == ["data-gate"], "nothing trains before the data is validated"
    assert set(tasks["register-version"]["dependentTasks"]) == {"train", "evaluate"}, "registered once evaluated"
    assert "models:/" in json.dumps(profile["inputs"]["parameters"]["register_to"]), "the profile goes to the version"
    assert set(tasks["promote"]["dependentTasks"]) == {"register-version", "reference-profile"}
    assert executors["exec-data-gate"]["container"]["image"] == "ghcr.io/driftline/driftline:0.1.0"


def _run_training(pipeline: ModuleType, tmp: Path, data: Path) -> tuple[Dataset, float]:
    model = Model(uri=str(tmp / "model"))
    reference = Dataset(uri=str(tmp / "reference.parquet"))
    holdout = Dataset(uri=str(tmp / "holdout.parquet"))
    features = ["tenure", "monthly_charges", "total_charges", "support_calls", "contract", "payment_method",
                "internet_service"]  # fmt: skip
    categorical = ["contract", "payment_method", "internet_service"]
    pipeline.train.python_func(
        training_data=str(data), features=features, categorical=categorical, label="churned",
        model_root=str(tmp / "models"), run_id="run-2", model=model, reference=reference, holdout=holdout,
    )  # fmt: skip
    metrics = Metrics(uri=str(tmp / "metrics"))
    accuracy = pipeline.evaluate.python_func(
        model=model, holdout=holdout, features=features, label="churned", min_accuracy=0.5, metrics=metrics
    )
    assert metrics.metadata["accuracy"] == accuracy
    return reference, accuracy


def _training_data(tmp: Path) -> Path:
    path = tmp / "train.csv"
    customers(4000, np.random.default_rng(3)).rename(columns={LABEL: "churned"}).to_csv(path, index=False)
    return path


def test_train_evaluate_profile_build_a_profile_the_monitor_accepts(
    pipeline: ModuleType, components: ModuleType, tmp_path: Path
) -> None:
    reference, accuracy = _run_training(pipeline, tmp_path, _training_data(tmp_path))
    assert 0.5 <= accuracy <= 1.0
    profile = Artifact(uri=str(tmp_path / "profile.json"))
    published = tmp_path / "models" / "run-2" / "driftline-profile.json"
    version = components.reference_profile.python_func(
        monitor_config=MONITOR_CONFIG.read_text(),
        model_name="churn-model",
        model_version="run-2",
        reference=reference,
        profile=profile,
        publish_uri=str(published),
    )
    config = drift.load_config(MONITOR_CONFIG)
    for path in (profile.path, published):
        built = drift.ReferenceProfile.load(str(path))
        assert built.version == version and built.model_version == "run-2"
        built.require_compatible(config.model("churn-model"))
        assert built.serves_target(config.model("churn-model")), "the label and the reference quality are in it"
    assert profile.metadata["model_version"] == "run-2" and profile.metadata["rows"] == 3200


def _filled(command: list[str], values: dict[str, str]) -> list[str]:
    def fill(text: str) -> str:
        return re.sub(r"\{\{\$\.(inputs|outputs)\.(parameters|artifacts)\['(\w+)'\](?:\.path)?\}\}",
                      lambda m: values[m.group(3)], text)  # fmt: skip

    return [fill(part) for part in command]


def test_the_container_component_runs_driftline_profile(components: ModuleType, tmp_path: Path) -> None:
    package = tmp_path / "component.yaml"
    compiler.Compiler().compile(components.reference_profile_container, str(package))
    container: dict[str, Any] = next(iter(yaml.safe_load(package.read_text())["deploymentSpec"]["executors"].values()))[
        "container"
    ]
    assert container["image"] == "ghcr.io/driftline/driftline:0.1.0"
    frame = customers(1500, np.random.default_rng(4)).rename(columns={LABEL: "churned"})
    frame["churn_probability"] = np.random.default_rng(5).random(1500)
    data = tmp_path / "reference"  # a KFP artifact path: no extension, the format is a parameter
    frame.to_parquet(data, index=False)
    output = tmp_path / "outputs" / "profile"
    values = {
        "monitor_config": MONITOR_CONFIG.read_text(),
        "model_name": "churn-model",
        "model_version": "run-3",
        "reference": str(data),
        "data_format": "parquet",
        "profile": str(output),
    }
    bin_dir = Path(sys.executable).parent  # where `driftline` is installed, as on the image's PATH
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    assert shutil.which("driftline", path=env["PATH"])
    result = subprocess.run(
        _filled([*container["command"], *container["args"]], values),
        capture_output=True, text=True, env=env, timeout=HANG_TIMEOUT, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    built = drift.ReferenceProfile.load(str(output))
    assert built.model_version == "run-3" and built.rows == 1500
    built.require_compatible(drift.load_config(MONITOR_CONFIG).model("churn-model"))


def test_the_data_gate_step_passes_fresh_data_and_fails_the_run_on_a_missing_column(
    pipeline: ModuleType, components: ModuleType, tmp_path: Path
) -> None:
    """The pipeline's data-validation step run as KFP runs it: the fresh data against the production reference
    passes; a file without a feature raises (failing the run) after writing its verdict where the run keeps it."""
    reference, _ = _run_training(pipeline, tmp_path, _training_data(tmp_path))
    profile = Artifact(uri=str(tmp_path / "profile.json"))
    components.reference_profile.python_func(
        monitor_config=MONITOR_CONFIG.read_text(), model_name="churn-model", model_version="run-2",
        reference=reference, profile=profile,
    )  # fmt: skip
    fresh = tmp_path / "fresh.parquet"
    customers(3000, np.random.default_rng(11)).rename(columns={LABEL: "churned"}).to_parquet(fresh)
    verdict = Artifact(uri=str(tmp_path / "verdict.json"))
    passed = components.data_gate.python_func(
        monitor_config=MONITOR_CONFIG.read_text(), model_name="churn-model", data=str(fresh), verdict=verdict,
        profile_uri=profile.path,
    )  # fmt: skip
    assert passed is True
    assert json.loads(Path(verdict.path).read_text())["passed"] is True
    assert verdict.metadata == {"passed": True, "failed": [], "exit_code": 0}

    broken = tmp_path / "broken.parquet"
    customers(3000, np.random.default_rng(12)).drop(columns=["support_calls"]).to_parquet(broken)
    kept = tmp_path / "runs" / "run-3" / "driftline-gate.json"
    failed = Artifact(uri=str(tmp_path / "failed.json"))
    with pytest.raises(RuntimeError, match=r"failed \(schema\).*missing column\(s\) support_calls"):
        components.data_gate.python_func(
            monitor_config=MONITOR_CONFIG.read_text(), model_name="churn-model", data=str(broken), verdict=failed,
            profile_uri=profile.path, verdict_uri=str(kept),
        )  # fmt: skip
    written = json.loads(kept.read_text())
    assert written["exit_code"] == 4 and written["checks"]["schema"]["missing_columns"] == ["support_calls"]


def test_the_pipeline_logs_registers_attaches_and_promotes_in_a_real_mlflow_registry(
    pipeline: ModuleType, components: ModuleType, tmp_path: Path, s3_endpoint: str
) -> None:
    """Train (logging the model to an MLflow run), evaluate, register the version, attach the profile, promote —
    each step's function as KFP runs it, against a real `mlflow server`; the alias then names a version whose
    profile is the one the step built, read back the way the exporter reads it."""
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=ARTIFACT_BUCKET)
    with MlflowServer(tmp_path / "mlflow", s3_endpoint) as server:
        server.wait_ready()
        model, reference, holdout = (Model(uri=str(tmp_path / "model")), Dataset(uri=str(tmp_path / "reference")),
                                     Dataset(uri=str(tmp_path / "holdout")))  # fmt: skip
        features = ["tenure", "monthly_charges", "total_charges", "support_calls", "contract", "payment_method",
                    "internet_service"]  # fmt: skip
        categorical = ["contract", "payment_method", "internet_service"]
        run_id = pipeline.train.python_func(
            training_data=str(_training_data(tmp_path)), features=features, categorical=categorical, label="churned",
            model_root=str(tmp_path / "models"), run_id="kfp-run-7", model=model, reference=reference,
            holdout=holdout, mlflow_tracking_uri=server.url, dispatch_id="4b1f0c2e-incident",
            retrained_from="models:/churn-model/3",
        )  # fmt: skip
        assert re.fullmatch(r"[0-9a-f]{32}", run_id)
        accuracy = pipeline.evaluate.python_func(
            model=model, holdout=holdout, features=features, label="churned", min_accuracy=0.5,
            metrics=Metrics(uri=str(tmp_path / "metrics")),
        )  # fmt: skip
        version = pipeline.register_version.python_func(
            mlflow_tracking_uri=server.url, registered_model="churn-model", mlflow_run_id=run_id, accuracy=accuracy
        )
        assert version == "1"
        profile = Artifact(uri=str(tmp_path / "profile.json"))
        built = components.reference_profile.python_func(
            monitor_config=MONITOR_CONFIG.read_text(), model_name="churn-model", model_version="kfp-run-7",
            reference=reference, profile=profile, register_to=f"models:/churn-model/{version}",
            mlflow_tracking_uri=server.url,
        )  # fmt: skip
        assert profile.metadata["registered"].startswith(f"mlflow-artifacts:/1/{run_id}/artifacts/")
        assert (
            pipeline.promote.python_func(
                mlflow_tracking_uri=server.url, registered_model="churn-model", version=version, alias="champion"
            )
            == "champion"
        )
        tags = server.client("tags", "churn-model", version)
        assert tags["holdout_accuracy"] == f"{accuracy:.4f}"
        # the incident that caused this version, as the webhook dispatched it (dispatch_id, reference.registered)
        assert tags["driftline.incident"] == "4b1f0c2e-incident"
        assert tags["driftline.retrained_from"] == "models:/churn-model/3"
        assert tags["driftline.profile"] == profile.metadata["registered"]
        env = {"MLFLOW_TRACKING_URI": server.url}
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            served = drift.ReferenceProfile.load("models:/churn-model@champion")
        assert served.version == built and served.model_version == "kfp-run-7"
        served.require_compatible(drift.load_config(MONITOR_CONFIG).model("churn-model"))
