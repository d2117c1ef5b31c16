"""An example retraining pipeline for the churn model (Kubeflow Pipelines v2): validate the data, train and log to
MLflow, evaluate, register the version, attach its profile, promote.

The retraining webhook (or ``deploy/github/retrain.yml``) starts it with the parameters of the incident
(``model_name``, ``model_namespace``, ``drifted_features``, ``dispatch_id`` and ``retrained_from``, the registry
version that drifted — recorded on the new MLflow run and version as ``driftline.incident`` and
``driftline.retrained_from``). It first gates the fresh training data against the
production reference (``driftline gate``: a missing column, too few rows or broken values fail the run; drift, the
reason for the retraining, is reported only), then trains a logistic regression on the fresh training
data, scores it on a hold-out, and builds driftline's reference profile from the data the model was trained on —
with the model's own predictions as the output columns — recording the run's id as the model version. The model and
its profile land side by side under ``<model_root>/<run id>/``, where the promote step points the InferenceService's
``storageUri`` and its ``driftline.io/model-version`` annotation.

With MLflow (``mlflow_tracking_uri``; the users' pipelines register every model there) the training step logs the
model to a run, the version is registered from it once the evaluation gate passed, the profile step attaches the
profile to that version (``driftline.profile``), and — with ``promote_alias`` — the alias moves to it: an exporter
whose ``reference.profile`` is ``models:/<model>@champion`` follows (docs/registry.md).

Compile: ``python deploy/kfp/pipeline.py retrain-pipeline.yaml`` (the ``kfp`` SDK; ``PIPELINE_PACKAGE`` in
retrain.yml names the result).
"""

import sys
from pathlib import Path

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

sys.path.insert(0, str(Path(__file__).resolve().parent))
from components import data_gate, reference_profile

TRAINING_IMAGE = "python:3.11-slim"
TRAINING_PACKAGES = ["pandas>=2.2", "pyarrow>=15", "scikit-learn>=1.4", "boto3>=1.34", "mlflow-skinny>=3.1,<4"]


@dsl.component(base_image=TRAINING_IMAGE, packages_to_install=TRAINING_PACKAGES)
def train(
    training_data: str,
    features: list,  # type: ignore[type-arg]  # KFP's parameter types are the bare builtins
    categorical: list,  # type: ignore[type-arg]  # the features one-hot encoded
    label: str,
    model_root: str,
    run_id: str,
    model: Output[Model],
    reference: Output[Dataset],
    holdout: Output[Dataset],
    mlflow_tracking_uri: str = "",
    dispatch_id: str = "",
    retrained_from: str = "",
) -> str:
    """Fit the model on 80% of ``training_data``; the training rows with the model's predictions are the reference.
    With ``mlflow_tracking_uri`` the model is logged to an MLflow run (experiment ``churn-training``), whose id is
    returned ("" without); a retraining's run is tagged with the incident that caused it (``driftline.incident``:
    the webhook's dispatch id, ``driftline.retrained_from``: the registry version that drifted)."""
    import os

    import joblib
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    data = pd.read_parquet(training_data) if training_data.endswith(".parquet") else pd.read_csv(training_data)
    fit_rows, test_rows = train_test_split(data, test_size=0.2, random_state=0)
    numeric = [f for f in features if f not in categorical]
    encode = ColumnTransformer(
        [("numeric", StandardScaler(), numeric), ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical)]
    )
    fitted = make_pipeline(encode, LogisticRegression(max_iter=1000)).fit(fit_rows[features], fit_rows[label])
    os.makedirs(model.path, exist_ok=True)
    joblib.dump(fitted, os.path.join(model.path, "model.joblib"))
    scored = fit_rows[[*features, label]].copy()
    scored["churn_probability"] = fitted.predict_proba(fit_rows[features])[:, 1]
    scored.to_parquet(reference.path, index=False)
    test_rows.to_parquet(holdout.path, index=False)
    if model_root.startswith("s3://"):  # KServe's storageUri for this run
        import boto3

        bucket, _, prefix = model_root.removeprefix("s3://").partition("/")
        key = f"{prefix.rstrip('/')}/{run_id}/model.joblib".lstrip("/")
        boto3.client("s3").upload_file(os.path.join(model.path, "model.joblib"), bucket, key)
    model.metadata.update({"framework": "sklearn", "run_id": run_id})
    if not mlflow_tracking_uri:
        return ""
    import mlflow
    import mlflow.sklearn

    mlflow.set_tracking_uri(mlflow_tracking_uri)
    mlflow.set_experiment("churn-training")
    incident = {"driftline.incident": dispatch_id, "driftline.retrained_from": retrained_from}
    with mlflow.start_run(tags={"kfp.run_id": run_id, **{k: v for k, v in incident.items() if v}}) as run:
        mlflow.log_params({"features": ",".join(features), "rows": len(fit_rows)})
        # cloudpickle: MLflow 3's default (skops) is another package the training image would need
        mlflow.sklearn.log_model(
            fitted, name="model", serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE
        )
    return str(run.info.run_id)


@dsl.component(base_image=TRAINING_IMAGE, packages_to_install=TRAINING_PACKAGES)
def evaluate(
    model: Input[Model],
    holdout: Input[Dataset],
    features: list,  # type: ignore[type-arg]
    label: str,
    min_accuracy: float,
    metrics: Output[Metrics],
) -> float:
    """Hold-out accuracy and ROC AUC; fails the run (nothing is promoted) below ``min_accuracy``."""
    import os

    import joblib
    import pandas as pd
    from sklearn.metrics import accuracy_score, roc_auc_score

    fitted = joblib.load(os.path.join(model.path, "model.joblib"))
    data = pd.read_parquet(holdout.path)
    accuracy = float(accuracy_score(data[label], fitted.predict(data[features])))
    metrics.log_metric("accuracy", accuracy)
    metrics.log_metric("roc_auc", float(roc_auc_score(data[label], fitted.predict_proba(data[features])[:, 1])))
    if accuracy < min_accuracy:
        raise ValueError(f"hold-out accuracy {accuracy:.3f} < {min_accuracy}: not promoting this model")
    return accuracy


@dsl.component(base_image=TRAINING_IMAGE, packages_to_install=TRAINING_PACKAGES)
def register_version(mlflow_tracking_uri: str, registered_model: str, mlflow_run_id: str, accuracy: float) -> str:
    """Register the run's model as a new version of ``registered_model`` (after the evaluation gate passed: its
    hold-out accuracy is recorded on the version, and the incident its run was tagged with, if any); returns the
    version number."""
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(mlflow_tracking_uri)
    client = MlflowClient()
    version = mlflow.register_model(f"runs:/{mlflow_run_id}/model", registered_model)
    client.set_model_version_tag(registered_model, version.version, "holdout_accuracy", f"{accuracy:.4f}")
    for key, value in client.get_run(mlflow_run_id).data.tags.items():
        if key in ("driftline.incident", "driftline.retrained_from"):
            client.set_model_version_tag(registered_model, version.version, key, value)
    return str(version.version)


@dsl.component(base_image=TRAINING_IMAGE, packages_to_install=TRAINING_PACKAGES)
def promote(mlflow_tracking_uri: str, registered_model: str, version: str, alias: str) -> str:
    """Point ``alias`` (``champion``) at the new version — the exporter, following ``models:/NAME@champion``, serves
    drift against its profile at its next reference check. An empty ``alias`` promotes nothing (a person does, in the
    registry). Returns the alias moved, or ""."""
    if not alias:
        return ""
    from mlflow import MlflowClient

    MlflowClient(tracking_uri=mlflow_tracking_uri).set_registered_model_alias(registered_model, alias, version)
    return alias


@dsl.pipeline(name="churn-retraining", description="Retrain the churn model and build its driftline reference")
def retrain_pipeline(
    model_name: str,
    monitor_config: str,
    training_data: str = "s3://churn-model-bucket/training/latest.parquet",
    model_root: str = "s3://churn-model-bucket/models/runs",
    model_namespace: str = "default",
    drifted_features: str = "{}",
    min_accuracy: float = 0.7,
    mlflow_tracking_uri: str = "http://mlflow.mlflow.svc:5000",
    promote_alias: str = "champion",
    dispatch_id: str = "",
    retrained_from: str = "",
) -> None:
    categorical = ["contract", "payment_method", "internet_service"]
    features = ["tenure", "monthly_charges", "total_charges", "support_calls", *categorical]
    run_id = dsl.PIPELINE_JOB_ID_PLACEHOLDER
    # the data-validation step: the fresh data against the production reference, before any training
    validated = data_gate(
        monitor_config=monitor_config,
        model_name=model_name,
        data=training_data,
        verdict_uri=f"{model_root}/{run_id}/driftline-gate.json",
    )
    trained = train(
        training_data=training_data,
        features=features,
        categorical=categorical,
        label="churned",
        model_root=model_root,
        run_id=run_id,
        mlflow_tracking_uri=mlflow_tracking_uri,
        dispatch_id=dispatch_id,
        retrained_from=retrained_from,
    ).after(validated)
    evaluated = evaluate(
        model=trained.outputs["model"],
        holdout=trained.outputs["holdout"],
        features=features,
        label="churned",
        min_accuracy=min_accuracy,
    )
    registered = register_version(
        mlflow_tracking_uri=mlflow_tracking_uri,
        registered_model=model_name,
        mlflow_run_id=trained.outputs["Output"],
        accuracy=evaluated.outputs["Output"],
    )
    profiled = reference_profile(
        monitor_config=monitor_config,
        model_name=model_name,
        model_version=run_id,
        reference=trained.outputs["reference"],
        publish_uri=f"{model_root}/{run_id}/driftline-profile.json",
        register_to=f"models:/{model_name}/{registered.output}",
        mlflow_tracking_uri=mlflow_tracking_uri,
    )
    promote(
        mlflow_tracking_uri=mlflow_tracking_uri,
        registered_model=model_name,
        version=registered.output,
        alias=promote_alias,
    ).after(profiled)


if __name__ == "__main__":
    compiler.Compiler().compile(retrain_pipeline, sys.argv[1] if len(sys.argv) > 1 else "retrain-pipeline.yaml")
