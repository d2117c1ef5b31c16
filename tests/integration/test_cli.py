"""The command line as a new user meets it: no command names the commands there are."""

from __future__ import annotations

from tests.support import run_cli


def test_no_command_lists_the_commands() -> None:
    result = run_cli()
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[-1] == "driftline: error: name a COMMAND (above); driftline COMMAND --help says more"
    for command in ("check-config", "profile", "set-reference", "serve", "webhook", "demo", "generate", "report"):
        assert any(line.split()[:1] == [command] for line in lines), f"{command} is not listed"
