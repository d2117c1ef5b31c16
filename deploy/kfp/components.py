"""driftline's step for a Kubeflow Pipelines (v2) training pipeline: the reference profile of the data a model was
trained on, recorded with the model version it belongs to and written next to the model.

Two variants of one step, for the two ways KFP runs a step:

* :func:`reference_profile` — a lightweight Python component: the function below runs in the driftline image (the
  executor installs ``kfp`` at start).
* :func:`reference_profile_container` — a container component: ``driftline profile`` in the driftline image, with
  nothing installed at run time.

Both take the monitor config's text (the model's columns and binning come from it, so the profile fits what the
exporter expects), the model's name, its version (the string the exporter reads from the model's events: with the
example manifest, the training run's id) and the reference data as a Dataset artifact (Parquet or CSV holding the
features and the model's outputs on that data); the profile is the ``profile`` output artifact and, when
``publish_uri`` is given, also that object (``s3://…/runs/<run>/driftline-profile.json``, beside the model).
"""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Output

DRIFTLINE_IMAGE = "ghcr.io/driftline/driftline:0.1.0"


@dsl.component(base_image=DRIFTLINE_IMAGE)
def reference_profile(
    monitor_config: str,
    model_name: str,
    model_version: str,
    reference: Input[Dataset],
    profile: Output[Artifact],
    publish_uri: str = "",
    data_format: str = "parquet",
    register_to: str = "",
    mlflow_tracking_uri: str = "",
) -> str:
    """Build the model's reference profile from ``reference``; returns the profile's content version. With
    ``register_to`` (``models:/NAME/VERSION``) the profile is also attached to that version in the MLflow registry
    at ``mlflow_tracking_uri``: logged to its run and named by its ``driftline.profile`` tag."""
    import dataclasses
    import os

    import drift
    from drift.config.loader import parse_config_text

    config = parse_config_text(monitor_config, os.path.join(os.getcwd(), "monitor.yaml"))
    model = config.model(model_name)
    source = dataclasses.replace(model.reference, data=reference.path, format=data_format)
    built = drift.profile_from_source(
        dataclasses.replace(model, reference=source), config.s3, model_version=model_version
    )
    built.save(profile.path)
    if publish_uri:
        built.save(publish_uri, config.s3)
    registered = ""
    if register_to:
        if mlflow_tracking_uri:
            os.environ["MLFLOW_TRACKING_URI"] = mlflow_tracking_uri
        registered = built.save(register_to, config.s3)
    profile.metadata.update(
        {
            "profile_version": built.version,
            "model_version": model_version,
            "rows": built.rows,
            "published": publish_uri,
            "registered": registered,
        }
    )
    return built.version


@dsl.container_component
def reference_profile_container(
    monitor_config: str,
    model_name: str,
    model_version: str,
    reference: Input[Dataset],
    profile: Output[Artifact],
    data_format: str = "parquet",
) -> dsl.ContainerSpec:
    """``driftline profile`` on the reference data; the profile is the ``profile`` artifact."""
    script = (
        'printf "%s" "$0" > /tmp/monitor.yaml && mkdir -p "$(dirname "$5")" && '
        'exec driftline profile --config /tmp/monitor.yaml --model "$1" --model-version "$2" '
        '--data "$3" --data-format "$4" --output "$5"'
    )
    return dsl.ContainerSpec(
        image=DRIFTLINE_IMAGE,
        command=["sh", "-ec", script],
        args=[monitor_config, model_name, model_version, reference.path, data_format, profile.path],
    )


@dsl.component(base_image=DRIFTLINE_IMAGE)
def data_gate(
    monitor_config: str,
    model_name: str,
    data: str,
    verdict: Output[Artifact],
    profile_uri: str = "",
    fail_on: str = "schema,rows,data_quality",
    verdict_uri: str = "",
    data_format: str = "auto",
) -> bool:
    """The pipeline's data-validation step: ``driftline gate`` of ``data`` (a URI: ``s3://…`` or a path) against the
    model's reference profile (``profile_uri``, else the config's ``reference.profile``). The verdict is the
    ``verdict`` artifact (its metadata: passed, failed, exit code) and, when ``verdict_uri`` is given, also that
    object — written before a failure, since KFP uploads a failed step's artifacts nowhere. A failed check of
    ``fail_on`` fails the step and with it the run; the others are reported only.

    ``fail_on`` leaves ``drift`` out by default: a retraining is started *because* the data drifted, so drift is no
    reason to refuse the data it trains on — a missing column, too few rows or broken values are.
    """
    import os

    from alerts.loader import parse_deployment_text
    from drift.reference.storage import write_bytes
    from driftline.gate import judge, verdict_json

    config = parse_deployment_text(monitor_config, os.path.join(os.getcwd(), "monitor.yaml"))
    enforce = frozenset(part.strip() for part in fail_on.split(",") if part.strip())
    found = judge(config, model_name, data, enforce=enforce, profile_uri=profile_uri or None, fmt=data_format)
    document = verdict_json(found)
    with open(verdict.path, "w", encoding="utf-8") as out:
        out.write(document)
    if verdict_uri:
        write_bytes(verdict_uri, document.encode(), config.s3)
    verdict.metadata.update({"passed": found.passed, "failed": list(found.failed), "exit_code": found.exit_code})
    if not found.passed:
        raise RuntimeError(f"data gate: {found.summary()}")
    return True
