"""What a new user meets first: the command line without a command, one event sent by hand as the docs show, a
profile not built yet; `check-config` and `generate` as a process: exit codes, one-line errors, warnings, and no
secret in what they print or write."""

from __future__ import annotations

import logging
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.loader import load_deployment
from driftline.generate import generate
from exporters.service import ExporterService
from tests.support import (
    REPO,
    ExporterProcess,
    churn_frame,
    config_dict,
    iris_config,
    run_cli,
    target_config,
    webhook_config,
    write_config,
)
from tests.support.teams import team_file

pytestmark = pytest.mark.install

EXAMPLE = REPO / "examples" / "monitor.yaml"


def test_no_command_lists_the_commands() -> None:
    result = run_cli()
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[-1] == "driftline: error: name a COMMAND (above); driftline COMMAND --help says more"
    for command in (
        "check-config",
        "profile",
        "set-reference",
        "serve",
        "webhook",
        "demo",
        "generate",
        "report",
        "gate",
    ):
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
    service = ExporterService(load_deployment(config_path))
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
    model = load_deployment(config).models[0]
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


def test_check_config_command(tmp_path: Path) -> None:
    good = run_cli("check-config", "--config", str(REPO / "examples" / "monitor.yaml"))
    assert good.returncode == 0 and good.stdout.startswith("ok")
    content = config_dict()
    content["models"][0]["drift"] = {"alpha": 1.5, "bins": 1}
    bad_path = write_config(tmp_path, content)
    bad = run_cli("check-config", "--config", str(bad_path))
    assert bad.returncode == 1
    lines = bad.stderr.strip().splitlines()
    assert lines == [
        f"{bad_path}: models[0].drift.bins: must be at least 2, not 1",
        f"{bad_path}: models[0].drift.alpha: must be between 0 and 1, not 1.5",
    ]
    missing = run_cli("check-config", "--config", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 1 and "nope.yaml: file not found" in missing.stderr
    assert "Traceback" not in bad.stderr + missing.stderr


def test_generate_command_writes_every_file(tmp_path: Path) -> None:
    result = run_cli("generate", "--config", str(EXAMPLE), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    written = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written == sorted(generate(load_deployment(EXAMPLE)))
    assert not list((tmp_path / "out").rglob("*.tmp")), "temporary files left behind"
    for expected in (
        "dashboards/driftline-model-drift.json",
        "prometheus/rules.yml",
        "prometheus/rules_test.yml",
        "alertmanager/alertmanager.yml",
        "kubernetes/prometheusrule.yaml",
    ):
        assert expected in written


def test_generate_errors_are_one_line(tmp_path: Path) -> None:
    missing = run_cli("generate", "--config", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "out"))
    assert missing.returncode == 1
    assert missing.stderr.count("\n") == 1 and "nope.yaml" in missing.stderr and "Traceback" not in missing.stderr
    a_file = tmp_path / "file"
    a_file.write_text("")
    blocked = run_cli("generate", "--config", str(EXAMPLE), "--out", str(a_file))
    assert blocked.returncode == 1
    assert blocked.stderr.count("\n") == 1 and "is not a folder" in blocked.stderr
    # a path that cannot be created, for root too: its parent is a file
    denied = run_cli("generate", "--config", str(EXAMPLE), "--out", str(a_file / "out"))
    assert denied.returncode == 1
    assert denied.stderr.count("\n") == 1 and "cannot write" in denied.stderr and str(a_file) in denied.stderr


def test_no_secret_value_reaches_a_generated_file(tmp_path: Path) -> None:
    """Secrets referenced by the config must never be resolved into generated output, whatever the environment."""
    secrets = {"DRIFTLINE_WEBHOOK_TOKEN": "tok-3f9c2a-webhook", "GITHUB_TOKEN": "ghp_sEcReT123456"}
    slack_file = tmp_path / "slack_url"
    slack_file.write_text("https://hooks.slack.com/services/T000/B000/XXXXSECRET")
    data = yaml.safe_load(EXAMPLE.read_text())
    data["alerting"]["slack"]["api_url_file"] = str(slack_file)
    config_path = tmp_path / "monitor.yaml"
    config_path.write_text(yaml.safe_dump(data))
    result = run_cli("generate", "--config", str(config_path), "--out", str(tmp_path / "out"), env=secrets)
    assert result.returncode == 0, result.stderr
    everything = result.stdout + result.stderr
    everything += "".join(p.read_text() for p in (tmp_path / "out").rglob("*") if p.is_file())
    for value in [*secrets.values(), "XXXXSECRET"]:
        assert value not in everything
    assert str(slack_file) in everything  # the reference is there, the value is not


def write_webhook_config(tmp_path: Path, **changes: Any) -> Path:
    path = webhook_config(tmp_path, "https://api.github.com")
    data = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        section = data
        *parents, key = dotted.split("__")
        for parent in parents:
            section = section.setdefault(parent, {})
        section[key] = value
    path.write_text(yaml.safe_dump(data))
    return path


def test_finding_8_plain_http_urls_that_carry_tokens_are_warned(tmp_path: Path) -> None:
    kfp = {"host": "http://ml-pipeline.kubeflow:8888", "pipeline_id": "p", "token": "env:KFP"}
    path = write_webhook_config(
        tmp_path,
        webhook__github__api_url="http://github.internal",
        webhook__kfp=kfp,
        alerting__retrain_webhook={"url": "http://driftline-webhook:8081/alertmanager", "credentials_file": "/t"},
    )
    checked = run_cli("check-config", "--config", str(path))
    assert checked.returncode == 0 and checked.stdout.startswith("ok: ")
    warnings = checked.stderr.splitlines()
    assert len(warnings) == 3 and all(": warning: " in w and "plain HTTP" in w for w in warnings)
    for key in ("webhook.github.api_url", "webhook.kfp.host", "alerting.retrain_webhook.url"):
        assert any(key in w for w in warnings), key
    assert run_cli("check-config", "--config", str(webhook_config(tmp_path, "https://api.github.com"))).stderr == ""


def test_finding_8_credentials_in_a_url_are_refused_and_never_echoed(tmp_path: Path) -> None:
    path = write_webhook_config(tmp_path, webhook__github__api_url="https://bot:s3cr3t-pw@github.example.com")
    checked = run_cli("check-config", "--config", str(path))
    assert checked.returncode == 1 and "webhook.github.api_url: holds credentials" in checked.stderr
    assert "s3cr3t-pw" not in checked.stderr + checked.stdout


@pytest.mark.parametrize(("mode", "warned"), [(0o644, True), (0o666, True), (0o600, False), (0o400, False)])
def test_finding_8_a_token_file_others_can_read_is_warned(tmp_path: Path, mode: int, warned: bool) -> None:
    token = tmp_path / "webhook-token"
    token.write_text("secret-value")
    token.chmod(mode)
    checked = run_cli("check-config", "--config", str(write_webhook_config(tmp_path, webhook__token=f"file:{token}")))
    assert checked.returncode == 0
    assert ("webhook.token" in checked.stderr and f"mode {mode:o}" in checked.stderr) is warned
    assert "secret-value" not in checked.stderr


def test_check_config_gates_one_team_file(tmp_path: Path) -> None:
    """A team's CI checks its own copy of its file against the platform's config and the other teams' files: another
    team's broken file is not its problem; a model another file defines is; a broken file names itself."""
    folder = tmp_path / "models.d"
    team_file(folder, "team-a.yaml")
    (folder / "team-b.yaml").write_text("models: [\n")  # another team's broken file
    team_file(folder, "team-c.yaml", model="taken")
    main = tmp_path / "monitor.yaml"
    main.write_text(yaml.safe_dump({"version": 1, "model_files": {"dir": str(folder)}}))

    whole = run_cli("check-config", "--config", str(main))
    assert whole.returncode == 1
    (line,) = whole.stderr.strip().splitlines()  # the platform's own check names the file that fails it
    assert line.startswith(f"{main}: {folder / 'team-b.yaml'}: invalid YAML: line 2")

    ci = tmp_path / "team-a-repo"
    proposed = team_file(ci, "team-a.yaml", model="new-model")  # the team's change, in its own checkout
    checked = run_cli("check-config", "--config", str(main), "--model-file", str(proposed))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == f"ok: {proposed}: 1 model(s): team-a/new-model"

    clash = team_file(ci, "team-a.yaml", model="taken")
    clashed = run_cli("check-config", "--config", str(main), "--model-file", str(clash))
    assert clashed.returncode == 1
    assert clashed.stderr.strip() == (
        f"{clash}: models[0].name: 'taken' in namespace 'team-a' is already in {folder / 'team-c.yaml'}"
    )

    clash.write_text("models:\n  - {name: x, features: []}\n")
    broken = run_cli("check-config", "--config", str(main), "--model-file", str(clash))
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    lines = broken.stderr.strip().splitlines()
    assert lines and all(line.startswith(f"{clash}: models[0].") for line in lines), lines
