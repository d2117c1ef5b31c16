"""``driftline gate``: the data gate of a training pipeline or a CI job (:mod:`drift.gate`). The verdict as JSON on
stdout (or ``--out``), one line for a person on stderr, and the exit code of the first failed check."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

from alerts.catalogue.data_quality import OUT_OF_RANGE, PAYLOAD_ERRORS, UNSEEN_CATEGORIES
from alerts.config import DeploymentConfig
from alerts.loader import load_deployment
from drift.gate import CHECKS, GateRules, GateVerdict

# each data-quality limit defaults to the threshold of the alert that watches the same quality in live traffic
LIMIT_ALERTS = {"missing": PAYLOAD_ERRORS, "out_of_range": OUT_OF_RANGE, "unseen_category": UNSEEN_CATEGORIES}
LIMIT_OPTIONS = {"missing": "--max-missing", "out_of_range": "--max-out-of-range", "unseen_category": "--max-unseen"}


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share between 0 and 1")
    return value


def _checks(text: str) -> frozenset[str]:
    names = frozenset(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(names - set(CHECKS))
    if unknown:
        raise argparse.ArgumentTypeError(f"{', '.join(unknown)}: not a check; the checks are {', '.join(CHECKS)}")
    return names


def add_parser(commands: Any) -> None:
    gate = commands.add_parser(
        "gate",
        help="judge a CSV or Parquet file against the model's reference: schema, rows, data quality and drift, as a "
        "JSON verdict and an exit code (0 passed, 2 drift, 3 data quality, 4 missing column, 5 too few rows)",
    )
    gate.add_argument("--config", required=True, metavar="CFG", help="monitor config YAML")
    gate.add_argument("--model", required=True, metavar="NAME", help="the model (InferenceService name)")
    gate.add_argument("--data", required=True, metavar="FILE", help="the data to judge: CSV or Parquet, local or s3://")
    gate.add_argument("--format", choices=("auto", "csv", "parquet"), default="auto", help="default: by the name")
    gate.add_argument(
        "--profile", metavar="URI", help="judge against this profile instead of the model's reference.profile"
    )
    gate.add_argument(
        "--fail-on",
        type=_checks,
        default=frozenset(CHECKS),
        metavar="CHECKS",
        help=f"comma-separated checks whose failure fails the gate (default: all of {','.join(CHECKS)}); the others "
        "are reported only",
    )
    for quality, option in LIMIT_OPTIONS.items():
        alert = LIMIT_ALERTS[quality]
        gate.add_argument(
            option,
            type=_ratio,
            metavar="SHARE",
            help=f"the largest share of a feature's values that may be {quality.replace('_', ' ')} (default: "
            f"alerting.alerts.{alert.settings_key}.threshold, 0.01 unless set)",
        )
    gate.add_argument("--out", metavar="verdict.json", help="write the JSON verdict here (or s3://) instead of stdout")
    gate.set_defaults(handler=run)


def limits(config: DeploymentConfig, given: Mapping[str, float | None] | None = None) -> dict[str, float]:
    """The data-quality limits: each given one, else its alert's threshold in the config."""
    given = given or {}
    return {
        quality: value if (value := given.get(quality)) is not None else alert.settings(config).limit
        for quality, alert in LIMIT_ALERTS.items()
    }


def judge(
    config: DeploymentConfig,
    model_name: str,
    data: str,
    *,
    enforce: frozenset[str] = frozenset(CHECKS),
    given_limits: Mapping[str, float | None] | None = None,
    profile_uri: str | None = None,
    fmt: str = "auto",
) -> GateVerdict:
    """The gate of ``data`` for a model of ``config``, against ``profile_uri`` or the model's reference profile: what
    the command and the pipeline component run."""
    from drift.gate import gate
    from drift.reference.profile import ReferenceProfile

    model = config.model(model_name)
    source = profile_uri or model.reference.profile
    profile = ReferenceProfile.load(source, config.s3)
    profile.require_compatible(model, origin=source)
    rules = GateRules(limits=limits(config, given_limits), enforce=enforce)
    return gate(profile, model, data, rules, fmt=fmt, s3=config.s3)


def verdict_json(verdict: GateVerdict) -> str:
    return json.dumps(verdict.to_dict(), indent=2, allow_nan=False) + "\n"


def run(args: argparse.Namespace) -> int:
    from drift.reference.storage import write_bytes

    config = load_deployment(args.config)
    given = {
        quality: getattr(args, option.removeprefix("--").replace("-", "_")) for quality, option in LIMIT_OPTIONS.items()
    }
    verdict = judge(
        config,
        args.model,
        args.data,
        enforce=args.fail_on,
        given_limits=given,
        profile_uri=args.profile,
        fmt=args.format,
    )
    document = verdict_json(verdict)
    if args.out:
        write_bytes(args.out, document.encode(), config.s3, content_type="application/json")
    else:
        sys.stdout.write(document)
    print(f"driftline gate: {verdict.summary()}", file=sys.stderr)
    return verdict.exit_code
