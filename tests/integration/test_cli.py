"""What a new user meets first: the command line without a command, one event sent by hand as the docs show, a
profile not built yet."""

from __future__ import annotations

import logging
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

import drift
from exporters.service import ExporterService
from tests.support import (
    REPO,
    ExporterProcess,
    churn_frame,
    config_dict,
    iris_config,
    run_cli,
    target_config,
    write_config,
)


def test_no_command_lists_the_commands() -> None:
    result = run_cli()
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[-1] == "driftline: error: name a COMMAND (above); driftline COMMAND --help says more"
    for command in ("check-config", "profile", "set-reference", "serve", "webhook", "demo", "generate", "report"):
        assert any(line.split()[:1] == [command] for line in lines), f"{command} is not listed"


def test_the_documented_curl_sends_one_event(tmp_path: Path) -> None:
    """docs/exporter.md's `curl`, run against a real exporter: accepted; without its Ce-* headers the 400 names them."""
    text = (REPO / "docs" / "exporter.md").read_text()
    curl = next(m.group(1) for m in re.finditer(r"```bash\n(curl .*?)\n```", text, re.S))
    config, _ = target_config(tmp_path)
    assert run_cli("profile", "--config", str(config)).returncode == 0
    with ExporterProcess(config, tmp_path / "exporter.log") as exporter:
        exporter.wait_until("/readyz")
        words = [w.replace("http://127.0.0.1:8080", exporter.url) for w in shlex.split(curl)]
        sent = subprocess.run(words, capture_output=True, text=True, timeout=30, check=True)
        assert sent.stdout == '{"status": "accepted"}'
        bare = [
            w
            for i, w in enumerate(words)
            if not w.startswith("Ce-") and not (w == "-H" and words[i + 1].startswith("Ce-"))
        ]
        refused = subprocess.run([*bare, "-w", " %{http_code}"], capture_output=True, text=True, timeout=30, check=True)
        assert refused.stdout.endswith(" 400")
        for header in ("Ce-Specversion", "Ce-Id", "Ce-Type", "Ce-Inferenceservicename"):
            assert header in refused.stdout


def test_a_missing_profile_says_how_to_build_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The exporter retries a missing profile; /readyz and the log say which command builds it."""
    config_path = iris_config(tmp_path, cli=False)
    (tmp_path / "iris-profile.json").unlink()
    service = ExporterService(drift.load_config(config_path))
    with caplog.at_level(logging.WARNING, logger="driftline.exporter"):
        service.refresh_references()
    logged = [r for r in caplog.records if r.getMessage() == "reference profile not loaded; retrying"]
    assert logged and "build it with: driftline profile --config" in logged[0].error  # type: ignore[attr-defined]
    ready, body = service.ready()
    assert not ready
    assert body["waiting_for"]["default/sklearn-iris"].endswith(
        f"; build it with: driftline profile --config {config_path} --model sklearn-iris"
    )


def test_check_config_reads_the_reference_data_header(tmp_path: Path, s3: Any, s3_endpoint: str) -> None:
    """What `driftline profile` would refuse, check-config says first: a missing file, a configured column the data
    lacks; S3 objects only with --s3 (it needs the network and credentials), and said so."""
    config = write_config(tmp_path, config_dict())
    model = drift.load_config(config).models[0]
    churn_frame(50).to_csv(model.reference.data, index=False)
    assert run_cli("check-config", "--config", str(config)).stdout.startswith("ok: ")
    churn_frame(50).drop(columns=["contract"]).to_csv(model.reference.data, index=False)
    lacking = run_cli("check-config", "--config", str(config))
    assert lacking.returncode == 1
    assert lacking.stderr.splitlines() == [
        f"{config}: models[0].reference.data: {model.reference.data}: no column 'contract' (configured as a feature "
        "or output); the file has: tenure, monthly_charges, internet_service, churn_probability"
    ]
    Path(model.reference.data).unlink()
    gone = run_cli("check-config", "--config", str(config))
    assert gone.returncode == 1 and gone.stderr.strip().endswith(f"{model.reference.data}: no such file")

    s3.create_bucket(Bucket="refs")
    remote = config_dict()
    remote["s3"] = {"endpoint_url": s3_endpoint}
    remote["models"][0]["reference"]["data"] = "s3://refs/train.csv"
    (tmp_path / "remote").mkdir()
    remote_config = write_config(tmp_path / "remote", remote)
    unread = run_cli("check-config", "--config", str(remote_config))
    assert unread.returncode == 0 and "1 S3 reference(s) not read: add --s3" in unread.stdout
    missing = run_cli("check-config", "--config", str(remote_config), "--s3")
    assert missing.returncode == 1 and "s3://refs/train.csv" in missing.stderr
    s3.put_object(Bucket="refs", Key="train.csv", Body=churn_frame(50).to_csv(index=False).encode())
    read = run_cli("check-config", "--config", str(remote_config), "--s3")
    assert read.returncode == 0 and read.stdout.startswith("ok: ") and "not read" not in read.stdout
