"""A real MLflow tracking server (``mlflow server``: SQLite backend store, artifacts proxied to the moto S3 server) and
the training side of a user's pipeline, run with the real ``mlflow`` client — both from ``.venv-mlflow`` (``make
mlflow-deps``): driftline itself talks to the registry over REST and never imports mlflow."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from driftline.demo.stack import ServerProcess

from .processes import HANG_TIMEOUT, REPO, free_port

MLFLOW_BIN = REPO / ".venv-mlflow" / "bin"
ARTIFACT_BUCKET = "mlflow-artifacts"

# What a training run does with the mlflow client: log the model, register a version from the run, move an alias.
_CLIENT = """
import json, sys, tempfile, os
import mlflow
from mlflow import MlflowClient

command, name = sys.argv[1], sys.argv[2]
client = MlflowClient()
if command == "register":
    mlflow.set_experiment("churn-training")
    with mlflow.start_run() as run:
        folder = tempfile.mkdtemp()
        with open(os.path.join(folder, "model.txt"), "w") as f:
            f.write(sys.argv[3])
        mlflow.log_artifacts(folder, artifact_path="model")
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        client.create_registered_model(name)
    version = client.create_model_version(name, f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
    print(json.dumps({"version": version.version, "run_id": run.info.run_id, "artifact_uri": run.info.artifact_uri}))
elif command == "alias":
    client.set_registered_model_alias(name, sys.argv[3], sys.argv[4])
    print(json.dumps({"alias": sys.argv[3], "version": sys.argv[4]}))
elif command == "tags":
    version = client.get_model_version(name, sys.argv[3])
    print(json.dumps(version.tags))
"""


class MlflowServer(ServerProcess):
    """``mlflow server`` on a loopback port: runs and the registry in ``workdir/mlflow.db``, artifacts proxied to
    ``s3://mlflow-artifacts/`` on the moto server at ``s3_endpoint``. Started again on the same port and store after
    a :meth:`stop` (the registry coming back)."""

    name = "mlflow server"
    ready_path = "/health"

    def __init__(self, workdir: Path, s3_endpoint: str, port: int | None = None) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir, self.s3_endpoint = workdir, s3_endpoint
        self.port = port or free_port()
        args = [
            str(MLFLOW_BIN / "mlflow"), "server",
            "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
            "--artifacts-destination", f"s3://{ARTIFACT_BUCKET}/",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
        ]  # fmt: skip
        super().__init__(args, workdir / "mlflow.log", f"http://127.0.0.1:{self.port}", self.env(), append=True)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "MLFLOW_S3_ENDPOINT_URL": self.s3_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{self.port}",
        }

    def client(self, *args: str) -> Any:
        """The training side: ``register NAME MODEL_TEXT``, ``alias NAME ALIAS VERSION``, ``tags NAME VERSION``."""
        result = subprocess.run(
            [str(MLFLOW_BIN / "python"), "-c", _CLIENT, *args],
            env=self.env(), capture_output=True, text=True, timeout=HANG_TIMEOUT, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"mlflow client {args[0]} failed:\n{result.stderr[-3000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])
