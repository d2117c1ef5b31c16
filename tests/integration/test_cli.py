"""What a new user meets first: the command line without a command, one event sent by hand as the docs show, a
profile not built yet."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import drift
from exporters.service import ExporterService
from tests.support import REPO, ExporterProcess, iris_config, run_cli, target_config


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
    curl = next(m.group(1) for m in re.finditer(r"```sh\n(curl .*?)\n```", text, re.S))
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


def test_a_missing_profile_says_how_to_build_it(tmp_path: Path) -> None:
    """The exporter retries a missing profile; /readyz and the log say which command builds it."""
    config_path = iris_config(tmp_path, cli=False)
    (tmp_path / "iris-profile.json").unlink()
    service = ExporterService(drift.load_config(config_path))
    service.refresh_references()
    ready, body = service.ready()
    assert not ready
    assert body["waiting_for"]["default/sklearn-iris"].endswith(
        f"; build it with: driftline profile --config {config_path} --model sklearn-iris"
    )
