"""One fuzz target per entry point of outside bytes, each ``(data: bytes) -> None`` over a real service or decoder set
up once per process, each asserting the boundary's invariant: for any input, only the entry point's one error type
escapes (none at all where the entry point answers for itself, as the HTTP handlers do), and an answer is never a
5xx. The runner (``python -m tests.fuzz``) adds the other two: every call returns within a bound, and memory stays
within a bound.

An input to an HTTP target is its headers, one ``name: value`` per line, a blank line, then the body; to a target of
named objects (S3 keys), the key on the first line, then the object.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

MAX_INPUT = 64 * 1024  # what the runner feeds; the bounds under test apply far below it


class InvariantBrokenError(AssertionError):
    """An entry point broke the boundary's contract for one input (a crash, for the fuzzer)."""


@dataclass(frozen=True)
class Target:
    name: str
    run: Callable[[bytes], None]
    doc: str


def split_headers(data: bytes) -> tuple[dict[str, str], bytes]:
    """``name: value`` lines up to the first blank line (lower-cased names, as an ASGI server gives them), and the
    body after it."""
    head, sep, body = data.partition(b"\n\n")
    if not sep:
        return {}, data
    headers = {}
    for line in head.decode("latin-1").splitlines()[:32]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers, body


def split_key(data: bytes) -> tuple[str, bytes]:
    key, _, body = data.partition(b"\n")
    return key.decode("utf-8", "replace")[:200], body


# --- the services, built once per process ---


@cache
def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="driftline-fuzz-"))


@cache
def exporter_config() -> Any:
    """The iris model of the KServe fixtures with a target, versions read from a header, and a state folder."""
    from alerts.loader import load_deployment
    from tests.support import iris_config

    path = iris_config(workdir(), cli=False)
    content = yaml.safe_load(path.read_text())
    model = content["models"][0]
    model["target"] = {"name": "species", "task": "classification", "window": {"size": 50}}
    model["feedback"] = {"store_size": 50}
    model["window"] = {"size": 12, "max_age": "1h"}  # 12 buckets: a checkpoint within the fuzzer's 64 KB inputs
    content["exporter"]["state_dir"] = str(workdir() / "state")
    path.write_text(yaml.safe_dump(content))
    versioned = {**model, "name": "versioned-iris", "versions": {"source": "header", "name": "X-Model-Version"}}
    content["models"].append(versioned)
    path.write_text(yaml.safe_dump(content))
    return load_deployment(path)


@cache
def exporter() -> Any:
    from exporters.service import ExporterService

    service = ExporterService(exporter_config())
    service.refresh_references()
    return service


@cache
def webhook() -> Any:
    from alerts.webhook.service import WebhookService
    from tests.support import ENV, webhook_config

    os.environ.update(ENV)
    (workdir() / "webhook").mkdir(exist_ok=True)
    from alerts.loader import load_deployment

    service = WebhookService(load_deployment(webhook_config(workdir() / "webhook", "http://127.0.0.1:9")))
    service.prepare()  # the outbox, not the delivery worker: nothing is sent from a fuzz run
    return service


def answered(status: int, document: dict[str, Any]) -> None:
    if not 200 <= status < 500:
        raise InvariantBrokenError(f"answered {status}: {document}")
    if status >= 400 and not (isinstance(document.get("reason"), str) and isinstance(document.get("error"), str)):
        raise InvariantBrokenError(f"a {status} without a JSON reason: {document}")
    json.dumps(document)  # the answer is serialisable as the app sends it


# --- the targets ---


def http_ingest(data: bytes) -> None:
    """POST / of the exporter: binary, structured or batch mode, v1 or v2, request or response — whatever the headers
    and body say."""
    headers, body = split_headers(data)
    answered(*exporter().ingest(headers, body))


def http_feedback(data: bytes) -> None:
    """POST /feedback of the exporter."""
    headers, body = split_headers(data)
    answered(*exporter().feedback(headers, body))


def http_webhook(data: bytes) -> None:
    """POST /alertmanager of the webhook, past its token check."""
    answered(*webhook().handle(data))


def s3_log_object(data: bytes) -> None:
    """An archived payload object (JSON, CSV or Parquet by its key) decoded, and its records ingested."""
    from drift.boundary import InputError
    from exporters.s3logs import BadRecord, CorruptObjectError

    key, body = split_key(data)
    puller = _log_puller()
    try:
        records = puller.decode(key, body)
    except (CorruptObjectError, InputError):
        return
    for record in records:
        if not isinstance(record, BadRecord):
            answered(*exporter().intake.event(record))


def label_file(data: bytes) -> None:
    """A label file (CSV, Parquet or JSON lines by its key) decoded, and each label read as the pull thread reads it."""
    from drift.boundary import InputError, Limits
    from exporters.feedback import FeedbackError, read_labels
    from exporters.s3labels import decode_label_file
    from exporters.s3logs import BadRecord, CorruptObjectError

    key, body = split_key(data)
    try:
        records = decode_label_file(key, body, Limits(16 << 20, max_depth=16))
    except (CorruptObjectError, InputError):
        return
    target = exporter_config().models[0].target
    for record in records:
        if isinstance(record, BadRecord):
            continue
        with contextlib.suppress(FeedbackError):
            read_labels(target, [record])


def checkpoint(data: bytes) -> None:
    """A window checkpoint file as the exporter finds it at start, restored into a model with a target."""
    from exporters.checkpoint import CheckpointError, Checkpoints
    from exporters.ground_truth import GroundTruth

    checkpoints = Checkpoints(str(workdir() / "state"))
    checkpoints.path("default", "sklearn-iris").write_bytes(data)
    with contextlib.suppress(CheckpointError):
        state = checkpoints.load("default", "sklearn-iris")
        if state.ground_truth:
            GroundTruth(exporter_config().models[0]).restore(state.ground_truth)


def profile(data: bytes) -> None:
    """A reference profile as the exporter and `set-reference` read it, checked against the model."""
    from drift.errors import ProfileError
    from drift.reference.profile import ReferenceProfile

    with contextlib.suppress(ProfileError):
        ReferenceProfile.from_json(data, origin="fuzz").require_compatible(exporter_config().models[0])


def config(data: bytes) -> None:
    """A monitor config file (a whole config, or a team's file of models)."""
    from drift.config.loader import parse_config_text
    from drift.errors import ConfigError

    with contextlib.suppress(ConfigError):
        parse_config_text(data.decode("utf-8", "replace"), workdir() / "monitor.yaml")


def reference_header(data: bytes) -> None:
    """The head of a reference data file, as `check-config` and `profile` read it first."""
    from drift.reference.reader import reference_problem

    path = workdir() / "reference.csv"
    path.write_bytes(data)
    import dataclasses

    model = exporter_config().models[0]
    reference = dataclasses.replace(model.reference, data=str(path), format="csv")
    problem = reference_problem(dataclasses.replace(model, reference=reference))
    if problem is not None and (not problem.isprintable() or len(problem) > 2000):
        raise InvariantBrokenError(f"a message that is not one short printable line: {problem[:200]!r}")


@cache
def _log_puller() -> Any:
    from drift.config import S3PullConfig
    from exporters.s3logs import LogPuller

    return LogPuller(exporter_config().models[0], S3PullConfig("s3://bucket/logs"), None, 0.0)


TARGETS = {
    target.name: target
    for target in (
        Target("http_ingest", http_ingest, "POST / of the exporter"),
        Target("http_feedback", http_feedback, "POST /feedback of the exporter"),
        Target("http_webhook", http_webhook, "POST /alertmanager of the webhook"),
        Target("s3_log_object", s3_log_object, "archived payload objects"),
        Target("label_file", label_file, "label files"),
        Target("checkpoint", checkpoint, "window checkpoints"),
        Target("profile", profile, "reference profiles"),
        Target("config", config, "monitor configs"),
        Target("reference_header", reference_header, "reference data files"),
    )
}
