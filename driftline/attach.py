"""``driftline attach-profile``: give a model version in the MLflow registry a profile built elsewhere (another
pipeline's step, an earlier ``driftline profile``) — logged as its run's artifact and recorded in the version's tag
(:func:`drift.reference.registry.attach`)."""

from __future__ import annotations

import argparse
import re
from typing import Any

from alerts.loader import load_deployment
from drift.config.values import REGISTRY_REFERENCE


def _version(text: str) -> str:
    if not re.fullmatch(REGISTRY_REFERENCE, text) or "{version}" in text:
        raise argparse.ArgumentTypeError(f"{text!r} is not models:/NAME/VERSION or models:/NAME@ALIAS")
    return text


def add_parser(commands: Any) -> None:
    attach = commands.add_parser(
        "attach-profile",
        help="attach a reference profile to a model version in the MLflow registry (MLFLOW_TRACKING_URI): logged as "
        "its run's driftline/profile.json and named by the version's driftline.profile tag",
    )
    attach.add_argument("--config", required=True, metavar="CFG", help="monitor config YAML (its s3: settings)")
    attach.add_argument("--profile", required=True, metavar="URI", help="the profile: a path or s3://")
    attach.add_argument("--to", required=True, type=_version, metavar="models:/NAME/VERSION", help="the model version")
    attach.add_argument("--model", metavar="NAME", help="check first that the profile fits this model of the config")
    attach.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from drift.reference.profile import ReferenceProfile
    from drift.reference.registry import RegistryReference, attach

    config = load_deployment(args.config)
    profile = ReferenceProfile.load(args.profile, config.s3)
    if args.model:
        profile.require_compatible(config.model(args.model), origin=args.profile)
    version = attach(profile.to_json(), RegistryReference.parse(args.to), config.s3)
    print(f"{version.uri}: profile {profile.version} attached ({version.profile})")
    return 0
