"""``driftline`` subcommands. Each parses its arguments, calls the library, and turns every user-facing error
into one line on stderr and exit code 1 — never a traceback for bad input."""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

import drift
from alerts.config import DeploymentConfig
from alerts.loader import load_deployment, unsafe_settings
from drift.config import MODEL_VERSION
from drift.config.model_files import duplicates, read_model_file
from drift.errors import ConfigError, DriftlineError
from drift.extras import DEMO, REPORT, missing, require

from . import __version__, attach, gate
from .progress import Progress


def _cmd_check_config(args: argparse.Namespace) -> int:
    try:
        config = load_deployment(args.config, lenient_model_files=args.model_file is not None)
        if args.model_file is not None:
            config = _with_model_file(config, args.model_file)
    except ConfigError as exc:
        prefix = f"{exc.source}: " if exc.source else ""
        for problem in exc.problems:
            print(f"{prefix}{problem}", file=sys.stderr)
        return 1
    for warning in unsafe_settings(config):
        print(f"{args.config}: warning: {warning}", file=sys.stderr)
    checked = args.model_file or args.config
    problems, unchecked = _data_problems(config, args.s3)
    for problem in problems:
        print(f"{checked}: {problem}", file=sys.stderr)
    if problems:
        return 1
    models = ", ".join(f"{m.namespace}/{m.name}" for m in config.models) or "none yet"
    note = f" ({unchecked} S3 reference(s) not read: add --s3 to read them)" if unchecked else ""
    folder = f" (model_files.dir: {config.model_files.dir})" if config.model_files and not args.model_file else ""
    print(f"ok: {checked}: {len(config.models)} model(s): {models}{folder}{note}")
    return 0


def _with_model_file(config: DeploymentConfig, path: str) -> DeploymentConfig:
    """The config with only the models of one team file, checked against the main config's models and the other
    files of its folder (a team's CI gates its own change; another team's broken file is not its problem)."""
    file = read_model_file(path)
    if file.refused:
        raise ConfigError(list(file.problems), path)
    # the file replaces the folder's file of its name (a team's CI checks its own copy of it, wherever it is)
    others = [m for m in config.models if m.defined_in is None or Path(m.defined_in).name != Path(path).name]
    clash = duplicates(file.models, others)
    if clash:
        raise ConfigError(clash, path)
    return dataclasses.replace(config, models=file.models)


def _data_problems(config: drift.MonitorConfig, read_s3: bool) -> tuple[list[str], int]:
    """What `driftline profile` would refuse in each model's reference data (missing, unreadable, a configured
    column absent), read from its header; S3 objects only when asked (it needs the network and credentials).
    Returns the problems and how many S3 references went unread."""
    from drift.reference.reader import reference_problem
    from drift.reference.storage import is_s3

    problems, unchecked = [], 0
    for i, model in enumerate(config.models):
        if is_s3(model.reference.data) and not read_s3:
            unchecked += 1
            continue
        problem = reference_problem(model, config.s3)
        if problem is not None:
            problems.append(f"models[{i}].reference.data: {problem}")
    return problems, unchecked


def _cmd_profile(args: argparse.Namespace) -> int:
    from drift.config.schema import VERSION_PLACEHOLDER, data_format

    config = load_deployment(args.config)
    if (args.data or args.output) and not args.model:
        raise ConfigError(["--data and --output build one model's profile: name it with --model"], args.config)
    if args.model_version and not re.fullmatch(MODEL_VERSION, args.model_version):
        raise ConfigError([f"--model-version {args.model_version!r} is not a model version"], args.config)
    models = [config.model(args.model)] if args.model else list(config.models)
    for model in models:
        if args.data:
            fmt = args.data_format if args.data_format != "auto" else data_format(args.data) or model.reference.format
            reference = dataclasses.replace(model.reference, data=args.data, format=fmt)
            model = dataclasses.replace(model, reference=reference)
        output = args.output or model.reference.profile
        if VERSION_PLACEHOLDER in output:
            if not args.model_version:
                message = f"{model.name}: reference.profile {output} names a version: give it with --model-version"
                raise ConfigError([message], args.config)
            output = output.replace(VERSION_PLACEHOLDER, args.model_version)
        profile = drift.profile_from_source(model, config.s3, progress=Progress, model_version=args.model_version)
        written = profile.save(output, config.s3)
        version = f", model version {profile.model_version}" if profile.model_version else ""
        print(
            f"{model.name}: profile {profile.version} from {profile.rows:,} rows "
            f"({len(profile.features)} features, {len(profile.outputs)} outputs{version}) written to {output}"
            + (f" ({written})" if written != output else "")
        )
    return 0


def _cmd_set_reference(args: argparse.Namespace) -> int:
    from drift.config.edit import set_reference_profile, version_in

    loaded: list[drift.ReferenceProfile] = []

    def compatible(config: drift.MonitorConfig, model: drift.ModelConfig) -> None:
        profile = drift.ReferenceProfile.load(model.reference.profile, config.s3)
        profile.require_compatible(model, origin=args.profile)
        loaded.append(profile)

    previous = set_reference_profile(args.config, args.model, args.namespace, args.profile, compatible)
    profile = loaded[0]
    version = version_in(previous, args.profile)
    if version is not None:
        if profile.model_version not in ("", version):
            message = f"{args.profile}: built for model version {profile.model_version!r}, not {version!r}"
            raise ConfigError([message], args.config)
        print(
            f"{args.config}: {args.model}: reference.profile {previous} finds version {version}'s profile "
            f"{args.profile} (profile {profile.version}, {profile.rows:,} rows); the config is unchanged"
        )
        return 0
    print(
        f"{args.config}: {args.model}: reference.profile {previous} -> {args.profile} "
        f"(profile {profile.version}, {profile.rows:,} rows)"
    )
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from exporters.server import serve

    config = load_deployment(args.config, lenient_model_files=True)  # the exporter refuses a bad team file itself
    serve(config, args.listen, args.log_level)
    return 0


def _cmd_webhook(args: argparse.Namespace) -> int:
    from alerts.webhook.server import serve

    config = load_deployment(args.config)
    if config.webhook is None:
        raise DriftlineError(f"{args.config}: has no webhook: section; add one (see the README's config reference)")
    serve(config, args.listen, args.log_level)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    require(DEMO, "driftline demo")
    from rich.console import Console

    from .demo.run import run_demo

    if args.s3 is not None and not (args.s3.startswith("s3://") and len(args.s3) > 5):
        raise DriftlineError(f"--s3 {args.s3!r}: give it as s3://BUCKET/PREFIX")
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # a log file or a pipe: long lines rather than wrapped ones
    return run_demo(args.duration, args.drift, not args.no_servers, Path(args.data_dir), args.s3, console)


def _duration(text: str) -> float:
    try:
        return drift.Duration.parse(text).seconds
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cmd_generate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .generate import generate, write_files

    config = load_deployment(args.config)
    files = generate(config)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise DriftlineError(f"{out}: exists and is not a folder; pass --out with a folder to write into")
    try:
        write_files(files, out)
    except OSError as exc:
        where = exc.filename or out
        raise DriftlineError(f"{where}: cannot write: {exc.strerror or exc}; check --out and its permissions") from None
    print(f"wrote {len(files)} files to {out}:")
    for name in files:
        print(f"  {out / name}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from drift.reference.storage import write_bytes
    from drift.report import file_report

    config = load_deployment(args.config)
    model = config.model(args.model)
    page = file_report(config, model, args.current, args.max_rows)
    try:
        write_bytes(args.out, page.html.encode(), config.s3, content_type="text/html")
    except OSError as exc:
        raise DriftlineError(f"{args.out}: cannot write: {exc.strerror or exc}; check --out") from None
    print(f"{model.namespace}/{model.name}: report of {args.current} written to {args.out}")
    if missing(REPORT) and page.no_verdict is None:
        print(
            f"driftline report: note: {args.out} has driftline's verdict only; {REPORT.gives} need the "
            f"{REPORT.name} extra: {REPORT.install}",
            file=sys.stderr,
        )
    if page.no_verdict is not None:
        has = "nothing but notes" if missing(REPORT) else "Evidently's sections"
        print(
            f"driftline report: error: {args.out} has {has} and no driftline verdict: "
            f"{page.no_verdict}; build the profile with driftline profile --config {args.config} --model {model.name}",
            file=sys.stderr,
        )
        return 1
    return 0


def _rows(text: str) -> int:
    if not text.isdigit() or int(text) < 10:
        raise argparse.ArgumentTypeError(f"{text!r} is not a row count of at least 10")
    return int(text)


def _listen(text: str) -> drift.ListenAddress:
    try:
        return drift.ListenAddress.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _Parser(argparse.ArgumentParser):
    """Usage errors as every other failure: one line and exit 1 (argparse's 2 is ``driftline gate``'s "drift")."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}; {self.prog} --help says more", file=sys.stderr)
        sys.exit(1)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="driftline",
        description="Prometheus-native data and prediction drift monitoring for KServe models.",
    )
    parser.add_argument("--version", action="version", version=f"driftline {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = commands.add_parser(
        "check-config",
        help="validate a monitor config and list every problem, the reference data's columns included",
    )
    check.add_argument("--config", required=True, metavar="CFG", help="monitor config YAML")
    check.add_argument(
        "--s3", action="store_true", help="also read reference data in S3 (with this environment's credentials)"
    )
    check.add_argument(
        "--model-file",
        metavar="FILE",
        help="check one team model file (model_files) against the config, and only that file's models",
    )
    check.set_defaults(handler=_cmd_check_config)

    profile = commands.add_parser(
        "profile", help="build each model's reference profile from reference.data and write it to reference.profile"
    )
    profile.add_argument("--config", required=True, metavar="CFG", help="monitor config YAML")
    profile.add_argument("--model", metavar="NAME", help="only this model (default: every model)")
    profile.add_argument("--data", metavar="URI", help="build from this data instead of reference.data (with --model)")
    profile.add_argument(
        "--data-format",
        default="auto",
        choices=("auto", "csv", "parquet"),
        help="the format of --data (default: by name)",
    )
    profile.add_argument(
        "--output", metavar="URI", help="write the profile here instead of reference.profile (with --model)"
    )
    profile.add_argument(
        "--model-version", default="", metavar="V", help="the serving version the profile belongs to (recorded in it)"
    )
    profile.set_defaults(handler=_cmd_profile)

    set_reference = commands.add_parser(
        "set-reference",
        help="point a model's reference.profile at a new profile, editing the config in place (comments kept); "
        "refuses a profile whose columns do not match the model",
    )
    set_reference.add_argument("--config", required=True, metavar="CFG", help="monitor config YAML (edited)")
    set_reference.add_argument("--model", required=True, metavar="NAME", help="the model (InferenceService name)")
    set_reference.add_argument("--namespace", metavar="NS", help="the model's namespace, when the name is not unique")
    set_reference.add_argument("--profile", required=True, metavar="URI", help="the new profile: local path or s3://")
    set_reference.set_defaults(handler=_cmd_set_reference)

    for name, section, handler, text in (
        ("serve", "exporter", _cmd_serve, "run the exporter: KServe logger events in, drift metrics on /metrics"),
        ("webhook", "webhook", _cmd_webhook,
         "run the retraining webhook: Alertmanager notifications in, GitHub repository_dispatch out"),
    ):  # fmt: skip
        server = commands.add_parser(name, help=text)
        server.add_argument("--config", required=True, metavar="CFG", help="monitor config YAML")
        server.add_argument("--listen", type=_listen, metavar="HOST:PORT", help=f"overrides {section}.listen")
        server.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
        server.set_defaults(handler=handler)

    demo = commands.add_parser(
        "demo", help="the whole loop on this machine: churn model, traffic, drift, alerts, one retraining dispatch"
    )
    demo.add_argument("--duration", type=_duration, default=90.0, metavar="DURATION", help="how long (default 90s)")
    demo.add_argument("--drift", choices=["none", "gradual", "sudden"], default="sudden", help="default: sudden")
    demo.add_argument("--no-servers", action="store_true", help="exporter and webhook only; no Prometheus/Alertmanager")
    demo.add_argument("--data-dir", default="demo-data", metavar="DIR", help="where data, profile and config go")
    demo.add_argument("--s3", metavar="s3://BUCKET/PREFIX", help="put training data and profile in S3 instead")
    demo.set_defaults(handler=_cmd_demo)

    generate = commands.add_parser(
        "generate",
        help="write Grafana dashboards, Prometheus rules with promtool tests, the Alertmanager config and "
        "Kubernetes objects for the monitor config",
    )
    generate.add_argument("--config", required=True, metavar="CFG", help="monitor config YAML")
    generate.add_argument("--out", required=True, metavar="DIR", help="folder to write into (created if missing)")
    generate.set_defaults(handler=_cmd_generate)

    report = commands.add_parser(
        "report",
        help="an HTML drift report of a CSV or Parquet file against the model's reference data: driftline's verdict, "
        "and Evidently's data summary and quality with driftline[report]",
    )
    report.add_argument("--config", required=True, metavar="CFG", help="monitor config YAML")
    report.add_argument("--model", required=True, metavar="NAME", help="the model (InferenceService name)")
    report.add_argument("--current", required=True, metavar="FILE", help="current data: CSV or Parquet, local or s3://")
    report.add_argument("--out", required=True, metavar="report.html", help="where to write the HTML (or s3://)")
    report.add_argument(
        "--max-rows", type=_rows, default=5000, metavar="N", help="rows sampled from each side (default 5000)"
    )
    report.set_defaults(handler=_cmd_report)
    gate.add_parser(commands)
    attach.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):  # no command: say which there are, not only that one is missing
        print(parser.format_help().rstrip(), file=sys.stderr)
        print("driftline: error: name a COMMAND (above); driftline COMMAND --help says more", file=sys.stderr)
        return 1
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        status = handler(args)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
        return status
    except DriftlineError as exc:
        message = " ".join(str(exc).split("\n"))
        print(f"driftline {args.command}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"driftline {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of the output went away (`driftline generate … | head -3`): the work is done (files are written
        # before anything is printed), there is no one to tell, and Python must not complain at exit either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
