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
) -> str:
    """Build the model's reference profile from ``reference``; returns the profile's content version."""
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
    profile.metadata.update(
        {"profile_version": built.version, "model_version": model_version, "rows": built.rows, "published": publish_uri}
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
